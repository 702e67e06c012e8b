#if canImport(Glibc)
    import Glibc
#endif
import GuestMemory
import X86

extension Interpreter {
    /// System instructions. Those flagged `endsBlock` set RIP themselves; an intercept exit
    /// leaves RIP at the instruction. Privileged ones raise #GP(0) at CPL > 0.
    func executeSystem(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        switch d.op {
        case .hlt:
            try requireCPL0()
            if intercepts.hlt { throw .exit(.hlt(length: d.length)) }
            // Without an intercept HLT would wait for an interrupt; nothing else can wake
            // this CPU inside `run`, so it returns to the caller as an exit anyway.
            throw .exit(.hlt(length: d.length))
        case .cpuid:
            // CPUID always exits: the hypervisor owns the CPU's identity (as under VT-x).
            throw .exit(.cpuid(length: d.length))
        case .inPort, .outPort:
            try executePortIO(p)
        case .rdmsr, .wrmsr:
            try executeMSR(p)
            if d.flags.contains(.endsBlock) { rip = nextRIP(p) }
        case .int, .int3, .int1:
            try executeSoftwareInterrupt(p)
        case .syscall: try executeSyscall(p)
        case .sysret: try executeSysret(p)
        case .iret: try executeIret(p)
        case .movToCR, .movFromCR, .movToDR, .movFromDR, .clts, .lmsw, .smsw:
            try executeControlRegister(p)
            if d.flags.contains(.endsBlock) { rip = nextRIP(p) }
        case .invlpg:
            try requireCPL0()
            let address = effectiveAddress(p)
            if intercepts.invlpg { throw .exit(.invlpg(address: address, length: d.length)) }
            tlb.flush(page: address)
            walkCache = WalkCache()
            rip = nextRIP(p)
        case .lgdt, .lidt, .sgdt, .sidt, .lldt, .sldt, .ltr, .str:
            try executeDescriptorTable(p)
            if d.flags.contains(.endsBlock) { rip = nextRIP(p) }
        case .swapgs:
            try requireCPL0()
            swap(&gsBase, &arch.kernelGSBase)
        case .wbinvd, .invd:
            try requireCPL0()  // caches are coherent here: nothing to write back
        case .xgetbv:
            guard arch.cr4.contains(.osxsave) else { throw .undefinedOpcode }
            guard gpr(.rcx) & 0xFFFF_FFFF == 0 else { throw .generalProtection(0) }
            setReg(0, 4, arch.xcr0 & 0xFFFF_FFFF)
            setReg(2, 4, arch.xcr0 >> 32)
        case .xsetbv:
            guard arch.cr4.contains(.osxsave) else { throw .undefinedOpcode }
            try requireCPL0()
            throw .exit(.xsetbv(length: d.length))
        case .movToSegment, .movFromSegment, .pushSegment, .popSegment:
            try executeSegmentMove(p)
            if d.flags.contains(.endsBlock) { rip = nextRIP(p) }
        case .fsgsBase:
            guard arch.cr4.contains(.fsgsbase) else { throw .undefinedOpcode }
            let value = reg(d.rm, d.size)
            switch d.sub {
            case 0: setReg(d.rm, d.size, fsBase & sizeMask(d.size))
            case 1: setReg(d.rm, d.size, gsBase & sizeMask(d.size))
            case 2:
                guard isCanonical(value) else { throw .generalProtection(0) }
                fsBase = value
            default:
                guard isCanonical(value) else { throw .generalProtection(0) }
                gsBase = value
            }
        case .rdtsc, .rdtscp:
            if arch.cr4.contains(.timeStampDisable) && cpl > 0 { throw .generalProtection(0) }
            if intercepts.rdtsc { throw .exit(.rdtsc(isRDTSCP: d.op == .rdtscp, length: d.length)) }
            let tsc = Self.hostTimeStamp() &+ arch.tscOffset
            setReg(0, 4, tsc & 0xFFFF_FFFF)
            setReg(2, 4, tsc >> 32)
            if d.op == .rdtscp { setReg(1, 4, arch.tscAux & 0xFFFF_FFFF) }
        case .rdrand, .rdseed:
            if intercepts.rdrand { throw .exit(.rdrand(register: d.rm, operandSize: d.size, length: d.length)) }
            throw .undefinedOpcode
        case .rdpid:
            setReg(d.rm, 8, arch.tscAux & 0xFFFF_FFFF)
        case .fence:
            PhysicalMemory.fence()
        case .clflush:
            _ = try read(effectiveAddress(p), 1)  // faults like a byte load; no cache to flush
        case .clac, .stac:
            // SMAP is not offered (CPUID hides it), so these are undefined.
            throw .undefinedOpcode
        case .lar, .lsl, .verr, .verw:
            try executeDescriptorQuery(p)
        case .jmpFar, .callFar, .retFar:
            try executeFarTransfer(p)
        case .x87:
            try executeX87(p)
        case .fwait:
            try executeFwait()
        case .fxsave, .fxrstor, .ldmxcsr, .stmxcsr:
            try executeFXState(p)
        case .sse:
            try executeSSE(p)
        default:
            throw .undefinedOpcode
        }
    }

    @inline(__always)
    func requireCPL0() throws(CPUEvent) {
        guard cpl == 0 else { throw .generalProtection(0) }
    }

    /// The host's time-stamp counter (the guest's TSC runs at the host's rate).
    static func hostTimeStamp() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        // A 1 GHz view of the monotonic clock: monotonic, and independent of CPU migration.
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
