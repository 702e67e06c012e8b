import Foundation
import Testing
import XenABI
import XenBackends
import XenControl

/// The block backend against a mock frontend: ring pages and data pages behind fake
/// grants, the guest played by `GuestBlockFrontend`, the image a real file.
@Suite struct BlockBackendTests {
    static let guest = DomainID(3)
    static let sectors = 2048   // 1 MiB disks

    struct Rig {
        let scratch = BlockScratch()
        let grants = FakeGrants(frames: 700)
        let events = FakeEvents()
        let front: GuestBlockFrontend
        let backend: BlockBackend
        let imagePath: String

        init(order: Int = 0, startIndex: UInt32 = 0, readOnly: Bool = false, contents: [UInt8] = [],
             configure: (inout BlockDeviceConfiguration) -> Void = { _ in }) throws {
            imagePath = scratch.file("disk.img", size: BlockBackendTests.sectors * 512, contents: contents)
            var configuration = try BlockDeviceConfiguration(path: imagePath, vdev: "xvda", readOnly: readOnly)
            configure(&configuration)
            front = GuestBlockFrontend(grants: grants, domain: BlockBackendTests.guest, order: order, startIndex: startIndex)
            backend = try BlockBackend(domain: BlockBackendTests.guest, configuration: configuration, grants: grants,
                                       events: events)
            try backend.connect(front.transport)
            backend.serviceNow()
        }

        /// Publishes the queued requests, notifies, runs a pass and takes the responses.
        func exchange() -> [BlockRingResponse] {
            front.publish()
            events.guestSends(BlockBackendTests.guest, front.transport.eventChannel)
            backend.serviceNow()
            // A pass answers at most its budget; the backend schedules the rest itself.
            var spins = 0
            while front.header(BlockRingLayout.responseProducer) != front.requestProducer, backend.isConnected,
                  spins < 10_000 {
                backend.serviceNow()
                spins += 1
            }
            return front.responses()
        }

        func submit(_ request: BlockRingRequest) -> BlockRingResponse? {
            front.queue(request)
            return exchange().first
        }

