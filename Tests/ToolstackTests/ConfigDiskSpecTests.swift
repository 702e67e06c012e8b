import Testing

@testable import Toolstack

/// xl-disk-configuration(5): every positional, keyed, flag and deprecated form, its
/// defaults, the canonical form that round-trips, and every error.
@Suite struct ConfigDiskSpecTests {
    static func vdev(_ s: String) -> VirtualBlockDevice {
        guard let v = VirtualBlockDevice(s) else { fatalError("test vdev \(s)") }
        return v
    }

    static let volume = XLDiskSpec(target: "/dev/vg/guest-volume", format: .raw, vdev: vdev("hda"), access: .readWrite)
    static let iso = XLDiskSpec(target: "/root/image.iso", format: .raw, vdev: vdev("hdc"), access: .readOnly, deviceType: .cdrom)

    /// The manual's two groups of equivalent specs.
    @Test(arguments: [
        "/dev/vg/guest-volume,,hda",
        "/dev/vg/guest-volume,raw,hda,rw",
        "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
        "raw:/dev/vg/guest-volume,hda,w",
        "  /dev/vg/guest-volume,  raw,\thda,\nrw",
        "vdev=hda,/dev/vg/guest-volume",
        "/dev/vg/guest-volume,,hda,",
        "phy:/dev/vg/guest-volume,hda,w",
    ])
    func aWritableVolume(spec: String) throws {
        #expect(try XLDiskSpec(parsing: spec) == Self.volume)
    }

    @Test func targetEatsTheRestOfTheSpec() throws {
        let d = try XLDiskSpec(parsing: "vdev=xvda, target=/images/a,b:c.img")
        #expect(d.target == "/images/a,b:c.img")
        #expect(d.vdev.name == "xvda")
        let e = try XLDiskSpec(parsing: ",,xvda,target=/x,y,")
        #expect(e.target == "/x,y")
        // An empty positional target may be given again by name.
        #expect(try XLDiskSpec(parsing: ",raw,xvdb,ro,target=/img").target == "/img")
        let f = #expect(throws: XLSpecError.self) { try XLDiskSpec(parsing: "access=w,target=/img,vdev=xvdz") }
        #expect(f?.message == "no vdev specified in `access=w,target=/img,vdev=xvdz'")
    }

    @Test(arguments: [
        "/root/image.iso,,hdc,cdrom",
        "/root/image.iso,,hdc,,cdrom",
        "/root/image.iso,raw,hdc,devtype=cdrom",
        "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
        "raw:/root/image.iso,hdc:cdrom,ro",
        "/root/image.iso,,hdc,rw,cdrom",
    ])
    func aCdromIsAlwaysReadOnly(spec: String) throws {
        #expect(try XLDiskSpec(parsing: spec) == Self.iso)
    }

    @Test(arguments: [",hdc:cdrom,r", "vdev=hdc,cdrom", ",,hdc,,cdrom", "cdrom,vdev=hdc,format=empty"])
    func anEmptyCdromDrive(spec: String) throws {
        let d = try XLDiskSpec(parsing: spec)
        #expect(d == XLDiskSpec(target: nil, format: .empty, vdev: Self.vdev("hdc"), access: .readOnly, deviceType: .cdrom))
    }

    @Test func formatsAccessesAndDevtypes() throws {
        for f in ["raw", "qcow", "qcow2", "vhd", "qed"] {
            #expect(try XLDiskSpec(parsing: "/img,\(f),xvda").format.rawValue == f)
            #expect(try XLDiskSpec(parsing: "format=\(f),vdev=xvda,target=/img").format.rawValue == f)
        }
        #expect(try XLDiskSpec(parsing: "qcow2:/img,xvda,w").format == .qcow2)
        #expect(try XLDiskSpec(parsing: "vhd:/img,xvda,w").format == .vhd)
        for (a, ro) in [("r", true), ("ro", true), ("w", false), ("rw", false), ("", false)] {
            #expect(try XLDiskSpec(parsing: "/img,raw,xvda,\(a)").isReadOnly == ro)
            #expect(try XLDiskSpec(parsing: "access=\(a),vdev=xvda,target=/img").isReadOnly == ro)
        }
        #expect(try XLDiskSpec(parsing: "/img,,xvda,devtype=disk").deviceType == .disk)
        #expect(try XLDiskSpec(parsing: "/img,,xvda:disk").deviceType == .disk)
        #expect(try XLDiskSpec(parsing: "/img,,xvda,ro").access == .readOnly)
    }

