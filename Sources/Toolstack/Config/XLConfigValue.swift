/// One value of an xl.cfg file (xl.cfg(5) "SYNTAX"): a quoted string, a number as written
/// (decimal, octal with a leading 0, hexadecimal with 0x; interpreted by the key that reads
/// it) or a list of values, which may be heterogeneous and nested. `line` is where the value
/// starts, so that an error in the third disk of a list names the third disk's line.
public struct XLConfigValue: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case string(String)
        case number(String)
        case list([XLConfigValue])
    }

    public var kind: Kind
    public var line: Int

    public init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }

    public static func string(_ s: String, line: Int = 1) -> Self { Self(.string(s), line: line) }
    public static func number(_ s: String, line: Int = 1) -> Self { Self(.number(s), line: line) }
    public static func list(_ v: [XLConfigValue], line: Int = 1) -> Self { Self(.list(v), line: line) }

    /// The value as xl.cfg would spell it (strings double-quoted with escapes).
    public var rendered: String {
        switch kind {
        case .number(let n): return n
        case .list(let values): return "[" + values.map(\.rendered).joined(separator: ", ") + "]"
        case .string(let s):
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default:
                    if ch.value < 0x20 || ch.value == 0x7F {
                        let hex = String(ch.value, radix: 16)
                        out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                    } else {
                        out.unicodeScalars.append(ch)
                    }
                }
            }
            return out + "\""
        }
    }
}

/// `KEY = VALUE` or `KEY += VALUE` (xl 4.7+: appends to a list or string set earlier).
public struct XLConfigSetting: Equatable, Sendable {
    public enum Operation: Equatable, Sendable {
        case assign
        case append
    }

    public var key: String
    public var value: XLConfigValue
    public var operation: Operation
    public var line: Int
    /// The file the setting came from, or "command line" for overrides.
    public var source: String

    public init(key: String, value: XLConfigValue, operation: Operation = .assign, line: Int, source: String) {
        self.key = key
        self.value = value
        self.operation = operation
        self.line = line
        self.source = source
    }
}

/// A parsed xl.cfg file: its settings in file order. Later settings of a key win, as in xl;
/// `+=` concatenates with the value before it.
public struct XLConfigFile: Equatable, Sendable {
    public var source: String
    public var settings: [XLConfigSetting]

    public init(source: String, settings: [XLConfigSetting]) {
        self.source = source
        self.settings = settings
    }

    /// The effective setting of `key` after every `=` and `+=`, or nil if it is not set.
    /// The result carries the line of the last setting that changed it.
    public func effective(_ key: String) throws(XLConfigError) -> XLConfigSetting? {
        var result: XLConfigSetting?
        for s in settings where s.key == key {
            guard s.operation == .append, let previous = result else {
                result = s
                continue
            }
            var merged = s
            switch (previous.value.kind, s.value.kind) {
            case (.list(let a), .list(let b)):
                merged.value = XLConfigValue(.list(a + b), line: previous.value.line)
            case (.string(let a), .string(let b)):
                merged.value = XLConfigValue(.string(a + b), line: previous.value.line)
            default:
                throw XLConfigError(
                    file: s.source, line: s.line, key: key,
                    message: "+= needs a value of the same kind as before (a list to a list, a string to a string)")
            }
            result = merged
        }
        return result
    }

    /// Every key set, in first-appearance order.
    public var keys: [String] {
        var seen = Set<String>()
        return settings.compactMap { seen.insert($0.key).inserted ? $0.key : nil }
    }
}
