/// Parses xl.cfg text into settings (xl.cfg(5) "SYNTAX", Xen's libxlu_cfg grammar):
///
///     file    := (setting? (NEWLINE | ';'))*
///     setting := KEY ('=' | '+=') value
///     value   := STRING | NUMBER | '[' (value (',' value)* ','?)? ']'
///
/// Lists may span lines (newlines and comments are allowed anywhere inside the brackets) and
/// may end with a comma. Errors name the file and line.
public enum XLConfigParser {
    /// Lists nest at most this deep: xl.cfg's deepest real use (vnuma) is two.
    static let maximumDepth = 16

    public static func parse(_ text: String, source: String) throws(XLConfigError) -> XLConfigFile {
        var lexer = XLConfigLexer(text: text, source: source)
        var cursor = Cursor(tokens: try lexer.tokens(), source: source)
        var settings: [XLConfigSetting] = []
        while true {
            while [.newline, .semicolon].contains(cursor.peek.kind) { cursor.advance() }
            let t = cursor.peek
            if t.kind == .end { break }
            guard case .identifier(let key) = t.kind else {
                throw cursor.error("expected a key (name = value), found \(describe(t.kind))", line: t.line)
            }
            cursor.advance()
            let op: XLConfigSetting.Operation
            switch cursor.peek.kind {
            case .equals: op = .assign
            case .plusEquals: op = .append
            default:
                throw XLConfigError(
                    file: source, line: cursor.peek.line, key: key,
                    message: "expected = after the key, found \(describe(cursor.peek.kind))")
            }
            cursor.advance()
            let value: XLConfigValue
            do { value = try cursor.value(depth: 0) } catch {
                throw XLConfigError(file: error.file, line: error.line, key: error.key ?? key, message: error.message)
            }
            switch cursor.peek.kind {
            case .newline, .semicolon, .end: break
            default:
                throw XLConfigError(
                    file: source, line: cursor.peek.line, key: key,
                    message: "expected the end of the line after the value, found \(describe(cursor.peek.kind))")
            }
            settings.append(XLConfigSetting(key: key, value: value, operation: op, line: t.line, source: source))
        }
        return XLConfigFile(source: source, settings: settings)
    }

    static func describe(_ k: XLConfigToken.Kind) -> String {
        switch k {
        case .identifier(let w): "the bare word \(w) (strings need quotes)"
        case .number(let n): "the number \(n)"
        case .string(let s): "the string \"\(s)\""
        case .comma: "','"
        case .openBracket: "'['"
        case .closeBracket: "']'"
        case .equals: "'='"
        case .plusEquals: "'+='"
        case .semicolon: "';'"
        case .newline: "the end of the line"
        case .end: "the end of the file"
        }
    }

    private struct Cursor {
        let tokens: [XLConfigToken]
        let source: String
        var index = 0

        var peek: XLConfigToken { index < tokens.count ? tokens[index] : XLConfigToken(kind: .end, line: tokens.last?.line ?? 1) }
        mutating func advance() { if index < tokens.count { index += 1 } }

        func error(_ message: String, line: Int) -> XLConfigError {
            XLConfigError(file: source, line: line, key: nil, message: message)
        }

        mutating func skipNewlines() {
            while peek.kind == .newline { advance() }
        }

        mutating func value(depth: Int) throws(XLConfigError) -> XLConfigValue {
            let t = peek
            switch t.kind {
            case .string(let s):
                advance()
                return .string(s, line: t.line)
            case .number(let n):
                advance()
                return .number(n, line: t.line)
            case .openBracket:
                guard depth < XLConfigParser.maximumDepth else {
                    throw error("lists nested deeper than \(XLConfigParser.maximumDepth)", line: t.line)
                }
                advance()
                var items: [XLConfigValue] = []
                skipNewlines()
                while peek.kind != .closeBracket {
                    if peek.kind == .end {
                        throw error("the list opened on line \(t.line) is not closed with ]", line: peek.line)
                    }
                    items.append(try value(depth: depth + 1))
                    skipNewlines()
                    switch peek.kind {
                    case .comma:
                        advance()
                        skipNewlines()
                    case .closeBracket: break
                    case .end:
                        throw error("the list opened on line \(t.line) is not closed with ]", line: peek.line)
                    default:
                        throw error("expected ',' or ']' in the list, found \(XLConfigParser.describe(peek.kind))", line: peek.line)
                    }
                }
                advance()
                return .list(items, line: t.line)
            default:
                throw error("expected a value (\"string\", number or [list]), found \(XLConfigParser.describe(t.kind))", line: t.line)
            }
        }
    }
}
