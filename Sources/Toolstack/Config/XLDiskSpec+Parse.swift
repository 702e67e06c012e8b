extension XLDiskSpec {
    /// Parses a DISKSPEC the way xl does (xl-disk-configuration(5)):
    ///
    ///     [<key>=<value>|<flag>,]*, [<target>, [<format>, [<vdev>, [<access>]]]],
    ///     [<key>=<value>|<flag>,]* [target=<target>]
    ///
    /// Comma-separated parameters; whitespace before each is ignored. A parameter without
    /// `=` that is not a flag fills the next positional slot not yet given (target, format,
    /// vdev, access). `target=` takes the whole rest of the spec, commas and all, so it comes
    /// last. Each parameter may be given once; an empty value means the default. The
    /// deprecated xend forms are accepted too: `raw:`/`qcow:`/`qcow2:`/`vhd:` format prefixes,
    /// `iscsi:`/`nbd:`/`enbd:`/`drbd:` script prefixes, ignored `phy:`/`file:`/`tap:`/`tap2:`/
    /// `aio:`/`ioemu:`/`tapdisk:` prefixes (after a prefix the next positional is the vdev),
    /// and `<vdev>:cdrom` / `<vdev>:disk`.
    public init(parsing spec: String) throws(XLSpecError) {
        var p = DiskSpecParser(spec: spec)
        try p.run()
        self = try p.finish()
    }
}

/// The parser's state: which slots are filled, by position or by name.
private struct DiskSpecParser {
    let spec: String
    var target: String?
    var format: XLDiskSpec.Format?
    var vdev: String?
    var access: XLDiskSpec.Access?
    var accessPositional = false
    var cdrom = false
    var hadDeprecatedPrefix = false
    var backend: String?
    var backendType: XLDiskSpec.BackendType?
    var specification: XLDiskSpec.Specification?
    var script: String?
    var directIOSafe = false
    var discard: Bool?
    var trusted: Bool?

    init(spec: String) { self.spec = spec }

    func fail(_ what: String, near: Substring? = nil) -> XLSpecError {
        var m = what
        if let near { m += " near `\(near)'" }
        return XLSpecError("\(m) in `\(spec)'")
    }

    static let formatPrefixes: [String: XLDiskSpec.Format] = ["raw": .raw, "qcow": .qcow, "qcow2": .qcow2, "vhd": .vhd]
    static let scriptPrefixes: Set<String> = ["iscsi", "nbd", "enbd", "drbd"]
    static let ignoredPrefixes: Set<String> = ["tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy"]

