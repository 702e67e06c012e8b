import X86
import XenABI

/// Emulation of the privileged instructions a PV kernel still executes (xen-abi §5.6).
/// Xen: emul-priv-op.c, emul-inv-op.c.
extension PVVCPU {
    /// Xen: the forced-emulation prefix `ud2; .ascii "xen"; cpuid` (0F 0B 78 65 6E 0F A2).
    func emulateForcedCPUID() -> Bool {
        guard let bytes = try? copyFromGuest(engine.state.rip, count: 7),
            bytes == [0x0F, 0x0B, 0x78, 0x65, 0x6E, 0x0F, 0xA2]
        else { return false }
        emulateCPUID()
        advance(by: 7)
        return true
    }

    func emulateCPUID() {
        var s = engine.state
        let r = domain.cpuidPolicy.query(
            leaf: UInt32(truncatingIfNeeded: s.gprs[.rax]), subleaf: UInt32(truncatingIfNeeded: s.gprs[.rcx]))
        var result = r
        if UInt32(truncatingIfNeeded: s.gprs[.rax]) == 1 {
            // Initial APIC id = vCPU id, as Xen reports.
            result.ebx = (r.ebx & 0x00FF_FFFF) | (id.rawValue & 0xFF) << 24
        }
        s.gprs[.rax] = UInt64(result.eax)
        s.gprs[.rbx] = UInt64(result.ebx)
        s.gprs[.rcx] = UInt64(result.ecx)
        s.gprs[.rdx] = UInt64(result.edx)
        engine.state = s
    }

    /// Decodes the instruction at RIP and emulates it; false when Xen would not emulate it
    /// (the caller then bounces the #GP).
    func emulatePrivilegedInstruction() -> Bool {
        let rip = engine.state.rip
        var fetched: [UInt8] = []
        // Fetch up to 15 bytes but stop at an unmapped page: a short instruction at the end of
        // a page must still decode.
        for n in stride(from: 15, through: 1, by: -1) {
            if let b = try? copyFromGuest(rip, count: n) {
                fetched = b
                break
            }
        }
        guard let (instruction, length) = PrivilegedInstruction.decode(fetched) else { return false }
        switch emulate(instruction) {
        case .done:
            advance(by: UInt8(length))
        case .repeatInstruction:
            break
        case .fault(let vector, let code):
            injectException(vector, errorCode: code)
        case .notEmulated:
            return false
        }
        return true
    }

    enum EmulationResult {
        case done
        /// A REP string iteration happened; RIP stays for the next one.
        case repeatInstruction
        case fault(vector: UInt8, code: UInt32?)
        case notEmulated
    }

    private var gp: EmulationResult { .fault(vector: ExceptionVector.generalProtection.rawValue, code: 0) }

    /// Xen: iopl_ok() — the virtual IOPL must cover the guest's mode: the guest kernel counts
    /// as ring 1, or as ring 0 with VMASST_TYPE_architectural_iopl.
    private var ioPrivileged: Bool {
        let cpl: UInt8 = pv.kernelMode ? (domain.isAssistEnabled(VMAssist.architecturalIOPL) ? 0 : 1) : 3
        return pv.virtualIOPL >= cpl
    }

    private func emulate(_ instruction: PrivilegedInstruction) -> EmulationResult {
        var s = engine.state
        switch instruction {
        case .cli, .sti:
            // Xen: allowed with sufficient virtual IOPL and then a no-op (PV kernels use
            // vcpu_info.evtchn_upcall_mask instead).
            return ioPrivileged ? .done : gp
        case .portIn(let port, let size):
            guard ioPrivileged else { return gp }
            // A domain without I/O port ranges reads all-ones (Xen: guest_io_read).
            _ = port
            let mask: UInt64 = size == 4 ? 0xFFFF_FFFF : (1 << (UInt64(size) * 8)) - 1
            let rax = s.gprs[.rax]
            s.gprs[.rax] = size == 4 ? mask : (rax & ~mask) | mask
            engine.state = s
            return .done
        case .portOut:
            return ioPrivileged ? .done : gp
        case .insString(let size, let rep, let addressSize), .outsString(let size, let rep, let addressSize):
            guard ioPrivileged else { return gp }
            return emulateStringIO(instruction, size: size, rep: rep, addressSize: addressSize)
        case .clts:
            setVirtualTS(false)
            return .done
        case .wbinvd:
            return .done
        case .moveControlRegister(let cr, let gpr, let toRegister):
            return toRegister ? readControlRegister(cr, into: gpr) : writeControlRegister(cr, from: gpr)
        case .moveDebugRegister(let dr, let gpr, let toRegister):
            guard let r = GPR(rawValue: Int(gpr)) else { return gp }
            if toRegister {
                guard let value = try? getDebugRegister(Int(dr)) else { return gp }
                s.gprs[r] = value
                engine.state = s
                return .done
            }
            do { try setDebugRegister(Int(dr), value: s.gprs[r]) } catch { return gp }
            return .done
        case .rdmsr:
            guard let value = readMSR(UInt32(truncatingIfNeeded: s.gprs[.rcx])) else { return gp }
            s.gprs[.rax] = value & 0xFFFF_FFFF
            s.gprs[.rdx] = value >> 32
            engine.state = s
            return .done
        case .wrmsr:
            let value = (s.gprs[.rdx] << 32) | (s.gprs[.rax] & 0xFFFF_FFFF)
            return writeMSR(UInt32(truncatingIfNeeded: s.gprs[.rcx]), value: value) ? .done : gp
        case .xsetbv:
            // XCR0 may only hold x87: Kite's CPU has no SSE/AVX state yet (CPUID hides XSAVE).
            guard s.gprs[.rcx] & 0xFFFF_FFFF == 0, s.gprs[.rax] & 0xFFFF_FFFF == 1, s.gprs[.rdx] & 0xFFFF_FFFF == 0
            else { return gp }
            return .done
        }
    }

