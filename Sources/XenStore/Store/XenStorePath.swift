import XenABI

/// Path rules of xenstored (`canonicalize`, `valid_chars`, `get_parent`, `is_child`).
///
/// A canonical path is absolute (`/a/b`) or special (`@releaseDomain`). Characters are
/// restricted to ASCII letters, digits and `-/_@`; `//` and a trailing `/` (except the root)
/// are refused. A relative path is taken relative to `/local/domain/<domid>` of the caller.
/// Unprivileged callers are limited to 2048 bytes (XENSTORE_REL_PATH_MAX) counted after a
/// leading `/local/domain/<n>/`; privileged callers are only bounded by the payload size.
enum XenStorePath {
    /// The root of a domain's relative paths. Xen: `/local/domain/%u`.
    static func domainPath(_ domain: UInt32) -> String { "/local/domain/\(domain)" }

    static func isValidCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    /// Xen `canonicalize`. `raw` is the path as sent (without its NUL), nil when the payload
    /// did not contain the argument at all. Returns the absolute or special path and whether
    /// it was given relative.
    static func canonicalize(_ raw: ArraySlice<UInt8>?, implicitDomain: UInt32, allowSpecial: Bool,
                             pathLimit: Int?) throws(XenError) -> (path: String, relative: Bool) {
        guard let raw else { throw .EINVAL }
        guard raw.allSatisfy(isValidCharacter) else { throw .EINVAL }
        let given = String(decoding: raw, as: UTF8.self)
        if given.first == "@" && !allowSpecial { throw .EINVAL }
        let relative = given.first != "/" && given.first != "@"
        let name = relative ? domainPath(implicitDomain) + "/" + given : given
        if name.hasSuffix("/") && name != "/" { throw .EINVAL }
        if name.contains("//") { throw .EINVAL }
        if let pathLimit {
            let counted = name.utf8.count - localDomainPrefixLength(name)
            if counted > pathLimit { throw .EINVAL }
        }
        return (name, relative)
    }

    /// Length of a leading `/local/domain/<n>/` as xenstored's `sscanf("/local/domain/%5u/%n")`
    /// matches it (at most five characters for the number, an optional `-`), else 0.
    static func localDomainPrefixLength(_ name: String) -> Int {
        let prefix = Array("/local/domain/".utf8)
        let bytes = Array(name.utf8)
        guard bytes.count > prefix.count, Array(bytes[0..<prefix.count]) == prefix else { return 0 }
        var index = prefix.count
        var width = 0
        if bytes[index] == UInt8(ascii: "-") { index += 1; width += 1 }
        var digits = 0
        while index < bytes.count, width < 5, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            index += 1; width += 1; digits += 1
        }
        guard digits > 0, index < bytes.count, bytes[index] == UInt8(ascii: "/") else { return 0 }
        return index + 1
    }

    /// Xen `get_parent`: everything before the last `/` after the first character, or `/`.
    static func parent(of path: String) -> String {
        let bytes = Array(path.utf8)
        guard bytes.count > 1, let slash = bytes[1...].lastIndex(of: UInt8(ascii: "/")) else { return "/" }
        return String(decoding: bytes[0..<slash], as: UTF8.self)
    }

    /// Xen `basename`: the part after the last `/` (the whole name if there is none).
    static func baseName(of path: String) -> String {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(decoding: bytes[(slash + 1)...], as: UTF8.self)
    }

    /// Xen `child_name`.
    static func child(_ name: String, of parent: String) -> String {
        parent == "/" ? "/" + name : parent + "/" + name
    }

    /// Xen `is_child`: `child` equals `parent` or lies below it; everything is below `/`.
    static func isChild(_ child: String, of parent: String) -> Bool {
        if parent == "/" { return true }
        guard child.hasPrefix(parent) else { return false }
        let rest = child.utf8.dropFirst(parent.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }
}