    @Test func deprecatedPrefixesAreStripped() throws {
        for p in ["phy:", "file:", "tap:aio:", "tap2:aio:", "tapdisk:", "aio:", "ioemu:", "tap:qcow2:"] {
            let d = try XLDiskSpec(parsing: "\(p)/srv/guest.img,xvda,w")
            #expect(d.target == "/srv/guest.img", "\(p)")
            #expect(d.vdev.name == "xvda", "\(p)")
            #expect(d.format == (p.contains("qcow2") ? .qcow2 : .raw), "\(p)")
        }
        for s in ["iscsi", "nbd", "enbd", "drbd"] {
            let d = try XLDiskSpec(parsing: "\(s):iqn.2001-04.com.example:storage,xvda,w")
            #expect(d.script == "block-\(s)")
            #expect(d.target == "iqn.2001-04.com.example:storage")
        }
    }

    @Test func flagsAndBackendParameters() throws {
        let d = try XLDiskSpec(parsing: "direct-io-safe,no-discard,untrusted,backend=storage,backendtype=qdisk,specification=xen,script=block-x,/img,,xvdb")
        #expect(d.directIOSafe && d.discard == false && d.trusted == false)
        #expect(d.backend == "storage" && d.backendType == .qdisk && d.specification == .xen && d.script == "block-x")
        let e = try XLDiskSpec(parsing: "/img,,xvdb,discard,trusted,specification=virtio,backendtype=phy")
        #expect(e.discard == true && e.trusted == true && e.specification == .virtio && e.backendType == .phy)
        #expect(try XLDiskSpec(parsing: "/img,,xvdb").discard == nil)
    }

    @Test(arguments: [
        "/img,,xvda",
        "/root/image.iso,,hdc,cdrom",
        ",hdc:cdrom,r",
        "direct-io-safe,discard,trusted,backend=storage,backendtype=tap,specification=xen,script=s,format=qcow2,vdev=xvdtq37,access=ro,target=/a b,c",
        "vdev=xvda,target=/images/a,b:c.img",
        "no-discard,untrusted,/x,vhd,sdb3",
    ])
    func canonicalFormRoundTrips(spec: String) throws {
        let d = try XLDiskSpec(parsing: spec)
        #expect(try XLDiskSpec(parsing: d.canonical) == d, "\(d.canonical)")
    }

    @Test func canonicalFormPutsTargetLast() throws {
        #expect(try XLDiskSpec(parsing: "/img,,xvda").canonical == "format=raw,vdev=xvda,access=rw,devtype=disk,target=/img")
        #expect(try XLDiskSpec(parsing: ",hdc:cdrom,r").canonical == "format=empty,vdev=hdc,access=ro,devtype=cdrom")
    }

