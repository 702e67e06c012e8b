import Foundation
import Testing
import XenABI

@testable import KiteControl

/// The wire format: every request and reply round-trips, the JSON is what the docs show,
/// and every malformed request becomes an error reply.
@Suite struct ControlCodingTests {
    static let spec = DomainCreateSpec(
        name: "web", kernel: "/k", ramdisk: "/r", commandLine: "console=hvc0", memoryMiB: 64, maxMemoryMiB: 128,
        vcpus: 2, maxVCPUs: 4, uuid: "6f2c3a1e-0b7d-4c89-9e1a-2b3c4d5e6f70", disks: ["format=raw,vdev=xvda,access=rw,devtype=disk,target=/img"],
        vifs: ["bridge=slirp"], onPoweroff: .preserve, onReboot: .renameRestart, onCrash: .restart, onWatchdog: .destroy,
        paused: true, maxInstructions: 1000, configFile: "/etc/kite/web.cfg")

    static let requests: [ControlRequest] = [
        .hostInfo, .list, .domainInfo(.name("web")), .domainInfo(.id(DomainID(3))), .create(spec), .destroy(.id(DomainID(1))),
        .shutdown(.name("web"), wait: true, timeout: 30), .shutdown(.name("web"), wait: false, timeout: nil),
        .reboot(.id(DomainID(2)), wait: false, timeout: nil), .pause(.name("a")), .unpause(.name("a")),
        .rename(.name("a"), to: "b"), .vcpuList(nil), .vcpuList(.name("a")), .vcpuSet(.name("a"), count: 2),
        .memSet(.name("a"), mib: 256), .memMax(.name("a"), mib: 512), .dmesg(clear: true), .console(.name("web")),
        .console(.id(DomainID(3)), number: 2),
        .blockList(.name("web")), .blockAttach(.id(DomainID(2)), spec: "format=raw,vdev=xvdb,access=rw,devtype=disk,target=/d"),
        .blockDetach(.name("web"), device: "xvdb", force: true), .networkList(.id(DomainID(2))),
        .networkAttach(.name("web"), spec: "mac=00:16:3e:00:00:01,bridge=sw0"),
        .networkDetach(.name("web"), device: "00:16:3e:00:00:01", force: false),
    ]

    func decode(_ json: String) -> Result<ControlRequest, ControlError> {
        ControlFraming.request(from: Array(json.utf8))
    }

    @Test func everyRequestRoundTrips() throws {
        #expect(Set(Self.requests.map(\.operation)) == Set(ControlRequest.operations))
        for r in Self.requests {
            let line = ControlFraming.line(r)
            #expect(line.last == 0x0A)
            #expect(!line.dropLast().contains(0x0A))
            #expect(try ControlFraming.request(from: Array(line.dropLast())).get() == r)
        }
    }

    @Test func theJSONIsWhatTheDocsShow() throws {
        #expect(String(decoding: ControlFraming.line(ControlRequest.pause(.name("web"))), as: UTF8.self) == "{\"domain\":\"web\",\"op\":\"pause\"}\n")
        #expect(String(decoding: ControlFraming.line(ControlRequest.shutdown(.id(DomainID(3)), wait: true, timeout: nil)), as: UTF8.self)
            == "{\"domain\":3,\"op\":\"shutdown\",\"wait\":true}\n")
        #expect(try decode(#"{"op":"pause","domain":"7"}"#).get() == .pause(.id(DomainID(7))))
        #expect(try decode(#"{"op":"list","extra":1}"#).get() == .list)
        // Only name and kernel are required in a create spec; the rest take xl's defaults.
        let minimal = try decode(#"{"op":"create","spec":{"name":"a","kernel":"/k"}}"#).get()
        #expect(minimal == .create(DomainCreateSpec(name: "a", kernel: "/k")))
    }

    @Test func specUsesXlKeyNames() throws {
        let json = String(decoding: ControlFraming.line(Self.spec), as: UTF8.self)
        for key in ["\"cmdline\"", "\"memory\"", "\"maxmem\"", "\"maxvcpus\"", "\"disk\"", "\"vif\"", "\"on_poweroff\":\"preserve\"", "\"on_reboot\":\"rename-restart\"", "\"config_file\""] {
            #expect(json.contains(key), "\(key) in \(json)")
        }
    }

