import Foundation
import GuestMemory
import Toolstack
import X86Interpreter
import XenABI
import XenControl
import XenCore

/// Boots a 64-bit PV kernel the way `xl create` and the domain builder would, on Kite's own
/// CPU: machine memory, one domain, the builder's layout, xenstore and console ports, the
/// dom0 services (the xenstore layout and ring, the PV console backend: `PVDomainServices`),
/// vCPU 0 started at the entry point, one host thread per vCPU until the domain shuts down.
/// Shared by `kite run --kernel`, `kite-bench` and the guest integration tests.
public struct PVDomainLauncher {
    public var kernel: [UInt8]
    public var kernelName: String
    public var ramdisk: [UInt8]?
    public var commandLine: String
    public var memoryMiB: UInt64
    public var vcpus: Int
    public var maxInstructions: UInt64?
    /// Receives the guest's console_io output, from any vCPU thread.
    public var console: @Sendable (ArraySlice<UInt8>) -> Void
    /// Receives the output of the guest's PV console ring (Linux's hvc0), from the console
    /// backend's queue; nil sends it to `console` too.
    public var consoleRing: (@Sendable (ArraySlice<UInt8>) -> Void)?
    /// Called once the console backend is live, with the way to type into the guest.
    public var consoleInputReady: (@Sendable (PVConsoleInput) -> Void)?
    /// The domain's name in xenstore (/local/domain/1/name); nil: the kernel file's name.
    public var name: String?
    /// Messages of Kite's dom0 services (a guest's ring broke, xenstore CONTROL print).
    public var serviceLog: (@Sendable (String) -> Void)?
    /// Receives the kernel's notes and the domain layout before the boot, if set.
    public var describe: ((String) -> Void)?

    /// Guests are domain 1: Kite itself plays domain 0.
    public static let guestDomain = DomainID(1)

    public init(
        kernel: [UInt8], kernelName: String, ramdisk: [UInt8]? = nil, commandLine: String = "",
        memoryMiB: UInt64 = 64, vcpus: Int = 1, maxInstructions: UInt64? = nil,
        console: @escaping @Sendable (ArraySlice<UInt8>) -> Void
    ) {
        self.kernel = kernel
        self.kernelName = kernelName
        self.ramdisk = ramdisk
        self.commandLine = commandLine
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.maxInstructions = maxInstructions
        self.console = console
    }

    public struct Outcome: Sendable {
        public var reason: ShutdownReason?
        public var code: UInt32?
        public var crashReason: String?
        public var instructions: UInt64
        public var seconds: Double
        public var hitInstructionLimit: Bool
        /// Frames still owned by the domain after it was destroyed (should be none).
        public var leakedFrames: Int
        /// Bytes the console backend took from the guest's console ring.
        public var consoleRingBytes: UInt64
        /// Per vCPU: where it stopped, its running and blocked time and what made it exit.
        public var vcpuReports: [String] = []
    }

