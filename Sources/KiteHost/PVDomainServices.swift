import Foundation
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
/// The store is one `XenStoreDaemon` per hypervisor (in `kite run`: per process); its
/// server sits behind the daemon's lock.
final class PVDomainServices: Sendable {
    let domain: DomainID
    let store: XenStoreDaemon
    let console: ConsoleBackend
    let layout: XenStoreDomainLayout

    private init(domain: DomainID, store: XenStoreDaemon, console: ConsoleBackend, layout: XenStoreDomainLayout) {
        self.domain = domain
        self.store = store
        self.console = console
        self.layout = layout
    }

    /// Writes the layout, starts the console backend (output to `sink`) and introduces the
    /// domain to the store.
    static func attach(
        hypervisor: Hypervisor, domain: DomainID, boot: PVBootState, storePort: EventChannelPort,
        consolePort: EventChannelPort, name: String, memoryKiB: UInt64, vcpus: Int,
        sink: @escaping ConsoleBackend.Sink, log: @escaping @Sendable (String) -> Void
    ) throws(LaunchError) -> PVDomainServices {
        let grants = hypervisor.makeGrantMapper()
        let events = hypervisor.events.host
        let store = XenStoreDaemon(grants: grants, events: events, log: log)
        let layout = XenStoreDomainLayout(
            domain: domain, name: name, uuid: UUID().uuidString.lowercased(), type: "pv",
            targetMemoryKiB: memoryKiB, vcpus: vcpus, storePort: storePort,
            storeFrame: boot.xenstoreMachineFrame.rawValue, consolePort: consolePort,
            consoleFrame: boot.consoleMachineFrame.rawValue)
        do { try store.writeDomainLayout(layout) } catch {
            throw .hypervisor("cannot write the xenstore layout of \(domain): \(error)")
        }
        let console: ConsoleBackend
        do {
            console = try ConsoleBackend(domain: domain, port: consolePort, grants: grants, events: events, sink: sink)
        } catch {
            store.close()
            throw .hypervisor("\(error)")
        }
        do {
            try store.introduceDomain(domain, port: storePort, frame: boot.xenstoreMachineFrame.rawValue)
        } catch {
            console.close()
            store.close()
            throw .hypervisor("\(error)")
        }
        return PVDomainServices(domain: domain, store: store, console: console, layout: layout)
    }

    /// The domain's vCPUs stopped: the console's last output reaches the sink, the store
    /// fires @releaseDomain and forgets the domain, every mapping and port is released.
    /// Idempotent.
    func detach() {
        console.close()
        store.domainShutdown(domain)
        store.domainDestroyed(domain)
        try? store.removeDomainLayout(layout)
        store.close()
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
