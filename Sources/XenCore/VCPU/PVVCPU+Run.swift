import Foundation
import X86
import XenABI

/// Why `PVVCPU.run()` returned.
public enum VCPUStop: Equatable, Sendable {
    /// The domain shut down (or was crashed); the toolstack reads the reason from the domain.
    case domainShutdown
    /// `maxInstructions` ran out (tests, benchmarks).
    case instructionLimit
}

/// The vCPU's run loop: the engine runs guest code, every exit is turned into Xen
/// behaviour, and events are delivered before each return to the guest.
extension PVVCPU {
    /// Instructions per engine call: bounds how late timers and remote kicks are noticed.
    static let slice = 50_000

    /// Runs until the domain shuts down. Offline vCPUs wait for VCPUOP_up.
    public func run(maxInstructions: UInt64 = .max) -> VCPUStop {
        let start = engine.retiredInstructions
        while true {
            if domain.shutdownState != nil { return .domainShutdown }
            if engine.retiredInstructions &- start >= maxInstructions { return .instructionLimit }
            guard isOnline, !domain.isPaused else {
                waitForWake(deadline: nil)
                continue
            }
            checkTimers()
            deliverPendingEvents()
            if domain.shutdownState != nil { return .domainShutdown }
            let remaining = maxInstructions &- (engine.retiredInstructions &- start)
            enterGuest()
            let exit = engine.run(budget: Int(min(UInt64(Self.slice), remaining)))
            leaveGuest()
            handle(exit)
        }
    }

    func handle(_ exit: VCPUExit) {
        switch exit {
        case .budgetExhausted:
            break
        case .syscall(let length):
            if pv.kernelMode {
                performHypercall(instructionLength: length)
            } else {
                exitStatistics.userSyscalls &+= 1
                bounceUserSyscall(instructionLength: length)
            }
        case .exception(let e):
            exitStatistics.exceptions[Int(e.vector & 31)] &+= 1
            handleException(e)
        case .softwareInterrupt(let vector, let length):
            exitStatistics.softwareInterrupts &+= 1
            handleSoftwareInterrupt(vector: vector, length: length)
        case .cpuid(let length):
            exitStatistics.cpuid &+= 1
            emulateCPUID()
            advance(by: length)
        case .rdtsc(let isRDTSCP, let length):
            exitStatistics.rdtsc &+= 1
            var s = engine.state
            let tsc = domain.clock.tsc()
            s.gprs[.rax] = tsc & 0xFFFF_FFFF
            s.gprs[.rdx] = tsc >> 32
            if isRDTSCP { s.gprs[.rcx] = s.tscAux & 0xFFFF_FFFF }
            s.rip &+= UInt64(length)
            engine.state = s
        case .physicalAccessFault(let address, _):
            domain.crash("access to machine address 0x\(String(address, radix: 16)) outside RAM")
        case .tripleFault:
            domain.crash("triple fault")
        case .unsupportedMode(let mode):
            domain.crash("the CPU left 64-bit mode (\(mode))")
        case .hlt, .rdmsr, .wrmsr, .io, .controlRegisterWrite, .invlpg, .xsetbv, .rdrand:
            // CPL-0-only exits: a PV guest runs at CPL 3, where these raise #GP first.
            domain.crash("unexpected exit \(exit) at CPL 3")
        }
    }

    func advance(by length: UInt8) {
        engine.state.rip &+= UInt64(length)
    }

