import Foundation
import Testing
import XenABI

@testable import KiteControl

/// What `kite` prints, in xl's layouts.
@Suite struct ControlFormattingTests {
    static func summary(_ id: UInt16, _ name: String, _ state: DomainState, cpu: Double = 0.0, instructions: UInt64 = 0) -> DomainSummary {
        DomainSummary(
            id: DomainID(id), name: name, uuid: "u", state: state, memoryMiB: 64, maxMemoryMiB: 128, vcpus: 2,
            onlineVCPUs: 2, cpuSeconds: cpu, instructions: instructions, startTime: 0, uptimeSeconds: 93784,
            restarts: 0, config: DomainCreateSpec(name: name, kernel: "/k"))
    }

    @Test func listHasXlsColumns() {
        let text = ControlFormatting.list([Self.summary(1, "web", .running, cpu: 12.34), Self.summary(12, "db", .paused)])
        #expect(text == """
            Name                                        ID   Mem VCPUs\tState\tTime(s)
            web                                          1    64     2     r-----      12.3
            db                                          12    64     2     --p---       0.0

            """)
    }

    @Test func everyStateHasXlsFlags() {
        #expect(DomainState.allCases.map(\.xlFlags) == ["r-----", "--p---", "---s--", "----c-", "-----d"])
    }

    @Test func uptimeLikeXl() {
        #expect(ControlFormatting.uptime(seconds: 59) == "0:00:59")
        #expect(ControlFormatting.uptime(seconds: 3661) == "1:01:01")
        #expect(ControlFormatting.uptime(seconds: 93784) == "1 day, 2:03:04")
        #expect(ControlFormatting.uptime(seconds: 3 * 86400) == "3 days, 0:00:00")
        #expect(ControlFormatting.uptime([Self.summary(1, "web", .running)]) == "Name                                ID Uptime\nweb                                  1 1 day, 2:03:04\n")
    }

    @Test func vcpuListAndTop() {
        let v = ControlFormatting.vcpuList([VCPUInfo(domain: DomainID(1), domainName: "web", vcpu: 0, online: true, state: "blocked", cpuSeconds: 2.25, instructions: 5)])
        #expect(v == "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\nweb                                  1     0     -   -b-        2.2 all / all\n")
        let before = [Self.summary(1, "web", .running, cpu: 1, instructions: 0)]
        let now = [Self.summary(1, "web", .running, cpu: 2, instructions: 40_000_000)]
        let top = ControlFormatting.top(now, previous: before, interval: 2, totalMemoryMiB: 256)
        #expect(top.contains("       web    1 r-----          2   50.0      65536   25.0     131072     2     20.0"), "\(top)")
    }

    @Test func dmesgLines() {
        let text = ControlFormatting.dmesg([LogEntry(time: 0.5, level: "info", domain: DomainID(3), label: "kited", message: "paused", metadata: ["b": "2", "a": "1"])])
        #expect(text == "[1970-01-01 00:00:00.500] info    d3 kited: paused a=1 b=2\n")
    }

    @Test func infoLines() {
        let h = HostInfo(hostName: "h", kiteVersion: "v", xenVersion: "4.19.0-kite", engine: "interpreter", hostCPUs: 2, totalMemoryMiB: 1024, freeMemoryMiB: 960, domains: 1, daemonPID: 42, daemonStartTime: Date().timeIntervalSince1970, controlSocket: "/s")
        let text = ControlFormatting.info(h)
        #expect(text.hasPrefix("host                   : h\nkite_version           : v\nxen_version            : 4.19.0-kite\n"))
        #expect(text.contains("free_memory            : 960\n"))
    }
}
