import Testing

@testable import Toolstack

/// xl-network-configuration(5): every key, Kite's switch names and port forwards, rates,
/// the canonical form, and every error.
@Suite struct ConfigVifSpecTests {
    func parse(_ s: String) throws -> (XLVifSpec, [String]) {
        var warnings: [String] = []
        let v = try XLVifSpec(parsing: s, warnings: &warnings)
        return (v, warnings)
    }

    @Test func anEmptySpecIsAUserModeNICWithEveryDefault() throws {
        let (v, w) = try parse("")
        #expect(v == XLVifSpec())
        #expect(v.switchName == "slirp" && v.isUserMode)
        #expect(w.isEmpty)
        #expect(v.canonical == "")
    }

    @Test func theManualsExample() throws {
        let (v, w) = try parse("mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0")
        #expect(v.mac?.description == "00:16:3e:74:3d:76")
        #expect(v.bridge == "xenbr0" && v.switchName == "xenbr0" && !v.isUserMode)
        #expect(v.model == "rtl8139")
        #expect(w == ["vif model=rtl8139 selects an emulated NIC of HVM guests; a PV guest gets a PV NIC (ignored)"])
    }

    @Test func everyKey() throws {
        let (v, w) = try parse(" mac=aa-bb-cc-dd-ee-fe , bridge=slirp, ip=10.0.2.15 fd00::15/64, type=vif, vifname=web0, script=vif-route, backend=0, netdev=eth0, rate=10Mb/s, mtu=9000, devid=3, forward=8080:80 2222:22,")
        #expect(v.mac?.bytes == [0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFE])
        #expect(v.isUserMode)
        #expect(v.ip == ["10.0.2.15", "fd00::15/64"])
        #expect(v.type == "vif" && v.vifname == "web0" && v.script == "vif-route" && v.backend == "0")
        #expect(v.gatewaydev == "eth0")
        #expect(v.rate == XLVifSpec.Rate(bytesPerSecond: 1_250_000, intervalMicroseconds: 50_000))
        #expect(v.mtu == 9000 && v.devid == 3)
        #expect(v.forwards == [.init(hostPort: 8080, guestPort: 80), .init(hostPort: 2222, guestPort: 22)])
        #expect(w.isEmpty)
    }

    @Test(arguments: [
        ("10Mb/s", 1_250_000, 50_000), ("250KB/s", 250_000, 50_000), ("1MB/s@20ms", 1_000_000, 20_000),
        ("1GB/s@500us", 1_000_000_000, 500), ("8b/s@2", 1, 2_000_000), ("100B/s@3s", 100, 3_000_000),
        ("4294967295B/s", 4_294_967_295, 50_000),
    ])
    func rates(text: String, bytes: UInt64, interval: UInt64) throws {
        let (v, _) = try parse("rate=\(text)")
        #expect(v.rate == XLVifSpec.Rate(bytesPerSecond: bytes, intervalMicroseconds: interval))
        #expect(try parse(v.canonical).0 == v)
    }

    @Test func warningsForWhatPVGuestsIgnore() throws {
        let (_, w) = try parse("accel=x,colour=blue,type=ioemu")
        #expect(w == ["vif accel= is not supported (ignored, as in xl)", "unknown vif option colour (ignored)"])
    }

    @Test(arguments: [
        "", "mac=00:16:3e:00:00:01,bridge=br-int,model=e1000,ip=192.168.1.2,type=ioemu,vifname=v,script=s,backend=d,gatewaydev=g,rate=1MB/s@20ms,mtu=1500,devid=0",
        "forward=80:8080", "rate=10Mb/s",
    ])
    func canonicalFormRoundTrips(spec: String) throws {
        let (v, _) = try parse(spec)
        #expect(try parse(v.canonical).0 == v, "\(v.canonical)")
    }

    @Test(arguments: [
        ("mac=00:16:3e:74:3d", "mac 00:16:3e:74:3d is not six hexadecimal pairs (00:16:3e:xx:xx:xx) in `mac=00:16:3e:74:3d'"),
        ("mac=0g:16:3e:74:3d:76", "mac 0g:16:3e:74:3d:76 is not six hexadecimal pairs (00:16:3e:xx:xx:xx) in `mac=0g:16:3e:74:3d:76'"),
        ("mac=01:00:5e:00:00:01", "mac 01:00:5e:00:00:01 is a multicast address (the first byte is odd); a NIC needs a unicast one in `mac=01:00:5e:00:00:01'"),
        ("mac=00:16:3e:00:00:01,mac=00:16:3e:00:00:02", "mac respecified in `mac=00:16:3e:00:00:01,mac=00:16:3e:00:00:02'"),
        ("bridge", "expected key=value, found `bridge' in `bridge'"),
        ("bridge=my switch", "bridge `my switch' is not a switch name (no spaces or /) in `bridge=my switch'"),
        ("bridge=", "bridge `' is not a switch name (no spaces or /) in `bridge='"),
        ("type=e1000", "unknown type e1000 (vif or ioemu) in `type=e1000'"),
        ("ip=10.0.0.300", "ip 10.0.0.300 is not an IPv4 or IPv6 address in `ip=10.0.0.300'"),
        ("rate=", "no rate specified in `rate='"),
        ("rate=10Mb", "invalid rate 10Mb (like 10Mb/s, 250KB/s or 1MB/s@20ms) in `rate=10Mb'"),
        ("rate=10M/s", "invalid rate 10M/s (B for bytes, b for bits) in `rate=10M/s'"),
        ("rate=0MB/s", "invalid rate 0MB/s (a number from 1 to 4294967295 with its unit) in `rate=0MB/s'"),
        ("rate=4294967296B/s", "invalid rate 4294967296B/s (a number from 1 to 4294967295 with its unit) in `rate=4294967296B/s'"),
        ("rate=1MB/s@20xs", "invalid replenishment interval 20xs (like 20ms, 500us or 1s) in `rate=1MB/s@20xs'"),
        ("rate=1MB/s@5000s", "invalid replenishment interval 5000s (like 20ms, 500us or 1s) in `rate=1MB/s@5000s'"),
        ("mtu=20", "mtu 20 is not between 68 and 65535 in `mtu=20'"),
        ("devid=x", "devid x is not between 0 and 65535 in `devid=x'"),
        ("forward=80", "forward 80 is not HOSTPORT:GUESTPORT (TCP ports 1 to 65535) in `forward=80'"),
        ("forward=0:80", "forward 0:80 is not HOSTPORT:GUESTPORT (TCP ports 1 to 65535) in `forward=0:80'"),
        ("bridge=br0,forward=80:80", "forward= needs user-mode networking (bridge=slirp or no bridge) in `bridge=br0,forward=80:80'"),
    ])
    func refusals(spec: String, message: String) {
        var w: [String] = []
        let e = #expect(throws: XLSpecError.self) { try XLVifSpec(parsing: spec, warnings: &w) }
        #expect(e?.message == message)
    }
}
