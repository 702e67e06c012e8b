extension XLVifSpec {
    /// Parses a vifspec the way xl does: comma-separated `key=value` pairs, whitespace around
    /// them ignored, empty entries skipped. Options that do nothing for a PV guest (`model`,
    /// `type=ioemu`, `accel`) and unknown keys go to `warnings`; malformed values throw.
    public init(parsing spec: String, warnings: inout [String]) throws(XLSpecError) {
        self.init()
        func fail(_ m: String) -> XLSpecError { XLSpecError("\(m) in `\(spec)'") }
        var seen = Set<String>()
        for raw in spec.split(separator: ",", omittingEmptySubsequences: false) {
            let token = raw.trimmingSpaces
            if token.isEmpty { continue }
            guard let eq = token.firstIndex(of: "=") else {
                throw fail("expected key=value, found `\(token)'")
            }
            let key = String(token[..<eq].trimmingSpaces)
            let value = String(token[token.index(after: eq)...].trimmingSpaces)
            // `netdev` is xl's deprecated spelling of gatewaydev.
            let canonicalKey = key == "netdev" ? "gatewaydev" : key
            guard seen.insert(canonicalKey).inserted else { throw fail("\(key) respecified") }
            switch canonicalKey {
            case "mac":
                guard let m = MACAddress(value) else {
                    throw fail("mac \(value) is not six hexadecimal pairs (00:16:3e:xx:xx:xx)")
                }
                guard !m.isMulticast else {
                    throw fail("mac \(value) is a multicast address (the first byte is odd); a NIC needs a unicast one")
                }
                mac = m
            case "bridge":
                guard !value.isEmpty, value.allSatisfy({ !$0.isWhitespace && $0 != "/" }) else {
                    throw fail("bridge `\(value)' is not a switch name (no spaces or /)")
                }
                bridge = value
            case "model":
                model = value
                warnings.append("vif model=\(value) selects an emulated NIC of HVM guests; a PV guest gets a PV NIC (ignored)")
            case "type":
                guard ["vif", "ioemu", "vif2"].contains(value) else { throw fail("unknown type \(value) (vif or ioemu)") }
                type = value
            case "ip":
                ip = value.split(separator: " ").map(String.init)
                for a in ip where !Self.isIPAddress(a) { throw fail("ip \(a) is not an IPv4 or IPv6 address") }
            case "vifname": vifname = value
            case "script": script = value
            case "backend": backend = value
            case "gatewaydev": gatewaydev = value
            case "rate": rate = try Self.parseRate(value, fail: fail)
            case "mtu":
                guard let n = XLNumber.parse(value), (68...65535).contains(n) else { throw fail("mtu \(value) is not between 68 and 65535") }
                mtu = Int(n)
            case "devid":
                guard let n = XLNumber.parse(value), (0...65535).contains(n) else { throw fail("devid \(value) is not between 0 and 65535") }
                devid = Int(n)
            case "forward":
                for pair in value.split(separator: " ") {
                    let ports = pair.split(separator: ":", omittingEmptySubsequences: false)
                    guard ports.count == 2, let h = UInt16(ports[0]), let g = UInt16(ports[1]), h > 0, g > 0 else {
                        throw fail("forward \(pair) is not HOSTPORT:GUESTPORT (TCP ports 1 to 65535)")
                    }
                    forwards.append(PortForward(hostPort: h, guestPort: g))
                }
            case "accel":
                warnings.append("vif accel= is not supported (ignored, as in xl)")
            default:
                warnings.append("unknown vif option \(key) (ignored)")
            }
        }
        if !forwards.isEmpty && !isUserMode {
            throw fail("forward= needs user-mode networking (bridge=\(Self.userModeBridge) or no bridge)")
        }
    }

    /// Loose syntax check: dotted IPv4 or a hex-and-colons IPv6, optional /prefix.
    static func isIPAddress(_ s: String) -> Bool {
        let address = s.split(separator: "/", maxSplits: 1).first.map(String.init) ?? s
        let v4 = address.split(separator: ".", omittingEmptySubsequences: false)
        if v4.count == 4 && v4.allSatisfy({ $0.count <= 3 && UInt8($0) != nil }) { return true }
        return address.contains(":") && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    /// xl's `RATE/s[@INTERVAL]`: RATE a number with an optional G, M or K (powers of 1000)
    /// and B (bytes) or b (bits); INTERVAL a number with s (the default), ms or us.
    static func parseRate(_ text: String, fail: (String) -> XLSpecError) throws(XLSpecError) -> Rate {
        let pieces = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        var r = pieces[0]
        guard !r.isEmpty else { throw fail("no rate specified") }
        guard r.hasSuffix("/s") else { throw fail("invalid rate \(text) (like 10Mb/s, 250KB/s or 1MB/s@20ms)") }
        r = r.dropLast(2)
        guard let unit = r.last, unit == "B" || unit == "b" else { throw fail("invalid rate \(text) (B for bytes, b for bits)") }
        r = r.dropLast()
        var multiplier: UInt64 = 1
        switch r.last {
        case "G": multiplier = 1_000_000_000
        case "M": multiplier = 1_000_000
        case "K": multiplier = 1_000
        default: break
        }
        if multiplier != 1 { r = r.dropLast() }
        guard !r.isEmpty, r.allSatisfy(\.isNumber), let n = UInt64(r), n > 0, n <= UInt64(UInt32.max) else {
            throw fail("invalid rate \(text) (a number from 1 to 4294967295 with its unit)")
        }
        var bytes = n * multiplier
        if unit == "b" { bytes /= 8 }
        var interval: UInt64 = 50_000
        if pieces.count == 2 {
            var i = pieces[1]
            var scale: UInt64 = 1_000_000
            if i.hasSuffix("ms") {
                scale = 1_000
                i = i.dropLast(2)
            } else if i.hasSuffix("us") {
                scale = 1
                i = i.dropLast(2)
            } else if i.hasSuffix("s") {
                i = i.dropLast()
            }
            guard !i.isEmpty, i.allSatisfy(\.isNumber), let v = UInt64(i), v > 0, v <= UInt64(UInt32.max),
                v * scale <= UInt64(UInt32.max)
            else { throw fail("invalid replenishment interval \(pieces[1]) (like 20ms, 500us or 1s)") }
            interval = v * scale
        }
        return Rate(bytesPerSecond: bytes, intervalMicroseconds: interval)
    }
}

extension XLVifSpec.Rate {
    /// The rate in xl's syntax with the largest exact unit, so that it parses back.
    public var xlSyntax: String {
        var n = bytesPerSecond
        var unit = ""
        for (u, m) in [("G", UInt64(1_000_000_000)), ("M", 1_000_000), ("K", 1_000)] where n % m == 0 && n / m > 0 {
            n /= m
            unit = u
            break
        }
        return "\(n)\(unit)B/s@\(intervalMicroseconds)us"
    }
}

extension StringProtocol {
    var trimmingSpaces: SubSequence {
        let start = firstIndex(where: { !$0.isWhitespace }) ?? endIndex
        let end = lastIndex(where: { !$0.isWhitespace }).map { index(after: $0) } ?? start
        return self[start..<Swift.max(start, end)]
    }
}
