import XenABI

/// Access rights of one permission entry, and the rights a connection ends up with.
/// Xen: XS_PERM_READ, XS_PERM_WRITE, XS_PERM_OWNER (`xenstore_lib.h`).
public struct XenStoreAccess: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Xen: XS_PERM_NONE
    public static let none: XenStoreAccess = []
    /// Xen: XS_PERM_READ
    public static let read = XenStoreAccess(rawValue: 1)
    /// Xen: XS_PERM_WRITE
    public static let write = XenStoreAccess(rawValue: 2)
    /// Xen: XS_PERM_OWNER — only ever granted, never stored in an entry.
    public static let owner = XenStoreAccess(rawValue: 8)
    public static let all: XenStoreAccess = [.read, .write, .owner]

    /// The letter of the wire form: n, r, w or b.
    var letter: Character {
        switch (contains(.read), contains(.write)) {
        case (true, true): return "b"
        case (true, false): return "r"
        case (false, true): return "w"
        case (false, false): return "n"
        }
    }
}

/// One entry of a node's permission list: `<letter><domid>` on the wire. The first entry names
/// the owner and the access of every domain not listed; later entries grant access to one
/// domain each. Xen: `struct xs_permissions`.
public struct XenStorePermission: Hashable, Sendable, CustomStringConvertible {
    public var access: XenStoreAccess
    /// The domain id exactly as parsed (`strtol` into an unsigned int): guests may name ids
    /// that are not domains, and GET_PERMS echoes them back.
    public var rawDomain: UInt32
    /// Set when the entry names a domain that does not exist, or that was created after the
    /// entry was written (so a reused domid never inherits rights). Xen: XS_PERM_IGNORE.
    public var ignored: Bool

    public init(_ access: XenStoreAccess, _ domain: DomainID) {
        self.access = access.subtracting(.owner)
        self.rawDomain = UInt32(domain.rawValue)
        self.ignored = false
    }

    init(access: XenStoreAccess, rawDomain: UInt32, ignored: Bool = false) {
        self.access = access
        self.rawDomain = rawDomain
        self.ignored = ignored
    }

    /// The domain named, when the id is a 16-bit domain id.
    public var domain: DomainID? { rawDomain <= 0xFFFF ? DomainID(UInt16(rawDomain)) : nil }

    /// Wire form, as xenstored prints it (`%i` of the id).
    public var description: String { "\(access.letter)\(Int32(bitPattern: rawDomain))" }

    /// Parses one entry the way `xenstore_strings_to_perms` does: a letter n/r/w/b, then a
    /// number in `strtol(…, 0)` syntax (decimal, 0x hex, 0 octal, optional sign) filling the
    /// whole rest of the string.
    static func parse(_ bytes: ArraySlice<UInt8>) throws(XenError) -> XenStorePermission {
        guard let letter = bytes.first else { throw .EINVAL }
        let access: XenStoreAccess
        switch letter {
        case UInt8(ascii: "r"): access = .read
        case UInt8(ascii: "w"): access = .write
        case UInt8(ascii: "b"): access = [.read, .write]
        case UInt8(ascii: "n"): access = .none
        default: throw .EINVAL
        }
        guard let id = parseStrtol(bytes.dropFirst()) else { throw .EINVAL }
        return XenStorePermission(access: access, rawDomain: id)
    }

    /// `strtol(s, &end, 0)` truncated to 32 bits, requiring `*end == 0` and a non-empty input.
    private static func parseStrtol(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        guard !bytes.isEmpty else { return nil }
        var index = bytes.startIndex
        while index < bytes.endIndex, bytes[index] == 0x20 || (bytes[index] >= 0x09 && bytes[index] <= 0x0D) {
            index += 1
        }
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var base: UInt64 = 10
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "0") {
            let next = index + 1
            if next < bytes.endIndex, bytes[next] | 0x20 == UInt8(ascii: "x"),
               next + 1 < bytes.endIndex, hexValue(bytes[next + 1]) != nil {
                base = 16
                index = next + 1
            } else {
                base = 8
            }
        }
        var value: UInt64 = 0
        var saturated = false
        var digits = 0
        while index < bytes.endIndex, let digit = hexValue(bytes[index]), UInt64(digit) < base {
            // strtol saturates at LONG_MAX / LONG_MIN instead of overflowing.
            let (product, overflow1) = value.multipliedReportingOverflow(by: base)
            let (sum, overflow2) = product.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 || sum > UInt64(Int64.max) { saturated = true } else { value = sum }
            index += 1
            digits += 1
        }
        guard digits > 0, index == bytes.endIndex else { return nil }
        let signed: Int64 = saturated ? (negative ? Int64.min : Int64.max)
                                      : (negative ? 0 &- Int64(value) : Int64(value))
        return UInt32(truncatingIfNeeded: signed)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A node's permission list (never empty in the store).
public struct XenStorePermissions: Hashable, Sendable, CustomStringConvertible {
    public var entries: [XenStorePermission]

    public init(_ entries: [XenStorePermission]) { self.entries = entries }

    /// `owner` with `access` for everyone else, plus per-domain grants.
    public init(owner: DomainID, others: XenStoreAccess = .none, grants: [(DomainID, XenStoreAccess)] = []) {
        entries = [XenStorePermission(others, owner)] + grants.map { XenStorePermission($0.1, $0.0) }
    }

    /// The owner's raw id. Xen: `get_node_owner` (perms[0].id).
    var ownerRaw: UInt32 { entries.first?.rawDomain ?? 0 }

    /// The owner as a domain id.
    public var owner: DomainID? { entries.first?.domain }

    /// Wire strings for GET_PERMS.
    public var strings: [String] { entries.map(\.description) }

    public var description: String { strings.joined(separator: ",") }

    /// Xen `perm_for_conn`: privileged callers and the owner (or the owner's controller via
    /// SET_TARGET) get everything; otherwise the first non-ignored entry after the first that
    /// names the caller or its target; otherwise the first entry's access.
    func access(for caller: XenStoreCaller) -> XenStoreAccess {
        guard let first = entries.first else { return .none }
        if caller.privileged || first.rawDomain == caller.domainRaw
            || (caller.targetRaw != nil && first.rawDomain == caller.targetRaw) {
            return .all
        }
        for entry in entries.dropFirst() where !entry.ignored {
            if entry.rawDomain == caller.domainRaw || (caller.targetRaw != nil && entry.rawDomain == caller.targetRaw) {
                return entry.access
            }
        }
        return first.access
    }
}

/// Who is asking, for permission checks: the connection's domain, whether it is privileged
/// (dom0), and the domain it may act for after SET_TARGET.
struct XenStoreCaller: Hashable, Sendable {
    var domainRaw: UInt32
    var privileged: Bool
    var targetRaw: UInt32?

    /// Internal operations (domain teardown, toolstack setup) run with full rights.
    static let internalCaller = XenStoreCaller(domainRaw: 0, privileged: true, targetRaw: nil)
}
