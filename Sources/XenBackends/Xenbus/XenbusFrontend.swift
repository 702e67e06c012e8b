import XenABI

/// The frontend's directory as a backend reads it while connecting. The guest wrote these
/// values, so every read is checked: a missing key is ENOENT, anything but plain decimal
/// digits (no sign, no blanks, no hex) or a number beyond the requested type is ERANGE,
/// an over-long string E2BIG. The messages follow Linux's backends ("reading <path>").
public struct XenbusFrontend: Sendable {
    /// The guest.
    public let domain: DomainID
    /// `/local/domain/<domid>/device/<type>/<devid>`.
    public let path: String
    /// The backend's own directory (for keys a device reads back from its side).
    public let backendPath: String
    let client: XenStoreClient

    public init(domain: DomainID, path: String, backendPath: String, client: XenStoreClient) {
        self.domain = domain
        self.path = path
        self.backendPath = backendPath
        self.client = client
    }

    /// The raw value of `key`, nil when the node does not exist.
    public func value(_ key: String) throws(XenbusError) -> [UInt8]? {
        let full = path + "/" + key
        do {
            return try client.readBytes(full)
        } catch {
            if error == .ENOENT { return nil }
            throw XenbusError(error, "reading \(full)")
        }
    }

    /// A string value of at most `maximumLength` bytes (ENOENT when missing).
    public func string(_ key: String, maximumLength: Int = 256) throws(XenbusError) -> String {
        guard let text = try stringIfPresent(key, maximumLength: maximumLength) else {
            throw XenbusError(.ENOENT, "reading \(path)/\(key)")
        }
        return text
    }

    /// A string value, nil when the key is missing.
    public func stringIfPresent(_ key: String, maximumLength: Int = 256) throws(XenbusError) -> String? {
        guard let bytes = try value(key) else { return nil }
        guard bytes.count <= maximumLength else {
            throw XenbusError(.E2BIG, "reading \(path)/\(key): \(bytes.count) bytes, at most \(maximumLength)")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An unsigned decimal number that must be present.
    public func number<T: FixedWidthInteger & UnsignedInteger>(_ key: String, as type: T.Type = T.self) throws(XenbusError) -> T {
        guard let value = try numberIfPresent(key, as: type) else {
            throw XenbusError(.ENOENT, "reading \(path)/\(key)")
        }
        return value
    }

    /// An unsigned decimal number, nil when the key is missing (malformed is still an error).
    public func numberIfPresent<T: FixedWidthInteger & UnsignedInteger>(_ key: String, as type: T.Type = T.self) throws(XenbusError) -> T? {
        guard let bytes = try value(key) else { return nil }
        guard let parsed = Self.parseDecimal(bytes, as: type) else {
            let shown = bytes.count > 24 ? "\(bytes.count) bytes" : "\"\(String(decoding: bytes, as: UTF8.self))\""
            throw XenbusError(.ERANGE, "reading \(path)/\(key): \(shown) is not a number up to \(T.max)")
        }
        return parsed
    }

    /// A grant reference the frontend published ("ring-ref", "tx-ring-ref").
    public func grantReference(_ key: String) throws(XenbusError) -> GrantReference {
        GrantReference(try number(key, as: UInt32.self))
    }

    /// An event-channel port the frontend allocated for the backend ("event-channel",
    /// "port"); port 0 is never valid.
    public func eventChannel(_ key: String) throws(XenbusError) -> EventChannelPort {
        let port = try number(key, as: UInt32.self)
        guard port != 0 else { throw XenbusError(.EINVAL, "reading \(path)/\(key): port 0") }
        return EventChannelPort(port)
    }

    /// Plain decimal digits, fitting `T`; nil otherwise.
    static func parseDecimal<T: FixedWidthInteger & UnsignedInteger>(_ bytes: [UInt8], as: T.Type) -> T? {
        guard !bytes.isEmpty, bytes.count <= 40 else { return nil }
        var value: T = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (product, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = product.addingReportingOverflow(T(byte - 0x30))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return value
    }
}
