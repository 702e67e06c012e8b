/// The tokens of xl.cfg (Xen's libxlu_cfg lexer): identifiers, numbers as written, quoted
/// strings with C escapes, `, [ ] = += ;`, and newlines (a `#` comment runs to the end of
/// its line and counts as one). Spaces, tabs and carriage returns separate tokens.
struct XLConfigToken: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        case number(String)
        case string(String)
        case comma, openBracket, closeBracket, equals, plusEquals, semicolon, newline, end
    }

    var kind: Kind
    var line: Int
}

struct XLConfigLexer {
    private let bytes: [UInt8]
    private let source: String
    private var index = 0
    private var line = 1

    init(text: String, source: String) {
        self.bytes = Array(text.utf8)
        self.source = source
    }

    private func error(_ message: String) -> XLConfigError {
        XLConfigError(file: source, line: line, key: nil, message: message)
    }

    mutating func tokens() throws(XLConfigError) -> [XLConfigToken] {
        var out: [XLConfigToken] = []
        while true {
            let t = try next()
            out.append(t)
            if t.kind == .end { return out }
        }
    }

    private static func isIdentifierStart(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F
    }

    private static func isIdentifierBody(_ b: UInt8) -> Bool {
        isIdentifierStart(b) || isDigit(b)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private mutating func next() throws(XLConfigError) -> XLConfigToken {
        while index < bytes.count, [0x20, 0x09, 0x0D].contains(bytes[index]) { index += 1 }
        guard index < bytes.count else { return XLConfigToken(kind: .end, line: line) }
        let b = bytes[index]
        let startLine = line
        switch b {
        case 0x0A:
            index += 1
            line += 1
            return XLConfigToken(kind: .newline, line: startLine)
        case UInt8(ascii: "#"):
            while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            return try next()
        case UInt8(ascii: ","): index += 1; return XLConfigToken(kind: .comma, line: line)
        case UInt8(ascii: "["): index += 1; return XLConfigToken(kind: .openBracket, line: line)
        case UInt8(ascii: "]"): index += 1; return XLConfigToken(kind: .closeBracket, line: line)
        case UInt8(ascii: "="): index += 1; return XLConfigToken(kind: .equals, line: line)
        case UInt8(ascii: ";"): index += 1; return XLConfigToken(kind: .semicolon, line: line)
        case UInt8(ascii: "+") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "="):
            index += 2
            return XLConfigToken(kind: .plusEquals, line: line)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return XLConfigToken(kind: .string(try quoted(b)), line: startLine)
        default:
            if Self.isIdentifierStart(b) || Self.isDigit(b) {
                let start = index
                while index < bytes.count, Self.isIdentifierBody(bytes[index]) { index += 1 }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                return XLConfigToken(kind: Self.isDigit(b) ? .number(word) : .identifier(word), line: startLine)
            }
            var hint = ""
            if "+-.():*/{}".utf8.contains(b) {
                hint = " (xl.cfg values are strings, numbers and lists; it is not Python: no arithmetic, tuples or dicts)"
            }
            let shown = b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
            throw error("unexpected \(shown)\(hint)")
        }
    }

    /// A string in `quote`s: backslash escapes \' \" \\ \a \b \f \n \r \t \v \xHH \ooo;
    /// it must end on the line it starts.
    private mutating func quoted(_ quote: UInt8) throws(XLConfigError) -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count, bytes[index] != 0x0A else {
                throw error("unterminated string (a string ends on the line it starts)")
            }
            let c = bytes[index]
            index += 1
            if c == quote { return String(decoding: out, as: UTF8.self) }
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                continue
            }
            guard index < bytes.count, bytes[index] != 0x0A else {
                throw error("unterminated string (a string ends on the line it starts)")
            }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"): out.append(e)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                guard index + 2 <= bytes.count, let v = UInt8(String(decoding: bytes[index..<index + 2], as: UTF8.self), radix: 16) else {
                    throw error("\\x in a string needs two hexadecimal digits")
                }
                out.append(v)
                index += 2
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = UInt32(e - 0x30)
                var digits = 1
                while digits < 3, index < bytes.count, (0x30...0x37).contains(bytes[index]) {
                    v = v * 8 + UInt32(bytes[index] - 0x30)
                    index += 1
                    digits += 1
                }
                guard v <= 0xFF else { throw error("octal escape \\\(String(v, radix: 8)) is larger than a byte") }
                out.append(UInt8(v))
            default:
                let shown = e >= 0x20 && e < 0x7F ? String(Character(Unicode.Scalar(e))) : "0x\(String(e, radix: 16))"
                throw error("unknown escape \\\(shown) in a string")
            }
        }
    }
}
