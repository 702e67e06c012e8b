import Testing
import XenABI

/// io/netif.h and io/ring.h as Xen defines them (xen-abi.md Appendix A and §7.6).
@Suite struct NetInterfaceLayoutTests {
    @Test func ringSizesForOnePage() {
        #expect(NetRingLayout.transmitEntrySize == 12)
        #expect(NetRingLayout.receiveEntrySize == 8)
        #expect(NetRingLayout.transmitRingSize == 256)
        #expect(NetRingLayout.receiveRingSize == 256)
        #expect(NetRingLayout.entriesOffset == 64)
        // __RING_SIZE rounds (4096 - 64) / size down to a power of two.
        #expect(NetRingLayout.ringSize(entrySize: 112) == 32)  // blkif, as a cross-check
        #expect(NetRingLayout.ringSize(entrySize: 4096) == 0)
        #expect(NetRingLayout.ringSize(entrySize: 0) == 0)
    }

    @Test func slotOffsetsWrapAtTheRingSize() {
        #expect(NetRingLayout.transmitSlotOffset(0) == 64)
        #expect(NetRingLayout.transmitSlotOffset(255) == 64 + 255 * 12)
        #expect(NetRingLayout.transmitSlotOffset(256) == 64)
        #expect(NetRingLayout.transmitSlotOffset(UInt32.max) == 64 + 255 * 12)
        #expect(NetRingLayout.receiveSlotOffset(257) == 64 + 8)
        // The last slot ends inside the page.
        #expect(NetRingLayout.transmitSlotOffset(255) + 12 <= 4096)
        #expect(NetRingLayout.receiveSlotOffset(255) + 8 <= 4096)
    }

    @Test func headerOffsets() {
        #expect(NetRingLayout.requestProducerOffset == 0)
        #expect(NetRingLayout.requestEventOffset == 4)
        #expect(NetRingLayout.responseProducerOffset == 8)
        #expect(NetRingLayout.responseEventOffset == 12)
    }

    @Test func messageSizesAndOffsets() {
        #expect(NetTransmitRequest.size == 12)
        #expect([NetTransmitRequest.grantOffset, NetTransmitRequest.offsetOffset, NetTransmitRequest.flagsOffset,
                 NetTransmitRequest.idOffset, NetTransmitRequest.sizeOffset] == [0, 4, 6, 8, 10])
        #expect(NetTransmitResponse.size == 4)
        #expect([NetTransmitResponse.idOffset, NetTransmitResponse.statusOffset] == [0, 2])
        #expect(NetReceiveRequest.size == 8)
        #expect([NetReceiveRequest.idOffset, NetReceiveRequest.grantOffset] == [0, 4])
        #expect(NetReceiveResponse.size == 8)
        #expect([NetReceiveResponse.idOffset, NetReceiveResponse.offsetOffset, NetReceiveResponse.flagsOffset,
                 NetReceiveResponse.statusOffset] == [0, 2, 4, 6])
        #expect(NetExtraInfo.size == 8)
        #expect([NetExtraInfo.typeOffset, NetExtraInfo.flagsOffset, NetExtraInfo.gsoSizeOffset, NetExtraInfo.gsoTypeOffset,
                 NetExtraInfo.gsoFeaturesOffset, NetExtraInfo.multicastAddressOffset] == [0, 1, 2, 4, 6, 2])
    }

    @Test func flagAndStatusValues() {
        #expect(NetTransmitFlags.checksumBlank.rawValue == 1)
        #expect(NetTransmitFlags.dataValidated.rawValue == 2)
        #expect(NetTransmitFlags.moreData.rawValue == 4)
        #expect(NetTransmitFlags.extraInfo.rawValue == 8)
        #expect(NetReceiveFlags.dataValidated.rawValue == 1)
        #expect(NetReceiveFlags.checksumBlank.rawValue == 2)
        #expect(NetReceiveFlags.moreData.rawValue == 4)
        #expect(NetReceiveFlags.extraInfo.rawValue == 8)
        #expect(NetReceiveFlags.gsoPrefix.rawValue == 16)
        #expect(NetResponseStatus.allCases.map(\.rawValue) == [-2, -1, 0, 1])
        #expect(NetExtraInfoType.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5])
        #expect(NetExtraInfoType.limit == 6)
        #expect(NetExtraInfoFlag.more == 1)
        #expect(NetGSOType.allCases.map(\.rawValue) == [0, 1, 2])
        #expect(NetInterface.maximumTransmitSize == 0xFFFF)
        #expect(NetInterface.minimumSlotsPerPacket == 18)
        #expect(NetInterface.legacySlotsMaximum == 18)
    }

    @Test func littleEndianEncoding() {
        var bytes = [UInt8](repeating: 0xEE, count: 12)
        bytes.withUnsafeMutableBytes { b in
            NetTransmitRequest(grant: GrantReference(0x0403_0201), offset: 0x0605, flags: [.moreData, .checksumBlank],
                               id: 0x0A09, size: 0x0C0B).store(to: b.baseAddress!)
        }
        #expect(bytes == [1, 2, 3, 4, 5, 6, 5, 0, 9, 10, 11, 12])
        let decoded = bytes.withUnsafeBytes { NetTransmitRequest(loadingFrom: $0.baseAddress!) }
        #expect(decoded.grant == GrantReference(0x0403_0201))
        #expect(decoded.flags == [.moreData, .checksumBlank])
        #expect(decoded.size == 0x0C0B)

        var response = [UInt8](repeating: 0, count: 8)
        response.withUnsafeMutableBytes { b in
            NetReceiveResponse(id: 7, offset: 0, flags: [.moreData], status: -1).store(to: b.baseAddress!)
        }
        #expect(response == [7, 0, 0, 0, 4, 0, 0xFF, 0xFF])
    }

    @Test func extraInfoLayouts() {
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes.withUnsafeMutableBytes { NetExtraInfo.gso(size: 1448, type: .tcpv4, more: true).store(to: $0.baseAddress!) }
        #expect(bytes == [1, 1, 0xA8, 0x05, 1, 0, 0, 0])
        let gso = bytes.withUnsafeBytes { NetExtraInfo(loadingFrom: $0.baseAddress!) }
        #expect(gso.gsoSize == 1448)
        #expect(gso.gsoType == NetGSOType.tcpv4.rawValue)
        #expect(gso.hasMore)
        let mcast = NetExtraInfo.multicast(true, address: [0x01, 0x00, 0x5E, 0, 0, 1])
        #expect(mcast.type == 2)
        #expect(mcast.multicastAddress == [0x01, 0x00, 0x5E, 0, 0, 1])
        #expect(NetExtraInfo.multicast(false, address: [1]).type == 3)
    }
}