    /// Xen's handling of a hardware exception raised by PV guest code: privileged
    /// instructions after #GP, the forced-emulation prefix after #UD, the rest bounced.
    func handleException(_ e: X86Exception) {
        switch e.vector {
        case ExceptionVector.generalProtection.rawValue where e.errorCode == 0:
            if emulatePrivilegedInstruction() {
                exitStatistics.emulatedPrivileged &+= 1
                return
            }
            injectException(e.vector, errorCode: 0)
        case ExceptionVector.invalidOpcode.rawValue:
            if emulateForcedCPUID() { return }
            injectException(e.vector)
        case ExceptionVector.deviceNotAvailable.rawValue:
            handleDeviceNotAvailable()
        case ExceptionVector.debug.rawValue:
            // Xen: do_debug — the CPU's DR6 status bits go into the guest's virtual DR6
            // (what get_debugreg(6) returns), then the #DB is bounced.
            var s = engine.state
            if s.debugRegisters.count > 6 {
                let status = s.debugRegisters[6] & 0x0000_E00F
                pv.debugRegisters[6] |= status
                s.debugRegisters[6] &= ~status
                engine.state = s
            }
            injectException(e.vector)
        case ExceptionVector.pageFault.rawValue:
            if emulatePageTableWrite(address: e.faultAddress ?? 0, errorCode: e.errorCode ?? 0) { return }
            if mapLDTShadowPage(faultAddress: e.faultAddress ?? 0) { return }
            // Xen: handle_ldt_mapping_fault — a fault in the shadow LDT is reported at the
            // guest's own LDT address.
            injectPageFault(address: guestLDTAddress(forShadow: e.faultAddress ?? 0) ?? e.faultAddress ?? 0, errorCode: e.errorCode ?? 0)
        default:
            injectException(e.vector, errorCode: e.errorCode)
        }
    }

    /// Xen: INT n from a PV guest raises #GP on hardware (IDT DPL 0); Xen checks the trap
    /// table's DPL against guest kernel (1) or user (3) mode and bounces past the
    /// instruction. INT3 and INTO behave as their exceptions (traps, RIP after them).
    func handleSoftwareInterrupt(vector: UInt8, length: UInt8) {
        let isInstructionException = (vector == 3 || vector == 4) && length == 1
        if !isInstructionException {
            let needed: UInt8 = pv.kernelMode ? 1 : 3
            guard let entry = pv.trapTable[Int(vector)], entry.address != 0, entry.dpl >= needed else {
                // #GP with the IDT-style error code: vector << 3 | 2 (IDT).
                injectException(ExceptionVector.generalProtection.rawValue, errorCode: UInt32(vector) << 3 | 2)
                return
            }
        }
        advance(by: length)
        injectException(vector)
    }

    /// Xen: a `syscall` from guest user mode goes to the guest kernel's syscall callback
    /// (xen-abi §5.3): frame {RCX, R11, RIP, CS, RFLAGS, RSP, SS} built from the registers
    /// the instruction would have set (RCX = return RIP, R11 = RFLAGS).
    func bounceUserSyscall(instructionLength: UInt8) {
        guard pv.syscallCallback != 0 else {
            injectException(ExceptionVector.invalidOpcode.rawValue)
            return
        }
        var s = engine.state
        s.rip &+= UInt64(instructionLength)
        s.gprs[.rcx] = s.rip
        s.gprs[.r11] = s.rflags.rawValue
        // Xen's lstar_enter records FLAT_KERNEL_CS64/FLAT_KERNEL_SS in the frame (what
        // SYSCALL loads from Xen's MSR_STAR), not the user's own selectors.
        s.segments[SegmentRegister.cs.rawValue] = .longCode(selector: FlatSelector.code64, dpl: 3)
        s.segments[SegmentRegister.ss.rawValue] = .flatData(selector: FlatSelector.data, dpl: 3)
        engine.state = s
        guard bounce(TrapBounce(handler: pv.syscallCallback, errorCode: nil, masksEvents: pv.syscallMasksEvents)) else { return }
        engine.state.rflags.remove(.direction)
    }

    /// How long a vCPU about to sleep first watches for a wake-up without sleeping: a
    /// host thread wake-up costs tens of microseconds, an event round trip between vCPUs
    /// is usually shorter than that.
    static let spinBeforeSleepNanoseconds: UInt64 = 30_000

    /// Blocks the host thread until `kick()` or `deadline` (host monotonic ns).
    func waitForWake(deadline: UInt64?) {
        let spinUntil = DomainClock.hostMonotonicNanoseconds() &+ Self.spinBeforeSleepNanoseconds
        while !wakeHint.load(ordering: .acquiring) && DomainClock.hostMonotonicNanoseconds() < min(spinUntil, deadline ?? .max) {
            sched_yield()
        }
        wakeCondition.lock()
        defer { wakeCondition.unlock() }
        while !wakeRequested {
            if let deadline {
                let now = DomainClock.hostMonotonicNanoseconds()
                guard deadline > now else { break }
                _ = wakeCondition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
            } else {
                wakeCondition.wait()
            }
        }
        wakeRequested = false
        wakeHint.store(false, ordering: .releasing)
    }
}
