import Foundation
import XenABI

/// Xen's system time for a domain: nanoseconds since the domain's clock started, read from
/// the host's monotonic clock, and the virtual TSC guests read with RDTSC.
///
/// The virtual TSC ticks at exactly 1 GHz (one tick per nanosecond of system time), so
/// vcpu_time_info's scale is exact: tsc_shift 1, tsc_to_system_mul 0x80000000.
public struct DomainClock: Sendable {
    public static let tscKHz: UInt64 = 1_000_000
    public static let tscShift: Int8 = 1
    public static let tscToSystemMul: UInt32 = 0x8000_0000

    /// Host monotonic nanoseconds at system time 0.
    let originNanoseconds: UInt64
    /// Wall-clock seconds and nanoseconds (UNIX epoch) at system time 0.
    public let wallclockAtOrigin: (seconds: UInt64, nanoseconds: UInt32)

    public init() {
        originNanoseconds = Self.hostMonotonicNanoseconds()
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        wallclockAtOrigin = (UInt64(max(0, ts.tv_sec)), UInt32(max(0, ts.tv_nsec)))
    }

    static func hostMonotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Xen: NOW() — system time in nanoseconds.
    public func systemTime() -> UInt64 { Self.hostMonotonicNanoseconds() &- originNanoseconds }

    /// The virtual TSC at this moment.
    public func tsc() -> UInt64 { systemTime() }
}
