import GuestMemory
import X86
import XenABI

/// Xen: struct trap_bounce — what to deliver into the guest kernel.
struct TrapBounce {
    var handler: UInt64
    var errorCode: UInt32?
    /// Xen: TBF_INTERRUPT — set vcpu_info.evtchn_upcall_mask on entry.
    var masksEvents: Bool
}

/// Delivery into the guest kernel: Xen's create_bounce_frame for 64-bit PV guests
/// (xen-abi §5.2). The frame is written to the guest kernel stack through the guest's own
/// page tables; a guest that makes that impossible has its domain crashed, as in Xen.
extension PVVCPU {
    /// Xen: toggle_guest_mode() — swaps the page-table base and the GS base.
    func toggleGuestMode() {
        var s = engine.state
        let gs = SegmentRegister.gs.rawValue
        swap(&s.segments[gs].base, &pv.inactiveGSBase)
        pv.kernelMode.toggle()
        let base = pv.kernelMode ? pv.kernelBase : pv.userBase
        if let base { s.cr3 = base.address.rawValue }
        engine.state = s
    }

    /// Builds the bounce frame and enters the handler. Returns false (and crashes the domain)
    /// when the frame cannot be written.
    @discardableResult
    func bounce(_ tb: TrapBounce) -> Bool {
        let savedMask = upcallMask
        let interrupted = engine.state
        var frameCS = UInt64(interrupted[.cs].selector)
        var stack: UInt64
        if pv.kernelMode {
            stack = interrupted.gprs[.rsp]
            frameCS &= ~3
        } else {
            guard pv.kernelBase != nil else {
                domain.crash("bounce from user mode without a kernel page table")
                return false
            }
            toggleGuestMode()
            stack = pv.kernelSP
        }
        stack &= ~0xF
        var rflags = interrupted.rflags.rawValue & ~(RFlags.interrupt.rawValue | RFlags.iopl.rawValue)
        if savedMask == 0 { rflags |= RFlags.interrupt.rawValue }
        if domain.isAssistEnabled(VMAssist.architecturalIOPL) { rflags |= UInt64(pv.virtualIOPL) << 12 }

        // Lowest address first: RCX, R11, [error code], RIP, CS|mask<<32, RFLAGS, RSP, SS.
        var words: [UInt64] = [interrupted.gprs[.rcx], interrupted.gprs[.r11]]
        if let code = tb.errorCode { words.append(UInt64(code)) }
        words += [
            interrupted.rip, frameCS | UInt64(savedMask) << 32, rflags,
            interrupted.gprs[.rsp], UInt64(interrupted[.ss].selector),
        ]
        let (frameBase, underflow) = stack.subtractingReportingOverflow(UInt64(words.count * 8))
        guard !underflow, Self.accessOK(frameBase, count: UInt64(words.count * 8)) else {
            domain.crash("bounce frame at 0x\(String(frameBase, radix: 16)) is outside guest space")
            return false
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(words.count * 8)
        for w in words { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i)))) } }
        do {
            try copyToGuest(bytes, at: frameBase)
        } catch {
            domain.crash("cannot write a bounce frame at 0x\(String(frameBase, radix: 16)) (\(error))")
            return false
        }
        var s = engine.state
        s.rip = tb.handler
        s.segments[SegmentRegister.cs.rawValue] = .longCode(selector: FlatSelector.code64, dpl: 3)
        s.segments[SegmentRegister.ss.rawValue] = .flatData(selector: FlatSelector.data, dpl: 3)
        s.gprs[.rsp] = frameBase
        s.rflags.subtract([.alignmentCheck, .virtual8086, .resume, .nestedTask, .trap])
        engine.state = s
        if tb.masksEvents { upcallMask = 1 }
        return true
    }

    /// Xen: pv_inject_event() for an exception: bounces to the trap-table handler.
    func injectException(_ vector: UInt8, errorCode: UInt32? = nil) {
        guard let entry = pv.trapTable[Int(vector)], entry.address != 0 else {
            domain.crash("exception \(vector) with no handler in the trap table (rip 0x\(String(engine.state.rip, radix: 16)))")
            return
        }
        bounce(TrapBounce(handler: entry.address, errorCode: errorCode, masksEvents: entry.masksEvents))
    }

    /// Xen: pv_inject_page_fault() — CR2 into vcpu_info, U/S reflecting guest user mode.
    func injectPageFault(address: UInt64, errorCode: UInt32) {
        storeCR2(address)
        var code = errorCode & ~PageFaultErrorCode.user.rawValue
        if !pv.kernelMode { code |= PageFaultErrorCode.user.rawValue }
        injectException(ExceptionVector.pageFault.rawValue, errorCode: code)
    }

    /// Delivers the event upcall when one is pending and events are not masked (xen-abi
    /// §5.5); checked before every return to the guest.
    func deliverPendingEvents() {
        guard pv.eventCallback != 0, upcallPending != 0, upcallMask == 0 else { return }
        exitStatistics.upcalls &+= 1
        bounce(TrapBounce(handler: pv.eventCallback, errorCode: nil, masksEvents: true))
    }
}
