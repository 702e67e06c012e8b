import Testing
import XenABI

/// blkif's x86_64 ABI as public/io/blkif.h and io/ring.h lay it out (offsets from the
/// compiled headers, xen-abi.md Appendix A).
@Suite struct BlockInterfaceLayoutTests {
    @Test func constantsAreXens() {
        #expect(BlockRequestOperation.read.rawValue == 0)
        #expect(BlockRequestOperation.write.rawValue == 1)
        #expect(BlockRequestOperation.writeBarrier.rawValue == 2)
        #expect(BlockRequestOperation.flushDiskCache.rawValue == 3)
        #expect(BlockRequestOperation.reserved1.rawValue == 4)
        #expect(BlockRequestOperation.discard.rawValue == 5)
        #expect(BlockRequestOperation.indirect.rawValue == 6)
        #expect(BlockResponseStatus.okay.rawValue == 0)
        #expect(BlockResponseStatus.error.rawValue == -1)
        #expect(BlockResponseStatus.notSupported.rawValue == -2)
        #expect(BlockInterface.maxSegmentsPerRequest == 11)
        #expect(BlockInterface.maxIndirectPagesPerRequest == 8)
        #expect(BlockInterface.segmentsPerIndirectPage == 512)
        #expect(BlockInterface.sectorSize == 512)
        #expect(BlockInterface.discardSecureFlag == 1)
        #expect(BlockDiskInfo.cdrom.rawValue == 1 && BlockDiskInfo.removable.rawValue == 2 && BlockDiskInfo.readOnly.rawValue == 4)
        #expect(BlockInterface.protocolX86_64 == "x86_64-abi")
    }

    @Test func structureOffsets() {
        #expect(BlockSegmentLayout.size == 8)
        #expect(BlockSegmentLayout.grantReference == 0 && BlockSegmentLayout.firstSector == 4 && BlockSegmentLayout.lastSector == 5)
        #expect(BlockRequestLayout.size == 112)
        #expect(BlockRequestLayout.operation == 0 && BlockRequestLayout.segmentCount == 1 && BlockRequestLayout.handle == 2)
        #expect(BlockRequestLayout.id == 8 && BlockRequestLayout.sectorNumber == 16 && BlockRequestLayout.segments == 24)
        #expect(BlockRequestLayout.segments + 11 * BlockSegmentLayout.size == BlockRequestLayout.size)
        #expect(BlockDiscardRequestLayout.size == 32 && BlockDiscardRequestLayout.flag == 1)
        #expect(BlockDiscardRequestLayout.sectorNumber == 16 && BlockDiscardRequestLayout.sectorCount == 24)
        #expect(BlockIndirectRequestLayout.size == 64 && BlockIndirectRequestLayout.indirectOperation == 1)
        #expect(BlockIndirectRequestLayout.segmentCount == 2 && BlockIndirectRequestLayout.id == 8)
        #expect(BlockIndirectRequestLayout.sectorNumber == 16 && BlockIndirectRequestLayout.handle == 24)
        #expect(BlockIndirectRequestLayout.indirectGrants == 28)
        #expect(BlockIndirectRequestLayout.indirectGrants + 8 * 4 <= BlockIndirectRequestLayout.size)
        #expect(BlockResponseLayout.size == 16 && BlockResponseLayout.id == 0)
        #expect(BlockResponseLayout.operation == 8 && BlockResponseLayout.status == 10)
    }

    @Test func ringHeaderAndSizes() {
        #expect(BlockRingLayout.requestProducer == 0 && BlockRingLayout.requestEvent == 4)
        #expect(BlockRingLayout.responseProducer == 8 && BlockRingLayout.responseEvent == 12)
        #expect(BlockRingLayout.entries == 64 && BlockRingLayout.entrySize == 112)
        // Xen: RING_SIZE.blkif.4096 = 32; each order doubles it.
        #expect(BlockRingLayout.ringSize(pages: 1) == 32)
        #expect(BlockRingLayout.ringSize(pages: 2) == 64)
        #expect(BlockRingLayout.ringSize(pages: 4) == 128)
        #expect(BlockRingLayout.ringSize(pages: 8) == 256)
        #expect(BlockRingLayout.ringSize(pages: 16) == 512)
        #expect(BlockRingLayout.ringSize(pages: 0) == 0)
        for pages in [1, 2, 4, 8, 16] {
            let size = BlockRingLayout.ringSize(pages: pages)
            #expect(BlockRingLayout.slotOffset(UInt32(size - 1), ringSize: size) + 112 <= pages * 4096)
        }
        #expect(BlockRingLayout.slotOffset(32, ringSize: 32) == 64)
        #expect(BlockRingLayout.slotOffset(0xFFFF_FFFF, ringSize: 32) == 64 + 31 * 112)
        #expect(BlockInterface.indirectPages(forSegments: 1) == 1)
        #expect(BlockInterface.indirectPages(forSegments: 512) == 1)
        #expect(BlockInterface.indirectPages(forSegments: 513) == 2)
        #expect(BlockInterface.indirectPages(forSegments: 0) == 0)
    }

