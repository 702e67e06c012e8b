import Dispatch
import Foundation
import XenABI
import XenBackends
import XenStore

/// What block-detach and network-detach need of a device, whichever kind it is.
protocol PVHotplugDevice: AnyObject, Sendable {
    var xenbus: XenbusBackend { get }
    func requestRemoval()
    func stop()
}

extension BlockXenbusDevice: PVHotplugDevice {}
extension NetXenbusDevice: PVHotplugDevice {}

/// Hot-plug: disks and vifs added to and removed from a live domain (xl block-attach,
/// network-detach...), the way libxl does it.
extension PVDomainServices {
    enum DeviceKind: String, Sendable {
        case disk, vif
    }

    /// Starts a new blkback for `spec` (InitWait: a running guest's blkfront sees a new
    /// device/vbd entry). Refused when the domain already has a disk with that device number.
    func hotplugDisk(_ spec: PVDiskSpec, host: PVHost) throws(LaunchError) -> AttachedDisk {
        guard let vdev = BlockVirtualDevice(spec.vdev) else {
            throw .configuration("disk \(spec.vdev): not a virtual device name Xen can encode")
        }
        return try addDevice { (d, client) throws(LaunchError) -> AttachedDisk in
            if let other = d.disks.first(where: { $0.devid == vdev.number }) {
                throw .configuration("disk \(spec.vdev): the domain already has disk \(other.spec.vdev) as device \(vdev.number)")
            }
            let device = try Self.startDisk(spec, domain: domain, client: client, grants: host.grants, events: host.events,
                                            log: host.log)
            let disk = AttachedDisk(spec: spec, device: device)
            d.disks.append(disk)
            return disk
        }
    }

    /// Starts a new netback for `spec` with the next free index (libxl: the highest + 1).
    /// Refused when another vif of the domain has the same MAC.
    func hotplugVif(_ spec: PVNetworkSpec, host: PVHost) throws(LaunchError) -> AttachedVif {
        let requested = spec.mac.flatMap(MACAddress.init)
        if let text = spec.mac, requested == nil { throw .configuration("vif: bad mac \(text)") }
        return try addDevice { (d, client) throws(LaunchError) -> AttachedVif in
            if let requested, let other = d.vifs.first(where: { $0.mac == requested }) {
                throw .configuration("vif: mac \(requested) is already used by vif \(other.devid)")
            }
            let (next, overflow) = (d.vifs.map(\.devid).max() ?? 0).addingReportingOverflow(d.vifs.isEmpty ? 0 : 1)
            guard !overflow else { throw .configuration("vif: no free vif index") }
            let device = try Self.startVif(spec, handle: next, domain: domain, client: client, grants: host.grants,
                                           events: host.events, networks: host.networks, log: host.log)
            let vif = AttachedVif(spec: spec, device: device)
            d.vifs.append(vif)
            return vif
        }
    }

    /// Runs `add` under the devices' lock with the backends' store connection (made for
    /// the first device, closed again if that one fails). Refused once `detach` ran.
    private func addDevice<R: Sendable>(
        _ add: (inout Devices, XenStoreClient) throws(LaunchError) -> R
    ) throws(LaunchError) -> R {
        let store = self.store
        return try devices.withLock { (d) throws(LaunchError) -> R in
            guard !d.closed else { throw .state("the domain is being destroyed") }
            let client = d.client ?? XenStoreClient(daemon: store)
            do throws(LaunchError) {
                let added = try add(&d, client)
                d.client = client
                return added
            } catch {
                if d.client == nil { client.close() }
                throw error
            }
        }
    }

    /// Removes one device as libxl's device remove does: a connected device gets `online`
    /// = 0 and its backend Closing, and kited waits up to `timeout` seconds for it to reach
    /// Closed (the guest let go); then, or at once with `force` or when it never
    /// connected, its directories are removed and its backend stopped.
    func unplug(_ kind: DeviceKind, devid: UInt32, force: Bool, timeout: Double) throws(LaunchError) -> PVDetachOutcome {
        let found: (any PVHotplugDevice)? = devices.withLock { d in
            switch kind {
            case .disk: d.disks.first { $0.devid == devid }?.device
            case .vif: d.vifs.first { $0.devid == devid }?.device
            }
        }
        guard let found else { throw .configuration("the domain has no \(kind) \(devid)") }
        var asked = false
        var timedOut = false
        if !force, found.xenbus.backendState == .connected {
            asked = true
            found.requestRemoval()
            let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, min(timeout, 3600)) * 1e9)
            while !(found.xenbus.isUnregistered || found.xenbus.backendState == .closed) {
                if DispatchTime.now().uptimeNanoseconds >= deadline {
                    timedOut = true
                    break
                }
                usleep(10_000)
            }
        }
        devices.withLock { d in
            d.disks.removeAll { $0.device === found }
            d.vifs.removeAll { $0.device === found }
        }
        found.stop()
        return PVDetachOutcome(askedGuest: asked, timedOut: timedOut)
    }

    // MARK: - What xenstore says

    func status(of disk: AttachedDisk) -> PVDiskStatus {
        let (xenbus, more) = status(disk.device.xenbus.address, frontendKeys: ["ring-ref"])
        return PVDiskStatus(spec: disk.spec, xenbus: xenbus, ringRef: more[0])
    }

    func status(of vif: AttachedVif) -> PVVifStatus {
        let (xenbus, more) = status(vif.device.xenbus.address, frontendKeys: ["event-channel-tx", "tx-ring-ref", "rx-ring-ref"])
        var common = xenbus
        if common.eventChannel == nil { common.eventChannel = more[0] }
        return PVVifStatus(spec: vif.spec, mac: vif.mac.description, xenbus: common, txRingRef: more[1], rxRingRef: more[2])
    }

    /// Both ends' states and the frontend's event channel, plus `frontendKeys` of the frontend.
    private func status(_ a: XenbusDeviceAddress, frontendKeys: [String]) -> (PVXenbusStatus, [UInt32?]) {
        let n = numbers([a.backendPath + "/state", a.frontendPath + "/state", a.frontendPath + "/event-channel"]
                        + frontendKeys.map { a.frontendPath + "/" + $0 })
        let xenbus = PVXenbusStatus(
            devid: a.devid, backendDomain: a.backendDomain, backendPath: a.backendPath, frontendPath: a.frontendPath,
            state: n[0], frontendState: n[1], eventChannel: n[2])
        return (xenbus, Array(n[3...]))
    }

    var diskStatuses: [PVDiskStatus] { devices.withLock { $0.disks }.map(status(of:)) }
    var vifStatuses: [PVVifStatus] { devices.withLock { $0.vifs }.map(status(of:)) }

    /// Decimal nodes (the guest writes the frontend's: anything else reads as nil).
    private func numbers(_ paths: [String]) -> [UInt32?] {
        let values = try? store.inspect { (server) throws(XenError) -> [UInt32?] in
            var out: [UInt32?] = []
            for path in paths {
                let text = try? server.readString(path)
                out.append(text.flatMap { UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
            }
            return out
        }
        return values ?? paths.map { _ in nil }
    }
}
