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
    ) throws(LaunchError) -> [AttachedDisk] {
        guard let client, !specs.isEmpty else { return [] }
        var disks: [AttachedDisk] = []
        for spec in specs {
            do {
                let disk = try startDisk(spec, domain: domain, client: client, grants: grants, events: events, log: log)
                disks.append(AttachedDisk(spec: spec, device: disk))
            } catch {
                for disk in disks { disk.device.stop() }
                throw error
            }
        }
        return disks
    }

    /// Opens the image of one disk and starts its blkback (directories written, InitWait).
    static func startDisk(
        _ spec: PVDiskSpec, domain: DomainID, client: XenStoreClient, grants: any GrantMapper,
        events: any EventChannelAccess, log: @escaping @Sendable (DomainID?, PVHostLogLevel, String) -> Void
    ) throws(LaunchError) -> BlockXenbusDevice {
        do {
            let configuration = try BlockDeviceConfiguration(
                path: spec.path, vdev: spec.vdev, readOnly: spec.readOnly || spec.isCDROM,
                deviceType: spec.isCDROM ? .cdrom : .disk, copyOnWriteBase: spec.copyOnWriteBase)
            let disk = try BlockXenbusDevice(
                domain: domain, configuration: configuration, grants: grants, events: events, client: client,
                log: { log(domain, .warning, "vbd \(spec.vdev): \($0)") })
            do { try disk.start() } catch {
                disk.stop()
                throw error
            }
            return disk
        } catch {
            throw .configuration("disk \(spec.vdev) (\(spec.path)): \(error)")
        }
    }
}