    /// Every refusal, with the message users see.
    @Test(arguments: [
        ("/img", "no vdev specified in `/img'"),
        ("vdev=xvda", "no target specified (and the device is not a removable cdrom) in `vdev=xvda'"),
        ("/img,,floppy", "vdev floppy is not a Xen virtual disk name (xvda, xvdb1, sda, hdc, d0p1 or a number) in `/img,,floppy'"),
        ("/img,qcow3,xvda", "unknown value for format (raw, qcow, qcow2, vhd, qed or empty) near `qcow3' in `/img,qcow3,xvda'"),
        ("/img,,xvda,rx", "unknown value for access (ro, r, rw or w) near `rx' in `/img,,xvda,rx'"),
        ("/img,,xvda,devtype=floppy", "unknown value for devtype (cdrom or disk) near `devtype=floppy' in `/img,,xvda,devtype=floppy'"),
        ("/img,,xvda,ro,extra", "too many positional parameters near `extra' in `/img,,xvda,ro,extra'"),
        ("/img,,xvda,vdev=xvdb", "vdev respecified near `xvdb' in `/img,,xvda,vdev=xvdb'"),
        ("/img,raw,xvda,format=qcow2", "format respecified near `format=qcow2' in `/img,raw,xvda,format=qcow2'"),
        ("/img,,xvda,cache=none", "unknown parameter cache near `cache=none' in `/img,,xvda,cache=none'"),
        ("/img,,xvda,/x=y", "bad disk syntax near `/x=y' in `/img,,xvda,/x=y'"),
        ("floppy:/img,xvda,w", "unknown deprecated disk prefix floppy: near `floppy:/img,xvda,w' in `floppy:/img,xvda,w'"),
        ("/img,,xvda:tape", "unknown deprecated device type near `xvda:tape' in `/img,,xvda:tape'"),
        ("/img,,xvda,backendtype=nfs", "unknown value for backendtype (phy, tap, qdisk or standalone) near `backendtype=nfs' in `/img,,xvda,backendtype=nfs'"),
        ("/img,,xvda,specification=scsi", "unknown value for specification (xen or virtio) near `specification=scsi' in `/img,,xvda,specification=scsi'"),
        ("/img,,xvda,colo", "COLO replication is not supported by Kite near `colo' in `/img,,xvda,colo'"),
        ("/img,,xvda,colo-port=9000", "colo-port is not supported by Kite near `colo-port=9000' in `/img,,xvda,colo-port=9000'"),
        ("/img,empty,xvda", "format empty is only for a cdrom drive with no medium in `/img,empty,xvda'"),
        ("target=/a,vdev=xvda", "no vdev specified in `target=/a,vdev=xvda'"),
        ("", "no vdev specified in `'"),
    ])
    func refusals(spec: String, message: String) {
        let e = #expect(throws: XLSpecError.self) { try XLDiskSpec(parsing: spec) }
        #expect(e?.message == message)
    }

    /// xen-vbd-interface(7)'s numbering.
    @Test(arguments: [
        ("xvda", 51712), ("xvdb2", 51730), ("xvdp15", 202 << 8 | 15 << 4 | 15), ("xvdq", 1 << 28 | 16 << 8),
        ("xvdz", 1 << 28 | 25 << 8), ("xvdaa", 1 << 28 | 26 << 8), ("xvdtq37", 1 << 28 | 536 << 8 | 37),
        ("xvda16", 1 << 28 | 16), ("sda", 2048), ("sdb3", 8 << 8 | 1 << 4 | 3), ("hda", 768), ("hdb", 832),
        ("hdc", 5632), ("hdd63", 22 << 8 | 1 << 6 | 63), ("d0", 51712), ("d1p2", 51730), ("d536p37", 1 << 28 | 536 << 8 | 37),
        ("51712", 51712), ("0xca00", 51712), ("0145000", 51712), ("xvda0", 51712),
    ])
    func virtualDeviceNumbers(name: String, number: Int) throws {
        let v = try #require(VirtualBlockDevice(name))
        #expect(v.number == UInt32(number))
        #expect(v.name == name)
    }

    @Test(arguments: ["xvd", "hde", "sdq", "sda16", "hda64", "xvda01", "floppy", "d", "dp1", "d0p", "0", "xvdA", "xvda-1", "d1x2", "xvdzzzzzz", "xvda256", "0x20000000"])
    func notVirtualDevices(name: String) {
        #expect(VirtualBlockDevice(name) == nil)
    }

    @Test func kindsAndParts() throws {
        let v = try #require(VirtualBlockDevice("sdb3"))
        #expect(v.kind == .scsi && v.disk == 1 && v.partition == 3)
        let n = try #require(VirtualBlockDevice("2049"))
        #expect(n.kind == .number && n.disk == nil)
    }
}
