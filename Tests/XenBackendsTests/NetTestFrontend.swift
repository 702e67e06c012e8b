import Synchronization
import XenABI
import XenBackends

/// The guest's end of a vif, written the way Linux's xen-netfront drives the rings: data
/// pages granted to domain 0, requests produced at req_prod_pvt and pushed, responses
/// consumed from rsp_cons. Indexes can start anywhere (wrap-around tests) and raw slots
/// can be written (hostile frontends).
final class NetTestFrontend {
    struct Received: Equatable {
        var bytes: [UInt8]
        var flags: NetReceiveFlags
        /// Negative statuses met on the way (errors).
        var errors: [Int16] = []
    }

    let domain: DomainID
    let grants: NetTestGrants
    let transmitRef = GrantReference(8)
    let receiveRef = GrantReference(9)
    let tx: UnsafeMutableRawPointer
    let rx: UnsafeMutableRawPointer
    private(set) var txProducer: UInt32
    private(set) var txConsumer: UInt32
    private(set) var rxProducer: UInt32
    private(set) var rxConsumer: UInt32
    private var nextRef: UInt32 = 16
    private var nextID: UInt16 = 0
    /// Receive buffers by request id.
    private var posted: [UInt16: GrantReference] = [:]

    init(domain: DomainID, grants: NetTestGrants, start: UInt32 = 0) {
        self.domain = domain
        self.grants = grants
        tx = grants.grant(domain, transmitRef)
        rx = grants.grant(domain, receiveRef)
        txProducer = start
        txConsumer = start
        rxProducer = start
        rxConsumer = start
        // SHARED_RING_INIT, at `start`.
        for ring in [tx, rx] {
            store(ring, NetRingLayout.requestProducerOffset, start)
            store(ring, NetRingLayout.responseProducerOffset, start)
            store(ring, NetRingLayout.requestEventOffset, start &+ 1)
            store(ring, NetRingLayout.responseEventOffset, start &+ 1)
        }
    }

