import GuestMemory
import Synchronization
import X86
import XenABI
import XenControl

/// One guest: its vCPUs, its Xen-owned shared_info page, its lifecycle and console.
///
/// Xen: `struct domain` (xen/include/xen/sched.h). vCPUs run on their own host threads and
/// reach the domain concurrently; the mutable domain-wide state lives in `lifecycle`
/// (a `Mutex`). Lock order: a vCPU never holds `lifecycle` while running its engine.
public final class Domain: @unchecked Sendable {
    public let id: DomainID
    /// All machine RAM (shared by every domain).
    public let machine: PhysicalMemory
    /// The shared_info page. Xen-owned, never part of the domain's RAM.
    public let sharedInfoFrame: MachineFrame
    /// Where the guest's console_io output goes (Kite's console, a log, a test buffer).
    let consoleSink: @Sendable (ArraySlice<UInt8>) -> Void
    let clock: DomainClock
    let cpuidPolicy: PVCPUIDPolicy
    public private(set) var vcpus: [PVVCPU] = []
    /// The domain's reservation, p2m and Kite-shared frames (nil only in tests that drive a
    /// domain on hand-built page tables without the PV MMU).
    public let memory: DomainMemory?
    /// The frames behind the vCPUs' descriptor tables (nil without `memory`).
    let descriptorPages: DescriptorPages?
    /// Xen: domain_handle — the 16-byte UUID the toolstack gave the domain.
    public var handle = [UInt8](repeating: 0, count: 16)

    struct Lifecycle {
        var shutdown: (reason: ShutdownReason, code: UInt32)?
        /// SCHEDOP_shutdown_code: recorded before the shutdown happens.
        var pendingShutdownCode: UInt32?
        var paused = false
        /// Bitmap of enabled VMASST_TYPE_*.
        var vmAssist: UInt64 = 0
        /// Why the domain was crashed by the hypervisor, for the toolstack's log.
        var crashReason: String?
    }
    let lifecycle = Mutex(Lifecycle())
    /// Event channels, per-vCPU timers and the hub link (Sources/XenCore/Events).
    let events = DomainEvents()
    /// Grant table v1 and the maptrack of its foreign mappings (Sources/XenCore/Grants);
    /// nil without `memory`.
    public let grants: GrantTable?

    public init(
        id: DomainID, machine: PhysicalMemory, sharedInfoFrame: MachineFrame,
        clock: DomainClock = DomainClock(), cpuidPolicy: PVCPUIDPolicy = PVCPUIDPolicy(),
        memory: DomainMemory? = nil,
        console: @escaping @Sendable (ArraySlice<UInt8>) -> Void
    ) {
        self.id = id
        self.memory = memory
        descriptorPages = memory.flatMap { Self.makeDescriptorPages($0) }
        grants = memory.map { GrantTable(memory: $0) }
        self.machine = machine
        self.sharedInfoFrame = sharedInfoFrame
        self.clock = clock
        self.cpuidPolicy = cpuidPolicy
        self.consoleSink = console
        initializeSharedInfo()
    }

    private static func makeDescriptorPages(_ memory: DomainMemory) -> DescriptorPages? {
        guard let reserved = try? memory.machine.allocateKiteFrame(),
            let zero = try? memory.machine.allocateKiteFrame()
        else { return nil }
        let ram = memory.machine.memory
        ram.zero(reserved)
        ram.zero(zero)
        for (selector, descriptor) in SegmentDescriptors.reserved {
            let offset = UInt64(selector) - UInt64(FlatSelector.firstReservedGDTPage) * 4096
            ram.store(descriptor, at: MachineAddress(reserved.address.rawValue + offset))
        }
        return DescriptorPages(reserved: reserved, zero: zero)
    }

    /// Xen: a fresh shared_info is zeroed with every vCPU's events masked, and the
    /// wallclock at system time 0 published with the version protocol.
    private func initializeSharedInfo() {
        machine.zero(sharedInfoFrame)
        let base = sharedInfoFrame.address.rawValue
        for slot in 0..<SharedInfoLayout.legacyMaxVCPUs {
            let offset = SharedInfoLayout.vcpuInfo + slot * VCPUInfoLayout.size + VCPUInfoLayout.upcallMask
            machine.store(UInt8(1), at: MachineAddress(base + UInt64(offset)))
        }
        let wall = clock.wallclockAtOrigin
        func at(_ offset: Int) -> MachineAddress { MachineAddress(base + UInt64(offset)) }
        machine.store(UInt32(1), at: at(SharedInfoLayout.wallclockVersion))
        machine.store(UInt32(truncatingIfNeeded: wall.seconds), at: at(SharedInfoLayout.wallclockSeconds))
        machine.store(wall.nanoseconds, at: at(SharedInfoLayout.wallclockNanoseconds))
        machine.store(UInt32(truncatingIfNeeded: wall.seconds >> 32), at: at(SharedInfoLayout.wallclockSecondsHigh))
        machine.store(UInt32(2), at: at(SharedInfoLayout.wallclockVersion))
    }

    /// Adds vCPU `vcpus.count` running on `engine`; the builder then sets its boot state.
    @discardableResult
    public func addVCPU(engine: any VirtualCPU) -> PVVCPU {
        let vcpu = PVVCPU(id: VCPUID(UInt32(vcpus.count)), domain: self, engine: engine)
        vcpus.append(vcpu)
        return vcpu
    }

    public var shutdownState: (reason: ShutdownReason, code: UInt32)? {
        lifecycle.withLock { $0.shutdown }
    }

    public var crashReason: String? { lifecycle.withLock { $0.crashReason } }

    public var isPaused: Bool { lifecycle.withLock { $0.paused } }

    /// Xen: domain_pause — returns once no vCPU of the domain runs guest code; they stay
    /// out until `unpause`. Called by the toolstack, not from the domain's own vCPUs.
    public func pause() {
        lifecycle.withLock { $0.paused = true }
        for vcpu in vcpus { vcpu.waitUntilOutOfGuest() }
    }

    /// Xen: domain_unpause.
    public func unpause() {
        lifecycle.withLock { $0.paused = false }
        for vcpu in vcpus { vcpu.kick() }
    }

    /// Xen: domain_shutdown(). The first reason wins; later calls change nothing.
    public func shutdown(_ reason: ShutdownReason) {
        lifecycle.withLock { life in
            guard life.shutdown == nil else { return }
            life.shutdown = (reason, life.pendingShutdownCode ?? reason.rawValue)
        }
        for vcpu in vcpus { vcpu.kick() }
    }

    /// Xen: domain_crash(). The guest did something it cannot survive (a bad bounce
    /// frame, a null trap handler); the host is unharmed.
    public func crash(_ why: String) {
        lifecycle.withLock { life in
            if life.crashReason == nil { life.crashReason = why }
        }
        shutdown(.crash)
    }

    func isAssistEnabled(_ type: UInt64) -> Bool {
        type < 64 && lifecycle.withLock { $0.vmAssist } & (1 << type) != 0
    }

    /// Machine address of vcpu_info for `vcpu` in shared_info.
    func defaultVCPUInfo(_ vcpu: VCPUID) -> MachineAddress? {
        guard let offset = SharedInfoLayout.vcpuInfo(vcpu) else { return nil }
        return MachineAddress(sharedInfoFrame.address.rawValue + UInt64(offset))
    }
}
