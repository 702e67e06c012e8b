import Foundation
import KiteControl
import XenABI
import XenCore

extension ControlDispatcher {
    func hostInfo() -> HostInfo {
        let policy = PVCPUIDPolicy()
        return HostInfo(
            hostName: ProcessInfo.processInfo.hostName, kiteVersion: KiteControl.version,
            xenVersion: "\(policy.xenMajor).\(policy.xenMinor).0-kite", engine: "interpreter",
            hostCPUs: ProcessInfo.processInfo.activeProcessorCount, totalMemoryMiB: host.memoryMiB,
            freeMemoryMiB: host.freeMemoryMiB, domains: host.guests.filter { $0.state != .destroyed }.count,
            daemonPID: getpid(), daemonStartTime: startTime.timeIntervalSince1970, controlSocket: socketPath)
    }

    /// Every domain, by id.
    func summaries() -> [DomainSummary] {
        host.guests.filter { $0.state != .destroyed }.map(summary)
    }

    func summary(_ g: PVGuest) -> DomainSummary {
        let record = records.withLock { $0[g.id] }
        let state: DomainState
        var reason: String?
        var code: UInt32?
        switch g.state {
        case .running: state = .running
        case .paused: state = .paused
        case .destroyed: state = .destroyed
        case .shutdown(let r, let c):
            state = r == .crash ? .crashed : .shutdown
            reason = DomainLifecycle.word(r)
            code = c
        }
        var config = record?.spec ?? DomainCreateSpec(name: g.name, kernel: g.spec.kernelName, memoryMiB: g.memoryMiB, vcpus: g.vcpuCount)
        config.name = g.name
        config.uuid = g.uuid.uuidString.lowercased()
        let stats = g.vcpuStatistics
        let start = g.startTime.timeIntervalSince1970
        return DomainSummary(
            id: g.id, name: g.name, uuid: g.uuid.uuidString.lowercased(), state: state, shutdownReason: reason,
            shutdownCode: code, crashReason: g.outcome?.crashReason, memoryMiB: g.memoryMiB,
            maxMemoryMiB: g.maximumMemoryMiB, vcpus: g.vcpuCount,
            onlineVCPUs: stats.filter(\.isOnline).count, cpuSeconds: g.cpuSeconds, instructions: g.instructions,
            startTime: start, uptimeSeconds: max(0, Date().timeIntervalSince1970 - start),
            restarts: record?.restarts ?? 0, config: config)
    }

    func vcpus(_ only: PVGuest?) -> [VCPUInfo] {
        let guests = only.map { [$0] } ?? host.guests.filter { $0.state != .destroyed }
        return guests.flatMap { g -> [VCPUInfo] in
            let paused = g.state == .paused
            let stopped = g.state != .running && !paused
            return g.vcpuStatistics.map { v in
                let state: String
                switch v.runstate {
                case _ where !v.isOnline || stopped: state = "offline"
                case _ where paused: state = "paused"
                case .running: state = "running"
                case .runnable: state = "runnable"
                case .blocked: state = "blocked"
                case .offline: state = "offline"
                }
                return VCPUInfo(
                    domain: g.id, domainName: g.name, vcpu: v.id.rawValue, online: v.isOnline, state: state,
                    cpuSeconds: Double(v.runningNanoseconds) / 1e9, instructions: v.retiredInstructions)
            }
        }
    }
}
