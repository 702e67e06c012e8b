import Foundation
import KiteControl
import Toolstack

extension DomainCreateSpec {
    /// The request `kite create` sends for a parsed xl.cfg: relative paths (kernel, ramdisk,
    /// disk targets, channel sockets) resolved against `directory`, as xl resolves them against its own.
    public init(_ c: XLDomainConfig, resolvingPathsAgainst directory: String, paused: Bool = false, configFile: String? = nil) {
        func absolute(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: directory).appendingPathComponent(p).standardized.path
        }
        let disks = c.disks.map { d -> String in
            var d = d
            if let t = d.target, d.script == nil { d.target = absolute(t) }
            return d.canonical
        }
        let channels = c.channels.map { ch -> String in
            var ch = ch
            if case .socket(let path) = ch.connection { ch.connection = .socket(path: absolute(path)) }
            return ch.canonical
        }
        self.init(
            name: c.name, kernel: absolute(c.kernel), ramdisk: c.ramdisk.map(absolute), commandLine: c.commandLine,
            memoryMiB: c.memoryMiB, maxMemoryMiB: c.maxMemoryMiB, vcpus: c.vcpus, maxVCPUs: c.maxVCPUs, uuid: c.uuid,
            disks: disks, vifs: c.vifs.map(\.canonical), channels: channels, onPoweroff: DomainAction(c.onPoweroff),
            onReboot: DomainAction(c.onReboot), onCrash: DomainAction(c.onCrash), onWatchdog: DomainAction(c.onWatchdog),
            paused: paused, configFile: configFile.map(absolute))
    }

    /// kited's checks of a create request (the same rules as xl.cfg, so a hand-written JSON
    /// request is refused as a file would be), and the host's spec with the kernel and
    /// ramdisk read. Returns what kited will ignore as warnings.
    func hostSpec(readFile: (String) -> [UInt8]?) throws(ControlError) -> (PVDomainSpec, [String]) {
        func bad(_ m: String) -> ControlError { ControlError(.invalidArgument, m) }
        var warnings: [String] = []
        if let problem = XLDomainConfig.problem(withName: name) { throw bad("name: \(problem)") }
        guard XLDomainConfig.memoryRangeMiB.contains(memoryMiB) else {
            throw bad("memory: \(memoryMiB) MiB is out of range (\(XLDomainConfig.memoryRangeMiB.lowerBound) to \(XLDomainConfig.memoryRangeMiB.upperBound))")
        }
        let maxmem = maxMemoryMiB ?? memoryMiB
        guard maxmem >= memoryMiB else { throw bad("maxmem (\(maxmem) MiB) must be at least memory (\(memoryMiB) MiB)") }
        guard XLDomainConfig.vcpuRange.contains(vcpus) else {
            throw bad("vcpus: \(vcpus) is out of range (\(XLDomainConfig.vcpuRange.lowerBound) to \(XLDomainConfig.vcpuRange.upperBound))")
        }
        let maxv = maxVCPUs ?? vcpus
        guard maxv >= vcpus, maxv <= XLDomainConfig.vcpuRange.upperBound else {
            throw bad("maxvcpus (\(maxv)) must be between vcpus (\(vcpus)) and \(XLDomainConfig.vcpuRange.upperBound)")
        }
        guard commandLine.utf8.count <= XLDomainConfig.maximumCommandLineBytes else {
            throw bad("cmdline: \(commandLine.utf8.count) bytes; Xen's limit is \(XLDomainConfig.maximumCommandLineBytes)")
        }
        var parsedUUID: UUID?
        if let uuid {
            guard let u = XLDomainConfig.canonicalUUID(uuid), let value = UUID(uuidString: u) else { throw bad("uuid: \"\(uuid)\" is not a UUID") }
            parsedUUID = value
        }
        func read(_ what: String, _ path: String) throws(ControlError) -> [UInt8] {
            guard path.hasPrefix("/") else { throw bad("\(what): \(path) is not an absolute path (kite create resolves relative ones)") }
            guard let bytes = readFile(path) else { throw ControlError(.cannotReadFile, "\(what): cannot read \(path)") }
            return bytes
        }
        let kernelBytes = try read("kernel", kernel)
        let ramdiskBytes = try ramdisk.map { (p) throws(ControlError) in try read("ramdisk", p) }
        let (pvDisks, diskWarnings) = try Self.hostDisks(disks)
        let (pvVifs, vifWarnings) = try Self.hostVifs(vifs)
        warnings += diskWarnings + vifWarnings
        let pvChannels = try Self.hostChannels(channels)
        let spec = PVDomainSpec(
            kernel: kernelBytes, kernelName: kernel, ramdisk: ramdiskBytes, commandLine: commandLine, memoryMiB: memoryMiB,
            maxMemoryMiB: maxmem, vcpus: vcpus, maxVCPUs: maxv, name: name, uuid: parsedUUID, startPaused: paused,
            maxInstructions: maxInstructions, disks: pvDisks, vifs: pvVifs, channels: pvChannels)
        return (spec, warnings)
    }

    static func isDomain0(_ backend: String?) -> Bool {
        backend == nil || backend == "0" || backend == "Domain-0"
    }

    static func hostDisks(_ specs: [String]) throws(ControlError) -> ([PVDiskSpec], [String]) {
        var out: [PVDiskSpec] = []
        var warnings: [String] = []
        var seen = Set<UInt32>()
        for (i, text) in specs.enumerated() {
            let (disk, number, notes) = try hostDisk(text, label: "disk \(i)")
            guard seen.insert(number).inserted else {
                throw ControlError(.invalidArgument, "disk \(disk.vdev): two disks use this vdev")
            }
            out.append(disk)
            warnings += notes
        }
        return (out, warnings)
    }

    /// One xl disk spec checked for what Kite's blkback serves; `label` starts a parse
    /// error's message. Returns the disk, its vbd number and warnings.
    static func hostDisk(_ text: String, label: String) throws(ControlError) -> (PVDiskSpec, UInt32, [String]) {
        let d: XLDiskSpec
        do { d = try XLDiskSpec(parsing: text) } catch { throw ControlError(.invalidArgument, "\(label): \(error.message)") }
        func unsupported(_ m: String) -> ControlError { ControlError(.notSupported, "disk \(d.vdev.name): \(m)") }
        guard isDomain0(d.backend) else { throw unsupported("backend domains other than domain 0 are not supported") }
        guard d.script == nil else { throw unsupported("block scripts are not supported; give an image file") }
        guard d.specification != .virtio else { throw unsupported("virtio disks are not supported; Kite's disks are Xen VBDs") }
        guard let target = d.target else { throw unsupported("an empty cdrom drive is not supported yet") }
        guard d.format == .raw else { throw unsupported("format \(d.format.rawValue) is not supported; Kite's block backend reads raw images") }
        guard target.hasPrefix("/") else {
            throw ControlError(.invalidArgument, "disk \(d.vdev.name): \(target) is not an absolute path")
        }
        var warnings: [String] = []
        if d.backendType != nil { warnings.append("disk \(d.vdev.name): backendtype ignored (Kite's block backend serves every disk)") }
        let disk = PVDiskSpec(path: target, vdev: d.vdev.name, readOnly: d.isReadOnly, isCDROM: d.deviceType == .cdrom)
        return (disk, d.vdev.number, warnings)
    }

    static func hostVifs(_ specs: [String]) throws(ControlError) -> ([PVNetworkSpec], [String]) {
        var out: [PVNetworkSpec] = []
        var warnings: [String] = []
        for (i, text) in specs.enumerated() {
            let (vif, notes) = try hostVif(text, label: "vif \(i)")
            out.append(vif)
            warnings += notes
        }
        return (out, warnings)
    }

    /// One xl vif spec checked for what Kite's netback serves; `label` starts each message.
    static func hostVif(_ text: String, label: String) throws(ControlError) -> (PVNetworkSpec, [String]) {
        var notes: [String] = []
        let v: XLVifSpec
        do { v = try XLVifSpec(parsing: text, warnings: &notes) } catch { throw ControlError(.invalidArgument, "\(label): \(error.message)") }
        var warnings = notes.map { "\(label): \($0)" }
        guard isDomain0(v.backend) else {
            throw ControlError(.notSupported, "\(label): backend domains other than domain 0 are not supported")
        }
        let ignored = [
            ("ip", !v.ip.isEmpty), ("rate", v.rate != nil), ("script", v.script != nil), ("vifname", v.vifname != nil),
            ("gatewaydev", v.gatewaydev != nil), ("mtu", v.mtu != nil), ("devid", v.devid != nil),
        ].filter(\.1).map(\.0)
        if !ignored.isEmpty { warnings.append("\(label): \(ignored.joined(separator: ", ")) ignored by Kite") }
        let vif = PVNetworkSpec(
            mac: v.mac?.description, network: v.switchName,
            hostForwards: v.forwards.map { .init(hostPort: $0.hostPort, guestPort: $0.guestPort) })
        return (vif, warnings)
    }
}

