import XenABI
import XenStore

/// `xl vcpu-set`, `mem-set` and `mem-max` as libxl does them for a PV guest: the toolstack
/// sets targets in xenstore and limits in the hypervisor; the guest's own drivers act on
/// them (Linux: drivers/xen/cpu_hotplug.c watches cpu/<n>/availability, the balloon driver
/// memory/target and gives pages back or takes them with XENMEM_decrease_reservation and
/// populate_physmap, within max_pages).
extension PVGuest {
    private var domainPath: String { "/local/domain/\(id.rawValue)" }

    private func storeNumber(_ key: String) -> UInt64? {
        let path = domainPath + "/" + key
        return (try? services.store.inspect { (server) throws(XenError) in try server.readString(path) }).flatMap { UInt64($0) }
    }

    private func storeWrite(_ values: [(String, String)]) throws(LaunchError) {
        let base = domainPath
        do {
            // The actions carry the watch events the guest's drivers wait for.
            try services.store.update { (server) throws(XenError) in
                var actions: [XenStoreAction] = []
                for (key, value) in values { actions += try server.write(base + "/" + key, value) }
                return actions
            }
        } catch {
            throw .hypervisor("cannot write \(base): \(error)")
        }
    }

    private func requireLive(_ verb: String) throws(LaunchError) {
        switch state {
        case .running, .paused: break
        default: throw .state("\(verb): \(name) is \(state)")
        }
    }

    /// What the guest is asked to use (memory/target), in MiB.
    public var memoryTargetMiB: UInt64 { (storeNumber("memory/target") ?? memoryMiB << 10) >> 10 }

    /// The ceiling (memory/static-max and Xen's max_pages), in MiB.
    public var maximumMemoryMiB: UInt64 {
        guard let pages = domain.memory?.maximumPages, pages > 0 else { return spec.maxMemoryMiB ?? memoryMiB }
        return pages >> 8
    }

    /// Pages the domain holds now (Xen: tot_pages), in MiB.
    public var currentMemoryMiB: UInt64 { (domain.memory?.currentPages ?? 0) >> 8 }

    /// `xl mem-set`: the balloon target. At most maxmem (libxl: memory_dynamic_max ≤
    /// memory_static_max), at least 1 MiB.
    public func setMemoryTarget(mib: UInt64) throws(LaunchError) {
        try requireLive("mem-set")
        let ceiling = maximumMemoryMiB
        guard mib >= 1, mib <= ceiling else {
            throw .configuration("mem-set: \(mib) MiB is outside 1 to \(ceiling) MiB (maxmem; raise it with mem-max)")
        }
        try storeWrite([("memory/target", String(mib << 10))])
    }

    /// `xl mem-max`: Xen's max_pages and memory/static-max. Not below the current target
    /// (libxl: memory_static_max ≥ memory_dynamic_max).
    public func setMaximumMemory(mib: UInt64) throws(LaunchError) {
        try requireLive("mem-max")
        let target = memoryTargetMiB
        guard mib >= target, mib <= 1 << 20 else {
            throw .configuration("mem-max: \(mib) MiB is below the memory target of \(target) MiB (lower it with mem-set first)")
        }
        try storeWrite([("memory/static-max", String(mib << 10))])
        domain.memory?.setMaximumPages(mib << 8)
    }

    /// `xl vcpu-set`: vCPUs 0..<count available, the rest not (cpu/<n>/availability);
    /// count is 1 to the domain's vCPUs (maxvcpus).
    public func setAvailableVCPUs(_ count: Int) throws(LaunchError) {
        try requireLive("vcpu-set")
        guard count >= 1, count <= vcpuCount else {
            throw .configuration("vcpu-set: \(count) is outside 1 to \(vcpuCount) (the domain's maxvcpus)")
        }
        try storeWrite((0..<vcpuCount).map { ("cpu/\($0)/availability", $0 < count ? "online" : "offline") })
    }

    /// vCPUs marked available in xenstore.
    public var availableVCPUs: Int {
        let base = domainPath, count = vcpuCount
        let online = try? services.store.inspect { (server) throws(XenError) -> Int in
            var online = 0
            for n in 0..<count where (try? server.readString(base + "/cpu/\(n)/availability")) == "online" { online += 1 }
            return online
        }
        return online ?? 0
    }
}
