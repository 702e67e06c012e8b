import Foundation
import Testing
import XenABI

@testable import KiteControl

/// The hot-plug requests and replies on the wire (block-/network-attach, -detach, -list)
/// and the xl tables `kite` prints for them.
@Suite struct ControlDeviceCodingTests {
    func decode(_ json: String) -> Result<ControlRequest, ControlError> {
        ControlFraming.request(from: Array(json.utf8))
    }

    func line(_ r: ControlRequest) -> String { String(decoding: ControlFraming.line(r), as: UTF8.self) }

    static let disk = BlockDeviceInfo(
        domain: DomainID(3), vdev: "xvdb", devid: 51728, backendDomain: .controlDomain, state: 4, frontendState: 4,
        eventChannel: 9, ringRef: 8, backendPath: "/local/domain/0/backend/vbd/3/51728",
        frontendPath: "/local/domain/3/device/vbd/51728", target: "/srv/d.img", readOnly: false, deviceType: "disk")
    static let waiting = BlockDeviceInfo(
        domain: DomainID(3), vdev: "xvdc", devid: 51744, backendDomain: .controlDomain, state: 2, frontendState: 1,
        eventChannel: nil, ringRef: nil, backendPath: "/local/domain/0/backend/vbd/3/51744",
        frontendPath: "/local/domain/3/device/vbd/51744", target: "/srv/c.iso", readOnly: true, deviceType: "cdrom")
    static let vif = NetworkDeviceInfo(
        domain: DomainID(3), devid: 1, mac: "00:16:3e:01:02:03", bridge: "sw0", backendDomain: .controlDomain, state: 2,
        frontendState: 1, eventChannel: nil, txRingRef: nil, rxRingRef: nil, backendPath: "/local/domain/0/backend/vif/3/1",
        frontendPath: "/local/domain/3/device/vif/1")

    @Test func requestsAreWhatTheDocsShow() throws {
        #expect(line(.blockAttach(.name("web"), spec: "vdev=xvdb,target=/d")) == #"{"domain":"web","op":"block-attach","spec":"vdev=xvdb,target=/d"}"# + "\n")
        #expect(line(.blockDetach(.id(DomainID(3)), device: "xvdb", force: false)) == #"{"device":"xvdb","domain":3,"force":false,"op":"block-detach"}"# + "\n")
        #expect(line(.networkList(.name("web"))) == #"{"domain":"web","op":"network-list"}"# + "\n")
        // force defaults to false; a device may be a JSON number; network-attach needs no spec.
        #expect(try decode(#"{"op":"block-detach","domain":"web","device":51728}"#).get() == .blockDetach(.name("web"), device: "51728", force: false))
        #expect(try decode(#"{"op":"network-detach","domain":1,"device":0,"force":true}"#).get() == .networkDetach(.id(DomainID(1)), device: "0", force: true))
        #expect(try decode(#"{"op":"network-attach","domain":"web"}"#).get() == .networkAttach(.name("web"), spec: ""))
        #expect(ControlRequest.blockList(.name("web")).domain == .name("web"))
    }

    @Test(arguments: [
        (#"{"op":"block-attach","domain":"a"}"#, "missing field spec"),
        (#"{"op":"block-attach","domain":"a","spec":["vdev=xvdb"]}"#, "spec should be a string"),
        (#"{"op":"block-detach","domain":"a"}"#, "missing field device"),
        (#"{"op":"block-detach","domain":"a","device":true}"#, "device should be a string"),
        (#"{"op":"network-detach","domain":"a","device":"0","force":"yes"}"#, "force should be true or false"),
        (#"{"op":"block-list"}"#, "missing field domain"),
    ])
    func malformedDeviceRequests(json: String, message: String) {
        guard case .failure(let e) = decode(json) else {
            Issue.record("\(json) decoded")
            return
        }
        #expect(e.code == .malformedRequest)
        #expect(e.message == message)
    }

    @Test func repliesRoundTrip() throws {
        let replies: [ControlResponse] = [
            .ok(.disks([Self.disk, Self.waiting])), .ok(.disks([])), .ok(.disk(Self.disk)), .ok(.vifs([Self.vif])), .ok(.vif(Self.vif)),
            .ok(.detached(DeviceDetachReport(domain: DomainID(3), type: "vbd", devid: 51728, askedGuest: true, timedOut: false))),
            .error(.noSuchDevice, "web has no disk xvdz"),
        ]
        for r in replies {
            let line = ControlFraming.line(r)
            #expect(ControlFraming.response(from: Array(line.dropLast())) == r.result)
        }
        let json = String(decoding: ControlFraming.line(ControlResponse.ok(.disk(Self.waiting))), as: UTF8.self)
        for key in [#""reply":"disk""#, #""devid":51744"#, #""backend_id":0"#, #""state":2"#, #""devtype":"cdrom""#, #""read_only":true"#] {
            #expect(json.contains(key), "\(key) in \(json)")
        }
        // Nodes the guest has not written yet are absent, not -1.
        #expect(!json.contains("evtch") && !json.contains("ring_ref"))
    }

    @Test func blockListIsXlsTable() {
        let text = ControlFormatting.blockList([Self.disk, Self.waiting])
        #expect(text == """
            Vdev  BE  handle state evt-ch ring-ref BE-path                       
            51728 0   3      4     9      8        /local/domain/0/backend/vbd/3/51728
            51744 0   3      2     -1     -1       /local/domain/0/backend/vbd/3/51744

            """)
    }

    @Test func networkListIsXlsTable() {
        var connected = Self.vif
        connected.devid = 0
        connected.state = 4
        connected.eventChannel = 12
        connected.txRingRef = 768
        connected.rxRingRef = 769
        let text = ControlFormatting.networkList([connected, Self.vif])
        #expect(text == """
            Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       
            0   0  00:16:3e:01:02:03     0     4     12   768/769         /local/domain/0/backend/vif/3/1
            1   0  00:16:3e:01:02:03     1     2     -1    -1/-1          /local/domain/0/backend/vif/3/1

            """)
    }
}
