import GuestMemory
import X86
import XenABI

/// VCPUOP_initialise for a 64-bit PV vCPU: Xen's arch_set_info_guest() (arch/x86/domain.c)
/// on a vCPU that has never run, with Xen's checks and errnos: the GDT frames are taken as
/// descriptor pages (set_gdt), selectors resolved through them, the page-table bases
/// validated as L4s, the FPU image loaded (VGCF_I387_VALID) or reset.
extension PVVCPU {
    /// Xen: __addr_ok() / breakpoint_addr_ok() — below the canonical hole's upper user
    /// half or above the hypervisor's range.
    static func guestAddressOK(_ a: UInt64) -> Bool {
        a < (1 << 47) || a >= hypervisorHole.upperBound
    }

    /// Xen: fixup_guest_{code,stack}_selector() for 64-bit PV — RPL 3 on non-null selectors.
    static func fixupSelector(_ s: UInt16) -> UInt16 { s > 3 ? s | 3 : s }

    /// Applies a vcpu_guest_context to this (offline, uninitialised) vCPU. Runs on the
    /// calling vCPU's thread while this vCPU's thread waits offline.
    func setInfoGuest(_ c: GuestStruct) throws(XenError) {
        typealias L = VCPUGuestContextLayout
        let flags = c.u64(L.flags)
        func reg(_ offset: Int) -> UInt64 { c.u64(L.userRegisters + offset) }
        func ctrl(_ i: Int) -> UInt64 { c.u64(L.controlRegisters + 8 * i) }
        func debug(_ i: Int) -> UInt64 { c.u64(L.debugRegisters + 8 * i) }

        guard debug(6) >> 32 == 0, debug(7) >> 32 == 0 else { throw .EINVAL }
        for i in 0..<4 where !Self.guestAddressOK(debug(i)) { throw .EINVAL }
        let ldtBase = c.u64(L.ldtBase), ldtEntries = c.u64(L.ldtEntries)
        let mustBeCanonical = [
            reg(CPUUserRegsLayout.rip), reg(CPUUserRegsLayout.rsp), c.u64(L.kernelSP),
            ldtEntries != 0 ? ldtBase : 0, c.u64(L.fsBase), c.u64(L.gsBaseKernel), c.u64(L.gsBaseUser),
            c.u64(L.eventCallback), c.u64(L.syscallCallback), c.u64(L.failsafeCallback),
        ]
        guard mustBeCanonical.allSatisfy(isCanonical) else { throw .EINVAL }
        var traps = [TrapInfo?](repeating: nil, count: 256)
        for i in 0..<256 {
            let at = L.trapContext + TrapInfo.size * i
            let address = c.u64(at + 8)
            guard isCanonical(address) else { throw .EINVAL }
            if address != 0 {
                traps[i] = TrapInfo(vector: c.u8(at), flags: c.u8(at + 1), codeSelector: FlatSelector.code64, address: address)
            }
        }
        guard Self.guestAddressOK(ldtBase) else { throw .EINVAL }
        guard ldtBase & 0xFFF == 0, ldtEntries <= 8192 else { throw .EINVAL }
        let gdtEntries = c.u64(L.gdtEntries)
        // Xen: DIV_ROUND_UP(gdt_ents, 512) frames, at most 16 (written without the sum
        // that could overflow on a hostile count).
        guard gdtEntries <= UInt64(L.gdtFrameCount) * 512 else { throw .EINVAL }
        let inKernel = flags & L.flagInKernel != 0
        guard inKernel || ctrl(1) != 0 else { throw .EINVAL }

        // Xen: pv_set_gdt() — the context's GDT frames, each checked as a descriptor page.
        let gdtFrames = (0..<Int((gdtEntries + 511) / 512)).map { MachineFrame(c.u64(L.gdtFrames + 8 * $0)) }
        if domain.memory != nil {
            try setGDT(frames: gdtFrames, entries: Int(gdtEntries))
        } else if gdtEntries != 0 {
            throw .EINVAL
        }
        pv.ldtBase = ldtEntries != 0 ? ldtBase : 0
        pv.ldtEntries = UInt32(ldtEntries)
        let cs = Self.fixupSelector(UInt16(truncatingIfNeeded: reg(CPUUserRegsLayout.cs)))
        let ss = Self.fixupSelector(UInt16(truncatingIfNeeded: reg(CPUUserRegsLayout.ss)))
        guard let code = segment(for: cs, asCode: true), let stack = segment(for: ss, asCode: false) else {
            throw .EINVAL
        }
        var dataSegments: [(SegmentRegister, Segment)] = []
        for (r, offset) in [(SegmentRegister.ds, CPUUserRegsLayout.ds), (.es, CPUUserRegsLayout.es),
                            (.fs, CPUUserRegsLayout.fs), (.gs, CPUUserRegsLayout.gs)] {
            let selector = UInt16(truncatingIfNeeded: reg(offset))
            if selector & ~3 == 0 {
                dataSegments.append((r, .null()))
            } else if let data = segment(for: Self.fixupSelector(selector), asCode: false) {
                dataSegments.append((r, data))
            } else {
                throw .EINVAL
            }
        }
        let kernelTable = try validateInitialRootTable(cr3: ctrl(3))
        let userTable: MachineFrame?
        do {
            userTable = ctrl(1) != 0 ? try validateInitialRootTable(cr3: ctrl(1)) : nil
        } catch {
            releaseRootTable(kernelTable)
            throw error
        }

        // All checks passed: load the state.
        var s = CPUState.flatLongMode(cpl: 3, cr3: (inKernel ? kernelTable : userTable ?? kernelTable).address.rawValue,
                                      rip: reg(CPUUserRegsLayout.rip), rsp: reg(CPUUserRegsLayout.rsp))
        s.segments[SegmentRegister.cs.rawValue] = code
        s.segments[SegmentRegister.ss.rawValue] = stack
        for (r, seg) in dataSegments { s.segments[r.rawValue] = seg }
        let gprOffsets: [(GPR, Int)] = [
            (.rax, CPUUserRegsLayout.rax), (.rbx, CPUUserRegsLayout.rbx), (.rcx, CPUUserRegsLayout.rcx),
            (.rdx, CPUUserRegsLayout.rdx), (.rsi, CPUUserRegsLayout.rsi), (.rdi, CPUUserRegsLayout.rdi),
            (.rbp, CPUUserRegsLayout.rbp), (.r8, CPUUserRegsLayout.r8), (.r9, CPUUserRegsLayout.r9),
            (.r10, CPUUserRegsLayout.r10), (.r11, CPUUserRegsLayout.r11), (.r12, CPUUserRegsLayout.r12),
            (.r13, CPUUserRegsLayout.r13), (.r14, CPUUserRegsLayout.r14), (.r15, CPUUserRegsLayout.r15),
        ]
        for (r, offset) in gprOffsets { s.gprs[r] = reg(offset) }
        // Xen: IOPL is virtualised; real interrupts stay enabled.
        let rflags = reg(CPUUserRegsLayout.rflags)
        s.rflags = RFlags(rawValue: (rflags & RFlags.defined.rawValue & ~RFlags.iopl.rawValue) | RFlags.fixed.rawValue | RFlags.interrupt.rawValue)
        s.tr = Segment(selector: 0, base: 0, limit: 0, attributes: 0x8B)
        s.gdtr = engine.state.gdtr
        s.cr0 = Self.guestCR0
        s.cr4.insert(.osfxsr)
        s.cr4.insert(.osxmmexcpt)
        s.fpu = Self.initialFPUState(from: c, flags: flags)
        if ctrl(0) & CR0.taskSwitched.rawValue != 0 { s.cr0.insert(.taskSwitched) }
        let fsBase = c.u64(L.fsBase), gsKernel = c.u64(L.gsBaseKernel), gsUser = c.u64(L.gsBaseUser)
        s.segments[SegmentRegister.fs.rawValue].base = fsBase
        s.segments[SegmentRegister.gs.rawValue].base = inKernel ? gsKernel : gsUser
        engine.state = s

        pv.kernelMode = inKernel
        pv.kernelBase = kernelTable
        pv.userBase = userTable
        pv.inactiveGSBase = inKernel ? gsUser : gsKernel
        pv.virtualIOPL = UInt8((rflags >> 12) & 3)
        pv.trapTable = traps
        loadLDT()
        pv.kernelSS = Self.fixupSelector(UInt16(truncatingIfNeeded: c.u64(L.kernelSS)))
        pv.kernelSP = c.u64(L.kernelSP)
        pv.virtualTS = s.cr0.contains(.taskSwitched)
        pv.eventCallback = c.u64(L.eventCallback)
        pv.failsafeCallback = c.u64(L.failsafeCallback)
        pv.failsafeMasksEvents = flags & L.flagFailsafeDisablesEvents != 0
        pv.syscallCallback = c.u64(L.syscallCallback)
        pv.syscallMasksEvents = flags & L.flagSyscallDisablesEvents != 0
        pv.debugRegisters = [0, 0, 0, 0, 0, 0, 0xFFFF_0FF0, 0x400]
        // Xen ignores set_debugreg() failures here.
        for i in [0, 1, 2, 3, 6, 7] { try? setDebugRegister(i, value: debug(i)) }
    }

    /// Xen: get_page_from_mfn(cr3 >> 12, d) and get_page_type(PGT_root_page_table): the
    /// frame must be the domain's and validate as an L4; the vCPU then holds that reference.
    /// Without a PV MMU (tests on hand-built tables) only "inside machine RAM" is checked.
    func validateInitialRootTable(cr3: UInt64) throws(XenError) -> MachineFrame {
        let frame = MachineFrame(cr3 >> 12)
        guard domain.machine.contains(frame) else { throw .EINVAL }
        if let tables = pageTables { try tables.acquireBaseTable(frame, for: domain.id) }
        return frame
    }

    func releaseRootTable(_ frame: MachineFrame) {
        guard let tables = pageTables else { return }
        var actions = MMUActions()
        tables.releaseBaseTable(frame, for: domain.id, actions: &actions)
    }
}