    @Test(arguments: [
        ("", ControlError.Code.malformedRequest, "the request is not valid JSON"),
        ("not json", .malformedRequest, "the request is not valid JSON"),
        ("[1,2]", .malformedRequest, "the request should be Dictionary<String, Any>"),
        ("{}", .malformedRequest, "missing field op"),
        (#"{"op":5}"#, .malformedRequest, "op should be a string"),
        (#"{"op":"reformat-disk"}"#, .unknownOperation, "unknown operation \"reformat-disk\" (known: host-info, list, domain-info, create, destroy, shutdown, reboot, pause, unpause, rename, vcpu-list, vcpu-set, mem-set, mem-max, dmesg, console, block-list, block-attach, block-detach, network-list, network-attach, network-detach)"),
        (#"{"op":"pause"}"#, .malformedRequest, "missing field domain"),
        (#"{"op":"pause","domain":true}"#, .malformedRequest, "domain: expected a domain name (a string) or id (a number)"),
        (#"{"op":"rename","domain":"a"}"#, .malformedRequest, "missing field name"),
        (#"{"op":"vcpu-set","domain":"a","count":"two"}"#, .malformedRequest, "count should be a whole number"),
        (#"{"op":"mem-set","domain":"a","mib":-1}"#, .malformedRequest, "a number is out of range for its field (ids, counts and sizes are whole numbers, not negative)"),
        (#"{"op":"vcpu-set","domain":"a","count":1.5}"#, .malformedRequest, "a number is out of range for its field (ids, counts and sizes are whole numbers, not negative)"),
        (#"{"op":"pause","domain":70000}"#, .malformedRequest, "domain: 70000 is not a domain id (0 to 65535)"),
        (#"{"op":"create","spec":{"name":"a"}}"#, .malformedRequest, "missing field spec.kernel"),
        (#"{"op":"create","spec":{"name":"a","kernel":"/k","on_crash":"explode"}}"#, .malformedRequest, "spec.on_crash: Cannot initialize DomainAction from invalid String value explode"),
        (#"{"op":"create","spec":{"name":"a","kernel":"/k","disk":[1]}}"#, .malformedRequest, "spec.disk.[0] should be a string"),
        (#"{"op":"shutdown","domain":"a","wait":"yes"}"#, .malformedRequest, "wait should be true or false"),
        (#"{"op":"pause","domain":null}"#, .malformedRequest, "domain: expected a domain name (a string) or id (a number)"),
    ])
    func malformedRequestsBecomeErrors(json: String, code: ControlError.Code, message: String) {
        guard case .failure(let e) = decode(json) else {
            Issue.record("\(json) decoded")
            return
        }
        #expect(e.code == code)
        #expect(e.message == message)
    }

    @Test func repliesRoundTrip() throws {
        let summary = DomainSummary(
            id: DomainID(4), name: "web", uuid: "u", state: .shutdown, shutdownReason: "poweroff", shutdownCode: 0,
            memoryMiB: 64, maxMemoryMiB: 64, vcpus: 1, onlineVCPUs: 1, cpuSeconds: 1.5, instructions: 123, startTime: 1e9,
            uptimeSeconds: 12, restarts: 2, config: Self.spec)
        let replies: [ControlResponse] = [
            .ok(.done),
            .ok(.host(HostInfo(hostName: "h", kiteVersion: "v", xenVersion: "4.19", engine: "interpreter", hostCPUs: 2, totalMemoryMiB: 1024, freeMemoryMiB: 512, domains: 1, daemonPID: 42, daemonStartTime: 1, controlSocket: "/s"))),
            .ok(.domains([summary])), .ok(.domain(summary, warnings: ["w"])), .ok(.domain(summary, warnings: [])),
            .ok(.stopped(DomainStopReport(id: DomainID(4), name: "web", reason: "reboot", code: 1, action: .restart, restartedAs: DomainID(5)))),
            .ok(.vcpus([VCPUInfo(domain: DomainID(4), domainName: "web", vcpu: 0, online: true, state: "blocked", cpuSeconds: 1, instructions: 9)])),
            .ok(.log([LogEntry(time: 1, level: "info", domain: DomainID(4), label: "kited", message: "m", metadata: ["k": "v"])])),
            .ok(.consoleAttached(summary)),
            .error(.noSuchDomain, "no domain named \"x\""),
        ]
        for r in replies {
            let line = ControlFraming.line(r)
            #expect(!line.dropLast().contains(0x0A))
            let back = ControlFraming.response(from: Array(line.dropLast()))
            #expect(back == r.result)
        }
        let done = String(decoding: ControlFraming.line(ControlResponse.ok(.done)), as: UTF8.self)
        #expect(done == "{\"ok\":true,\"reply\":\"done\"}\n")
        let err = String(decoding: ControlFraming.line(ControlResponse.error(.invalidState, "web is paused")), as: UTF8.self)
        #expect(err == "{\"error\":{\"code\":\"invalid-state\",\"message\":\"web is paused\"},\"ok\":false}\n")
        #expect(ControlFraming.response(from: Array("{\"ok\":true,\"reply\":\"surprise\"}".utf8)).isFailure)
    }

    @Test func domainRefsReadLikeXl() throws {
        #expect(DomainRef("3") == .id(DomainID(3)))
        #expect(DomainRef("web") == .name("web"))
        #expect(DomainRef("3a") == .name("3a"))
        #expect(DomainRef("99999") == .name("99999"))
        #expect(DomainRef("") == .name(""))
        #expect(DomainRef.id(DomainID(3)).description == "3")
    }

    @Test func memorySizesLikeXl() {
        #expect(MemorySize.mebibytes("512") == 512)
        #expect(MemorySize.mebibytes("512m") == 512)
        #expect(MemorySize.mebibytes("512M") == 512)
        #expect(MemorySize.mebibytes("2g") == 2048)
        #expect(MemorySize.mebibytes("1t") == 1 << 20)
        #expect(MemorySize.mebibytes("1048576k") == 1024)
        #expect(MemorySize.mebibytes("1048576b") == 1)
        #expect(MemorySize.mebibytes("1000k") == nil)
        #expect(MemorySize.mebibytes("12x") == nil)
        #expect(MemorySize.mebibytes("-1") == nil)
        #expect(MemorySize.mebibytes("") == nil)
        #expect(MemorySize.mebibytes("99999999999999999999t") == nil)
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
