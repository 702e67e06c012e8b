import GuestMemory
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
        // A selector that would not load: Xen's return to the guest faults and the guest
        // gets #GP(selector) at the iret target (x86_64/entry.S). The bounce frame records
        // the selectors do_iret stored; the descriptor caches never reach guest code.
        let loadedCode = vcpu.segment(for: cs, asCode: true)
        let loadedStack = vcpu.segment(for: ss, asCode: false)
        let faultingSelector: UInt16? = loadedCode == nil ? cs : (loadedStack == nil ? ss : nil)
        let code = loadedCode ?? .longCode(selector: cs, dpl: 3)
        let stack = loadedStack ?? .flatData(selector: ss, dpl: 3)
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
        if let faultingSelector {
            vcpu.injectException(ExceptionVector.generalProtection.rawValue, errorCode: UInt32(faultingSelector & 0xFFFC))
        }
        return .registersLoaded
    }
}

extension PVVCPU {
    /// The cached descriptor a segment load of `selector` (RPL 3) would produce, from Xen's
    /// reserved entries, the guest's GDT or its LDT; nil when the load would fault: not
    /// present, the wrong kind (CS must be code, SS writable data), or not DPL 3.
    func segment(for selector: UInt16, asCode: Bool) -> Segment? {
        let index = Int(selector >> 3)
        var descriptor: UInt64?
        if selector & 4 != 0 {
            guard UInt32(index) < pv.ldtEntries,
                case .success(let a) = engine.translate(pv.ldtBase &+ UInt64(index * 8), for: .read, asUser: true)
            else { return nil }
            descriptor = domain.machine.load(UInt64.self, at: a)
        } else if index >= FlatSelector.firstReservedGDTEntry {
            descriptor = SegmentDescriptors.reserved.first { $0.selector >> 3 == selector >> 3 }?.descriptor
        } else if index > 0, index < pv.gdtEntries, index / 512 < pv.gdtFrames.count {
            let frame = pv.gdtFrames[index / 512]
            descriptor = domain.machine.load(UInt64.self, at: MachineAddress(frame.address.rawValue + UInt64(index % 512) * 8))
        }
        guard let descriptor, let segment = SegmentDescriptors.segment(selector: selector, descriptor: descriptor),
            segment.dpl == 3
        else { return nil }
        let isCode = segment.type & 0x8 != 0
        let writable = segment.type & 0x2 != 0
        guard asCode ? isCode : (!isCode && writable) else { return nil }
        return segment
    }

    /// The cached descriptor for one of Xen's reserved flat selectors (RPL 3).
    static func flatSegment(_ selector: UInt16) -> Segment? {
        switch selector {
        case FlatSelector.code64: return .longCode(selector: selector, dpl: 3)
        case FlatSelector.data: return .flatData(selector: selector, dpl: 3)
        default: return nil
        }
    }
}
