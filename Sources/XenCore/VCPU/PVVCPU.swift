import Foundation
import GuestMemory
import Synchronization
import X86
import XenABI

/// What Xen keeps per 64-bit PV vCPU beyond the CPU registers.
/// Xen: `struct pv_vcpu` (xen/arch/x86/include/asm/pv/domain.h) and parts of `struct vcpu`.
struct PVState {
    /// Xen: TF_kernel_mode — the guest kernel and guest user both run at CPL 3.
    var kernelMode = true
    /// Xen: pv_vcpu.trap_ctxt — the virtual IDT installed by set_trap_table.
    var trapTable = [TrapInfo?](repeating: nil, count: 256)
    /// Xen: pv_vcpu.event_callback_eip
    var eventCallback: UInt64 = 0
    /// Xen: pv_vcpu.failsafe_callback_eip
    var failsafeCallback: UInt64 = 0
    var failsafeMasksEvents = false
    /// Xen: pv_vcpu.syscall_callback_eip
    var syscallCallback: UInt64 = 0
    var syscallMasksEvents = false
    /// Xen: pv_vcpu.kernel_ss / kernel_sp (stack_switch) — the stack for bounces from user mode.
    var kernelSS: UInt16 = FlatSelector.data
    var kernelSP: UInt64 = 0
    /// Xen: arch.guest_table / guest_table_user — kernel and user top-level tables.
    var kernelBase: MachineFrame?
    var userBase: MachineFrame?
    /// The GS base of the mode not running now (kernel's while in user mode and vice
    /// versa): Xen swaps gs_base_kernel and gs_base_user on every mode switch.
    var inactiveGSBase: UInt64 = 0
    /// Xen: pv_vcpu.iopl — physdev set_iopl; governs emulated I/O, CLI/STI.
    var virtualIOPL: UInt8 = 0
    /// Xen: the virtual CR2 (also written to vcpu_info.arch.cr2 on #PF bounces).
    var virtualCR2: UInt64 = 0
    /// Xen: pv_vcpu.ctrlreg[0] TS — fpu_taskswitch / CLTS.
    var virtualTS = false
    /// Xen: pv_vcpu.dr[] and dr6/dr7 as the guest set them.
    var debugRegisters: [UInt64] = [0, 0, 0, 0, 0, 0, 0xFFFF_0FF0, 0x400]
    /// Where this vCPU's vcpu_info lives (shared_info slot or VCPUOP_register_vcpu_info).
    var vcpuInfo: MachineAddress?
    var vcpuInfoRegistered = false
    /// Xen: pv_vcpu.ldt_base / ldt_ents
    var ldtBase: UInt64 = 0
    var ldtEntries: UInt32 = 0
    /// Xen: pv_vcpu.gdt_frames / gdt_ents — frames with a descriptor-page reference each.
    var gdtFrames: [MachineFrame] = []
    var gdtEntries: Int = 0
    /// LDT pages mapped in the per-domain area so far (page index → guest frame), each
    /// holding a descriptor-page reference. Xen: the shadow LDT.
    var ldtShadow: [Int: MachineFrame] = [:]
    /// Event, timer and runstate bookkeeping only this vCPU's thread touches.
    var eventLocal = VCPUEventLocal()
}

/// A 64-bit PV vCPU: an engine plus Xen's per-vCPU PV state, run on one host thread.
///
/// Xen: `struct vcpu`. The engine runs guest code; every exit comes back here and is turned
/// into Xen behaviour: hypercalls, bounces into the guest kernel, emulated privileged
/// instructions, blocking. Lock order: `wakeLock` is a leaf; never held across `run`.
public final class PVVCPU: @unchecked Sendable {
    public let id: VCPUID
    public unowned let domain: Domain
    public let engine: any VirtualCPU
    var pv = PVState()
    /// What made this vCPU leave guest code (diagnosis; only its own thread writes it).
    public internal(set) var exitStatistics = VCPUExitStatistics()
    /// Whether the guest kernel (not guest user space) runs on this vCPU.
    public var isKernelMode: Bool { pv.kernelMode }
    /// Xen: _VPF_down cleared — the vCPU runs when online and the domain is not shut down.
    public internal(set) var isOnline = false

    /// Whether the vCPU's thread is in guest code, and TLB flushes other threads asked for.
    let guestEntry = GuestEntryGate()
    /// Wakes a blocked vCPU (events, timers, shutdown). Guarded by `wakeCondition`.
    let wakeCondition = NSCondition()
    var wakeRequested = false
    /// `wakeRequested` readable without the lock, for the spin before sleeping.
    let wakeHint = Atomic<Bool>(false)

    init(id: VCPUID, domain: Domain, engine: any VirtualCPU) {
        self.id = id
        self.domain = domain
        self.engine = engine
        pv.vcpuInfo = domain.defaultVCPUInfo(id)
        var controls = InterceptControls()
        // Everything the PV model needs arrives as an exit: all exceptions (bounced or
        // emulated by Kite), SYSCALL (hypercall or user system call), INT n (trap table),
        // RDTSC (the virtual TSC that vcpu_time_info describes).
        controls.exceptionBitmap = 0xFFFF_FFFF
        controls.syscall = true
        controls.softwareInterrupts = true
        controls.rdtsc = true
        engine.intercepts = controls
    }

    /// Wakes the vCPU if it is blocked; harmless otherwise.
    func kick() {
        wakeCondition.lock()
        wakeRequested = true
        wakeHint.store(true, ordering: .releasing)
        wakeCondition.signal()
        wakeCondition.unlock()
        // A vCPU in guest code notices the event at its next exit: make that soon.
        engine.requestExit()
    }

    /// The register state of a freshly built PV64 vCPU (xen-abi §2.6): flat ring-3 selectors,
    /// kernel mode, the boot page table, events masked via vcpu_info.
    public func setBootState(rip: UInt64, rsp: UInt64, startInfo: UInt64, pageTable: MachineFrame) {
        var s = CPUState.flatLongMode(cpl: 3, cr3: pageTable.address.rawValue, rip: rip, rsp: rsp)
        s.segments[SegmentRegister.cs.rawValue] = .longCode(selector: FlatSelector.code64, dpl: 3)
        s.segments[SegmentRegister.ss.rawValue] = .flatData(selector: FlatSelector.data, dpl: 3)
        for r in [SegmentRegister.ds, .es, .fs, .gs] { s.segments[r.rawValue] = .null() }
        s.gprs[.rsi] = startInfo
        s.rflags = [.fixed, .interrupt]
        // No TSS I/O bitmap: port access at CPL 3 always raises #GP and is emulated.
        s.tr = Segment(selector: 0, base: 0, limit: 0, attributes: 0x8B)
        s.cr0 = Self.guestCR0
        s.cr4.insert(.osfxsr)
        s.cr4.insert(.osxmmexcpt)
        engine.state = s
        pv.kernelMode = true
        pv.kernelBase = pageTable
        pv.kernelSP = rsp
        pv.kernelSS = FlatSelector.data
        isOnline = true
    }
}
