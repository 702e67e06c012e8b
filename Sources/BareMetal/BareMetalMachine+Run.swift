import GuestMemory
import X86

extension BareMetalMachine {
    /// Runs the guest until it exits, halts or fails. Console bytes go to `console` as they
    /// are written (and into the result, up to `consoleCapacity`).
    public func run(console: (UInt8) -> Void = { _ in }) -> BareMetalResult {
        let clock = ContinuousClock()
        let start = clock.now
        let first = instructions
        var kept: [UInt8] = []
        var truncated = false
        let capacity = max(0, configuration.consoleCapacity)
        let outcome = loop(first: first) { byte in
            console(byte)
            if kept.count < capacity { kept.append(byte) } else { truncated = true }
        }
        return BareMetalResult(
            outcome: outcome, console: kept, consoleTruncated: truncated,
            instructions: instructions &- first, elapsed: clock.now - start)
    }

    private func loop(first: UInt64, console: (UInt8) -> Void) -> BareMetalOutcome {
        let slice = max(1, configuration.sliceBudget)
        while true {
            var budget = slice
            if let limit = configuration.maxInstructions {
                let done = instructions &- first
                guard done < limit else { return .failed(.instructionLimit(limit)) }
                budget = Int(min(UInt64(slice), limit - done))
            }
            if let outcome = handle(cpu.run(budget: budget), console: console) { return outcome }
        }
    }

    /// Emulates one exit. Returns the outcome when the run is over, nil to keep going.
    func handle(_ exit: VCPUExit, console: (UInt8) -> Void) -> BareMetalOutcome? {
        switch exit {
        case .budgetExhausted:
            return nil
        case .io(let access, let length):
            return io(access, length: length, console: console)
        case .hlt(let length):
            advance(length)
            return .halted
        case .cpuid(let length):
            var s = cpu.state
            let r = cpuid.query(leaf: UInt32(truncatingIfNeeded: s[.rax]), subleaf: UInt32(truncatingIfNeeded: s[.rcx]))
            // 32-bit results zero-extend into the 64-bit registers.
            s[.rax] = UInt64(r.eax)
            s[.rbx] = UInt64(r.ebx)
            s[.rcx] = UInt64(r.ecx)
            s[.rdx] = UInt64(r.edx)
            s.rip &+= UInt64(length)
            cpu.state = s
            emulatedInstructions &+= 1
            return nil
        case .rdmsr(let msr, _):
            return .failed(.msrAccess(msr: msr, isWrite: false, rip: cpu.state.rip))
        case .wrmsr(let msr, _, _):
            return .failed(.msrAccess(msr: msr, isWrite: true, rip: cpu.state.rip))
        case .exception(let e):
            return .failed(.exception(e, rip: cpu.state.rip))
        case .tripleFault:
            return .failed(.tripleFault(rip: cpu.state.rip))
        case .physicalAccessFault(let address, let isWrite):
            return .failed(.physicalAccess(address: address, isWrite: isWrite, rip: cpu.state.rip))
        default:
            // INT n, SYSCALL, CR writes, INVLPG, RDTSC, RDRAND are not intercepted here;
            // XSETBV and unsupported modes are.
            return .failed(.unhandledExit(exit, rip: cpu.state.rip))
        }
    }

    /// OUT 0xE9 prints, OUT 0xF4 exits, other OUTs are dropped; every IN reads all ones
    /// (nothing answers on the bus), as on a PC with no device at the port.
    private func io(_ access: IOAccess, length: UInt8, console: (UInt8) -> Void) -> BareMetalOutcome? {
        guard !access.isString else {
            return .failed(.stringIO(port: access.port, rip: cpu.state.rip))
        }
        var s = cpu.state
        s.rip &+= UInt64(length)
        emulatedInstructions &+= 1
        if access.isWrite {
            cpu.state = s
            switch access.port {
            case BareMetalPort.debugConsole: console(UInt8(truncatingIfNeeded: access.value))
            case BareMetalPort.debugExit: return .exited(code: access.value)
            default: break
            }
            return nil
        }
        switch access.size {
        case 1: s[.rax] |= 0xFF
        case 2: s[.rax] |= 0xFFFF
        default: s[.rax] = 0xFFFF_FFFF  // a 32-bit write clears the upper half
        }
        cpu.state = s
        return nil
    }

    private func advance(_ length: UInt8) {
        var s = cpu.state
        s.rip &+= UInt64(length)
        cpu.state = s
        emulatedInstructions &+= 1
    }
}
