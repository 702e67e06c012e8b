import Foundation
import Synchronization
import Toolstack
import XenABI
import XenBackends
import XenControl
import XenCore
import XenStore

/// What Kite does as domain 0 for one launched PV domain, in the order `xl create` does it:
/// the libxl xenstore layout written, the primary console backend started on the console
/// page (grant 0) and port, the domain introduced to the store (its page through grant 1,
/// its store port bound), all before the domain runs; `detach` undoes it after the vCPUs
/// stopped and before the domain is destroyed (the backends' grant mappings hold the
/// domain's frames until they are unmapped).
///
/// The store is the host's one `XenStoreDaemon` (`PVHost.store`); its server sits behind
/// the daemon's lock.
///
/// Disks and vifs change while the domain lives (block-attach, network-detach...): they sit
/// behind `devices`, which `detach` closes so that no device outlives the domain.
final class PVDomainServices: Sendable {
    let domain: DomainID
    let store: XenStoreDaemon
    let console: ConsoleBackend
    let layout: XenStoreDomainLayout

    /// One disk with the spec it was made from (block-list shows its target).
    struct AttachedDisk: Sendable {
        let spec: PVDiskSpec
        let device: BlockXenbusDevice
        var devid: UInt32 { device.xenbus.address.devid }
    }

    /// One vif with its spec and the MAC it got.
    struct AttachedVif: Sendable {
        let spec: PVNetworkSpec
        let device: NetXenbusDevice
        var devid: UInt32 { device.xenbus.address.devid }
        var mac: MACAddress { device.vif.configuration.mac }
    }

    struct Devices: Sendable {
        /// The backends' own connection to the store (xenbus watches); made with the first device.
        var client: XenStoreClient?
        var disks: [AttachedDisk]
        var vifs: [AttachedVif]
        /// Set by `detach`: the domain is going, no device may be added.
        var closed = false
    }
    /// Held while a device is made and started, so that `detach` cannot miss one.
    let devices: Mutex<Devices>
    /// Secondary consoles 1, 2, ... (xl's channels), fixed at create.
    let channels: [PVChannel]

    private init(domain: DomainID, store: XenStoreDaemon, console: ConsoleBackend, layout: XenStoreDomainLayout,
                 client: XenStoreClient?, disks: [AttachedDisk], vifs: [AttachedVif], channels: [PVChannel]) {
        self.domain = domain
        self.store = store
        self.console = console
        self.layout = layout
        self.devices = Mutex(Devices(client: client, disks: disks, vifs: vifs))
        self.channels = channels
    }

    /// Writes the layout, starts the console backend (output to `sink`) and introduces the
    /// domain to the store.
    static func attach(
        host: PVHost, domain: DomainID, boot: PVBootState, storePort: EventChannelPort,
        consolePort: EventChannelPort, name: String, uuid: UUID, spec: PVDomainSpec,
        sink: @escaping ConsoleBackend.Sink
    ) throws(LaunchError) -> PVDomainServices {
        let grants = host.grants
        let events = host.events
        let store = host.store
        let layout = XenStoreDomainLayout(
            domain: domain, name: name, uuid: uuid.uuidString.lowercased(), type: "pv",
            targetMemoryKiB: spec.memoryMiB << 10, maximumMemoryKiB: max(spec.maxMemoryMiB ?? spec.memoryMiB, spec.memoryMiB) << 10,
            vcpus: spec.vcpus, maximumVCPUs: spec.maxVCPUs, storePort: storePort,
            storeFrame: boot.xenstoreMachineFrame.rawValue, consolePort: consolePort,
            consoleFrame: boot.consoleMachineFrame.rawValue)
        do { try store.writeDomainLayout(layout) } catch {
            throw .hypervisor("cannot write the xenstore layout of \(domain): \(error)")
        }
        let console: ConsoleBackend
        do {
            console = try ConsoleBackend(domain: domain, port: consolePort, grants: grants, events: events, sink: sink)
        } catch {
            try? store.removeDomainLayout(layout)
            throw .hypervisor("\(error)")
        }
        do {
            try store.introduceDomain(domain, port: storePort, frame: boot.xenstoreMachineFrame.rawValue)
        } catch {
            console.close()
            try? store.removeDomainLayout(layout)
            throw .hypervisor("\(error)")
        }
        let client = spec.disks.isEmpty && spec.vifs.isEmpty && spec.channels.isEmpty ? nil : XenStoreClient(daemon: store)
        var disks: [AttachedDisk] = []
        var vifs: [AttachedVif] = []
        let channels: [PVChannel]
        do {
            disks = try attachDisks(spec.disks, domain: domain, client: client, grants: grants, events: events, log: host.log)
            vifs = try attachVifs(
                spec.vifs, domain: domain, client: client, grants: grants, events: events, networks: host.networks,
                log: host.log)
            channels = try attachChannels(spec.channels, domain: domain, client: client, grants: grants, events: events, log: host.log)
        } catch {
            for disk in disks { disk.device.stop() }
            for vif in vifs { vif.device.stop() }
            client?.close()
            console.close()
            store.domainDestroyed(domain)
            try? store.removeDomainLayout(layout)
            throw error
        }
        return PVDomainServices(
            domain: domain, store: store, console: console, layout: layout, client: client, disks: disks, vifs: vifs,
            channels: channels)
    }

    /// The domain's vCPUs stopped: the console's last output reaches the sink, the store
    /// fires @releaseDomain and forgets the domain, every mapping and port is released.
    /// Idempotent.
    func detach() {
        let all = devices.withLock { d -> Devices in
            defer {
                d.disks = []
                d.vifs = []
                d.client = nil
                d.closed = true
            }
            return d
        }
        for disk in all.disks { disk.device.stop() }
        for vif in all.vifs { vif.device.stop() }
        for channel in channels { channel.stop() }
        all.client?.close()
        console.close()
        store.domainShutdown(domain)
        store.domainDestroyed(domain)
        try? store.removeDomainLayout(layout)
    }
}

/// Keyboard input for a running guest's primary console.
public struct PVConsoleInput: Sendable {
    let backend: ConsoleBackend

    /// Queues bytes for the guest's console input ring; returns how many were accepted
    /// (0 while the guest has not made room: try again later). Never blocks.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Int { backend.sendInput(bytes) }
}