    public func launch() throws(LaunchError) -> Outcome {
        let image: KernelImage
        do { image = try KernelImage(bytes: kernel) } catch { throw .kernel("\(kernelName): \(error)") }
        let pages = memoryMiB << 8
        // Machine memory: the guest, plus the m2p (8 bytes per frame), Kite's own tables and
        // shared frames, and what Xen would allocate from its heap.
        let machineBytes = (memoryMiB << 20) + max(16 << 20, (memoryMiB << 20) / 16)
        let hypervisor: Hypervisor
        do { hypervisor = try Hypervisor(machineBytes: machineBytes, engines: InterpreterFactory()) } catch {
            throw .hypervisor("\(error)")
        }
        let domain: Domain
        do {
            domain = try hypervisor.createDomain(
                DomainConfiguration(id: Self.guestDomain, memoryPages: pages, vcpus: vcpus), console: console)
        } catch {
            throw .hypervisor("\(error)")
        }
        defer { hypervisor.destroy(domain.id) }
        guard let memory = domain.memory else { throw .hypervisor("the domain has no memory") }
        // Xen's toolstack allocates the xenstore port first, then the console's (ports 1, 2).
        let storePort: EventChannelPort
        let consolePort: EventChannelPort
        do {
            storePort = try domain.allocateUnboundPort(remote: .controlDomain)
            consolePort = try domain.allocateUnboundPort(remote: .controlDomain)
        } catch {
            throw .hypervisor("cannot allocate the xenstore and console event channels: \(error)")
        }
        let p2m = (0..<pages).map { memory.machineFrame(for: GuestFrame($0)) }
        let parameters = PVBuildParameters(
            memoryPages: pages, commandLine: commandLine, ramdisk: ramdisk,
            sharedInfo: domain.sharedInfoFrame.address,
            storeEventChannel: storePort, consoleEventChannel: consolePort)
        let boot: PVBootState
        do {
            boot = try PVDomainBuilder.build(
                kernel: image, parameters: parameters,
                memory: PhysicalBuildMemory(ram: hypervisor.machine.memory, p2m: p2m))
        } catch {
            throw .kernel("\(kernelName): \(error)")
        }
        describe?("\(image.info)\n\(boot.layout)")
        // Xen's toolstack: grant refs 0 and 1 let the console and xenstore backends map
        // the two rings.
        do {
            try domain.seedToolstackGrants(console: boot.consoleMachineFrame, xenstore: boot.xenstoreMachineFrame)
        } catch {
            throw .hypervisor("cannot seed the console and xenstore grants: \(error)")
        }
        let services = try PVDomainServices.attach(
            hypervisor: hypervisor, domain: domain.id, boot: boot, storePort: storePort, consolePort: consolePort,
            name: name ?? Self.defaultName(kernelName), memoryKiB: memoryMiB << 10, vcpus: vcpus,
            sink: consoleRing ?? console, log: serviceLog ?? { _ in })
        // Runs before the hypervisor's destroy above: backends unmap the domain's pages first.
        defer { services.detach() }
        consoleInputReady?(PVConsoleInput(backend: services.console))
        do {
            try domain.boot(
                rip: boot.rip, rsp: boot.rsp, startInfo: boot.rsi, topLevelTable: boot.topLevelPageTable,
                using: hypervisor.pageTables)
        } catch {
            throw .hypervisor("the hypervisor refused the builder's page tables: \(error)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let runner = DomainRunner(domain: domain)
        runner.start(maxInstructions: maxInstructions ?? .max)
        let stops = runner.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let instructions = domain.vcpus.reduce(UInt64(0)) { $0 + $1.engine.retiredInstructions }
        let state = domain.shutdownState
        let hitLimit = stops.contains(.instructionLimit)
        services.detach()
        let consoleRingBytes = services.console.statistics.outputBytes
        let reports = domain.vcpus.map { v -> String in
            let (running, blocked) = v.runstateTimes
            let s = v.engine.state
            let head = "vCPU \(v.id.rawValue): rip 0x\(String(s.rip, radix: 16)) (\(v.isKernelMode ? "kernel" : "user")), "
                + "\(running / 1_000_000) ms running, \(blocked / 1_000_000) ms blocked, \(v.engine.retiredInstructions) instructions"
            return ([head] + v.exitStatistics.lines.map { "  " + $0 }).joined(separator: "\n")
        }
        let leaked = hypervisor.destroy(domain.id)?.remainingFrames.count ?? 0
        return Outcome(
            reason: hitLimit ? nil : state?.reason, code: state?.code,
            crashReason: hitLimit ? nil : domain.crashReason, instructions: instructions, seconds: seconds,
            hitInstructionLimit: hitLimit, leakedFrames: leaked, consoleRingBytes: consoleRingBytes,
            vcpuReports: reports)
    }

    /// The kernel file's name without directories and extension ("vmlinuz", "hello").
    static func defaultName(_ kernelName: String) -> String {
        let file = kernelName.split(separator: "/").last.map(String.init) ?? kernelName
        let stem = file.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? file
        return stem.isEmpty ? "guest" : stem
    }
}

/// Why a guest could not be started; the message says what to fix.
public enum LaunchError: Error, CustomStringConvertible {
    case kernel(String)
    case hypervisor(String)
    public var description: String {
        switch self {
        case .kernel(let s), .hypervisor(let s): s
        }
    }
}

