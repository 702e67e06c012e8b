/// The 512-byte FXSAVE image (SDM vol. 1, table 10-2; vol. 2, FXSAVE), the format Xen's
/// vcpu_guest_context.fpu_ctxt and save records carry.
extension FPUState {
    public enum FXSAVELayout {
        public static let size = 512
        public static let controlWord = 0
        public static let statusWord = 2
        public static let abridgedTags = 4
        public static let opcode = 6
        /// FIP: 64 bits in the 64-bit format (REX.W), else 32 bits then FCS.
        public static let instructionPointer = 8
        /// FDP: 64 bits in the 64-bit format, else 32 bits then FDS.
        public static let dataPointer = 16
        public static let mxcsr = 24
        public static let mxcsrMask = 28
        /// ST(0)-ST(7), 16 bytes apart (10 used).
        public static let registers = 32
        /// XMM0-XMM15, 16 bytes each.
        public static let xmm = 160
    }

    /// MXCSR bits this CPU implements (FZ, RC, the masks, DAZ, the flags): MXCSR_MASK.
    public static let mxcsrMask: UInt32 = 0xFFFF

    /// The image FXSAVE stores: the 64-bit format (`format64`, FXSAVE with REX.W) keeps 64-bit
    /// FIP and FDP, the other 32 bits of each and the (deprecated, zero) selectors. Bytes
    /// 416-511 are reserved or available to software; here they are zero.
    public func fxsaveImage(format64: Bool = true) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: FXSAVELayout.size)
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[at + i] = x } }
        }
        put(controlWord, FXSAVELayout.controlWord)
        put(statusWord, FXSAVELayout.statusWord)
        b[FXSAVELayout.abridgedTags] = abridgedTags
        put(lastOpcode & 0x7FF, FXSAVELayout.opcode)
        if format64 {
            put(lastInstructionPointer, FXSAVELayout.instructionPointer)
            put(lastDataPointer, FXSAVELayout.dataPointer)
        } else {
            put(UInt32(truncatingIfNeeded: lastInstructionPointer), FXSAVELayout.instructionPointer)
            put(UInt32(truncatingIfNeeded: lastDataPointer), FXSAVELayout.dataPointer)
        }
        put(mxcsr, FXSAVELayout.mxcsr)
        put(Self.mxcsrMask, FXSAVELayout.mxcsrMask)
        for i in 0..<8 {
            let r = st(i)
            put(r.significand, FXSAVELayout.registers + 16 * i)
            put(r.signExponent, FXSAVELayout.registers + 16 * i + 8)
        }
        for i in 0..<16 {
            put(xmm[i].low, FXSAVELayout.xmm + 16 * i)
            put(xmm[i].high, FXSAVELayout.xmm + 16 * i + 8)
        }
        return b
    }

    /// Loads an FXSAVE image (what FXRSTOR does once MXCSR passed its reserved-bit check).
    /// Short images leave the missing fields as they are.
    public mutating func loadFXSAVEImage(_ b: [UInt8], format64: Bool = true) {
        guard b.count >= FXSAVELayout.xmm + 256 else { return }
        func get<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
            var v: T = 0
            for i in 0..<MemoryLayout<T>.size { v |= T(b[at + i]) << (8 * i) }
            return v
        }
        // As FXRSTOR loads them: the control word as FLDCW does (reserved bits 0, bit 6
        // one), ES and B from the unmasked exception flags.
        controlWord = get(FXSAVELayout.controlWord, UInt16.self) & 0x1F3F | 0x40
        statusWord = get(FXSAVELayout.statusWord, UInt16.self)
        let summary: UInt16 = 0x8080
        statusWord = statusWord & ~controlWord & 0x3F != 0 ? statusWord | summary : statusWord & ~summary
        abridgedTags = b[FXSAVELayout.abridgedTags]
        lastOpcode = get(FXSAVELayout.opcode, UInt16.self) & 0x7FF
        lastInstructionPointer = format64 ? get(FXSAVELayout.instructionPointer, UInt64.self)
            : UInt64(get(FXSAVELayout.instructionPointer, UInt32.self))
        lastDataPointer = format64 ? get(FXSAVELayout.dataPointer, UInt64.self) : UInt64(get(FXSAVELayout.dataPointer, UInt32.self))
        mxcsr = get(FXSAVELayout.mxcsr, UInt32.self)
        for i in 0..<8 {
            let at = FXSAVELayout.registers + 16 * i
            registers[(top + i) & 7] = X87Register(significand: get(at, UInt64.self), signExponent: get(at + 8, UInt16.self))
        }
        for i in 0..<16 {
            xmm[i] = XMMRegister(low: get(FXSAVELayout.xmm + 16 * i, UInt64.self), high: get(FXSAVELayout.xmm + 16 * i + 8, UInt64.self))
        }
    }
}