        func writeSectors(_ sector: UInt64, _ data: [UInt8], id: UInt64 = 1) -> BlockRingResponse? {
            precondition(data.count % 4096 == 0)
            var segments: [BlockRequestSegment] = []
            for page in 0..<(data.count / 4096) {
                let (ref, pointer) = front.dataPage()
                data.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress! + page * 4096, byteCount: 4096) }
                segments.append(.page(ref))
            }
            return submit(.write(id: id, sector: sector, segments))
        }

        func readSectors(_ sector: UInt64, pages: Int, id: UInt64 = 2) -> (BlockRingResponse?, [UInt8]) {
            let granted = (0..<pages).map { _ in front.dataPage() }
            let response = submit(.read(id: id, sector: sector, granted.map { .page($0.0) }))
            let bytes = granted.flatMap { Array(UnsafeRawBufferPointer(start: $0.1, count: 4096)) }
            return (response, bytes)
        }
    }

    static func ok(_ id: UInt64, _ op: BlockRequestOperation) -> BlockRingResponse {
        BlockRingResponse(id: id, operation: op.rawValue, status: .okay)
    }

    @Test func connectsMapsTheRingAndBindsThePort() throws {
        let rig = try Rig()
        #expect(rig.backend.isConnected)
        #expect(rig.grants.liveMappings == 1)
        #expect(rig.events.isBound(Self.guest, EventChannelPort(5)))
        #expect(rig.backend.sectors == UInt64(Self.sectors))
        // The first pass armed req_event.
        #expect(rig.front.header(BlockRingLayout.requestEvent) == 1)
        rig.backend.close()
        #expect(rig.grants.liveMappings == 0)
        #expect(!rig.events.isBound(Self.guest, EventChannelPort(5)))
    }

    @Test func dataRoundTripsThroughGrantedPages() throws {
        let rig = try Rig()
        let data = blockPattern(11 * 4096, seed: 1)
        #expect(rig.writeSectors(64, data) == Self.ok(1, .write))
        let (response, back) = rig.readSectors(64, pages: 11)
        #expect(response == Self.ok(2, .read))
        #expect(back == data)
        // Every segment mapping was released.
        #expect(rig.grants.liveMappings == 1)
        let stats = rig.backend.statistics
        #expect(stats.sectorsWritten == 88 && stats.sectorsRead == 88)
        #expect(stats.readRequests == 1 && stats.writeRequests == 1)
        rig.backend.close()
        let file = rig.scratch.bytes("disk.img")
        #expect(Array(file[(64 * 512)..<(64 * 512 + data.count)]) == data)
    }

    /// first_sect/last_sect pick sectors inside each page.
    @Test func partialSegmentsMoveOnlyTheirSectors() throws {
        let rig = try Rig(contents: blockPattern(Self.sectors * 512, seed: 2))
        let (ref, page) = rig.front.dataPage()
        page.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 4096)
        let response = rig.submit(.read(id: 7, sector: 10, [BlockRequestSegment(grant: ref, firstSector: 2, lastSector: 4)]))
        #expect(response == Self.ok(7, .read))
        let bytes = Array(UnsafeRawBufferPointer(start: page, count: 4096))
        #expect(bytes[0..<1024].allSatisfy { $0 == 0xEE })
        #expect(Array(bytes[1024..<2560]) == Array(blockPattern(Self.sectors * 512, seed: 2)[5120..<6656]))
        #expect(bytes[2560...].allSatisfy { $0 == 0xEE })
        rig.backend.close()
    }

    @Test func badRequestsGetAnErrorAndNothingElse() throws {
        let rig = try Rig()
        let (ref, _) = rig.front.dataPage()
        let seg = BlockRequestSegment.page(ref)
        let last = UInt64(Self.sectors)
        let bad: [BlockRingRequest] = [
            .read(id: 1, sector: 0, []),                                             // no segments
            .readWrite(operation: 0, segmentCount: 12, handle: 0, id: 2, sectorNumber: 0,
                       segments: Array(repeating: seg, count: 11)),                  // 12 segments
            .read(id: 3, sector: 0, [BlockRequestSegment(grant: ref, firstSector: 0, lastSector: 8)]),
            .read(id: 4, sector: 0, [BlockRequestSegment(grant: ref, firstSector: 5, lastSector: 4)]),
            .read(id: 5, sector: last - 7, [seg]),                                    // one sector past the end
            .write(id: 6, sector: last, [seg]),
            .read(id: 7, sector: UInt64.max / 512 + 1, [seg]),                         // offset overflows
            .read(id: 8, sector: UInt64.max - 3, [seg]),
            .read(id: 9, sector: 0, [.page(GrantReference(77777))]),                  // not granted
        ]
        bad.forEach(rig.front.queue)
        let responses = rig.exchange()
        #expect(responses.map(\.id) == Array(1...9))
        #expect(responses.allSatisfy { $0.status == BlockResponseStatus.error.rawValue })
        #expect(rig.backend.isConnected)
        #expect(rig.grants.liveMappings == 1)
        #expect(rig.backend.statistics.errorResponses == 9)
        // The last sector itself is fine.
        let ok = rig.submit(.read(id: 10, sector: last - 1, [BlockRequestSegment(grant: ref, firstSector: 0, lastSector: 0)]))
        #expect(ok == Self.ok(10, .read))
        rig.backend.close()
    }

    @Test func unknownOperationsAreNotSupported() throws {
        let rig = try Rig()
        rig.front.queue(.other(operation: 4, id: 1))
        rig.front.queue(.other(operation: 99, id: 2))
        rig.front.queue(.discard(flag: BlockInterface.discardSecureFlag, handle: 0, id: 3, sectorNumber: 0, sectorCount: 8))
        let responses = rig.exchange()
        #expect(responses == [
            BlockRingResponse(id: 1, operation: 4, status: .notSupported),
            BlockRingResponse(id: 2, operation: 99, status: .notSupported),
            BlockRingResponse(id: 3, operation: 5, status: .notSupported),
        ])
        rig.backend.close()
    }

    @Test func flushAndBarrierSucceed() throws {
        let rig = try Rig()
        #expect(rig.writeSectors(0, blockPattern(4096, seed: 3)) == Self.ok(1, .write))
        #expect(rig.submit(.flush(id: 2)) == Self.ok(2, .flushDiskCache))
        // A flush carrying data (Linux's FUA writes) and a barrier with data.
        let (ref, page) = rig.front.dataPage()
        page.initializeMemory(as: UInt8.self, repeating: 0x5A, count: 4096)
        let fua = rig.submit(.readWrite(operation: BlockRequestOperation.flushDiskCache.rawValue, segmentCount: 1, handle: 0, id: 3,
                                        sectorNumber: 8, segments: [.page(ref)]))
        #expect(fua == Self.ok(3, .flushDiskCache))
        let barrier = rig.submit(.readWrite(operation: BlockRequestOperation.writeBarrier.rawValue, segmentCount: 1, handle: 0,
                                            id: 4, sectorNumber: 16, segments: [.page(ref)]))
        #expect(barrier == Self.ok(4, .writeBarrier))
        #expect(rig.readSectors(8, pages: 2).1 == [UInt8](repeating: 0x5A, count: 8192))
        #expect(rig.backend.statistics.flushRequests == 2 && rig.backend.statistics.barrierRequests == 1)
        rig.backend.close()
    }

    @Test func anEmptyFlushIgnoresItsSector() throws {
        // Linux's blkfront sends a flush without data at sector (sector_t)-1, the block
        // layer's "no position"; blkback checks the range only when there is data.
        let rig = try Rig()
        let flush = rig.submit(.readWrite(operation: BlockRequestOperation.flushDiskCache.rawValue, segmentCount: 0, handle: 0,
                                          id: 1, sectorNumber: .max, segments: []))
        #expect(flush == Self.ok(1, .flushDiskCache))
        let barrier = rig.submit(.readWrite(operation: BlockRequestOperation.writeBarrier.rawValue, segmentCount: 0, handle: 0,
                                            id: 2, sectorNumber: UInt64(Self.sectors) + 100, segments: []))
        #expect(barrier == Self.ok(2, .writeBarrier))
        // With data the range still counts.
        let (ref, _) = rig.front.dataPage()
        let past = rig.submit(.readWrite(operation: BlockRequestOperation.flushDiskCache.rawValue, segmentCount: 1, handle: 0,
                                         id: 3, sectorNumber: .max, segments: [.page(ref)]))
        #expect(past?.status == BlockResponseStatus.error.rawValue)
        rig.backend.close()
    }

    @Test func discardPunchesAndIsCheckedLikeAWrite() throws {
        let rig = try Rig()
        #expect(rig.writeSectors(8, blockPattern(8192, seed: 4)) == Self.ok(1, .write))
        let r = rig.submit(.discard(flag: 0, handle: 0, id: 2, sectorNumber: 8, sectorCount: 16))
        #expect(r == Self.ok(2, .discard))
        #expect(rig.readSectors(8, pages: 2).1 == [UInt8](repeating: 0, count: 8192))
        let past = rig.submit(.discard(flag: 0, handle: 0, id: 3, sectorNumber: UInt64(Self.sectors) - 1, sectorCount: 2))
        #expect(past?.status == BlockResponseStatus.error.rawValue)
        let overflow = rig.submit(.discard(flag: 0, handle: 0, id: 4, sectorNumber: 1, sectorCount: UInt64.max / 256))
        #expect(overflow?.status == BlockResponseStatus.error.rawValue)
        rig.backend.close()
    }

    @Test func readOnlyDisksRefuseWritesAsBlkbackDoes() throws {
        let contents = blockPattern(8192, seed: 5)
        let rig = try Rig(readOnly: true, contents: contents)
        #expect(rig.backend.features == BlockFeatures(flush: false, discard: false, maxIndirectSegments: 256))
        let keys = Dictionary(uniqueKeysWithValues: rig.backend.backendKeys)
        #expect(keys["info"] == "4" && keys["feature-flush-cache"] == nil && keys["feature-discard"] == nil)
        let write = rig.writeSectors(0, blockPattern(4096, seed: 6))
        #expect(write == BlockRingResponse(id: 1, operation: 1, status: .error))
        #expect(rig.submit(.flush(id: 2))?.status == BlockResponseStatus.error.rawValue)
        #expect(rig.submit(.discard(flag: 0, handle: 0, id: 3, sectorNumber: 0, sectorCount: 8))?.status
            == BlockResponseStatus.error.rawValue)
        let (read, bytes) = rig.readSectors(0, pages: 2)
        #expect(read == Self.ok(2, .read))
        #expect(bytes == contents)
        rig.backend.close()
        #expect(Array(rig.scratch.bytes("disk.img").prefix(8192)) == contents)
    }

    @Test func indirectRequestsCarryManySegments() throws {
        let rig = try Rig()
        let count = 200
        let data = blockPattern(count * 4096, seed: 7)
        // The segment list lives in a granted indirect page.
        let (listRef, list) = rig.front.dataPage()
        var pages: [(GrantReference, UnsafeMutableRawPointer)] = []
        for i in 0..<count {
            let p = rig.front.dataPage()
            data.withUnsafeBytes { p.1.copyMemory(from: $0.baseAddress! + i * 4096, byteCount: 4096) }
            BlockRequestSegment.page(p.0).encode(into: UnsafeMutableRawBufferPointer(start: list, count: 4096), at: i * 8)
            pages.append(p)
        }
        let grants = [listRef] + Array(repeating: GrantReference(0), count: 7)
        let write = rig.submit(.indirect(indirectOperation: 1, segmentCount: UInt16(count), handle: 0, id: 1,
                                         sectorNumber: 32, indirectGrants: grants))
        // Answered with the inner operation, as Linux's blkfront insists.
        #expect(write == Self.ok(1, .write))
        for p in pages { p.1.initializeMemory(as: UInt8.self, repeating: 0, count: 4096) }
        let read = rig.submit(.indirect(indirectOperation: 0, segmentCount: UInt16(count), handle: 0, id: 2,
                                        sectorNumber: 32, indirectGrants: grants))
        #expect(read == Self.ok(2, .read))
        #expect(pages.flatMap { Array(UnsafeRawBufferPointer(start: $0.1, count: 4096)) } == data)
        // Too many segments, a bad inner operation, an indirect page that is not granted.
        let bad: [BlockRingRequest] = [
            .indirect(indirectOperation: 0, segmentCount: 257, handle: 0, id: 3, sectorNumber: 0, indirectGrants: grants),
            .indirect(indirectOperation: 0, segmentCount: 0, handle: 0, id: 4, sectorNumber: 0, indirectGrants: grants),
            .indirect(indirectOperation: 3, segmentCount: 1, handle: 0, id: 5, sectorNumber: 0, indirectGrants: grants),
            .indirect(indirectOperation: 0, segmentCount: 1, handle: 0, id: 6, sectorNumber: 0,
                      indirectGrants: Array(repeating: GrantReference(55555), count: 8)),
            .indirect(indirectOperation: 0, segmentCount: UInt16(count), handle: 0, id: 7,
                      sectorNumber: UInt64(Self.sectors) - 8, indirectGrants: grants),
        ]
        bad.forEach(rig.front.queue)
        let responses = rig.exchange()
        #expect(responses.map(\.id) == [3, 4, 5, 6, 7])
        #expect(responses.allSatisfy { $0.status == -1 })
        #expect(responses.map(\.operation) == [0, 0, 3, 0, 0])
        #expect(rig.grants.liveMappings == 1)
        rig.backend.close()
    }

    @Test func indirectIsNotSupportedWhenNotOffered() throws {
        let rig = try Rig { $0.maxIndirectSegments = 0 }
        #expect(Dictionary(uniqueKeysWithValues: rig.backend.backendKeys)["feature-max-indirect-segments"] == nil)
        let r = rig.submit(.indirect(indirectOperation: 0, segmentCount: 1, handle: 0, id: 1, sectorNumber: 0,
                                     indirectGrants: Array(repeating: GrantReference(8), count: 8)))
        #expect(r == BlockRingResponse(id: 1, operation: 0, status: .notSupported))
        rig.backend.close()
    }
}
