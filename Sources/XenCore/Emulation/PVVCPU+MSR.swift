import X86
import XenABI

/// RDMSR/WRMSR for a PV guest (xen-abi §2.11). Xen: pv emul-priv-op.c read_msr/write_msr
/// and the guest MSR policy. nil / false means #GP for the guest.
extension PVVCPU {
    /// Xen: IA32_MISC_ENABLE as PV guests read it (fast strings, PEBS/BTS unavailable).
    static let miscEnable: UInt64 = (1 << 0) | (1 << 11) | (1 << 12)
    static let miscEnableMSR: UInt32 = 0x1A0
    static let platformInfoMSR: UInt32 = 0xCE
    static let perfCapabilitiesMSR: UInt32 = 0x345

    func readMSR(_ msr: UInt32) -> UInt64? {
        let s = engine.state
        switch msr {
        case MSR.fsBase:
            return s[.fs].base
        case MSR.gsBase:
            return s[.gs].base
        case MSR.kernelGSBase:
            // Xen: the user GS base while in kernel mode (the one SWAPGS would load).
            return pv.kernelMode ? pv.inactiveGSBase : s[.gs].base
        case MSR.tsc:
            return domain.clock.tsc()
        case MSR.efer:
            return s.efer.rawValue
        case MSR.pat:
            // Xen's PAT for PV guests.
            return 0x0000_0501_0007_0406
        case MSR.apicBase:
            return 0xFEE0_0800 | (id.rawValue == 0 ? 1 << 8 : 0)
        case Self.miscEnableMSR:
            return Self.miscEnable
        case MSR.tscAux:
            return s.tscAux
        case Self.perfCapabilitiesMSR:
            return 0
        default:
            return nil
        }
    }

    func writeMSR(_ msr: UInt32, value: UInt64) -> Bool {
        var s = engine.state
        switch msr {
        case MSR.fsBase:
            guard isCanonical(value) else { return false }
            s.segments[SegmentRegister.fs.rawValue].base = value
        case MSR.gsBase:
            guard isCanonical(value) else { return false }
            s.segments[SegmentRegister.gs.rawValue].base = value
        case MSR.kernelGSBase:
            guard isCanonical(value) else { return false }
            if pv.kernelMode { pv.inactiveGSBase = value } else { s.segments[SegmentRegister.gs.rawValue].base = value }
        case MSR.efer:
            // Xen: writes must not change anything the guest may not control.
            return value == s.efer.rawValue
        case MSR.tscAux:
            guard value >> 32 == 0 else { return false }
            s.tscAux = value
        case MSR.pat, Self.miscEnableMSR:
            // Xen drops writes of these for PV guests.
            return true
        default:
            return false
        }
        engine.state = s
        return true
    }

    /// Xen: set_debugreg() (pv/misc-hypercalls.c): -EPERM for a breakpoint outside guest
    /// space, GD or an I/O breakpoint; -EINVAL for upper-half bits; -ENODEV for no register.
    func setDebugRegister(_ reg: Int, value: UInt64) throws(XenError) {
        switch reg {
        case 0...3:
            guard Self.accessOK(value, count: 8) else { throw .EPERM }
            pv.debugRegisters[reg] = value
            loadDebugRegister(reg, value)
        case 4, 6:
            guard value >> 32 == 0 else { throw .EINVAL }
            // Reserved bits: 4–11 and 16–31 read as one (no RTM), bit 12 as zero.
            pv.debugRegisters[6] = (value | 0xFFFF_0FF0) & 0xFFFF_EFFF
        case 5, 7:
            guard value >> 32 == 0 else { throw .EINVAL }
            // Xen: x86_adj_dr7_rsvd — bit 10 reads as one; bits 12, 14, 15 and (no RTM) 11 as zero.
            let v = (value | 0x400) & 0xFFFF_2FFF & ~(UInt64(1) << 11)
            guard v & (1 << 13) == 0 else { throw .EPERM }  // GD
            if v & 0xFF != 0 {
                for bp in 0..<4 where (v >> (16 + 4 * UInt64(bp))) & 3 == 2 {
                    _ = bp
                    throw .EPERM  // I/O breakpoints need CR4.DE, which PV guests cannot set
                }
            }
            pv.debugRegisters[7] = v
            loadDebugRegister(7, v)
        default:
            throw .ENODEV
        }
    }

    /// Xen: activate_debugregs() — a PV vCPU's DR0-DR3 and DR7 are the CPU's while it runs,
    /// so its breakpoints fire as on hardware and their #DB reaches do_debug
    /// (`handleException`). DR6 stays the CPU's: do_debug moves its status bits over.
    private func loadDebugRegister(_ reg: Int, _ value: UInt64) {
        var s = engine.state
        if s.debugRegisters.count < 8 { s.debugRegisters = CPUState().debugRegisters }
        guard s.debugRegisters[reg] != value else { return }
        s.debugRegisters[reg] = value
        engine.state = s
    }

    /// Xen: do_get_debugreg() via x86emul_read_dr(); DR4/DR5 alias DR6/DR7 (no CR4.DE).
    func getDebugRegister(_ reg: Int) throws(XenError) -> UInt64 {
        switch reg {
        case 0...3, 6, 7: return pv.debugRegisters[reg]
        case 4: return pv.debugRegisters[6]
        case 5: return pv.debugRegisters[7]
        default: throw .ENODEV
        }
    }
}
