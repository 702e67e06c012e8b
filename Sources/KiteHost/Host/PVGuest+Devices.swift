import XenABI

/// Hot-plug verbs (xl block-attach/-detach/-list, network-attach/-detach/-list): devices
/// added to or removed from a running or paused domain.
extension PVGuest {
    /// The domain's disks, by the order they were attached.
    public var disks: [PVDiskStatus] { services.diskStatuses }
    /// The domain's vifs, by the order they were attached.
    public var vifs: [PVVifStatus] { services.vifStatuses }

    /// xl block-attach: a new vbd whose backend waits in InitWait for the guest's blkfront.
    public func attachDisk(_ spec: PVDiskSpec) throws(LaunchError) -> PVDiskStatus {
        try requireLive("block-attach")
        let disk = try services.hotplugDisk(spec, host: host)
        host.log(id, .info, "disk \(spec.vdev) attached (\(spec.path)\(spec.readOnly ? ", read-only" : ""))")
        return services.status(of: disk)
    }

    /// xl network-attach: a new vif (the next free index) on the network `spec` names.
    public func attachVif(_ spec: PVNetworkSpec) throws(LaunchError) -> PVVifStatus {
        try requireLive("network-attach")
        let vif = try services.hotplugVif(spec, host: host)
        host.log(id, .info, "vif \(vif.devid) attached (\(vif.mac), \(spec.network))")
        return services.status(of: vif)
    }

    /// xl block-detach: the guest is asked to let go of the disk (up to `timeout` seconds;
    /// not with `force`), then the device is removed.
    public func detachDisk(devid: UInt32, force: Bool = false, timeout: Double = PVGuest.detachTimeout) throws(LaunchError) -> PVDetachOutcome {
        try requireLive("block-detach")
        let outcome = try services.unplug(.disk, devid: devid, force: force, timeout: timeout)
        logDetach("disk \(devid)", outcome)
        return outcome
    }

    /// xl network-detach, as `detachDisk`.
    public func detachVif(devid: UInt32, force: Bool = false, timeout: Double = PVGuest.detachTimeout) throws(LaunchError) -> PVDetachOutcome {
        try requireLive("network-detach")
        let outcome = try services.unplug(.vif, devid: devid, force: force, timeout: timeout)
        logDetach("vif \(devid)", outcome)
        return outcome
    }

    /// How long a detach waits for the guest. Xen: LIBXL_DESTROY_TIMEOUT (10 s).
    public static let detachTimeout = 10.0

    private func logDetach(_ what: String, _ outcome: PVDetachOutcome) {
        if outcome.timedOut {
            host.log(id, .warning, "\(what): the guest did not close it within the timeout; removed by force")
        } else {
            host.log(id, .info, "\(what) detached")
        }
    }

    private func requireLive(_ verb: String) throws(LaunchError) {
        switch state {
        case .running, .paused: return
        default: throw .state("\(name) is \(state): \(verb) needs a running or paused domain")
        }
    }
}