    /// INS/OUTS for a domain without I/O ports: INS stores all-ones, OUTS reads and drops.
    /// One iteration per exit, like the CPU: RIP stays while a REP count remains.
    private func emulateStringIO(_ instruction: PrivilegedInstruction, size: UInt8, rep: Bool, addressSize: UInt8) -> EmulationResult {
        var s = engine.state
        let addressMask: UInt64 = addressSize == 4 ? 0xFFFF_FFFF : ~0
        if rep && s.gprs[.rcx] & addressMask == 0 { return .done }
        let step: UInt64 = s.rflags.contains(.direction) ? 0 &- UInt64(size) : UInt64(size)
        do {
            if case .insString = instruction {
                let rdi = s.gprs[.rdi] & addressMask
                try copyToGuest([UInt8](repeating: 0xFF, count: Int(size)), at: rdi)
                s.gprs[.rdi] = (s.gprs[.rdi] & ~addressMask) | ((rdi &+ step) & addressMask)
            } else {
                let rsi = s.gprs[.rsi] & addressMask
                _ = try copyFromGuest(rsi, count: Int(size))
                s.gprs[.rsi] = (s.gprs[.rsi] & ~addressMask) | ((rsi &+ step) & addressMask)
            }
        } catch {
            return gp
        }
        guard rep else {
            engine.state = s
            return .done
        }
        let count = (s.gprs[.rcx] & addressMask) &- 1
        s.gprs[.rcx] = (s.gprs[.rcx] & ~addressMask) | (count & addressMask)
        engine.state = s
        return count & addressMask == 0 ? .done : .repeatInstruction
    }

    /// Xen: pv_emul_read_cr() — CR0 with the virtual TS, the virtual CR2, CR3 of the
    /// current kernel table, a fixed CR4.
    private func readControlRegister(_ cr: UInt8, into gpr: UInt8) -> EmulationResult {
        guard let r = GPR(rawValue: Int(gpr)) else { return gp }
        var s = engine.state
        switch cr {
        case 0:
            var cr0 = s.cr0
            if pv.virtualTS { cr0.insert(.taskSwitched) } else { cr0.remove(.taskSwitched) }
            s.gprs[r] = cr0.rawValue
        case 2:
            s.gprs[r] = pv.virtualCR2
        case 3:
            let base = pv.kernelMode ? pv.kernelBase : pv.userBase
            s.gprs[r] = base?.address.rawValue ?? 0
        case 4:
            s.gprs[r] = s.cr4.rawValue
        default:
            return gp
        }
        engine.state = s
        return .done
    }

    /// Xen: pv_emul_write_cr() — CR0 may change only TS; CR2 is the virtual CR2; CR3
    /// loads a new base (MMU, issue's PV MMU work); CR4 writes are accepted and ignored.
    private func writeControlRegister(_ cr: UInt8, from gpr: UInt8) -> EmulationResult {
        guard let r = GPR(rawValue: Int(gpr)) else { return gp }
        let s = engine.state
        let value = s.gprs[r]
        switch cr {
        case 0:
            let ts = CR0.taskSwitched.rawValue
            guard (value ^ s.cr0.rawValue) & ~ts == 0 else { return gp }
            setVirtualTS(value & ts != 0)
            return .done
        case 2:
            storeCR2(value)
            return .done
        case 4:
            return .done
        default:
            return gp
        }
    }
}
