import GuestMemory
import X86
@testable import X86Interpreter

/// Descriptor tables for system tests: a GDT in Linux's layout (0x08 kernel code, 0x10
/// kernel data, 0x2B user data, 0x33 user code, 0x40 a 64-bit TSS), an IDT whose every gate
/// points at `handler` (an interrupt gate, DPL 3 so INT n works from user mode), and a TSS
/// with RSP0 = `kernelStack` and IST1 = `istStack`.
extension TestMachine {
    static let gdtBase = dataBase + 0x8000
    static let idtBase = dataBase + 0x9000
    static let tssBase = dataBase + 0xA000
    static let handler = codeBase + 0x1000
    static let kernelStack = stackTop - 0x4000
    static let istStack = stackTop - 0x8000

    static func gate(_ offset: UInt64, selector: UInt16 = 0x08, ist: UInt64 = 0, dpl: UInt64 = 3, type: UInt64 = 0xE) -> (UInt64, UInt64) {
        let low = (offset & 0xFFFF) | (UInt64(selector) << 16) | (ist << 32) | ((0x80 | (dpl << 5) | type) << 40)
            | (((offset >> 16) & 0xFFFF) << 48)
        return (low, offset >> 32)
    }

    func installDescriptorTables(handlerCode: [UInt8] = [0xF4]) {
        let gdt: [UInt64] = [
            0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0, 0,
            0x00CF_F200_0000_FFFF, 0x00AF_FA00_0000_FFFF, 0,
        ]
        for (i, d) in gdt.enumerated() { store64(d, at: Self.gdtBase + UInt64(i) * 8) }
        let b = Self.tssBase
        let tssLow = 0x67 | ((b & 0xFF_FFFF) << 16) | (0x89 << 40) | (((b >> 24) & 0xFF) << 56)
        store64(tssLow, at: Self.gdtBase + 0x40)
        store64(b >> 32, at: Self.gdtBase + 0x48)
        store64(Self.kernelStack, at: b + 4)  // RSP0 (unaligned field at offset 4)
        store64(Self.istStack, at: b + 0x24)  // IST1
        memory.store(UInt16(0x68), at: MachineAddress(b + 0x66))  // no I/O bitmap within the limit
        for v in 0..<256 {
            let (lo, hi) = Self.gate(Self.handler)
            store64(lo, at: Self.idtBase + UInt64(v) * 16)
            store64(hi, at: Self.idtBase + UInt64(v) * 16 + 8)
        }
        memory.write(handlerCode, at: MachineAddress(Self.handler))
        var s = state
        s.gdtr = DescriptorTableRegister(base: Self.gdtBase, limit: 0x4F)
        s.idtr = DescriptorTableRegister(base: Self.idtBase, limit: 0xFFF)
        s.tr = Segment(selector: 0x40, base: Self.tssBase, limit: 0x67, attributes: 0x8B)
        state = s
    }

    /// Delivers every exception through the IDT instead of exiting.
    func deliverExceptions() { cpu.intercepts.exceptionBitmap = 0 }

    /// The 8-byte stack slot `index` above RSP.
    func stackSlot(_ index: Int) -> UInt64? { load64(state[.rsp] + UInt64(index) * 8) }

    /// Rewrites the leaf PTE of a 4 KiB page built by `PageTableBuilder`.
    func updatePTE(linear: UInt64, _ transform: (UInt64) -> UInt64) {
        var table = state.cr3 & PTE.addressMask
        for level in stride(from: 4, to: 1, by: -1) {
            let entry = load64(table + ((linear >> (12 + 9 * UInt64(level - 1))) & 511) * 8) ?? 0
            table = entry & PTE.addressMask
        }
        let slot = table + ((linear >> 12) & 511) * 8
        store64(transform(load64(slot) ?? 0), at: slot)
    }

    func pte(linear: UInt64) -> UInt64 {
        var table = state.cr3 & PTE.addressMask
        for level in stride(from: 4, to: 0, by: -1) {
            let entry = load64(table + ((linear >> (12 + 9 * UInt64(level - 1))) & 511) * 8) ?? 0
            if level == 1 { return entry }
            table = entry & PTE.addressMask
        }
        return 0
    }
}
