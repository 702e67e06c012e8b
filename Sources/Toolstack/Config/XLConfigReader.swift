/// Typed access to a parsed file's settings for `XLDomainConfig`: effective values, errors
/// that name the file, line and key, and a record of the keys read (the rest are warned
/// about as unknown).
struct XLConfigReader {
    let file: XLConfigFile
    var warnings: [XLConfigWarning] = []
    private(set) var used = Set<String>()

    init(file: XLConfigFile) { self.file = file }

    /// Where a setting came from; command-line overrides have no line.
    static func line(of s: XLConfigSetting, value: XLConfigValue? = nil) -> Int? {
        s.source == XLDomainConfig.commandLineSource ? nil : (value?.line ?? s.line)
    }

    func error(_ s: XLConfigSetting, _ message: String, value: XLConfigValue? = nil) -> XLConfigError {
        XLConfigError(file: s.source, line: Self.line(of: s, value: value), key: s.key, message: message)
    }

    mutating func warn(_ s: XLConfigSetting, _ message: String, value: XLConfigValue? = nil) {
        warnings.append(XLConfigWarning(file: s.source, line: Self.line(of: s, value: value), key: s.key, message: message))
    }

    func missing(_ key: String, _ message: String) -> XLConfigError {
        XLConfigError(file: file.source, line: nil, key: key, message: message)
    }

    mutating func setting(_ key: String) throws(XLConfigError) -> XLConfigSetting? {
        used.insert(key)
        return try file.effective(key)
    }

    /// A string value; a number is taken as written (xl stores both as text).
    mutating func string(_ key: String) throws(XLConfigError) -> (String, XLConfigSetting)? {
        guard let s = try setting(key) else { return nil }
        switch s.value.kind {
        case .string(let v), .number(let v): return (v, s)
        case .list: throw error(s, "expected a string in quotes, found a list")
        }
    }

    /// A number (or a string holding one) within `range`; `unit` words the message.
    mutating func integer(_ key: String, in range: ClosedRange<Int64>, unit: String) throws(XLConfigError) -> Int64? {
        guard let s = try setting(key) else { return nil }
        let text: String
        switch s.value.kind {
        case .string(let v), .number(let v): text = v
        case .list: throw error(s, "expected a number of \(unit), found a list")
        }
        guard let n = XLNumber.parse(text) else {
            throw error(s, "expected a number of \(unit), found \(s.value.rendered)")
        }
        guard range.contains(n) else {
            throw error(s, "\(n) is out of range: \(range.lowerBound) to \(range.upperBound) \(unit)")
        }
        return n
    }

    /// The strings of a list value. A single string is taken as a one-element list with a
    /// warning; anything else in the list is an error naming its line.
    mutating func stringList(_ key: String) throws(XLConfigError) -> [(String, XLConfigValue, XLConfigSetting)] {
        guard let s = try setting(key) else { return [] }
        switch s.value.kind {
        case .string(let v):
            warn(s, "expected a list [ '...' ]; taking the single string as a list of one")
            return [(v, s.value, s)]
        case .number:
            throw error(s, "expected a list of strings [ '...', '...' ], found a number")
        case .list(let items):
            var out: [(String, XLConfigValue, XLConfigSetting)] = []
            for item in items {
                guard case .string(let v) = item.kind else {
                    throw error(s, "every entry must be a string in quotes, found \(item.rendered)", value: item)
                }
                out.append((v, item, s))
            }
            return out
        }
    }

    /// An event action (on_poweroff and friends).
    mutating func action(_ key: String, default d: XLDomainConfig.Action) throws(XLConfigError) -> XLDomainConfig.Action {
        guard let (v, s) = try string(key) else { return d }
        if let a = XLDomainConfig.Action(rawValue: v) { return a }
        switch v {
        case "coredump-destroy", "coredump-restart":
            throw error(s, "\(v) is not yet supported by Kite (use destroy, restart, preserve or rename-restart)")
        case "soft-reset":
            throw error(s, "soft-reset applies to on_soft_reset only")
        default:
            throw error(s, "unknown action \"\(v)\" (destroy, restart, preserve or rename-restart)")
        }
    }
}
