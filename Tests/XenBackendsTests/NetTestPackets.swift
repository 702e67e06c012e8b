import XenBackends

/// Builders and parsers of the few packets the net tests exchange (ARP, IPv4, UDP, TCP,
/// DHCP), written from the RFCs with every checksum computed.
enum NetPackets {
    typealias IPv4 = [UInt8]

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    static func read16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
    static func read32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func checksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt16 {
        bytes.withUnsafeBytes { NetChecksum.checksum($0, 0..<bytes.count, initial: initial) }
    }

    static func pseudoHeaderSum(_ source: IPv4, _ destination: IPv4, proto: UInt8, length: Int) -> UInt32 {
        let bytes = source + destination + [0, proto] + be16(UInt16(length))
        return bytes.withUnsafeBytes { NetChecksum.sum($0, 0..<bytes.count) }
    }

    static func arp(operation: UInt16, senderMAC: MACAddress, senderIP: IPv4, targetMAC: MACAddress, targetIP: IPv4) -> [UInt8] {
        be16(1) + be16(0x0800) + [6, 4] + be16(operation) + senderMAC.bytes + senderIP + targetMAC.bytes + targetIP
    }

    static func ipv4(source: IPv4, destination: IPv4, proto: UInt8, payload: [UInt8], id: UInt16 = 1) -> [UInt8] {
        var header = [0x45, 0] + be16(UInt16(20 + payload.count)) + be16(id) + be16(0x4000) + [64, proto, 0, 0]
            + source + destination
        let sum = checksum(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xFF)
        return header + payload
    }

    static func udp(source: IPv4, destination: IPv4, sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) -> [UInt8] {
        var segment = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        var sum = checksum(segment, initial: pseudoHeaderSum(source, destination, proto: 17, length: segment.count))
        if sum == 0 { sum = 0xFFFF }
        segment[6] = UInt8(sum >> 8)
        segment[7] = UInt8(sum & 0xFF)
        return segment
    }

    struct TCPFlags: OptionSet {
        var rawValue: UInt8
        static let fin = TCPFlags(rawValue: 1), syn = TCPFlags(rawValue: 2), rst = TCPFlags(rawValue: 4)
        static let psh = TCPFlags(rawValue: 8), ack = TCPFlags(rawValue: 16)
    }

    /// A TCP segment; `partial` leaves only the pseudo-header sum in the checksum field (a
    /// NETTXF_csum_blank sender's way).
    static func tcp(source: IPv4, destination: IPv4, sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32,
                    acknowledgement: UInt32, flags: TCPFlags, payload: [UInt8] = [], partial: Bool = false) -> [UInt8] {
        var segment = be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(acknowledgement)
            + [0x50, flags.rawValue] + be16(65535) + [0, 0, 0, 0] + payload
        let pseudo = pseudoHeaderSum(source, destination, proto: 6, length: segment.count)
        let sum = partial ? NetChecksum.fold(pseudo) : checksum(segment, initial: pseudo)
        segment[16] = UInt8(sum >> 8)
        segment[17] = UInt8(sum & 0xFF)
        return segment
    }

    static func frame(to destination: MACAddress, from source: MACAddress, type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        destination.bytes + source.bytes + be16(type) + payload
    }

    /// A DHCPDISCOVER from `mac` (broadcast, 0.0.0.0:68 → 255.255.255.255:67).
    static func dhcpDiscover(mac: MACAddress, transaction: UInt32) -> [UInt8] {
        var bootp: [UInt8] = [1, 1, 6, 0] + be32(transaction) + be16(0) + be16(0x8000)
        bootp += [UInt8](repeating: 0, count: 16)  // ciaddr, yiaddr, siaddr, giaddr
        bootp += mac.bytes + [UInt8](repeating: 0, count: 10)
        bootp += [UInt8](repeating: 0, count: 192)  // sname, file
        bootp += [99, 130, 83, 99]  // magic cookie
        bootp += [53, 1, 1]  // DHCPDISCOVER
        bootp += [55, 3, 1, 3, 6]  // parameters: netmask, router, DNS
        bootp += [255]
        let udpSegment = udp(source: [0, 0, 0, 0], destination: [255, 255, 255, 255], sourcePort: 68, destinationPort: 67,
                             payload: bootp)
        return frame(to: .broadcast, from: mac, type: 0x0800,
                     ipv4(source: [0, 0, 0, 0], destination: [255, 255, 255, 255], proto: 17, payload: udpSegment))
    }

    struct ParsedIPv4 {
        var source: IPv4
        var destination: IPv4
        var proto: UInt8
        var payload: [UInt8]
    }

    static func parseIPv4(_ frame: [UInt8]) -> ParsedIPv4? {
        guard frame.count >= 34, read16(frame, 12) == 0x0800 else { return nil }
        let ihl = Int(frame[14] & 0xF) * 4
        let total = Int(read16(frame, 16))
        guard total >= ihl, 14 + total <= frame.count else { return nil }
        return ParsedIPv4(source: Array(frame[26..<30]), destination: Array(frame[30..<34]), proto: frame[23],
                          payload: Array(frame[(14 + ihl)..<(14 + total)]))
    }

    struct ParsedTCP {
        var sourcePort: UInt16
        var destinationPort: UInt16
        var sequence: UInt32
        var acknowledgement: UInt32
        var flags: TCPFlags
        var payload: [UInt8]
    }

    static func parseTCP(_ segment: [UInt8]) -> ParsedTCP? {
        guard segment.count >= 20 else { return nil }
        let offset = Int(segment[12] >> 4) * 4
        guard offset >= 20, offset <= segment.count else { return nil }
        return ParsedTCP(sourcePort: read16(segment, 0), destinationPort: read16(segment, 2), sequence: read32(segment, 4),
                         acknowledgement: read32(segment, 8), flags: TCPFlags(rawValue: segment[13]),
                         payload: Array(segment[offset...]))
    }

    /// DHCP message type (option 53) and yiaddr of a DHCP reply frame.
    static func parseDHCP(_ frame: [UInt8]) -> (type: UInt8, yourAddress: IPv4, transaction: UInt32)? {
        guard let ip = parseIPv4(frame), ip.proto == 17, ip.payload.count >= 8 + 240 else { return nil }
        let bootp = Array(ip.payload[8...])
        guard read16(ip.payload, 0) == 67, bootp[0] == 2 else { return nil }
        var index = 240
        while index + 1 < bootp.count, bootp[index] != 255 {
            if bootp[index] == 0 { index += 1; continue }
            let length = Int(bootp[index + 1])
            if bootp[index] == 53, length == 1, index + 2 < bootp.count {
                return (bootp[index + 2], Array(bootp[16..<20]), read32(bootp, 4))
            }
            index += 2 + length
        }
        return nil
    }
}