    func store(_ ring: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt32) {
        ring.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
    }
    func load(_ ring: UnsafeMutableRawPointer, _ offset: Int) -> UInt32 {
        ring.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    func connection(features: NetFrontendFeatures = NetFrontendFeatures(), port: UInt32 = 5,
                    receivePort: UInt32? = nil) -> NetFrontendConnection {
        NetFrontendConnection(transmitRing: transmitRef, receiveRing: receiveRef, transmitPort: EventChannelPort(port),
                              receivePort: receivePort.map(EventChannelPort.init), features: features)
    }

    func freshRef() -> GrantReference {
        defer { nextRef += 1 }
        return GrantReference(nextRef)
    }

    func freshID() -> UInt16 {
        defer { nextID &+= 1 }
        return nextID
    }

    // MARK: Transmit

    /// Writes a raw request into the next transmit slot (not pushed).
    func writeRequest(_ request: NetTransmitRequest) {
        request.store(to: tx + NetRingLayout.transmitSlotOffset(txProducer))
        txProducer &+= 1
    }

    func writeExtra(_ extra: NetExtraInfo) {
        extra.store(to: tx + NetRingLayout.transmitSlotOffset(txProducer))
        txProducer &+= 1
    }

    /// Queues a packet: split into slots of at most `slotSize` bytes, each in a fresh
    /// granted page at `offset`; the first carries the whole size. Not pushed.
    @discardableResult
    func queue(_ bytes: [UInt8], flags: NetTransmitFlags = [], slotSize: Int = 4096, offset: Int = 0,
               extras: [NetExtraInfo] = []) -> [UInt16] {
        var ids: [UInt16] = []
        var position = 0
        var first = true
        repeat {
            let length = min(slotSize, bytes.count - position)
            let ref = freshRef()
            let page = grants.grant(domain, ref, readOnly: true)
            for i in 0..<length { page.storeBytes(of: bytes[position + i], toByteOffset: offset + i, as: UInt8.self) }
            position += length
            var slotFlags: NetTransmitFlags = first ? flags : []
            if position < bytes.count { slotFlags.insert(.moreData) }
            if first && !extras.isEmpty { slotFlags.insert(.extraInfo) }
            let id = freshID()
            ids.append(id)
            writeRequest(NetTransmitRequest(grant: ref, offset: UInt16(offset), flags: slotFlags, id: id,
                                            size: first ? UInt16(truncatingIfNeeded: bytes.count) : UInt16(length)))
            if first {
                for (i, e) in extras.enumerated() {
                    var extra = e
                    if i < extras.count - 1 { extra.flags |= NetExtraInfoFlag.more }
                    writeExtra(extra)
                }
            }
            first = false
        } while position < bytes.count
        return ids
    }

    /// Publishes the requests written so far. Xen: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY.
    @discardableResult
    func pushTransmit() -> Bool { push(tx, txProducer) }

    @discardableResult
    func pushReceive() -> Bool { push(rx, rxProducer) }

    private func push(_ ring: UnsafeMutableRawPointer, _ producer: UInt32) -> Bool {
        let old = load(ring, NetRingLayout.requestProducerOffset)
        store(ring, NetRingLayout.requestProducerOffset, producer)
        let event = load(ring, NetRingLayout.requestEventOffset)
        return producer &- event < producer &- old
    }

    /// Sets req_prod to anything (a hostile frontend).
    func setTransmitProducer(_ value: UInt32) { store(tx, NetRingLayout.requestProducerOffset, value) }
    func setReceiveProducer(_ value: UInt32) { store(rx, NetRingLayout.requestProducerOffset, value) }

    /// Transmit responses since the last call.
    func transmitResponses() -> [NetTransmitResponse] {
        let producer = load(tx, NetRingLayout.responseProducerOffset)
        var responses: [NetTransmitResponse] = []
        while txConsumer != producer {
            responses.append(NetTransmitResponse(loadingFrom: tx + NetRingLayout.transmitSlotOffset(txConsumer)))
            txConsumer &+= 1
        }
        store(tx, NetRingLayout.responseEventOffset, txConsumer &+ 1)
        return responses
    }

    // MARK: Receive

    /// Posts `count` empty pages for the backend to fill; pushes them.
    @discardableResult
    func postReceiveBuffers(_ count: Int, push: Bool = true) -> Bool {
        for _ in 0..<count {
            let ref = freshRef()
            grants.grant(domain, ref)
            // netfront: the id is the slot index, so responses land where requests were.
            let id = UInt16(rxProducer & UInt32(NetRingLayout.receiveRingSize - 1))
            posted[id] = ref
            NetReceiveRequest(id: id, grant: ref).store(to: rx + NetRingLayout.receiveSlotOffset(rxProducer))
            rxProducer &+= 1
        }
        return push ? pushReceive() : false
    }

    /// Posted buffers the backend has not answered yet.
    var outstandingReceiveBuffers: Int { Int(rxProducer &- load(rx, NetRingLayout.responseProducerOffset)) }

    /// Frames completed since the last call (chains of NETRXF_more_data put together).
    func receivedFrames() -> [Received] {
        let producer = load(rx, NetRingLayout.responseProducerOffset)
        var frames: [Received] = []
        var current: Received?
        while rxConsumer != producer {
            let response = NetReceiveResponse(loadingFrom: rx + NetRingLayout.receiveSlotOffset(rxConsumer))
            rxConsumer &+= 1
            var frame = current ?? Received(bytes: [], flags: response.flags)
            if response.status < 0 {
                frame.errors.append(response.status)
            } else if let ref = posted[response.id], let page = grants.page(domain, ref) {
                let bytes = UnsafeRawBufferPointer(start: page + Int(response.offset), count: Int(response.status))
                frame.bytes += bytes
            }
            posted[response.id] = nil
            if response.flags.contains(.moreData) {
                current = frame
            } else {
                frames.append(frame)
                current = nil
            }
        }
        store(rx, NetRingLayout.responseEventOffset, rxConsumer &+ 1)
        return frames
    }
}

/// A sink that keeps what it is given (or refuses everything while `refuse` is set).
final class NetCapture: NetFrameSink, Sendable {
    private let state = Mutex<(frames: [NetFrame], refuse: Bool)>(([], false))

    func deliver(_ frame: NetFrame) -> Bool {
        state.withLock { s in
            guard !s.refuse else { return false }
            s.frames.append(frame)
            return true
        }
    }

    var frames: [NetFrame] { state.withLock { $0.frames } }
    var refuse: Bool {
        get { state.withLock { $0.refuse } }
        set { state.withLock { $0.refuse = newValue } }
    }
    func clear() { state.withLock { $0.frames.removeAll() } }
}

/// An Ethernet frame: destination, source, EtherType, payload.
func ethernetFrame(to destination: MACAddress, from source: MACAddress, type: UInt16 = 0x88B5, payload: [UInt8]) -> [UInt8] {
    destination.bytes + source.bytes + [UInt8(type >> 8), UInt8(type & 0xFF)] + payload
}

/// Bytes from a deterministic pattern (so misplaced bytes show).
func netPattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 7 &+ seed &* 13) % 251) }
}
