import X86
import XenABI

extension PVHypercalls {
    /// Xen: do_iret (pv/iret.c) for 64-bit guests (xen-abi §5.3). The guest left an
    /// iret_context at rsp; a frame that cannot be read crashes the domain, as in Xen.
    static func iret(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let rsp = vcpu.engine.state.gprs[.rsp]
        guard let f = try? vcpu.readGuestStruct(rsp, size: IretContextLayout.size) else {
            vcpu.domain.crash("iret frame at 0x\(String(rsp, radix: 16)) unreadable")
            return .registersLoaded
        }
        let cs = UInt16(truncatingIfNeeded: f.u64(IretContextLayout.cs)) | 3
        let ss = UInt16(truncatingIfNeeded: f.u64(IretContextLayout.ss)) | 3
        guard let code = PVVCPU.flatSegment(cs), let stack = PVVCPU.flatSegment(ss) else {
            vcpu.domain.crash("iret to selector 0x\(String(cs, radix: 16)):0x\(String(ss, radix: 16)) outside Xen's flat set (guest GDTs are not supported yet)")
            return .registersLoaded
        }
        if f.u64(IretContextLayout.cs) & 3 == 3 && vcpu.pv.kernelMode {
            guard vcpu.pv.userBase != nil else {
                vcpu.domain.crash("iret to user mode without a user page table")
                return .registersLoaded
            }
            vcpu.toggleGuestMode()
        }
        let frameFlags = f.u64(IretContextLayout.rflags)
        var rflags = frameFlags & ~(RFlags.iopl.rawValue | RFlags.virtual8086.rawValue)
        rflags |= RFlags.interrupt.rawValue | RFlags.fixed.rawValue
        rflags &= RFlags.defined.rawValue
        if vcpu.domain.isAssistEnabled(VMAssist.architecturalIOPL) {
            vcpu.pv.virtualIOPL = UInt8((frameFlags >> 12) & 3)
        }
        var s = vcpu.engine.state
        s.rip = f.u64(IretContextLayout.rip)
        s.gprs[.rsp] = f.u64(IretContextLayout.rsp)
        s.segments[SegmentRegister.cs.rawValue] = code
        s.segments[SegmentRegister.ss.rawValue] = stack
        s.rflags = RFlags(rawValue: rflags)
        s.gprs[.rax] = f.u64(IretContextLayout.rax)
        if f.u64(IretContextLayout.flags) & IretContextLayout.inSyscallFlag != 0 {
            // Returned as SYSRET would: rcx = rip, r11 = rflags.
            s.gprs[.rcx] = s.rip
            s.gprs[.r11] = rflags
        } else {
            s.gprs[.rcx] = f.u64(IretContextLayout.rcx)
            s.gprs[.r11] = f.u64(IretContextLayout.r11)
        }
        vcpu.engine.state = s
        vcpu.upcallMask = frameFlags & RFlags.interrupt.rawValue != 0 ? 0 : 1
        return .registersLoaded
    }
}

extension PVVCPU {
    /// The cached descriptor for one of Xen's reserved flat selectors (RPL 3).
    static func flatSegment(_ selector: UInt16) -> Segment? {
        switch selector {
        case FlatSelector.code64:
            return .longCode(selector: selector, dpl: 3)
        case FlatSelector.data:
            return .flatData(selector: selector, dpl: 3)
        default:
            return nil
        }
    }
}
