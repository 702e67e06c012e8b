import GuestMemory
import XenABI

/// What the hypervisor supplies to the builder for a new 64-bit PV domain.
public struct PVBuildParameters: Sendable {
    /// Pages of the domain (start_info.nr_pages); the p2m covers pfns `0..<memoryPages`.
    public var memoryPages: UInt64
    /// Kernel command line, at most 1023 bytes (start_info.cmd_line).
    public var commandLine: String
    /// The initial ramdisk, if any (module 0).
    public var ramdisk: [UInt8]?
    /// Machine address of the domain's shared_info page (start_info.shared_info).
    public var sharedInfo: MachineAddress
    /// Event channel of the xenstore ring (start_info.store_evtchn).
    public var storeEventChannel: EventChannelPort
    /// Event channel of the console ring (start_info.console.domU.evtchn).
    public var consoleEventChannel: EventChannelPort
    /// SIF_* flags of the domain; the builder adds SIF_MOD_START_PFN when the ramdisk is
    /// left unmapped. Xen: dom->flags (libxl passes 0 for a domU).
    public var flags: StartInfoFlags
    /// A gzip ramdisk is decompressed before it is placed, as Xen's builder does
    /// (xc_dom_build_module); set false to hand it over as is.
    public var decompressGzipRamdisk: Bool
    /// Bound on any decompression (Xen: XC_DOM_DECOMPRESS_MAX, 1 GiB) and on the ramdisk.
    public var maxModuleSize: Int

    public init(memoryPages: UInt64, commandLine: String = "", ramdisk: [UInt8]? = nil,
                sharedInfo: MachineAddress, storeEventChannel: EventChannelPort,
                consoleEventChannel: EventChannelPort, flags: StartInfoFlags = [],
                decompressGzipRamdisk: Bool = true, maxModuleSize: Int = Decompressor.defaultLimit) {
        self.memoryPages = memoryPages
        self.commandLine = commandLine
        self.ramdisk = ramdisk
        self.sharedInfo = sharedInfo
        self.storeEventChannel = storeEventChannel
        self.consoleEventChannel = consoleEventChannel
        self.flags = flags
        self.decompressGzipRamdisk = decompressGzipRamdisk
        self.maxModuleSize = maxModuleSize
    }
}

/// The built domain's initial vCPU state and the frames the caller still has to act on:
/// pin `topLevelPageTable` as an L4 (MMUEXT_PIN_L4_TABLE) and load it as CR3, seed the
/// grant table with the console and xenstore frames, start the backends on them.
/// Register values are vcpu_x86_64's (xg_dom_x86.c); §2.6 of the ABI fact sheet.
public struct PVBootState: Equatable, Sendable {
    /// Entry point. Xen: user_regs.rip = parms->virt_entry
    public var rip: UInt64
    /// Top of the boot stack. Xen: user_regs.rsp
    public var rsp: UInt64
    /// Virtual address of start_info. Xen: user_regs.rsi
    public var rsi: UInt64
    /// IF set in the saved frame; events stay masked through vcpu_info.upcall_mask.
    public var rflags: UInt64 = 0x200
    /// Xen: FLAT_KERNEL_CS64
    public var cs: UInt16 = FlatSelector.code64
    /// Xen: FLAT_KERNEL_SS64
    public var ss: UInt16 = FlatSelector.data
    /// ds, es, fs, gs. Xen: FLAT_KERNEL_DS64
    public var dataSelector: UInt16 = 0
    /// Xen: ctxt->kernel_ss / kernel_sp
    public var kernelSS: UInt16 = FlatSelector.data
    public var kernelSP: UInt64
    /// Xen: VGCF_in_kernel | VGCF_online
    public var vcpuFlags: UInt32 = PVBootState.vgcfInKernel | PVBootState.vgcfOnline
    /// Xen: X86_DR6_DEFAULT / X86_DR7_DEFAULT
    public var dr6: UInt64 = 0xFFFF_0FF0
    public var dr7: UInt64 = 0x400

    /// The L4: pin it and load it as CR3 (`cr3` = its machine address).
    public var topLevelPageTable: MachineFrame
    public var cr3: UInt64 { topLevelPageTable.address.rawValue }

    public var startInfoFrame: GuestFrame
    public var startInfoMachineFrame: MachineFrame
    public var xenstoreFrame: GuestFrame
    public var xenstoreMachineFrame: MachineFrame
    public var consoleFrame: GuestFrame
    public var consoleMachineFrame: MachineFrame
    /// The start_info as written.
    public var startInfo: StartInfo64
    /// Where everything went, for printing and for the caller's page typing.
    public var layout: PVLayout

    /// Xen: VGCF_in_kernel
    public static let vgcfInKernel: UInt32 = 1 << 2
    /// Xen: VGCF_online
    public static let vgcfOnline: UInt32 = 1 << 5
}