    static func isLowerAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }

    /// `word:` at the start of `rest`, when it is a deprecated prefix rather than part of a
    /// positional (`hdc:cdrom` is a vdev: an unknown word is a prefix only when what follows
    /// the colon does not continue it).
    static func deprecatedPrefix(_ rest: Substring) -> (word: String, after: Substring)? {
        guard let first = rest.first, first.isASCII, first.isLowercase,
            let colon = rest.firstIndex(of: ":")
        else { return nil }
        let word = rest[..<colon]
        guard word.allSatisfy(isLowerAlnum) else { return nil }
        let after = rest[rest.index(after: colon)...]
        let known = formatPrefixes[String(word)] != nil || scriptPrefixes.contains(String(word)) || ignoredPrefixes.contains(String(word))
        if !known, let next = after.first, isLowerAlnum(next) { return nil }
        return (String(word), after)
    }

    mutating func run() throws(XLSpecError) {
        var rest = Substring(spec)
        while true {
            rest = rest.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if rest.isEmpty { return }
            if rest.hasPrefix("target=") {
                var value = rest.dropFirst("target=".count)
                if value.hasSuffix(",") { value = value.dropLast() }
                try save(&target, String(value), "target")
                return
            }
            if let (word, after) = Self.deprecatedPrefix(rest) {
                try prefix(word, near: rest)
                rest = after
                continue
            }
            let token: Substring
            if let comma = rest.firstIndex(of: ",") {
                token = rest[..<comma]
                rest = rest[rest.index(after: comma)...]
            } else {
                token = rest
                rest = rest[rest.endIndex...]
            }
            if let eq = token.firstIndex(of: "=") {
                try keyed(String(token[..<eq]), String(token[token.index(after: eq)...]), token: token)
            } else {
                try flagOrPositional(token)
            }
        }
    }

    mutating func prefix(_ word: String, near: Substring) throws(XLSpecError) {
        hadDeprecatedPrefix = true
        if let f = Self.formatPrefixes[word] {
            try setFormat(f.rawValue, near: near)
        } else if Self.scriptPrefixes.contains(word) {
            try save(&script, "block-\(word)", "script")
        } else if !Self.ignoredPrefixes.contains(word) {
            throw fail("unknown deprecated disk prefix \(word):", near: near)
        }
    }

    mutating func keyed(_ key: String, _ value: String, token: Substring) throws(XLSpecError) {
        switch key {
        case "format": try setFormat(value, near: token)
        case "vdev": try save(&vdev, value, "vdev")
        case "access": try setAccess(value, near: token)
        case "devtype":
            switch value {
            case "cdrom": cdrom = true
            case "disk": cdrom = false
            default: throw fail("unknown value for devtype (cdrom or disk)", near: token)
            }
        case "backend": try save(&backend, value, "backend")
        case "backendtype":
            guard let t = XLDiskSpec.BackendType(rawValue: value) else {
                throw fail("unknown value for backendtype (phy, tap, qdisk or standalone)", near: token)
            }
            if let b = backendType, b != t { throw fail("backendtype respecified", near: token) }
            backendType = t
        case "specification":
            guard let s = XLDiskSpec.Specification(rawValue: value) else {
                throw fail("unknown value for specification (xen or virtio)", near: token)
            }
            if let old = specification, old != s { throw fail("specification respecified", near: token) }
            specification = s
        case "script": try save(&script, value, "script")
        case "colo-host", "colo-port", "colo-export", "active-disk", "hidden-disk", "grant_usage":
            throw fail("\(key) is not supported by Kite", near: token)
        default:
            let isKey = key.first.map { $0.isASCII && $0.isLowercase } == true
                && key.allSatisfy { Self.isLowerAlnum($0) || $0 == "-" || $0 == "_" }
            throw fail(isKey ? "unknown parameter \(key)" : "bad disk syntax", near: token)
        }
    }

    mutating func flagOrPositional(_ token: Substring) throws(XLSpecError) {
        switch token {
        case "cdrom": cdrom = true
        case "direct-io-safe": directIOSafe = true
        case "discard": discard = true
        case "no-discard": discard = false
        case "trusted": trusted = true
        case "untrusted": trusted = false
        case "colo", "no-colo": throw fail("COLO replication is not supported by Kite", near: token)
        default: try positional(String(token))
        }
    }

    mutating func positional(_ value: String) throws(XLSpecError) {
        if target == nil {
            target = value
        } else if !hadDeprecatedPrefix && format == nil {
            // xend's empty cdrom: `,hdc:cdrom,r` puts the vdev where the format would be.
            if target == "", try vdevAndDeviceType(value) {
                format = .empty
            } else {
                try setFormat(value, near: Substring(value))
            }
        } else if vdev == nil {
            if !(try vdevAndDeviceType(value)) { vdev = value }
        } else if !accessPositional {
            accessPositional = true
            try setAccess(value, near: Substring(value))
        } else {
            throw fail("too many positional parameters", near: Substring(value))
        }
    }

    /// `<vdev>:<devtype>` (deprecated): true if `value` had that form.
    mutating func vdevAndDeviceType(_ value: String) throws(XLSpecError) -> Bool {
        guard let colon = value.lastIndex(of: ":") else { return false }
        try save(&vdev, String(value[..<colon]), "vdev")
        switch value[value.index(after: colon)...] {
        case "cdrom": cdrom = true
        case "disk": cdrom = false
        default: throw fail("unknown deprecated device type", near: Substring(value))
        }
        return true
    }

    mutating func setFormat(_ value: String, near: Substring) throws(XLSpecError) {
        let f: XLDiskSpec.Format
        if value.isEmpty {
            f = .raw
        } else if let known = XLDiskSpec.Format(rawValue: value) {
            f = known
        } else {
            throw fail("unknown value for format (raw, qcow, qcow2, vhd, qed or empty)", near: near)
        }
        if let old = format, old != f { throw fail("format respecified", near: near) }
        format = f
    }

    mutating func setAccess(_ value: String, near: Substring) throws(XLSpecError) {
        switch value {
        case "r", "ro": access = .readOnly
        case "w", "rw": access = .readWrite
        case "": access = nil
        default: throw fail("unknown value for access (ro, r, rw or w)", near: near)
        }
    }

    /// A string parameter may be given once; giving it again is an error unless it was empty.
    func save(_ slot: inout String?, _ value: String, _ what: String) throws(XLSpecError) {
        if let old = slot, !old.isEmpty { throw fail("\(what) respecified", near: Substring(value)) }
        slot = value
    }

    func finish() throws(XLSpecError) -> XLDiskSpec {
        guard let name = vdev, !name.isEmpty else { throw fail("no vdev specified") }
        guard let device = VirtualBlockDevice(name) else {
            throw fail("vdev \(name) is not a Xen virtual disk name (xvda, xvdb1, sda, hdc, d0p1 or a number)")
        }
        var path = target.flatMap { $0.isEmpty ? nil : $0 }
        var f = format ?? .raw
        if cdrom {
            if path == nil { f = .empty }
        } else {
            guard path != nil else { throw fail("no target specified (and the device is not a removable cdrom)") }
            if f == .empty { throw fail("format empty is only for a cdrom drive with no medium") }
        }
        if f == .empty { path = nil }
        return XLDiskSpec(
            target: path, format: f, vdev: device, access: cdrom ? .readOnly : (access ?? .readWrite),
            deviceType: cdrom ? .cdrom : .disk, backend: backend, backendType: backendType,
            specification: specification, script: script, directIOSafe: directIOSafe,
            discard: discard, trusted: trusted)
    }
}
