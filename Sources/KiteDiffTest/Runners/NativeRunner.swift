#if canImport(Glibc)
    import Glibc
#endif
import X86

/// Runs test code on the host CPU.
///
/// The code pages hold a prologue, the test and an epilogue, all generated here as bytes:
/// the prologue saves the callee-saved registers, the host RSP and the host's x87/SSE state
/// (FXSAVE) in slots (addressed RIP-relative), loads the test's x87/SSE state (FXRSTOR),
/// RFLAGS with PUSH/POPFQ and the sixteen registers (RSP last); the epilogue stores the
/// sixteen registers, restores the host RSP, captures RFLAGS with PUSHFQ and the x87/SSE
/// state with FXSAVE, restores the host's, clears DF (the C ABI wants it clear) and
/// restores the callee-saved registers.
final class NativeRunner {
    enum SetupError: Error, CustomStringConvertible {
        case mmapFailed(Int32)
        case encoding
        var description: String {
            switch self {
            case .mmapFailed(let e): "cannot map the native test region (errno \(e))"
            case .encoding: "cannot encode the native harness"
            }
        }
    }

    let layout: Layout
    private let host: UnsafeMutableRawPointer
    private let prologue: [UInt8]
    /// Callee-saved registers of the SysV ABI the test may clobber.
    private static let calleeSaved = [R.rbx, R.rbp, 12, 13, 14, 15]

