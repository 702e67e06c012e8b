import X86

/// A decoded 8-byte code/data descriptor (or the low half of a 16-byte system descriptor).
struct Descriptor {
    var raw: UInt64
    var base: UInt64 { ((raw >> 16) & 0xFF_FFFF) | ((raw >> 32) & 0xFF00_0000) }
    var limit: UInt32 {
        let l = UInt32((raw & 0xFFFF) | ((raw >> 32) & 0xF_0000))
        return raw & (1 << 55) != 0 ? (l << 12) | 0xFFF : l
    }
    var type: UInt8 { UInt8((raw >> 40) & 0xF) }
    var isSystem: Bool { raw & (1 << 44) == 0 }
    var dpl: UInt8 { UInt8((raw >> 45) & 3) }
    var present: Bool { raw & (1 << 47) != 0 }
    var isCode: Bool { !isSystem && type & 8 != 0 }
    var isConforming: Bool { isCode && type & 4 != 0 }
    var isReadable: Bool { !isSystem && (!isCode || type & 2 != 0) }
    var isWritableData: Bool { !isSystem && !isCode && type & 2 != 0 }
    var isLongCode: Bool { isCode && raw & (1 << 53) != 0 }
    /// Attributes in the VMX access-rights layout `Segment` uses.
    var attributes: UInt32 { UInt32((raw >> 40) & 0xF0FF) }

    func segment(selector: UInt16) -> Segment {
        Segment(selector: selector, base: base, limit: limit, attributes: attributes)
    }
}

extension Interpreter {
    /// Reads the descriptor a selector names from the GDT or LDT, or nil when the selector
    /// lies beyond the table's limit. Implicit supervisor accesses.
    func readDescriptor(_ selector: UInt16) throws(CPUEvent) -> Descriptor? {
        let index = UInt64(selector & ~7)
        let table: (base: UInt64, limit: UInt64)
        if selector & 4 != 0 {
            guard arch.ldtr.usable else { return nil }
            table = (arch.ldtr.base, UInt64(arch.ldtr.limit))
        } else {
            table = (arch.gdtr.base, UInt64(arch.gdtr.limit))
        }
        guard index &+ 7 <= table.limit else { return nil }
        return Descriptor(raw: try readSystem(table.base &+ index, 8))
    }

    /// The high 8 bytes of a 16-byte system descriptor (LDT, TSS, gates) in the GDT.
    func readDescriptorHigh(_ selector: UInt16) throws(CPUEvent) -> UInt64? {
        let index = UInt64(selector & ~7)
        guard index &+ 15 <= UInt64(arch.gdtr.limit) else { return nil }
        return try readSystem(arch.gdtr.base &+ index &+ 8, 8)
    }

    /// Loads CS and the mode and privilege that follow from it.
    func loadCodeSegment(_ segment: Segment) {
        arch.segments[SegmentRegister.cs.rawValue] = segment
        updatePrivilege()
        decoder = Decoder(mode: arch.mode)
    }

    /// Makes the flat segment register value SYSCALL/SYSRET and interrupts load.
    static func flatSegment(selector: UInt16, code: Bool, long: Bool, dpl: UInt8) -> Segment {
        code ? (long ? .longCode(selector: selector, dpl: dpl)
                : Segment(selector: selector, base: 0, limit: 0xFFFF_FFFF, attributes: 0xB | 0x10 | (UInt32(dpl) << 5) | 0x80 | 0x4000 | 0x8000))
            : .flatData(selector: selector, dpl: dpl)
    }
}
