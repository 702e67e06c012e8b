import KiteHost
import Testing

/// `kite run --disk/--vif`: xl specs checked by kited's rules, relative targets resolved.
@Suite struct PVDomainLauncherDeviceTests {
    @Test func diskSpecsResolveRelativeTargetsAndKeepTheirOptions() throws {
        let d = try PVDomainLauncher.devices(
            disks: ["disk.img,raw,xvda,rw", "format=raw, vdev=xvdb, access=ro, target=/srv/b.img"],
            vifs: ["bridge=slirp"], resolvingPathsAgainst: "/home/me/vm")
        #expect(d.disks == [
            PVDiskSpec(path: "/home/me/vm/disk.img", vdev: "xvda"),
            PVDiskSpec(path: "/srv/b.img", vdev: "xvdb", readOnly: true),
        ])
        #expect(d.vifs.map(\.network) == [PVNetworkSpec.userMode])
        #expect(d.warnings.isEmpty)
    }

    @Test func refusesWhatKitedRefuses() {
        #expect(throws: LaunchError.self) {
            try PVDomainLauncher.devices(disks: ["/a.img,qcow2,xvda,rw"], vifs: [], resolvingPathsAgainst: "/")
        }
        #expect(throws: LaunchError.self) {
            try PVDomainLauncher.devices(disks: ["/a.img,raw,xvda,rw", "/b.img,raw,xvda,rw"], vifs: [], resolvingPathsAgainst: "/")
        }
    }
}
