import XenABI
import XenControl

extension NetDevice {
    /// Moves queued frames into the buffers the guest posted on the receive ring, up to
    /// `passBudget` frames: each frame fills whole pages of consecutive requests (grant
    /// copy to offset 0), one response per request in the request's own slot, the first
    /// carrying the checksum flags, all but the last NETRXF_more_data. A frame waits while
    /// fewer requests are posted than it needs (req_event armed so the frontend's next
    /// post notifies). Xen: netback's rx.c (xenvif_rx_action, xenvif_rx_data_slot,
    /// xenvif_rx_copy_flush).
    public mutating func receive(_ ring: NetRing, grants: any GrantMapper) -> NetReceiveResult {
        var result = NetReceiveResult()
        guard state == .connected else { return result }
        statistics.receivePasses &+= 1
        var producer = ring.requestProducer()
        guard producer &- receiveConsumer <= ring.size else {
            let error = NetDeviceError.receiveIndex(consumer: receiveConsumer, producer: producer)
            fail(error)
            result.failure = error
            return result
        }
        var delivered = 0
        var published = false
        frames: while var frame = receiveQueue.first {
            if delivered == Self.passBudget {
                result.moreWork = true
                break
            }
            guard prepare(&frame) else {
                _ = receiveQueue.removeFirst()
                continue
            }
            let needed = UInt32((frame.count + NetInterface.pageSize - 1) / NetInterface.pageSize)
            // Xen: xenvif_rx_ring_slots_available — wait for buffers, with req_event armed
            // for the next post, looking again in case it raced with the arming.
            while producer &- receiveConsumer < needed {
                ring.setRequestEvent(producer &+ 1)
                let again = ring.requestProducer()
                guard again != producer else {
                    result.waitingForBuffers = true
                    break frames
                }
                guard again &- receiveConsumer <= ring.size else {
                    let error = NetDeviceError.receiveIndex(consumer: receiveConsumer, producer: again)
                    fail(error)
                    result.failure = error
                    return result
                }
                producer = again
            }
            _ = receiveQueue.removeFirst()
            place(frame, ring: ring, grants: grants)
            delivered += 1
            published = true
        }
        if published, ring.publishResponses(receiveConsumer) { result.notify = true }
        return result
    }

    /// Applies the frontend's filters and offload choices to a frame about to be delivered;
    /// false when it must be dropped (counted).
    private mutating func prepare(_ frame: inout NetFrame) -> Bool {
        if features.multicastControl, let destination = frame.destination, destination.isMulticast,
           !destination.isBroadcast, !multicastFilter.contains(destination) {
            statistics.receiveDroppedFiltered &+= 1
            return false
        }
        // Without feature-sg a frame must fit one page; with it, at most 16 pages (64 KiB).
        let limit = features.scatterGather ? NetInterface.maximumTransmitSize : NetInterface.pageSize
        guard frame.count > 0, frame.count <= limit else {
            statistics.receiveDroppedTooLarge &+= 1
            return false
        }
        if frame.checksum == .partial && !acceptsPartialChecksum(frame) {
            frame.completeChecksum()
            statistics.checksumsCompleted &+= 1
        }
        return true
    }

    /// Whether the frontend negotiated checksum offload for this frame's IP version.
    private func acceptsPartialChecksum(_ frame: NetFrame) -> Bool {
        var offset = 12
        while offset + 2 <= frame.count {
            let type = UInt16(frame.bytes[offset]) << 8 | UInt16(frame.bytes[offset + 1])
            switch type {
            case 0x8100, 0x88A8: offset += 4
            case 0x0800: return features.checksumOffload
            case 0x86DD: return features.ipv6ChecksumOffload
            default: return false
            }
        }
        return false
    }

    /// Copies one frame into consecutive posted buffers and writes their responses; the
    /// caller has checked that enough requests are posted.
    private mutating func place(_ frame: NetFrame, ring: NetRing, grants: any GrantMapper) {
        var flags: NetReceiveFlags = []
        switch frame.checksum {
        case .partial: flags = [.checksumBlank, .dataValidated]
        case .validated: flags = [.dataValidated]
        case .none: break
        }
        let total = frame.count
        var responses: [(index: UInt32, response: NetReceiveResponse)] = []
        var operations: [GrantCopy] = []
        frame.bytes.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var position = 0
            while position < total {
                let request = ring.receiveRequest(receiveConsumer)
                let length = min(NetInterface.pageSize, total - position)
                let more = position + length < total
                var slotFlags = position == 0 ? flags : []
                if more { slotFlags.insert(.moreData) }
                responses.append((receiveConsumer, NetReceiveResponse(id: request.id, offset: 0, flags: slotFlags,
                                                                      status: Int16(length))))
                operations.append(GrantCopy(source: .buffer(UnsafeRawBufferPointer(start: base + position, count: length)),
                                            destination: .grant(domain, request.grant, offset: 0),
                                            length: UInt16(length)))
                receiveConsumer &+= 1
                position += length
            }
            let statuses = grants.copy(operations)
            for i in responses.indices {
                let status = i < statuses.count ? statuses[i] : .generalError
                // Xen: xenvif_rx_copy_flush puts a failed copy's GNTST code in the status.
                if status != .okay {
                    responses[i].response.status = Int16(status.rawValue)
                    statistics.receiveCopyErrors &+= 1
                }
            }
        }
        for (index, response) in responses { ring.setReceiveResponse(index, response) }
        statistics.receivePackets &+= 1
        statistics.receiveBytes &+= UInt64(total)
    }
}
