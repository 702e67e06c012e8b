import Foundation
import KiteControl
import XenControl

/// What kited does when a domain's vCPUs stop, as xl's handle_domain_death does it:
///
///     poweroff → on_poweroff   reboot → on_reboot   crash → on_crash
///     watchdog → on_watchdog   suspend → kept (preserve)
///     stopped by the hypervisor (crashed, instruction limit) → on_crash
///     destroyed by the toolstack → nothing more
///
/// `restart` destroys the domain and creates it again from its configuration (a new id);
/// `rename-restart` renames the stopped domain `NAME-YYYYMMDDTHHMMZ`, keeps it, and creates
/// a new one named NAME; `preserve` keeps it; `destroy` destroys it. A domain that restarts
/// more than `RestartThrottle.limit` times in `RestartThrottle.window` seconds is preserved
/// instead, so a guest that dies at boot does not spin the host.
enum DomainLifecycle {
    /// The action for a stop, and the words for the log.
    static func action(for outcome: PVGuestOutcome, spec: DomainCreateSpec) -> (action: DomainAction?, why: String) {
        if outcome.wasDestroyed { return (nil, "destroyed") }
        switch outcome.reason {
        case .poweroff: return (spec.onPoweroff, "poweroff")
        case .reboot: return (spec.onReboot, "reboot")
        case .crash: return (spec.onCrash, "crash")
        case .watchdog: return (spec.onWatchdog, "watchdog")
        case .suspend: return (.preserve, "suspend")
        case .softReset: return (.preserve, "soft reset")
        case nil:
            return (spec.onCrash, outcome.hitInstructionLimit ? "instruction limit" : "crashed by the hypervisor")
        }
    }

    /// xl's word for a shutdown reason (`shutdown_reason` in the API).
    static func word(_ r: ShutdownReason) -> String {
        switch r {
        case .poweroff: "poweroff"
        case .reboot: "reboot"
        case .suspend: "suspend"
        case .crash: "crash"
        case .watchdog: "watchdog"
        case .softReset: "soft_reset"
        }
    }

    /// xl's rename-restart name: `NAME-YYYYMMDDTHHMMZ` (UTC), with `-2`, `-3`... when taken.
    static func preservedName(_ name: String, at date: Date, taken: (String) -> Bool) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var t = tm()
        gmtime_r(&seconds, &t)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02dZ", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday),
            Int(t.tm_hour), Int(t.tm_min))
        // Keep the result within the 64-character name limit.
        let base = String(name.prefix(64 - stamp.count - 4)) + "-" + stamp
        if !taken(base) { return base }
        var n = 2
        while taken("\(base)-\(n)") { n += 1 }
        return "\(base)-\(n)"
    }
}

/// Restarts of one domain name within a sliding window.
struct RestartThrottle: Sendable {
    static let limit = 5
    static let window: Double = 30

    private(set) var times: [Double] = []

    /// Records a restart at `now`; false if it would exceed the limit.
    mutating func allow(at now: Double) -> Bool {
        times.removeAll { now - $0 > Self.window }
        guard times.count < Self.limit else { return false }
        times.append(now)
        return true
    }
}
