/// A configuration that cannot be used: where (file, line), which key, and what is wrong.
/// Printed as `file:line: key: message`, the shape compilers and xl use, so editors can
/// jump to it.
public struct XLConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "\(key): " }
        return s + message
    }
}

/// Something the configuration asks that Kite ignores (an unknown key, an option that has
/// no effect on a PV guest). Never fatal; `kite create` prints them before creating.
public struct XLConfigWarning: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        XLConfigError(file: file, line: line, key: key, message: message).description
    }
}
