import Foundation
import GuestMemory
import Toolstack
import X86Interpreter
import XenABI
import XenControl
import XenCore

/// Boots a 64-bit PV kernel the way `xl create` + the domain builder would, on Kite's own
/// CPU: machine memory, one domain, the builder's layout, vCPU 0 started at the entry point.
/// The console streams to standard output; a summary goes to standard error.
struct PVLauncher {
    var kernelPath: String
    var ramdiskPath: String?
    var commandLine: String
    var memoryMiB: UInt64
    var vcpus: Int
    var maxInstructions: UInt64?
    var verbose: Bool

    /// Guests are domain 1: Kite itself plays domain 0.
    static let guestDomain = DomainID(1)

    struct Outcome {
        var reason: ShutdownReason?
        var code: UInt32?
        var crashReason: String?
        var instructions: UInt64
        var seconds: Double
        var hitInstructionLimit: Bool
    }

    func launch() throws -> Outcome {
        guard let kernelData = FileManager.default.contents(atPath: kernelPath) else {
            throw RunError("cannot read the kernel \(kernelPath)")
        }
        let kernel: KernelImage
        do { kernel = try KernelImage(bytes: [UInt8](kernelData)) } catch {
            throw RunError("\(kernelPath): \(error)")
        }
        var ramdisk: [UInt8]?
        if let ramdiskPath {
            guard let data = FileManager.default.contents(atPath: ramdiskPath) else {
                throw RunError("cannot read the ramdisk \(ramdiskPath)")
            }
            ramdisk = [UInt8](data)
        }
        let pages = memoryMiB << 8
        // Machine memory: the guest, plus the m2p (8 bytes per frame), Kite's own tables and
        // shared frames, and the page tables Xen would allocate from its heap.
        let machineBytes = (memoryMiB << 20) + max(16 << 20, (memoryMiB << 20) / 16)
        let hypervisor: Hypervisor
        do { hypervisor = try Hypervisor(machineBytes: machineBytes, engines: InterpreterFactory()) } catch {
            throw RunError("\(error)")
        }
        let console = ConsoleOutput()
        let domain: Domain
        do {
            domain = try hypervisor.createDomain(
                DomainConfiguration(id: Self.guestDomain, memoryPages: pages, vcpus: vcpus)
            ) { bytes in console.write(bytes) }
        } catch {
            throw RunError("\(error)")
        }
        guard let memory = domain.memory else { throw RunError("domain has no memory") }
        let p2m = (0..<pages).map { memory.machineFrame(for: GuestFrame($0)) }
        let parameters = PVBuildParameters(
            memoryPages: pages, commandLine: commandLine, ramdisk: ramdisk,
            sharedInfo: domain.sharedInfoFrame.address,
            storeEventChannel: EventChannelPort(1), consoleEventChannel: EventChannelPort(2))
        let boot: PVBootState
        do {
            boot = try PVDomainBuilder.build(
                kernel: kernel, parameters: parameters, memory: PhysicalBuildMemory(ram: hypervisor.machine.memory, p2m: p2m))
        } catch {
            throw RunError("\(kernelPath): \(error)")
        }
        if verbose {
            FileHandle.standardError.write(Data("kite: \(kernel.info)\nkite: \(boot.layout)\n".utf8))
        }
        do {
            try domain.boot(
                rip: boot.rip, rsp: boot.rsp, startInfo: boot.rsi, topLevelTable: boot.topLevelPageTable,
                using: hypervisor.pageTables)
        } catch {
            throw RunError("the hypervisor refused the builder's page tables: \(error)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let stop = domain.vcpus[0].run(maxInstructions: maxInstructions ?? .max)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        console.flush()
        let instructions = domain.vcpus.reduce(UInt64(0)) { $0 + $1.engine.retiredInstructions }
        let state = domain.shutdownState
        let outcome = Outcome(
            reason: state?.reason, code: state?.code, crashReason: domain.crashReason,
            instructions: instructions, seconds: seconds, hitInstructionLimit: stop == .instructionLimit)
        hypervisor.destroy(domain.id)
        return outcome
    }
}

/// The guest's console_io output on standard output, flushed at newlines.
final class ConsoleOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var stream = ConsoleStream()

    func write(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        defer { lock.unlock() }
        for b in bytes { stream.write(b) }
    }

    func flush() {
        lock.lock()
        defer { lock.unlock() }
        stream.flush()
    }
}