    /// The test region's address, mapped once per process. The crash handler finds the
    /// region here: an immutable global is all it shares with the runner.
    static let mappedRegion: Result<UInt, SetupError> = {
        let size = Int(Layout.totalSize)
        // A fixed low address makes the listings reproducible and lets tests use 32-bit
        // addresses; fall back to anywhere if it is taken.
        let MAP_FIXED_NOREPLACE: Int32 = 0x10_0000
        var p = mmap(UnsafeMutableRawPointer(bitPattern: UInt(Layout.preferredRegion)), size,
                     PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
        if p == MAP_FAILED || p == nil {
            p = mmap(nil, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        }
        guard let p, p != MAP_FAILED else { return .failure(.mmapFailed(errno)) }
        return .success(UInt(bitPattern: p))
    }()

    init() throws(SetupError) {
        let address = try Self.mappedRegion.get()
        guard let p = UnsafeMutableRawPointer(bitPattern: address) else { throw .mmapFailed(0) }
        host = p
        layout = Layout(region: UInt64(address))
        do {
            prologue = try Self.makePrologue(layout)
            let stub = try Self.makeBailOut(layout)
            guard UInt64(stub.count) <= Layout.bailOutSize else { throw SetupError.encoding }
            copy(stub, to: layout.bailOut)
        } catch { throw .encoding }
    }

    /// The first address a test may start at: after the prologue and its `jmp rel32` to
    /// the test (tests may also start later, e.g. just before the page boundary, so that
    /// their instructions straddle two pages).
    var earliestTestStart: UInt64 { layout.code + UInt64(prologue.count + 5) }
    /// The end of the room for test code (the epilogue needs less than 160 bytes).
    var testLimit: UInt64 { layout.code + Layout.codeSize - 160 }

    /// The code pages as the native side runs them: prologue, a jump to `start`, the test
    /// at `start`, the epilogue.
    func codeImage(test: [UInt8], at start: UInt64) throws(AsmError) -> [UInt8] {
        guard start >= earliestTestStart, start + UInt64(test.count) <= testLimit else { throw .badOperand }
        var jump = Inst([0xE9])
        jump.imm = le32(start &- earliestTestStart)
        var image = prologue + (try jump.assemble(at: earliestTestStart - 5))
        image += [UInt8](repeating: 0xCC, count: Int(start - earliestTestStart))
        image += test
        image += try Self.makeEpilogue(layout, at: start + UInt64(test.count))
        image += [UInt8](repeating: 0xCC, count: Int(Layout.codeSize) - image.count)
        return image
    }

    /// Runs `test` placed at `start` with the given initial state and returns the final state.
    func run(test: [UInt8], at start: UInt64, registers: [UInt64], rflags: UInt64, buffer: [UInt8],
             stack: [UInt8], fpu: [UInt8] = FPUState().fxsaveImage()) throws(AsmError) -> MachineResult {
        try run(image: codeImage(test: test, at: start), registers: registers, rflags: rflags, buffer: buffer, stack: stack, fpu: fpu)
    }

    /// Runs a code image made by `codeImage`.
    func run(image: [UInt8], registers: [UInt64], rflags: UInt64, buffer: [UInt8], stack: [UInt8],
             fpu: [UInt8] = FPUState().fxsaveImage()) -> MachineResult {
        copy(image, to: layout.code)
        copy(buffer, to: layout.buffer)
        copy(stack, to: layout.stack)
        copy(fpu, to: layout.fpuInSlot)
        for r in 0..<16 { store(registers[r], at: layout.inSlot(r)) }
        store(rflags, at: layout.flagsInSlot)
        store(0, at: layout.crashSignalSlot)
        store(1, at: layout.inNativeRunSlot)
        let entry = unsafeBitCast(host + Int(Layout.codeOffset), to: (@convention(c) () -> Void).self)
        entry()
        store(0, at: layout.inNativeRunSlot)
        let signal = load(layout.crashSignalSlot)
        return MachineResult(
            registers: (0..<16).map { load(layout.outSlot($0)) },
            rflags: load(layout.flagsOutSlot),
            buffer: read(layout.buffer, count: buffer.count),
            stack: read(layout.stack, count: stack.count),
            fpu: read(layout.fpuOutSlot, count: FPUState.FXSAVELayout.size),
            abnormalExit: signal == 0 ? nil
                : "signal \(signal) (si_code \(Int32(truncatingIfNeeded: load(layout.crashCodeSlot)))) at rip \(hex(load(layout.crashRIPSlot)))")
    }

    /// Executes CPUID natively (for feature detection).
    func cpuid(leaf: UInt32, subleaf: UInt32 = 0) -> (eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        var regs = [UInt64](repeating: 0, count: 16)
        regs[R.rax] = UInt64(leaf)
        regs[R.rcx] = UInt64(subleaf)
        regs[R.rsp] = layout.initialRSP
        let stack = [UInt8](repeating: 0, count: Int(Layout.stackSize))
        let buffer = [UInt8](repeating: 0, count: Int(Layout.bufferSize))
        guard let r = try? run(test: [0x0F, 0xA2], at: earliestTestStart, registers: regs, rflags: 0x202, buffer: buffer, stack: stack) else {
            return (0, 0, 0, 0)
        }
        return (UInt32(truncatingIfNeeded: r.registers[R.rax]), UInt32(truncatingIfNeeded: r.registers[R.rbx]),
                UInt32(truncatingIfNeeded: r.registers[R.rcx]), UInt32(truncatingIfNeeded: r.registers[R.rdx]))
    }

    // MARK: harness code

    /// `mov [rip->slot], reg` / `mov reg, [rip->slot]`.
    private static func slotMove(_ reg: Int, _ slot: UInt64, store: Bool) -> Inst {
        var i = Inst([store ? 0x89 : 0x8B], rexW: true)
        i.regField = reg
        i.regOperand = Reg(reg, 8)
        i.rm = .mem(Mem(base: .ripTarget(slot)))
        return i
    }

    /// `fxsave64 [rip->slot]` (/0) or `fxrstor64 [rip->slot]` (/1).
    private static func fxState(_ slot: UInt64, restore: Bool) -> Inst {
        var i = Inst([0x0F, 0xAE], rexW: true)
        i.regField = restore ? 1 : 0
        i.rm = .mem(Mem(base: .ripTarget(slot)))
        return i
    }

    private static func assemble(_ insts: [Inst], at start: UInt64) throws(AsmError) -> [UInt8] {
        var out: [UInt8] = []
        for i in insts { out += try i.assemble(at: start + UInt64(out.count)) }
        return out
    }

    private static func makePrologue(_ l: Layout) throws(AsmError) -> [UInt8] {
        var insts: [Inst] = []
        for (i, r) in calleeSaved.enumerated() { insts.append(slotMove(r, l.savedSlot(i), store: true)) }
        insts.append(slotMove(R.rsp, l.hostRSPSlot, store: true))
        insts.append(fxState(l.hostFPUSlot, restore: false))
        insts.append(fxState(l.fpuInSlot, restore: true))
        var pushFlags = Inst([0xFF])  // push qword [rip->flagsIn]
        pushFlags.regField = 6
        pushFlags.rm = .mem(Mem(base: .ripTarget(l.flagsInSlot)))
        insts.append(pushFlags)
        insts.append(Inst([0x9D]))  // popfq
        for r in 0..<16 where r != R.rsp { insts.append(slotMove(r, l.inSlot(r), store: false)) }
        insts.append(slotMove(R.rsp, l.inSlot(R.rsp), store: false))
        return try assemble(insts, at: l.code)
    }

    private static func makeEpilogue(_ l: Layout, at address: UInt64) throws(AsmError) -> [UInt8] {
        var insts: [Inst] = []
        for r in 0..<16 { insts.append(slotMove(r, l.outSlot(r), store: true)) }
        insts.append(slotMove(R.rsp, l.hostRSPSlot, store: false))
        insts.append(Inst([0x9C]))  // pushfq
        insts.append(Inst([0x58]))  // pop rax
        insts.append(slotMove(R.rax, l.flagsOutSlot, store: true))
        insts.append(fxState(l.fpuOutSlot, restore: false))
        insts.append(fxState(l.hostFPUSlot, restore: true))
        insts.append(Inst([0xFC]))  // cld
        for (i, r) in calleeSaved.enumerated() { insts.append(slotMove(r, l.savedSlot(i), store: false)) }
        insts.append(Inst([0xC3]))
        return try assemble(insts, at: address)
    }

    /// Where the crash handler resumes a faulted run: the host's RSP, x87/SSE state, DF and
    /// callee-saved registers come back as in the epilogue, and the run returns.
    private static func makeBailOut(_ l: Layout) throws(AsmError) -> [UInt8] {
        var insts = [slotMove(R.rsp, l.hostRSPSlot, store: false), fxState(l.hostFPUSlot, restore: true), Inst([0xFC])]
        for (i, r) in calleeSaved.enumerated() { insts.append(slotMove(r, l.savedSlot(i), store: false)) }
        insts.append(Inst([0xC3]))
        return try assemble(insts, at: l.bailOut)
    }

    // MARK: memory helpers

    private func pointer(_ linear: UInt64) -> UnsafeMutableRawPointer { host + Int(linear - layout.region) }
    private func copy(_ bytes: [UInt8], to linear: UInt64) {
        bytes.withUnsafeBytes { pointer(linear).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
    private func read(_ linear: UInt64, count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer(linear), count: count))
    }
    private func store(_ v: UInt64, at linear: UInt64) { pointer(linear).storeBytes(of: v, as: UInt64.self) }
    private func load(_ linear: UInt64) -> UInt64 { pointer(linear).load(as: UInt64.self) }
}