    /// RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: notify iff the event index lies in (old, new].
    @Test func notificationRule() {
        #expect(BlockRingLayout.needsNotification(old: 0, new: 1, event: 1))
        #expect(!BlockRingLayout.needsNotification(old: 0, new: 1, event: 2))
        #expect(BlockRingLayout.needsNotification(old: 0, new: 5, event: 3))
        #expect(!BlockRingLayout.needsNotification(old: 3, new: 5, event: 3))
        #expect(BlockRingLayout.needsNotification(old: 0xFFFF_FFFE, new: 2, event: 0))
        #expect(!BlockRingLayout.needsNotification(old: 4, new: 4, event: 4))
    }

    @Test func requestsRoundTripThroughTheirBytes() {
        let requests: [BlockRingRequest] = [
            .readWrite(operation: 1, segmentCount: 11, handle: 51712, id: 0x1122_3344_5566_7788, sectorNumber: 1 << 40,
                       segments: (0..<11).map { BlockRequestSegment(grant: GrantReference(UInt32($0) + 9), firstSector: 1, lastSector: 6) }),
            .readWrite(operation: 3, segmentCount: 0, handle: 1, id: 7, sectorNumber: 0, segments: []),
            .discard(flag: 1, handle: 3, id: 99, sectorNumber: 12345, sectorCount: 1 << 33),
            .indirect(indirectOperation: 0, segmentCount: 300, handle: 51728, id: 5, sectorNumber: 77,
                      indirectGrants: (0..<8).map { GrantReference(UInt32($0) * 3) }),
            .other(operation: 4, id: 42),
            .other(operation: 200, id: 43),
        ]
        for request in requests {
            var bytes = [UInt8](repeating: 0xEE, count: BlockRequestLayout.size)
            #expect(bytes.withUnsafeMutableBytes { request.encode(into: $0) })
            let decoded = bytes.withUnsafeBytes { BlockRingRequest($0) }
            #expect(decoded == request)
        }
    }

    @Test func fieldsSitAtTheirOffsets() {
        var bytes = [UInt8](repeating: 0, count: BlockRequestLayout.size)
        let segment = BlockRequestSegment(grant: GrantReference(0xAABB_CCDD), firstSector: 2, lastSector: 5)
        let request = BlockRingRequest.readWrite(operation: 0, segmentCount: 1, handle: 0x0102, id: 0x0807_0605_0403_0201,
                                                 sectorNumber: 0x1000, segments: [segment])
        bytes.withUnsafeMutableBytes { _ = request.encode(into: $0) }
        #expect(bytes[0] == 0 && bytes[1] == 1 && bytes[2] == 0x02 && bytes[3] == 0x01)
        #expect(Array(bytes[8..<16]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(bytes[16..<24]) == [0, 0x10, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[24..<32]) == [0xDD, 0xCC, 0xBB, 0xAA, 2, 5, 0, 0])
        let response = BlockRingResponse(id: 0x0102_0304_0506_0708, operation: 6, status: .notSupported)
        #expect(response.encoded == [8, 7, 6, 5, 4, 3, 2, 1, 6, 0, 0xFE, 0xFF, 0, 0, 0, 0])
        #expect(response.encoded.withUnsafeBytes { BlockRingResponse($0) } == response)
    }

    @Test func anIndirectRequestIsAnsweredWithItsInnerOperation() {
        let grants = Array(repeating: GrantReference(9), count: 8)
        let write = BlockRingRequest.indirect(indirectOperation: 1, segmentCount: 16, handle: 0, id: 1, sectorNumber: 0,
                                              indirectGrants: grants)
        #expect(write.operation == 6)
        #expect(write.responseOperation == 1)
        let flush = BlockRingRequest.readWrite(operation: 3, segmentCount: 0, handle: 0, id: 2, sectorNumber: 0, segments: [])
        #expect(flush.responseOperation == 3)
        #expect(BlockRingRequest.discard(flag: 0, handle: 0, id: 3, sectorNumber: 0, sectorCount: 8).responseOperation == 5)
    }

    @Test func shortBuffersDecodeToNothing() {
        let short = [UInt8](repeating: 0, count: 111)
        #expect(short.withUnsafeBytes { BlockRingRequest($0) } == nil)
        #expect(short.withUnsafeBytes { BlockRequestSegment($0, at: 104) } == nil)
        #expect([UInt8](repeating: 0, count: 15).withUnsafeBytes { BlockRingResponse($0) } == nil)
    }
}