extension DomainCreateSpec {
    static func hostChannels(_ specs: [String]) throws(ControlError) -> [PVChannelSpec] {
        var out: [PVChannelSpec] = []
        for (i, text) in specs.enumerated() {
            let c: XLChannelSpec
            do { c = try XLChannelSpec(parsing: text) } catch { throw ControlError(.invalidArgument, "channel \(i): \(error.message)") }
            guard !out.contains(where: { $0.name == c.name }) else {
                throw ControlError(.invalidArgument, "channel \(c.name): two channels have this name")
            }
            var socketPath: String?
            if case .socket(let path) = c.connection {
                guard path.hasPrefix("/") else { throw ControlError(.invalidArgument, "channel \(c.name): \(path) is not an absolute path") }
                guard !out.contains(where: { $0.socketPath == path }) else {
                    throw ControlError(.invalidArgument, "channel \(c.name): two channels use socket \(path)")
                }
                socketPath = path
            }
            out.append(PVChannelSpec(name: c.name, socketPath: socketPath))
        }
        return out
    }
}

extension DomainAction {
    init(_ a: XLDomainConfig.Action) {
        switch a {
        case .destroy: self = .destroy
        case .restart: self = .restart
        case .preserve: self = .preserve
        case .renameRestart: self = .renameRestart
        }
    }
}
