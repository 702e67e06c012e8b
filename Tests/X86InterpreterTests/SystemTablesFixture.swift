import GuestMemory
import X86
@testable import X86Interpreter

/// A fuller set of descriptor tables than `installDescriptorTables` (for segment, TSS and
/// I/O-bitmap tests): a GDT with Linux's selector layout, a
/// 64-bit TSS with RSP0, IST1 and an I/O permission bitmap, and an IDT whose gates point at
/// one HLT per vector, all in a supervisor-only area (implicit accesses are supervisor ones).
///
///     0x00 null            0x20 user code32 (DPL3)   0x38 TSS (16 bytes)
///     0x08 kernel code64   0x28 user data (DPL3)     0x48 user data, not present
///     0x10 kernel data     0x30 user code64 (DPL3)   0x50 data, base 0x0012_3000 (DPL3)
///     0x18 kernel data     0x40 (TSS high half)      0x58 LDT (16 bytes)
enum SystemTables {
    static let area: UInt64 = 0x50_0000
    static let gdt: UInt64 = area
    static let tss: UInt64 = area + 0x1000
    static let idt: UInt64 = area + 0x4000
    static let ldt: UInt64 = area + 0x5000
    /// I/O bitmap right after the 0x68-byte TSS header: 8 KiB plus the trailing 0xFF byte.
    static let ioBitmapOffset: UInt64 = 0x68
    static let tssLimit: UInt32 = 0x68 + 0x2000
    /// Handlers: one HLT per vector at `handler(vector)`.
    static let handlers: UInt64 = TestMachine.codeBase + 0x8000
    static func handler(_ vector: UInt8) -> UInt64 { handlers + UInt64(vector) * 16 }
    /// RSP0 and IST1 stacks (inside the machine's mapped stack region).
    static let rsp0: UInt64 = TestMachine.stackTop - 0x4000
    static let ist1: UInt64 = TestMachine.stackTop - 0x8000

    static let kernelCode: UInt16 = 0x08
    static let kernelData: UInt16 = 0x10
    static let userCode32: UInt16 = 0x23
    static let userData: UInt16 = 0x2B
    static let userCode: UInt16 = 0x33
    static let tssSelector: UInt16 = 0x38
    static let absentData: UInt16 = 0x4B
    static let basedData: UInt16 = 0x53
    static let ldtSelector: UInt16 = 0x58

    static let gdtEntries: [UInt64] = [
        0,
        0x00AF_9B00_0000_FFFF,  // 0x08 kernel code, L=1
        0x00CF_9300_0000_FFFF,  // 0x10 kernel data
        0x00CF_9300_0000_FFFF,  // 0x18 kernel data
        0x00CF_FB00_0000_FFFF,  // 0x20 user code, 32-bit
        0x00CF_F300_0000_FFFF,  // 0x28 user data
        0x00AF_FB00_0000_FFFF,  // 0x30 user code, L=1
        0, 0,  // 0x38 TSS, filled in below
        0x00CF_7300_0000_FFFF,  // 0x48 user data, P=0
        0x00CF_F300_3000_FFFF | (0x12 << 32),  // 0x50 user data, base 0x0012_3000
        0, 0,  // 0x58 LDT, filled in below
    ]

