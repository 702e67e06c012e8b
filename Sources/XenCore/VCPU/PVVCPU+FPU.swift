import X86
import XenABI

/// The PV vCPU's FPU: the virtual CR0.TS and the initial FPU image.
///
/// Xen keeps a PV vCPU's CR0.TS in `pv.ctrlreg[0]` and makes the real CR0.TS follow it
/// (do_fpu_taskswitch's stts(), the context switch), so an FPU or SSE instruction the guest
/// runs with TS set raises #NM, which do_device_not_available bounces to the guest after
/// clearing the virtual TS. Each Kite vCPU has its own engine, so the engine's CR0.TS is
/// simply kept equal to the virtual TS; Xen's lazy-restore #NM (TS set by Xen alone) has no
/// counterpart here.
extension PVVCPU {
    /// The CR0 Xen runs PV guests with (its trampoline's: PE, MP, ET, NE, WP, AM, PG); MP
    /// and NE matter to the guest: FWAIT raises #NM with TS set, x87 errors raise #MF.
    static let guestCR0: CR0 = [.protectionEnable, .monitorCoprocessor, .extensionType, .numericError,
                                .writeProtect, .alignmentMask, .paging]

    /// Sets the virtual CR0.TS and the engine's with it. Xen: do_fpu_taskswitch, CLTS and
    /// the CR0 write in pv_emul_write_cr, arch_set_info_guest's ctrlreg[0].
    func setVirtualTS(_ set: Bool) {
        pv.virtualTS = set
        var s = engine.state
        guard s.cr0.contains(.taskSwitched) != set else { return }
        if set { s.cr0.insert(.taskSwitched) } else { s.cr0.remove(.taskSwitched) }
        engine.state = s
    }

    /// Xen: do_device_not_available for a PV vCPU — with the virtual TS set the #NM is the
    /// guest's: TS is cleared and #NM bounced (trap table vector 7). Otherwise the TS was
    /// the host's alone: clear it and let the instruction run again.
    func handleDeviceNotAvailable() {
        let guests = pv.virtualTS
        setVirtualTS(false)
        if guests { injectException(ExceptionVector.deviceNotAvailable.rawValue) }
    }

    /// Xen: vcpu_setup_fpu() from arch_set_info_guest — with VGCF_I387_VALID the context's
    /// FXSAVE image becomes the FPU state, else the state after FNINIT with MXCSR at 0x1F80.
    /// An image whose MXCSR has reserved bits set would fault in Xen's FXRSTOR, whose fixup
    /// zeroes the image and loads that instead.
    static func initialFPUState(from c: GuestStruct, flags: UInt64) -> FPUState {
        guard flags & VCPUGuestContextLayout.flagI387Valid != 0 else { return FPUState() }
        typealias L = FPUState.FXSAVELayout
        var image = [UInt8](repeating: 0, count: L.size)
        for i in 0..<L.size { image[i] = c.u8(VCPUGuestContextLayout.fpuContext + i) }
        if c.u32(VCPUGuestContextLayout.fpuContext + L.mxcsr) & ~FPUState.mxcsrMask != 0 {
            image = [UInt8](repeating: 0, count: L.size)
        }
        var fpu = FPUState()
        fpu.loadFXSAVEImage(image)
        return fpu
    }
}
