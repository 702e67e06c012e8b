import XenABI

/// Why a domain stopped running. Xen: SHUTDOWN_* (public/sched.h).
public enum ShutdownReason: UInt32, Sendable, Equatable {
    /// Xen: SHUTDOWN_poweroff
    case poweroff = 0
    /// Xen: SHUTDOWN_reboot
    case reboot = 1
    /// Xen: SHUTDOWN_suspend
    case suspend = 2
    /// Xen: SHUTDOWN_crash
    case crash = 3
    /// Xen: SHUTDOWN_watchdog
    case watchdog = 4
    /// Xen: SHUTDOWN_soft_reset
    case softReset = 5
}
