import KiteControl
import XenABI
import XenBackends

/// block-list/-attach/-detach and network-list/-attach/-detach: the spec strings are
/// checked as a create's disk and vif entries are, the device a detach names is found by
/// the domain's own list, and the host does the hot-plug.
extension ControlDispatcher {
    func blockList(_ g: PVGuest) -> ControlReply { .disks(g.disks.map { Self.info($0, of: g.id) }) }

    func networkList(_ g: PVGuest) -> ControlReply { .vifs(g.vifs.map { Self.info($0, of: g.id) }) }

    func blockAttach(_ g: PVGuest, _ text: String) throws(ControlError) -> ControlReply {
        let (spec, _, warnings) = try DomainCreateSpec.hostDisk(text, label: "block-attach")
        let log = logger.forDomain(g.id)
        for w in warnings { log.warning("\(w)") }
        do { return .disk(Self.info(try g.attachDisk(spec), of: g.id)) } catch { throw Self.controlError(error) }
    }

    func networkAttach(_ g: PVGuest, _ text: String) throws(ControlError) -> ControlReply {
        let (spec, warnings) = try DomainCreateSpec.hostVif(text, label: "network-attach")
        let log = logger.forDomain(g.id)
        for w in warnings { log.warning("\(w)") }
        do { return .vif(Self.info(try g.attachVif(spec), of: g.id)) } catch { throw Self.controlError(error) }
    }

    /// `device`: the vdev as attached ("xvdb"), its device number ("51728"), or another
    /// name with that number.
    func blockDetach(_ g: PVGuest, _ device: String, force: Bool) throws(ControlError) -> ControlReply {
        let number = UInt32(device) ?? BlockVirtualDevice(device)?.number
        guard let disk = g.disks.first(where: { $0.spec.vdev == device || $0.xenbus.devid == number }) else {
            throw ControlError(.noSuchDevice, "\(g.name) has no disk \(device)")
        }
        do {
            let o = try g.detachDisk(devid: disk.xenbus.devid, force: force)
            return .detached(DeviceDetachReport(domain: g.id, type: "vbd", devid: disk.xenbus.devid, askedGuest: o.askedGuest, timedOut: o.timedOut))
        } catch {
            throw Self.controlError(error)
        }
    }

    /// `device`: the vif's index, or its MAC (xl tells them apart by the colons).
    func networkDetach(_ g: PVGuest, _ device: String, force: Bool) throws(ControlError) -> ControlReply {
        let vifs = g.vifs
        let found: PVVifStatus?
        if device.contains(":") {
            guard let mac = MACAddress(device) else { throw ControlError(.invalidArgument, "\(device) is not a MAC address") }
            found = vifs.first { MACAddress($0.mac) == mac }
        } else {
            guard let index = UInt32(device) else { throw ControlError(.invalidArgument, "\(device) is neither a vif index nor a MAC address") }
            found = vifs.first { $0.xenbus.devid == index }
        }
        guard let vif = found else { throw ControlError(.noSuchDevice, "\(g.name) has no vif \(device)") }
        do {
            let o = try g.detachVif(devid: vif.xenbus.devid, force: force)
            return .detached(DeviceDetachReport(domain: g.id, type: "vif", devid: vif.xenbus.devid, askedGuest: o.askedGuest, timedOut: o.timedOut))
        } catch {
            throw Self.controlError(error)
        }
    }

    static func info(_ d: PVDiskStatus, of domain: DomainID) -> BlockDeviceInfo {
        let x = d.xenbus
        return BlockDeviceInfo(
            domain: domain, vdev: d.spec.vdev, devid: x.devid, backendDomain: x.backendDomain, state: x.state,
            frontendState: x.frontendState, eventChannel: x.eventChannel, ringRef: d.ringRef, backendPath: x.backendPath,
            frontendPath: x.frontendPath, target: d.spec.path, readOnly: d.spec.readOnly || d.spec.isCDROM,
            deviceType: d.spec.isCDROM ? "cdrom" : "disk")
    }

    static func info(_ v: PVVifStatus, of domain: DomainID) -> NetworkDeviceInfo {
        let x = v.xenbus
        return NetworkDeviceInfo(
            domain: domain, devid: x.devid, mac: v.mac, bridge: v.spec.network, backendDomain: x.backendDomain,
            state: x.state, frontendState: x.frontendState, eventChannel: x.eventChannel, txRingRef: v.txRingRef,
            rxRingRef: v.rxRingRef, backendPath: x.backendPath, frontendPath: x.frontendPath)
    }
}
