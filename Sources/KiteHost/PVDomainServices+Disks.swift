import XenABI
import XenBackends
import XenControl

extension PVDomainServices {
    /// One blkback per disk: each publishes its xenbus directories and waits in InitWait
    /// for the guest's blkfront. A disk that cannot be opened stops the whole create, with
    /// the disks started so far removed again.
    static func attachDisks(
        _ specs: [PVDiskSpec], domain: DomainID, client: XenStoreClient?, grants: any GrantMapper,
        events: any EventChannelAccess, log: @escaping @Sendable (DomainID?, PVHostLogLevel, String) -> Void
    ) throws(LaunchError) -> [BlockXenbusDevice] {
        guard let client, !specs.isEmpty else { return [] }
        var disks: [BlockXenbusDevice] = []
        for spec in specs {
            do {
                let configuration = try BlockDeviceConfiguration(
                    path: spec.path, vdev: spec.vdev, readOnly: spec.readOnly || spec.isCDROM,
                    deviceType: spec.isCDROM ? .cdrom : .disk, copyOnWriteBase: spec.copyOnWriteBase)
                let disk = try BlockXenbusDevice(
                    domain: domain, configuration: configuration, grants: grants, events: events, client: client,
                    log: { log(domain, .warning, "vbd \(spec.vdev): \($0)") })
                try disk.start()
                disks.append(disk)
            } catch {
                for disk in disks { disk.stop() }
                throw .configuration("disk \(spec.vdev) (\(spec.path)): \(error)")
            }
        }
        return disks
    }
}
