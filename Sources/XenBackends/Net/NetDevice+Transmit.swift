import XenABI
import XenControl

extension NetDevice {
    /// One packet's requests, copied out of the ring.
    struct TransmitPacket {
        var first: NetTransmitRequest
        var extras: [NetExtraInfo] = []
        var followers: [NetTransmitRequest] = []
        /// Slots used (first + extras + followers).
        var slots: UInt32 { UInt32(1 + extras.count + followers.count) }
    }

    /// Moves up to `passBudget` packets out of the transmit ring: each packet's requests
    /// are copied out and checked, its data gathered with grant copy into a host buffer,
    /// one response written per slot (XEN_NETIF_RSP_NULL for extra-info slots), and the
    /// responses published. Xen: netback's xenvif_tx_build_gops + xenvif_tx_submit +
    /// make_tx_response, with the checks of xenvif_count_requests and xenvif_get_extras.
    public mutating func transmit(_ ring: NetRing, grants: any GrantMapper) -> NetTransmitResult {
        var result = NetTransmitResult()
        guard state == .connected else { return result }
        statistics.transmitPasses &+= 1
        var producer = ring.requestProducer()
        var packets = 0
        outer: while true {
            guard producer &- transmitConsumer <= ring.size else {
                fail(.transmitIndex(consumer: transmitConsumer, producer: producer))
                result.failure = .transmitIndex(consumer: transmitConsumer, producer: producer)
                return result
            }
            while transmitConsumer != producer {
                if packets == Self.passBudget {
                    result.moreWork = true
                    break outer
                }
                packets += 1
                let packet: TransmitPacket
                switch readPacket(ring, producer: producer) {
                case .failure(let error):
                    fail(error)
                    result.failure = error
                    return result
                case .success(let p): packet = p
                }
                switch handle(packet, ring: ring, grants: grants) {
                case .failure(let error):
                    fail(error)
                    result.failure = error
                    return result
                case .success(let frame):
                    if let frame { result.frames.append(frame) }
                }
                transmitConsumer &+= packet.slots
            }
            if ring.publishResponses(transmitConsumer) { result.notify = true }
            // Xen: RING_FINAL_CHECK_FOR_REQUESTS — re-arm req_event, then look again.
            guard ring.finalCheckForRequests(consumer: transmitConsumer) else { break }
            producer = ring.requestProducer()
        }
        if result.moreWork, ring.publishResponses(transmitConsumer) { result.notify = true }
        return result
    }

    /// Copies one packet's slots (first, extras, followers) out of the ring and checks the
    /// chain against what the frontend has produced.
    private func readPacket(_ ring: NetRing, producer: UInt32) -> Result<TransmitPacket, NetDeviceError> {
        var index = transmitConsumer
        let available = producer &- index
        var packet = TransmitPacket(first: ring.transmitRequest(index))
        index &+= 1
        let id = packet.first.id
        var more = packet.first.flags.contains(.extraInfo)
        while more {
            // Every slot read must have been produced: the distance bounds the loop.
            guard index &- transmitConsumer < available else { return .failure(.missingExtraInfo(id: id)) }
            let extra = ring.extraInfo(index)
            index &+= 1
            guard extra.type != NetExtraInfoType.none.rawValue, extra.type < NetExtraInfoType.limit else {
                return .failure(.badExtraInfoType(id: id, type: extra.type))
            }
            packet.extras.append(extra)
            more = extra.hasMore
        }
        // Multicast control requests carry no data (netback answers them and moves on).
        if packet.extras.contains(where: { $0.type == NetExtraInfoType.multicastAdd.rawValue
            || $0.type == NetExtraInfoType.multicastDelete.rawValue }) {
            return .success(packet)
        }
        more = packet.first.flags.contains(.moreData)
        var fragmentBytes = 0
        while more {
            guard packet.followers.count < NetInterface.legacySlotsMaximum else {
                return .failure(.tooManySlots(id: id, slots: packet.followers.count + 1))
            }
            guard index &- transmitConsumer < available else { return .failure(.unterminatedChain(id: id)) }
            let request = ring.transmitRequest(index)
            index &+= 1
            guard Int(request.offset) + Int(request.size) <= NetInterface.pageSize else {
                return .failure(.crossesPage(id: request.id, offset: request.offset, size: Int(request.size)))
            }
            fragmentBytes += Int(request.size)
            guard fragmentBytes <= Int(packet.first.size) else {
                return .failure(.oversized(id: id, declared: packet.first.size, fragments: fragmentBytes))
            }
            packet.followers.append(request)
            more = request.flags.contains(.moreData)
        }
        guard packet.first.size >= UInt16(NetFrame.headerSize) else {
            return .failure(.runtPacket(id: id, size: packet.first.size))
        }
        let firstLength = Int(packet.first.size) - fragmentBytes
        guard Int(packet.first.offset) + firstLength <= NetInterface.pageSize else {
            return .failure(.crossesPage(id: id, offset: packet.first.offset, size: firstLength))
        }
        return .success(packet)
    }

