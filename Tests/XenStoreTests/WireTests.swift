import Testing
import XenABI
@testable import XenStore

@Suite struct WireTests {
    @Test func headerRoundTripsLittleEndian() {
        let header = XenStoreHeader(type: .write, requestID: 0x0102_0304, transactionID: 7, length: 0x1000)
        #expect(header.bytes == [11, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 0, 0x10, 0, 0])
        #expect(XenStoreHeader(bytes: header.bytes) == header)
        #expect(XenStoreHeader(bytes: [1, 2, 3]) == nil)
    }

    @Test func messageTypeNumbersMatchXsWire() {
        let expected: [(XenStoreMessageType, UInt32)] = [
            (.control, 0), (.directory, 1), (.read, 2), (.getPermissions, 3), (.watch, 4), (.unwatch, 5),
            (.transactionStart, 6), (.transactionEnd, 7), (.introduce, 8), (.release, 9),
            (.getDomainPath, 10), (.write, 11), (.mkdir, 12), (.remove, 13), (.setPermissions, 14),
            (.watchEvent, 15), (.error, 16), (.isDomainIntroduced, 17), (.resume, 18), (.setTarget, 19),
            (.restrict, 20), (.resetWatches, 21), (.directoryPart, 22), (.invalid, 0xFFFF),
        ]
        for (type, raw) in expected { #expect(type.rawValue == raw) }
        #expect(XenStoreMessageType(rawValue: 999).description == "type 999")
        #expect(XenStoreMessageType.remove.description == "RM")
    }

    @Test func ringLayoutOffsets() {
        #expect(XenStoreRingLayout.requestConsumerOffset == 2048)
        #expect(XenStoreRingLayout.responseProducerOffset == 2060)
        #expect(XenStoreRingLayout.errorOffset == 2072)
        #expect(XenStoreRingLayout.size == 2080)
        #expect(XenStoreRingLayout.mask(1024 + 5) == 5)
        #expect(XenStoreRingLayout.mask(UInt32.max) == 1023)
    }

    @Test func errorNamesFollowXsdErrorsAndFallBackToEINVAL() {
        #expect(XenStoreErrorNames.table.first?.1 == "EINVAL")
        #expect(XenStoreErrorNames.name(for: .ENOENT) == "ENOENT")
        #expect(XenStoreErrorNames.name(for: .EPERM) == "EPERM")
        #expect(XenStoreErrorNames.name(for: .ESRCH) == "EINVAL")
        #expect(XenStoreErrorNames.error(named: "EAGAIN") == .EAGAIN)
        #expect(XenStoreErrorNames.error(named: "EWHAT") == nil)
    }

    @Test func payloadHelpersMatchC() {
        #expect(XenStorePayload.oneArgument([0x61, 0]) == [0x61])
        #expect(XenStorePayload.oneArgument([0x61]) == nil)
        #expect(XenStorePayload.oneArgument([0x61, 0, 0x62, 0]) == nil)
        #expect(XenStorePayload.oneArgument([]) == nil)
        #expect(XenStorePayload.strings([0x61, 0, 0x62, 0, 0x63]).map(Array.init) == [[0x61], [0x62]])
        #expect(XenStorePayload.nulCount([0, 1, 0, 0]) == 3)
        #expect(XenStorePayload.atoi(Array(" -12x".utf8)) == -12)
        #expect(XenStorePayload.atoi(Array("abc".utf8)) == 0)
        #expect(XenStorePayload.atoi(Array("99999999999".utf8)) != 0)  // wraps, never traps
        #expect(XenStorePayload.atou(Array("-1".utf8)) == UInt32.max)
        #expect(XenStorePayload.strtoull(Array("4294967296".utf8)) == 4_294_967_296)
    }

    @Test func assemblerHandlesEverySplit() throws {
        let message = XenStoreMessage(type: .write, requestID: 9, transactionID: 3, payload: Array("/a\0xyz".utf8))
        let bytes = message.encoded + message.encoded
        for split in 0...bytes.count {
            var assembler = XenStoreMessageAssembler()
            var got = try assembler.feed(Array(bytes[0..<split]))
            got += try assembler.feed(Array(bytes[split...]))
            #expect(got == [message, message])
        }
        var assembler = XenStoreMessageAssembler()
        var got: [XenStoreMessage] = []
        for byte in bytes { got += try assembler.feed([byte]) }
        #expect(got == [message, message])
    }

    @Test func assemblerAcceptsEmptyAndMaximalPayloads() throws {
        var assembler = XenStoreMessageAssembler()
        let empty = XenStoreMessage(type: .transactionStart)
        #expect(try assembler.feed(empty.encoded) == [empty])
        let big = XenStoreMessage(type: .write, payload: [UInt8](repeating: 0x41, count: 4096))
        #expect(try assembler.feed(big.encoded) == [big])
    }

    @Test func assemblerRefusesOversizedLengthForGood() {
        var assembler = XenStoreMessageAssembler()
        let header = XenStoreHeader(type: .write, requestID: 1, transactionID: 0, length: 4097)
        #expect(throws: XenStoreStreamError.payloadTooLong(4097)) { try assembler.feed(header.bytes) }
        #expect(assembler.bytesWanted == 0)
        #expect(throws: XenStoreStreamError.payloadTooLong(4097)) {
            try assembler.feed(XenStoreMessage(type: .read).encoded)
        }
        #expect(XenStoreStreamError.payloadTooLong(4097).ringErrorCode == .protocolViolation)
        assembler.reset()
        #expect(assembler.bytesWanted == 16)
    }

    @Test func assemblerIgnoresChunksLargerThanWanted() throws {
        var assembler = XenStoreMessageAssembler()
        #expect(try assembler.append([UInt8](repeating: 0, count: 17)) == nil)
        #expect(assembler.bytesWanted == 16)
        #expect(!assembler.isInsideMessage)
    }

    @Test func actionsEncodeWatchEvents() {
        let action = XenStoreAction.watchEvent(XenStoreConnectionID(3), path: "a/b", token: Array("tok".utf8))
        #expect(action.connection == XenStoreConnectionID(3))
        #expect(action.message == XenStoreMessage(type: .watchEvent, payload: Array("a/b\0tok\0".utf8)))
        #expect(XenStoreAction.log("x").message == nil)
    }

    @Test func messageDescriptionAndErrorDecoding() {
        let error = XenStoreMessage(type: .error, strings: ["ENOENT"])
        #expect(error.error == .ENOENT)
        #expect(error.description.contains("ENOENT|"))
    }
}
