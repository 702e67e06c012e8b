import GuestMemory
import X86

extension Interpreter {
    /// CMPXCHG E, G: compares the accumulator with E (flags as CMP). Equal: E ← G. Not equal:
    /// the accumulator ← E, and a memory E is written back unchanged (the processor always
    /// writes). With LOCK the comparison and store are one atomic step.
    func executeCmpxchg(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size = d.size
        let accumulator = reg(0, size)
        let g = reg(d.reg, size)
        let old: UInt64
        if d.flags.contains(.memory) {
            old = try modifyE(p) { v in v == accumulator ? g : v }.old
        } else {
            old = reg(d.rm, size)
            if old == accumulator { setReg(d.rm, size, g) }
        }
        setLazy(.sub, size: size, result: (accumulator &- old) & sizeMask(size), a: accumulator, b: old)
        if old != accumulator { setReg(0, size, old) }
    }

    /// CMPXCHG8B m64 (EDX:EAX vs m64, ECX:EBX stored) and CMPXCHG16B m128 (RDX:RAX, RCX:RBX).
    /// Only ZF changes. CMPXCHG16B needs a 16-byte aligned operand (#GP(0) otherwise).
    func executeCmpxchgDouble(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let la = effectiveAddress(p)
        let equal: Bool
        if d.size == 16 {
            guard la & 15 == 0 else { throw .generalProtection(0) }
            let expected = (gpr(.rax), gpr(.rdx))
            let desired = (gpr(.rbx), gpr(.rcx))
            let seen: (UInt64, UInt64)
            if let ptr = try writablePointer(la, 16) {
                seen = PhysicalMemory.compareExchange128(ptr, expected: expected, desired: desired)
            } else {
                // A page holding decoded code (no cached writable mapping): both halves are
                // checked writable before either is written.
                try probeWrite(la, 16, user: cpl == 3)
                let current = (try read(la, 8), try read(la &+ 8, 8))
                let store = current == expected ? desired : current
                try write(la, 8, store.0)
                try write(la &+ 8, 8, store.1)
                seen = current
            }
            equal = seen == expected
            if !equal {
                setGPR(.rax, seen.0)
                setGPR(.rdx, seen.1)
            }
        } else {
            let expected = (gpr(.rdx) << 32) | (gpr(.rax) & 0xFFFF_FFFF)
            let desired = (gpr(.rcx) << 32) | (gpr(.rbx) & 0xFFFF_FFFF)
            // Always atomic: the locked and unlocked forms differ only in bus locking.
            let old = try modifyMemory(la, 8, atomic: true) { v in v == expected ? desired : v }.old
            equal = old == expected
            if !equal {
                setReg(0, 4, old)
                setReg(2, 4, old >> 32)
            }
        }
        setStatusFlags(equal ? Self.ZF : 0, mask: Self.ZF)
    }

    /// XADD E, G: E ← E + G and G ← the old E (flags as ADD); atomic with LOCK.
    func executeXadd(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size = d.size
        let m = sizeMask(size)
        let g = reg(d.reg, size)
        let old: UInt64
        let new: UInt64
        if d.flags.contains(.memory) {
            (old, new) = try modifyE(p) { v in (v &+ g) & m }
            setReg(d.reg, size, old)
        } else {
            // The destination is written last, so XADD r, r with one register keeps the sum.
            old = reg(d.rm, size)
            new = (old &+ g) & m
            setReg(d.reg, size, old)
            setReg(d.rm, size, new)
        }
        setLazy(.add, size: size, result: new, a: old, b: g)
    }
}
