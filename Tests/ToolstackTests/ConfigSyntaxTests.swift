import Testing

@testable import Toolstack

/// xl.cfg's syntax: strings, numbers, lists over several lines, comments, trailing commas,
/// `;` and `+=`, and every syntax error naming file and line.
@Suite struct ConfigSyntaxTests {
    func parse(_ text: String) throws -> XLConfigFile { try XLConfigParser.parse(text, source: "t.cfg") }

    func value(_ text: String, _ key: String = "k") throws -> XLConfigValue.Kind? {
        try parse(text).effective(key)?.value.kind
    }

    @Test func stringsInEitherQuoteWithEscapes() throws {
        #expect(try value("k = 'single'") == .string("single"))
        #expect(try value("k = \"double\"") == .string("double"))
        #expect(try value(#"k = "a\"b\'c\\d\n\t\x41\101\0""#) == .string("a\"b'c\\d\n\tAA\0"))
        #expect(try value("k = \"ünïcödé\"") == .string("ünïcödé"))
        #expect(try value("k = ''") == .string(""))
    }

    @Test func numbersAreKeptAsWrittenAndReadAsXlDoes() throws {
        #expect(try value("k = 512") == .number("512"))
        #expect(try value("k = 0x200") == .number("0x200"))
        #expect(XLNumber.parse("512") == 512)
        #expect(XLNumber.parse("0x200") == 512)
        #expect(XLNumber.parse("0X1f") == 31)
        #expect(XLNumber.parse("0777") == 511)
        #expect(XLNumber.parse("0") == 0)
        #expect(XLNumber.parse("08") == nil)
        #expect(XLNumber.parse("12abc") == nil)
        #expect(XLNumber.parse("0x") == nil)
        #expect(XLNumber.parse("99999999999999999999") == nil)
    }

    @Test func listsSpanLinesWithCommentsAndTrailingCommas() throws {
        let text = """
            # a comment line
            disk = [ 'a',   # the first disk
                     "b",
                     # a comment inside the list

                     'c', ]
            empty = []
            nested = [ 1, [ 'x', [2] ], ]
            """
        let f = try parse(text)
        #expect(try f.effective("disk")?.value == .list([.string("a", line: 2), .string("b", line: 3), .string("c", line: 6)], line: 2))
        #expect(try f.effective("disk")?.line == 2)
        #expect(try f.effective("empty")?.value.kind == .list([]))
        #expect(try f.effective("nested")?.value.kind == .list([.number("1", line: 8), .list([.string("x", line: 8), .list([.number("2", line: 8)], line: 8)], line: 8)]))
    }

    @Test func semicolonsNewlinesAndCarriageReturnsSeparateSettings() throws {
        let f = try parse("name=\"h0\"; type=\"hvm\"\r\nmemory = 64 ;\n;\n")
        #expect(f.settings.map(\.key) == ["name", "type", "memory"])
        #expect(f.settings.map(\.line) == [1, 1, 2])
    }

    @Test func laterSettingsWinAndAppendConcatenates() throws {
        let f = try parse("""
            memory = 64
            memory = 128
            disk = ['a']
            disk += ['b']
            extra = "x"
            extra += " y"
            """)
        #expect(try f.effective("memory")?.value.kind == .number("128"))
        #expect(try f.effective("disk")?.value.kind == .list([.string("a", line: 3), .string("b", line: 4)]))
        #expect(try f.effective("extra")?.value.kind == .string("x y"))
        #expect(f.keys == ["memory", "disk", "extra"])
        // += on nothing is a plain assignment.
        #expect(try value("k += 'z'") == .string("z"))
    }

    @Test func appendingAStringToAListIsAnError() throws {
        let f = try parse("disk = ['a']\ndisk += 'b'")
        let e = #expect(throws: XLConfigError.self) { try f.effective("disk") }
        #expect(e?.description == "t.cfg:2: disk: += needs a value of the same kind as before (a list to a list, a string to a string)")
    }

    @Test func renderingRoundTrips() throws {
        let v = XLConfigValue.list([.string("a\"b\\c\n\u{1}"), .number("0x10"), .list([])])
        #expect(v.rendered == #"["a\"b\\c\n\x01", 0x10, []]"#)
        let back = try parse("k = " + v.rendered).effective("k")?.value.kind
        #expect(back == .list([.string("a\"b\\c\n\u{1}"), .number("0x10"), .list([])]))
    }

    /// Every syntax error, with the exact message users see.
    @Test(arguments: [
        ("name = 'open\n", "t.cfg:1: unterminated string (a string ends on the line it starts)"),
        ("\n\nname 'x'", "t.cfg:3: name: expected = after the key, found the string \"x\""),
        ("name = web", "t.cfg:1: name: expected a value (\"string\", number or [list]), found the bare word web (strings need quotes)"),
        ("disk = [ 'a',\n 'b'\n", "t.cfg:3: disk: the list opened on line 1 is not closed with ]"),
        ("disk = [ 'a' 'b' ]", "t.cfg:1: disk: expected ',' or ']' in the list, found the string \"b\""),
        ("memory = 2*512", "t.cfg:1: unexpected '*' (xl.cfg values are strings, numbers and lists; it is not Python: no arithmetic, tuples or dicts)"),
        ("cpus = (1, 2)", "t.cfg:1: unexpected '(' (xl.cfg values are strings, numbers and lists; it is not Python: no arithmetic, tuples or dicts)"),
        ("k = 'a\\qb'", "t.cfg:1: unknown escape \\q in a string"),
        ("k = 'a\\x4'", "t.cfg:1: \\x in a string needs two hexadecimal digits"),
        ("k = '\\777'", "t.cfg:1: octal escape \\777 is larger than a byte"),
        ("k = 'a' 'b'", "t.cfg:1: k: expected the end of the line after the value, found the string \"b\""),
        ("= 5", "t.cfg:1: expected a key (name = value), found '='"),
        ("k = ", "t.cfg:1: k: expected a value (\"string\", number or [list]), found the end of the file"),
        ("k = " + String(repeating: "[", count: 17) + "1" + String(repeating: "]", count: 17), "t.cfg:1: k: lists nested deeper than 16"),
        ("ok = 1\nk = @", "t.cfg:2: unexpected '@'"),
    ])
    func syntaxErrorsNameFileAndLine(text: String, message: String) {
        let e = #expect(throws: XLConfigError.self) { try XLConfigParser.parse(text, source: "t.cfg") }
        #expect(e?.description == message)
    }
}