    /// Answers one packet's slots and, for a data packet, gathers its bytes. Returns the
    /// frame (nil for control requests and packets refused with an error response).
    private mutating func handle(_ packet: TransmitPacket, ring: NetRing, grants: any GrantMapper)
        -> Result<NetFrame?, NetDeviceError>
    {
        var index = transmitConsumer
        func respond(_ id: UInt16, _ status: NetResponseStatus) {
            ring.setTransmitResponse(index, NetTransmitResponse(id: id, status: status))
            index &+= 1
        }
        func respondExtras() {
            for _ in packet.extras { respond(0, .null) }
        }
        if let control = packet.extras.first(where: { $0.type == NetExtraInfoType.multicastAdd.rawValue
            || $0.type == NetExtraInfoType.multicastDelete.rawValue }) {
            respond(packet.first.id, updateMulticast(control))
            respondExtras()
            return .success(nil)
        }
        // Kite advertises no GSO: a frontend sending it anyway gets its packet refused.
        if packet.extras.contains(where: { $0.type == NetExtraInfoType.gso.rawValue }) {
            statistics.transmitErrors &+= 1
            respond(packet.first.id, .error)
            respondExtras()
            for follower in packet.followers { respond(follower.id, .error) }
            return .success(nil)
        }
        let total = Int(packet.first.size)
        let firstLength = total - packet.followers.reduce(0) { $0 + Int($1.size) }
        var bytes = [UInt8](repeating: 0, count: total)
        let failure: NetDeviceError? = bytes.withUnsafeMutableBytes { buffer -> NetDeviceError? in
            guard let base = buffer.baseAddress else { return nil }
            var operations: [GrantCopy] = []
            operations.reserveCapacity(1 + packet.followers.count)
            var position = 0
            for (request, length) in [(packet.first, firstLength)] + packet.followers.map({ ($0, Int($0.size)) })
            where length > 0 {
                let destination = UnsafeMutableRawBufferPointer(start: base + position, count: length)
                operations.append(GrantCopy(source: .grant(domain, request.grant, offset: request.offset),
                                            destination: .buffer(destination), length: UInt16(length)))
                position += length
            }
            let statuses = grants.copy(operations)
            for (operation, status) in zip(operations, statuses) where status != .okay {
                if case .grant(_, let ref, _) = operation.source { return .badGrant(ref, status) }
            }
            if statuses.count < operations.count, case .grant(_, let ref, _) = operations[statuses.count].source {
                return .badGrant(ref, .generalError)
            }
            return nil
        }
        if let failure { return .failure(failure) }
        respond(packet.first.id, .okay)
        respondExtras()
        for follower in packet.followers { respond(follower.id, .okay) }
        statistics.transmitPackets &+= 1
        statistics.transmitBytes &+= UInt64(total)
        let flags = packet.first.flags
        let checksum: NetFrame.Checksum = flags.contains(.checksumBlank) ? .partial
            : flags.contains(.dataValidated) ? .validated : .none
        return .success(NetFrame(bytes: bytes, checksum: checksum))
    }
}
