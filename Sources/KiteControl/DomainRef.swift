import XenABI

/// How a command names a domain: by name or by id, as xl accepts them everywhere. A string of
/// digits is an id (domain names are never all digits). In JSON: a number is an id, a string
/// is a name or the digits of an id.
public enum DomainRef: Hashable, Sendable, CustomStringConvertible, Codable {
    case id(DomainID)
    case name(String)

    /// Reads `text` the way xl does: digits are an id, anything else a name.
    public init(_ text: String) {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt16(text) {
            self = .id(DomainID(n))
        } else {
            self = .name(text)
        }
    }

    public var description: String {
        switch self {
        case .id(let id): "\(id.rawValue)"
        case .name(let n): n
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(UInt16.self) {
            self = .id(DomainID(n))
        } else if let s = try? c.decode(String.self) {
            self = DomainRef(s)
        } else if let n = try? c.decode(Int64.self) {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(n) is not a domain id (0 to 65535)")
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a domain name (a string) or id (a number)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .id(let id): try c.encode(id.rawValue)
        case .name(let n): try c.encode(n)
        }
    }
}
