import Foundation
import Synchronization
import XenABI
import XenControl

/// Runs a domain: one host thread per vCPU, each in `PVVCPU.run()`. vCPUs that are
/// offline (not yet brought up with VCPUOP_initialise/VCPUOP_up) wait on their thread.
/// `wait()` returns once the domain has shut down and every thread has finished.
///
/// What `kite run --kernel` calls after the builder has set vCPU 0's boot state.
public final class DomainRunner: @unchecked Sendable {
    public let domain: Domain
    /// Host stack of each vCPU thread: the engine and hypercall paths recurse little, but
    /// Swift's defaults on secondary threads are smaller than the main thread's.
    public static let threadStackSize = 8 << 20

    private let finished = DispatchGroup()
    private var threads: [Thread] = []
    private var started = false
    private let stops = Mutex<[VCPUStop?]>([])

    public init(domain: Domain) {
        self.domain = domain
    }

    /// Starts every vCPU's thread. `maxInstructions` bounds each vCPU (tests, benchmarks).
    public func start(maxInstructions: UInt64 = .max) {
        guard !started else { return }
        started = true
        let vcpus = domain.vcpus
        stops.withLock { $0 = Array(repeating: nil, count: vcpus.count) }
        for (i, vcpu) in vcpus.enumerated() {
            finished.enter()
            let thread = Thread { [self] in
                let stop = vcpu.run(maxInstructions: maxInstructions)
                stops.withLock { $0[i] = stop }
                if stop == .instructionLimit {
                    domain.crash("vCPU \(i) used up its budget of \(maxInstructions) instructions")
                }
                finished.leave()
            }
            thread.name = "kite d\(domain.id.rawValue) v\(i)"
            thread.stackSize = Self.threadStackSize
            threads.append(thread)
        }
        for t in threads { t.start() }
    }

    /// Waits for every vCPU thread to return and gives each one's reason. A vCPU that ran
    /// out of instructions does not stop the others; the domain is shut down (crash) when
    /// one does, so that `wait` always returns.
    @discardableResult
    public func wait() -> [VCPUStop] {
        finished.wait()
        return stops.withLock { $0.map { $0 ?? .domainShutdown } }
    }

    /// Starts the domain, waits for it to shut down and returns how it did.
    public static func run(_ domain: Domain, maxInstructions: UInt64 = .max) -> (reason: ShutdownReason, code: UInt32)? {
        let runner = DomainRunner(domain: domain)
        runner.start(maxInstructions: maxInstructions)
        runner.wait()
        return domain.shutdownState
    }
}
