import Dispatch
import Glibc
import Synchronization
import Testing
import XenBackends

/// The user-mode network (libslirp) driven by a fake guest port: DHCP, a TCP connection to
/// a real listener on the host's loopback (the guest's 10.0.2.2), a host port forward.
@Suite(.serialized) struct NetUserNetworkTests {
    static let guestMAC = MACAddress("52:54:00:12:34:56")!
    static let guestIP: [UInt8] = [10, 0, 2, 15]
    static let hostIP: [UInt8] = [10, 0, 2, 2]

    /// A guest on the user-mode network: frames from slirp arrive in `inbox`; ARP requests
    /// for the guest's address are answered at once (as a guest stack would).
    final class FakeGuest: NetFrameSink, Sendable {
        let inbox = Mutex<[[UInt8]]>([])
        let network = Mutex<UserNetwork?>(nil)

        func deliver(_ frame: NetFrame) -> Bool {
            let bytes = frame.bytes
            if bytes.count >= 42, NetPackets.read16(bytes, 12) == 0x0806, NetPackets.read16(bytes, 20) == 1,
               Array(bytes[38..<42]) == guestIP, let asker = MACAddress(bytes: bytes[22..<28]) {
                let reply = NetPackets.frame(to: asker, from: guestMAC, type: 0x0806,
                                             NetPackets.arp(operation: 2, senderMAC: guestMAC, senderIP: guestIP,
                                                            targetMAC: asker, targetIP: Array(bytes[28..<32])))
                // Answer from another thread: this runs on slirp's.
                let network = self.network.withLock { $0 }
                DispatchQueue.global().async { network?.deliver(NetFrame(bytes: reply)) }
                return true
            }
            inbox.withLock { $0.append(bytes) }
            return true
        }

        func send(_ bytes: [UInt8], checksum: NetFrame.Checksum = .none) {
            network.withLock { $0 }?.deliver(NetFrame(bytes: bytes, checksum: checksum))
        }

        /// Waits for (and removes) the first frame matching `predicate`.
        func wait<T>(seconds: Double = 5, _ predicate: ([UInt8]) -> T?) -> T? {
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
            while DispatchTime.now().uptimeNanoseconds < deadline {
                let found = inbox.withLock { frames -> T? in
                    for (i, f) in frames.enumerated() {
                        if let value = predicate(f) {
                            frames.remove(at: i)
                            return value
                        }
                    }
                    return nil
                }
                if let found { return found }
                usleep(2000)
            }
            return nil
        }
    }

    func start(_ configuration: UserNetworkConfiguration = UserNetworkConfiguration()) throws -> (UserNetwork, FakeGuest) {
        let guest = FakeGuest()
        let network = try UserNetwork(configuration: configuration, uplink: guest)
        guest.network.withLock { $0 = network }
        return (network, guest)
    }

    @Test func dhcpOffersTheDefaultAddress() throws {
        let (network, guest) = try start()
        defer { network.close() }
        guest.send(NetPackets.dhcpDiscover(mac: Self.guestMAC, transaction: 0xC0FFEE))
        let offer = guest.wait { NetPackets.parseDHCP($0) }
        #expect(offer?.type == 2)  // DHCPOFFER
        #expect(offer?.yourAddress == Self.guestIP)
        #expect(offer?.transaction == 0xC0FFEE)
        #expect(network.statistics.inboundFrames == 1)
    }

    /// ARP for the gateway, then the slirp side's MAC.
    func gatewayMAC(_ guest: FakeGuest) -> MACAddress? {
        guest.send(NetPackets.frame(to: .broadcast, from: Self.guestMAC, type: 0x0806,
                                    NetPackets.arp(operation: 1, senderMAC: Self.guestMAC, senderIP: Self.guestIP,
                                                   targetMAC: MACAddress(rawValue: 0), targetIP: Self.hostIP)))
        return guest.wait { f -> MACAddress? in
            guard f.count >= 42, NetPackets.read16(f, 12) == 0x0806, NetPackets.read16(f, 20) == 2 else { return nil }
            return MACAddress(bytes: f[22..<28])
        }
    }

    func tcpFrame(to gateway: MACAddress, port: UInt16, sequence: UInt32, ack: UInt32, flags: NetPackets.TCPFlags,
                  payload: [UInt8] = [], partial: Bool = false, sourcePort: UInt16 = 40000) -> [UInt8] {
        let segment = NetPackets.tcp(source: Self.guestIP, destination: Self.hostIP, sourcePort: sourcePort,
                                     destinationPort: port, sequence: sequence, acknowledgement: ack, flags: flags,
                                     payload: payload, partial: partial)
        return NetPackets.frame(to: gateway, from: Self.guestMAC, type: 0x0800,
                                NetPackets.ipv4(source: Self.guestIP, destination: Self.hostIP, proto: 6, payload: segment))
    }

    func tcpSegment(_ frame: [UInt8], port: UInt16) -> NetPackets.ParsedTCP? {
        guard let ip = NetPackets.parseIPv4(frame), ip.proto == 6, let tcp = NetPackets.parseTCP(ip.payload),
              tcp.sourcePort == port else { return nil }
        return tcp
    }

