import Foundation
import KiteControl
import Logging
import Synchronization
import XenABI

/// kited's log ring, what `kite dmesg` shows: the last `capacity` lines of every logger,
/// oldest first. Bounded, like Xen's console ring: a chatty guest pushes old lines out.
public final class LogRing: Sendable {
    public let capacity: Int
    private struct State {
        var entries: [LogEntry] = []
        var head = 0
        var dropped: UInt64 = 0
    }
    private let state = Mutex(State())

    public init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    public func append(_ entry: LogEntry) {
        state.withLock { s in
            if s.entries.count < capacity {
                s.entries.append(entry)
            } else {
                s.entries[s.head] = entry
                s.head = (s.head + 1) % capacity
                s.dropped &+= 1
            }
        }
    }

    public var entries: [LogEntry] {
        state.withLock { s in Array(s.entries[s.head...] + s.entries[..<s.head]) }
    }

    /// Lines pushed out of the ring since the start.
    public var dropped: UInt64 { state.withLock { $0.dropped } }

    public func clear() {
        state.withLock { s in
            s.entries.removeAll()
            s.head = 0
        }
    }
}

/// kited's swift-log handler: every line goes to the ring and, if `echo` is set, to it as
/// one structured text line: `time level domid=N label: message key=value...`. The domain
/// a line concerns is the `domid` metadata (0: the host, Kite's domain 0), so every line
/// names one.
public struct KiteLogHandler: LogHandler {
    public static let domainKey = "domid"

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let ring: LogRing
    let echo: (@Sendable (String) -> Void)?

    public init(label: String, ring: LogRing, echo: (@Sendable (String) -> Void)?) {
        self.label = label
        self.ring = ring
        self.echo = echo
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let domain = all.removeValue(forKey: Self.domainKey).flatMap { UInt16("\($0)") } ?? 0
        let flat = all.mapValues { "\($0)" }
        let now = Date().timeIntervalSince1970
        ring.append(LogEntry(
            time: now, level: event.level.rawValue, domain: DomainID(domain), label: label,
            message: event.message.description, metadata: flat))
        guard let echo else { return }
        var line = "\(Self.timestamp(now)) \(event.level.rawValue) domid=\(domain) \(label): \(event.message)"
        for (k, v) in flat.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(v)" }
        echo(line)
    }

    static func timestamp(_ t: Double) -> String {
        var seconds = time_t(t)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int((t - Double(seconds)) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }

    /// A logger for `label` writing to `ring` (and `echo`), with the host's domain id.
    public static func logger(label: String, ring: LogRing, echo: (@Sendable (String) -> Void)?, level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label) { KiteLogHandler(label: $0, ring: ring, echo: echo) }
        logger.logLevel = level
        logger[metadataKey: domainKey] = "0"
        return logger
    }
}

extension Logger {
    /// This logger with every line tagged with `domain`.
    func forDomain(_ domain: DomainID) -> Logger {
        var l = self
        l[metadataKey: KiteLogHandler.domainKey] = "\(domain.rawValue)"
        return l
    }
}