    /// A 16-byte system descriptor (TSS type 9, LDT type 2).
    static func systemDescriptor(base: UInt64, limit: UInt32, type: UInt64) -> (UInt64, UInt64) {
        let low = (UInt64(limit) & 0xFFFF) | ((base & 0xFF_FFFF) << 16) | (type << 40) | (1 << 47)
            | ((UInt64(limit) >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56)
        return (low, base >> 32)
    }

    /// A 64-bit interrupt (type 0xE) or trap (0xF) gate.
    static func gate(target: UInt64, selector: UInt16 = kernelCode, dpl: UInt64 = 0, ist: UInt64 = 0, type: UInt64 = 0xE, present: Bool = true) -> (UInt64, UInt64) {
        let low = (target & 0xFFFF) | (UInt64(selector) << 16) | (ist << 32) | (type << 40) | (dpl << 45)
            | (present ? 1 << 47 : 0) | ((target >> 16 & 0xFFFF) << 48)
        return (low, target >> 32)
    }
}

extension TestMachine {
    /// Maps the system area supervisor-only, writes the GDT, TSS (I/O bitmap denying every
    /// port) and an IDT with an interrupt gate per vector (DPL 0, 0x80 DPL 3), a HLT at each
    /// handler, and loads GDTR, IDTR, TR and STAR (Linux's layout). Clears the exception
    /// bitmap when `deliver` so exceptions go through the IDT.
    func installSystemTables(deliver: Bool = true) throws {
        try tables.mapRange(linear: SystemTables.area, length: 0x10000, to: MachineAddress(SystemTables.area).frame, flags: PTE.writable)
        var gdt = SystemTables.gdtEntries
        let t = SystemTables.systemDescriptor(base: SystemTables.tss, limit: SystemTables.tssLimit, type: 9)
        gdt[7] = t.0
        gdt[8] = t.1
        let l = SystemTables.systemDescriptor(base: SystemTables.ldt, limit: 0xF, type: 2)
        gdt[11] = l.0
        gdt[12] = l.1
        for (i, e) in gdt.enumerated() { store64(e, at: SystemTables.gdt + UInt64(i) * 8) }
        // LDT: one DPL3 data segment at selector 0x04|3 (index 0, TI=1) and one at 0x0C.
        store64(0x00CF_F300_0000_FFFF, at: SystemTables.ldt)
        store64(0x00CF_F300_0000_FFFF, at: SystemTables.ldt + 8)
        // TSS: RSP0, IST1, I/O map base; bitmap all ones (deny) plus the trailing byte.
        store64(SystemTables.rsp0, at: SystemTables.tss + 4)
        store64(SystemTables.ist1, at: SystemTables.tss + 0x24)
        memory.store(UInt16(SystemTables.ioBitmapOffset), at: MachineAddress(SystemTables.tss + 0x66))
        memory.write([UInt8](repeating: 0xFF, count: 0x2001), at: MachineAddress(SystemTables.tss + SystemTables.ioBitmapOffset))
        for v in 0..<256 {
            let g = SystemTables.gate(target: SystemTables.handler(UInt8(v)), dpl: v == 0x80 ? 3 : 0)
            setGate(UInt8(v), g)
            memory.write([0xF4], at: MachineAddress(SystemTables.handler(UInt8(v))))
        }
        var s = state
        s.gdtr = DescriptorTableRegister(base: SystemTables.gdt, limit: UInt16(gdt.count * 8 - 1))
        s.idtr = DescriptorTableRegister(base: SystemTables.idt, limit: 0xFFF)
        s.tr = Segment(selector: SystemTables.tssSelector, base: SystemTables.tss, limit: SystemTables.tssLimit, attributes: 0x8B)
        s.star = (UInt64(SystemTables.userCode32 & ~3) << 48) | (UInt64(SystemTables.kernelCode) << 32)
        state = s
        if deliver { cpu.intercepts.exceptionBitmap = 0 }
        cpu.flushTLB(.all)
    }

    func setGate(_ vector: UInt8, _ gate: (UInt64, UInt64)) {
        store64(gate.0, at: SystemTables.idt + UInt64(vector) * 16)
        store64(gate.1, at: SystemTables.idt + UInt64(vector) * 16 + 8)
    }

    /// Allows (clear bit) or denies (set bit) `port` in the TSS I/O bitmap.
    func setIOPermission(_ port: UInt16, allowed: Bool) {
        let a = MachineAddress(SystemTables.tss + SystemTables.ioBitmapOffset + UInt64(port >> 3))
        let byte = memory.load(UInt8.self, at: a) ?? 0xFF
        let bit = UInt8(1) << UInt8(port & 7)
        memory.store(allowed ? byte & ~bit : byte | bit, at: a)
    }

    /// Writes code at `linear` (in the machine's identity-mapped RAM).
    func write(_ bytes: [UInt8], at linear: UInt64) { memory.write(bytes, at: MachineAddress(linear)) }

    /// The 8-byte stack slots at `rsp`, lowest first.
    func stackSlots(_ rsp: UInt64, count: Int) -> [UInt64] {
        (0..<count).map { load64(rsp + UInt64($0) * 8) ?? 0xDEAD }
    }

    /// Writes a 64-bit IRET frame returning to kernel code at `target` with `rflags` at
    /// `rsp` (the RSP the machine was set up with), the returned-to stack at stackTop - 0x80.
    func writeIretFrame(at rsp: UInt64, target: UInt64, rflags: UInt64) {
        let frame: [UInt64] = [target, UInt64(SystemTables.kernelCode), rflags, TestMachine.stackTop - 0x80, UInt64(SystemTables.kernelData)]
        for (i, v) in frame.enumerated() { store64(v, at: rsp + UInt64(i) * 8) }
    }

    /// Advances RIP past an intercepted instruction, as a hypervisor does.
    func skip(_ length: UInt8) {
        var s = state
        s.rip += UInt64(length)
        state = s
    }
}