    @Test func guestReachesAHostListenerThroughTheGateway() throws {
        let (listener, port) = try #require(NetTestSockets.listen())
        defer { close(listener) }
        let server = NetTestSockets.OneShotServer(listener: listener) { line in "pong: \(line)" }
        let (network, guest) = try start()
        defer { network.close() }

        let gateway = try #require(gatewayMAC(guest))
        #expect(gateway == MACAddress("52:55:0a:00:02:02"))
        // Handshake (the SYN goes out with a blank checksum, as an offloading guest sends it).
        guest.send(tcpFrame(to: gateway, port: port, sequence: 1000, ack: 0, flags: [.syn], partial: true), checksum: .partial)
        let synAck = try #require(guest.wait { f in tcpSegment(f, port: port).flatMap { $0.flags.contains([.syn, .ack]) ? $0 : nil } })
        #expect(synAck.acknowledgement == 1001)
        var theirs = synAck.sequence &+ 1
        guest.send(tcpFrame(to: gateway, port: port, sequence: 1001, ack: theirs, flags: [.ack]))
        let line = Array("ping\n".utf8)
        guest.send(tcpFrame(to: gateway, port: port, sequence: 1001, ack: theirs, flags: [.ack, .psh], payload: line,
                            partial: true), checksum: .partial)
        // The reply, possibly after a bare ACK.
        var reply: [UInt8] = []
        while !reply.contains(10) {
            guard let data = guest.wait({ f in tcpSegment(f, port: port).flatMap { $0.payload.isEmpty ? nil : $0 } }) else { break }
            reply += data.payload
            theirs = data.sequence &+ UInt32(data.payload.count)
            guest.send(tcpFrame(to: gateway, port: port, sequence: 1001 + 5, ack: theirs, flags: [.ack]))
        }
        #expect(String(decoding: reply, as: UTF8.self) == "pong: ping\n")
        #expect(server.received.withLock { $0 } == "ping\n")
        // The server closed: a FIN comes; we close our side too.
        let fin = guest.wait { f in tcpSegment(f, port: port).flatMap { $0.flags.contains(.fin) ? $0 : nil } }
        #expect(fin != nil)
        if let fin { theirs = fin.sequence &+ 1 }
        guest.send(tcpFrame(to: gateway, port: port, sequence: 1006, ack: theirs, flags: [.fin, .ack]))
        let lastAck = guest.wait { f in tcpSegment(f, port: port).flatMap { $0.acknowledgement == 1007 ? $0 : nil } }
        #expect(lastAck != nil)
        server.done.wait()
    }

    @Test func hostPortForwardReachesTheGuest() throws {
        let hostPort = try #require(NetTestSockets.freePort())
        var configuration = UserNetworkConfiguration()
        configuration.portForwards = [UserNetworkPortForward(.tcp, hostPort: hostPort, guestPort: 8080)]
        let (network, guest) = try start(configuration)
        defer { network.close() }
        let connected = Mutex<Int32?>(nil)
        let attempt = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            connected.withLock { $0 = NetTestSockets.connect(port: hostPort) }
            attempt.signal()
        }
        // Slirp opens the connection towards the guest: a SYN to 10.0.2.15:8080.
        let syn = try #require(guest.wait { f -> (NetPackets.ParsedTCP, [UInt8], MACAddress)? in
            guard let ip = NetPackets.parseIPv4(f), ip.proto == 6, ip.destination == Self.guestIP,
                  let tcp = NetPackets.parseTCP(ip.payload), tcp.destinationPort == 8080, tcp.flags.contains(.syn),
                  let source = MACAddress(bytes: f[6..<12]) else { return nil }
            return (tcp, ip.source, source)
        })
        let (tcp, slirpIP, slirpMAC) = syn
        let answer = NetPackets.tcp(source: Self.guestIP, destination: slirpIP, sourcePort: 8080, destinationPort: tcp.sourcePort,
                                    sequence: 5000, acknowledgement: tcp.sequence &+ 1, flags: [.syn, .ack])
        guest.send(NetPackets.frame(to: slirpMAC, from: Self.guestMAC, type: 0x0800,
                                    NetPackets.ipv4(source: Self.guestIP, destination: slirpIP, proto: 6, payload: answer)))
        #expect(attempt.wait(timeout: .now() + 5) == .success)
        let fd = connected.withLock { $0 }
        #expect(fd != nil)
        if let fd { close(fd) }
        // A second forward of the same host port is refused.
        #expect(throws: UserNetworkError.self) {
            try network.addPortForward(UserNetworkPortForward(.tcp, hostPort: hostPort, guestPort: 22))
        }
    }

    @Test func unicastForOthersIsIgnoredAndCloseIsClean() throws {
        let (network, guest) = try start()
        guest.send(ethernetFrame(to: MACAddress("00:16:3e:00:00:01")!, from: Self.guestMAC, type: 0x0800, payload: netPattern(40)))
        #expect(network.statistics.inboundIgnored == 1)
        network.close()
        network.close()
        #expect(!network.deliver(NetFrame(bytes: NetPackets.dhcpDiscover(mac: Self.guestMAC, transaction: 1))))
        #expect(throws: UserNetworkError.closed) {
            try network.addPortForward(UserNetworkPortForward(.tcp, hostPort: 1, guestPort: 1))
        }
    }

    @Test func badConfigurationIsReported() {
        var configuration = UserNetworkConfiguration()
        configuration.host = "10.0.2"
        #expect(throws: UserNetworkError.badAddress("10.0.2")) { try UserNetwork(configuration: configuration) }
        #expect(UserNetworkPortForward("tcp:127.0.0.1:2222-10.0.2.15:22")
            == UserNetworkPortForward(.tcp, hostAddress: "127.0.0.1", hostPort: 2222, guestAddress: "10.0.2.15", guestPort: 22))
        #expect(UserNetworkPortForward("udp::5353-:53")
            == UserNetworkPortForward(.udp, hostAddress: "127.0.0.1", hostPort: 5353, guestAddress: "10.0.2.15", guestPort: 53))
        #expect(UserNetworkPortForward("2222-22")?.hostPort == 2222)
        #expect(UserNetworkPortForward("tcp:1-2-3") == nil)
        #expect(UserNetworkPortForward("tcp:x-22") == nil)
    }
}
