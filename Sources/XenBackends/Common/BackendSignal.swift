import Dispatch
import Synchronization

/// Turns a stream of event-channel notifications into passes of work on a backend's serial
/// queue: any number of `signal()` calls before the pass starts cause one pass, and a
/// notification arriving during a pass causes another (the flag is cleared before the work
/// runs, so none is lost).
///
/// `signal()` is what a backend's event handler calls: it runs on the notifying vCPU's
/// thread, takes no lock and never blocks.
public final class BackendSignal: Sendable {
    private let pending = Atomic<Bool>(false)
    private let queue: DispatchQueue
    private let work: @Sendable () -> Void

    public init(queue: DispatchQueue, work: @escaping @Sendable () -> Void) {
        self.queue = queue
        self.work = work
    }

    /// Schedules a pass unless one is already waiting to start.
    public func signal() {
        guard !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async { [self] in
            pending.store(false, ordering: .sequentiallyConsistent)
            work()
        }
    }
}
