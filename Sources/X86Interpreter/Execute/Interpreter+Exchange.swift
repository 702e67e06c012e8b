import GuestMemory
import X86

extension Interpreter {
    /// CMPXCHG: compares the accumulator with E. Equal: ZF=1 and E ← G. Different: ZF=0 and
    /// the accumulator ← E; a memory destination is written either way (with its own value
    /// on failure), as the CPU does. Flags as CMP accumulator, E.
    func executeCmpxchg(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let accumulator = reg(0, d.size)
        let replacement = reg(d.reg, d.size)
        let old: UInt64
        if d.flags.contains(.memory) {
            old = try modifyE(p) { v in v == accumulator ? replacement : v }.old
        } else {
            old = reg(d.rm, d.size)
            if old == accumulator { setReg(d.rm, d.size, replacement) }
        }
        _ = aluCompute(AluKind.cmp.rawValue, accumulator, old, size: d.size)
        if old != accumulator { setReg(0, d.size, old) }
    }

    /// CMPXCHG8B (EDX:EAX vs m64, ECX:EBX stored) and CMPXCHG16B (RDX:RAX vs m128, 16-byte
    /// alignment required else #GP(0)). Only ZF changes.
    func executeCmpxchgDouble(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let la = effectiveAddress(p)
        let equal: Bool
        if d.size == 16 {
            guard la & 15 == 0 else { throw .generalProtection(0) }
            guard let ptr = try writablePointer(la, 8), let _ = try writablePointer(la &+ 8, 8) else {
                throw .generalProtection(0)  // unreachable: an aligned 16-byte operand is in one page
            }
            let expected = (gpr(.rax), gpr(.rdx))
            let seen = PhysicalMemory.compareExchange128(ptr, expected: expected, desired: (gpr(.rbx), gpr(.rcx)))
            equal = seen == expected
            if !equal {
                setGPR(.rax, seen.0)
                setGPR(.rdx, seen.1)
            }
        } else {
            let expected = (gpr(.rdx) & 0xFFFF_FFFF) << 32 | (gpr(.rax) & 0xFFFF_FFFF)
            let desired = (gpr(.rcx) & 0xFFFF_FFFF) << 32 | (gpr(.rbx) & 0xFFFF_FFFF)
            let old = try modifyMemory(la, 8, atomic: true) { v in v == expected ? desired : v }.old
            equal = old == expected
            if !equal {
                setGPR(.rax, old & 0xFFFF_FFFF)
                setGPR(.rdx, old >> 32)
            }
        }
        setStatusFlags(equal ? Self.ZF : 0, mask: Self.ZF)
    }

    /// XADD: E ← E + G, G ← old E; flags as ADD.
    func executeXadd(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let g = reg(d.reg, d.size)
        let m = sizeMask(d.size)
        let (old, new) = try modifyE(p) { v in (v &+ g) & m }
        setReg(d.reg, d.size, old)
        setLazy(.add, size: d.size, result: new, a: old, b: g)
    }
}
