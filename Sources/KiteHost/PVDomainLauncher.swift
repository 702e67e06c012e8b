import Foundation
import XenABI
import XenControl

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
    /// Virtual disks (xl's disk=[...]); `PVDomainLauncher.devices(disks:vifs:)` parses xl specs.
    public var disks: [PVDiskSpec] = []
    /// Virtual network interfaces (xl's vif=[...]).
    public var vifs: [PVNetworkSpec] = []
    /// Receives the guest's console output (console_io and the console ring), from any thread.
    public var console: @Sendable (ArraySlice<UInt8>) -> Void
    /// Receives the guest's console output; nil sends it to `console`. (Both sinks now see
    /// console_io and the PV console ring, in the order they arrived.)
    public var consoleRing: (@Sendable (ArraySlice<UInt8>) -> Void)?
    /// Called once the console backend is live, with the way to type into the guest.
    public var consoleInputReady: (@Sendable (PVConsoleInput) -> Void)?
    /// The domain's name in xenstore (/local/domain/1/name); nil: the kernel file's name.
    public var name: String?
    /// Messages of Kite's dom0 services (a guest's ring broke, xenstore CONTROL print).
    public var serviceLog: (@Sendable (String) -> Void)?
    /// Receives the kernel's notes and the domain layout before the boot, if set.
    public var describe: (@Sendable (String) -> Void)?

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

    public typealias Outcome = PVGuestOutcome

    /// Boots the domain on a host of its own, waits until it stops, destroys it.
    public func launch() throws(LaunchError) -> Outcome {
        let serviceLog = self.serviceLog
        let describe = self.describe
        // Guest RAM plus room for the builder's reservations is what the host needs.
        let host = try PVHost(memoryMiB: memoryMiB) { _, level, message in
            switch level {
            case .debug: describe?(message)  // the kernel's notes and the domain layout
            case .info: break  // created, stopped: kite run prints its own summary
            case .warning: serviceLog?(message)
            }
        }
        defer { host.shutdown() }
        let spec = PVDomainSpec(
            kernel: kernel, kernelName: kernelName, ramdisk: ramdisk, commandLine: commandLine,
            memoryMiB: memoryMiB, vcpus: vcpus, name: name, maxInstructions: maxInstructions, disks: disks, vifs: vifs)
        let guest = try host.create(spec)
        let console = self.console
        let ring = consoleRing ?? console
        _ = guest.console.subscribe(replay: true) { ring($0) }
        consoleInputReady?(guest.consoleInput)
        guest.waitForStop()
        return guest.destroy()
    }
}

/// Why a guest could not be started; the message says what to fix.
public enum LaunchError: Error, CustomStringConvertible {
    /// The kernel or ramdisk image is unusable.
    case kernel(String)
    /// The hypervisor or a backend refused.
    case hypervisor(String)
    /// The domain's configuration is invalid (name, vCPUs, memory, devices).
    case configuration(String)
    /// The verb does not apply in the domain's current state.
    case state(String)
    public var description: String {
        switch self {
        case .kernel(let s), .hypervisor(let s), .configuration(let s), .state(let s): s
        }
    }
}

