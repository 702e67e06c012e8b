import Testing
import XenBackends

/// The console's device logic and ring handling against a frontend in host memory.
@Suite struct ConsoleDeviceTests {
    /// Every start index of the 2 KiB output ring (and the 32-bit wrap), messages of every
    /// length from 1 byte to the full ring: the bytes arrive in order, out_cons catches up.
    @Test func outputAtEveryRingIndexIncludingWrapAround() {
        withConsolePage { ring, guest in
            var device = ConsoleDevice(outputLimit: 4096)
            device.connect(ring)
            #expect(guest.connection == ConsoleConnectionState.connected.rawValue)
            let starts = (0..<2048).map(UInt32.init) + [UInt32.max - 2047, UInt32.max - 100, UInt32.max - 1, UInt32.max]
            for (round, start) in starts.enumerated() {
                guest.setOutputIndexes(start)
                let length = 1 + (round * 37) % 2048
                let bytes = pattern(length, seed: round)
                #expect(guest.write(bytes) == length)
                let result = device.service(ring)
                #expect(result.notifyGuest)
                #expect(result.failure == nil)
                #expect(device.takeOutput() == bytes, "start \(start) length \(length)")
                #expect(guest.outputConsumer == start &+ UInt32(length))
            }
            #expect(device.isConnected)
        }
    }

    @Test func aFullRingIsConsumedWholeAndAnEmptyOneIsQuiet() {
        withConsolePage { ring, guest in
            var device = ConsoleDevice()
            device.connect(ring)
            guest.setOutputIndexes(1000)
            #expect(guest.write(pattern(3000)) == 2048)
            #expect(device.service(ring).notifyGuest)
            #expect(device.takeOutput() == Array(pattern(3000)[..<2048]))
            let quiet = device.service(ring)
            #expect(!quiet.notifyGuest)
            #expect(device.statistics.outputBytes == 2048)
        }
    }

    /// A producer more than the ring size ahead (or behind) the consumer is a broken
    /// frontend: the console disconnects, marks the page, and never traps.
    @Test(arguments: [UInt32(2049), 4096, 0x8000_0000, UInt32.max])
    func hostileOutputIndexesDisconnectTheConsole(_ ahead: UInt32) {
        withConsolePage { ring, guest in
            var device = ConsoleDevice()
            device.connect(ring)
            guest.write("before")
            _ = device.service(ring)
            let cons = guest.outputConsumer
            guest.setIndex(ConsoleRingLayout.outputProducerOffset, cons &+ ahead)
            let result = device.service(ring)
            #expect(result.failure == .outputIndex(consumer: cons, producer: cons &+ ahead))
            #expect(!result.notifyGuest)
            #expect(device.state == .broken(.outputIndex(consumer: cons, producer: cons &+ ahead)))
            #expect(guest.connection == ConsoleConnectionState.disconnected.rawValue)
            #expect(guest.outputConsumer == cons)
            // Output from before the break is still there; nothing more is read.
            #expect(device.takeOutput() == Array("before".utf8))
            guest.setIndex(ConsoleRingLayout.outputProducerOffset, cons &+ 3)
            #expect(device.service(ring) == ConsoleServiceResult())
            #expect([UInt8]([1]).withUnsafeBytes { device.queueInput($0) } == 0)
        }
    }

    @Test func inputAtEveryRingIndexWithFlowControl() {
        withConsolePage { ring, guest in
            var device = ConsoleDevice(inputLimit: 4096)
            device.connect(ring)
            let starts = (0..<1024).map(UInt32.init) + [UInt32.max - 1023, UInt32.max - 5, UInt32.max]
            for (round, start) in starts.enumerated() {
                guest.setInputIndexes(start)
                let length = 1 + (round * 53) % 1500
                let bytes = pattern(length, seed: round)
                #expect(bytes.withUnsafeBytes { device.queueInput($0) } == length)
                #expect(device.service(ring).notifyGuest)
                // At most the 1 KiB ring now; the rest waits for the guest to make room.
                let first = guest.read()
                #expect(first == Array(bytes[..<min(length, 1024)]), "start \(start)")
                if length > 1024 {
                    #expect(device.input.count == length - 1024)
                    #expect(device.service(ring).notifyGuest)
                    #expect(guest.read() == Array(bytes[1024...]))
                }
                #expect(device.input.isEmpty)
                #expect(!device.service(ring).notifyGuest)
            }
            #expect(device.statistics.inputBytes > 0)
        }
    }

    @Test func inputQueueIsBounded() {
        withConsolePage { ring, guest in
            var device = ConsoleDevice(inputLimit: 100)
            device.connect(ring)
            #expect(pattern(150).withUnsafeBytes { device.queueInput($0) } == 100)
            #expect(pattern(5).withUnsafeBytes { device.queueInput($0) } == 0)
            _ = device.service(ring)
            #expect(guest.read().count == 100)
        }
    }

    @Test(arguments: [UInt32(1025), 0x10000, UInt32.max])
    func hostileInputIndexesDisconnectTheConsole(_ behind: UInt32) {
        withConsolePage { ring, guest in
            var device = ConsoleDevice()
            device.connect(ring)
            guest.setIndex(ConsoleRingLayout.inputConsumerOffset, 0 &- behind)  // in_prod − in_cons = behind
            _ = [UInt8](repeating: 65, count: 10).withUnsafeBytes { device.queueInput($0) }
            let result = device.service(ring)
            #expect(result.failure == .inputIndex(consumer: 0 &- behind, producer: 0))
            #expect(guest.inputProducer == 0)
            #expect(device.input.isEmpty)
            #expect(guest.connection == ConsoleConnectionState.disconnected.rawValue)
        }
    }

    /// Backpressure: with nobody taking output, the backend stops consuming once its buffer
    /// is full — the guest's ring fills and its writes wait; memory stays bounded.
    @Test func floodingUnderBackpressureStopsConsumingAtTheLimit() {
        withConsolePage { ring, guest in
            var device = ConsoleDevice(outputLimit: 5000, overflow: .backpressure)
            device.connect(ring)
            var produced: [UInt8] = []
            for round in 0..<10 {
                let bytes = pattern(2048, seed: round)
                let n = guest.write(bytes)
                produced += bytes[..<n]
                _ = device.service(ring)
                #expect(device.output.count <= 5000)
            }
            #expect(device.output.count == 5000)
            #expect(guest.outputProducer &- guest.outputConsumer == 2048)  // the guest waits
            #expect(device.statistics.droppedOutputBytes == 0)
            // Taking output lets consumption resume; nothing was lost.
            var received: [UInt8] = []
            for _ in 0..<10 {
                received += device.takeOutput(maximum: 1000)
                _ = device.service(ring)
            }
            received += device.takeOutput()
            #expect(received == produced)
        }
    }

    /// Discard: the guest never waits; the buffer keeps the newest output and counts drops.
    @Test func floodingWithDiscardKeepsTheNewestOutput() {
        withConsolePage { ring, guest in
            var device = ConsoleDevice(outputLimit: 4096, overflow: .discardOldest)
            device.connect(ring)
            var produced: [UInt8] = []
            for round in 0..<100 {
                let bytes = pattern(1500, seed: round)
                #expect(guest.write(bytes) == 1500)
                produced += bytes
                _ = device.service(ring)
                #expect(device.output.count <= 4096)
            }
            #expect(device.statistics.outputBytes == UInt64(produced.count))
            #expect(device.statistics.droppedOutputBytes == UInt64(produced.count - 4096))
            #expect(device.takeOutput() == Array(produced.suffix(4096)))
        }
    }

    @Test func aDisconnectedOrClosedDeviceDoesNotTouchThePage() {
        withConsolePage { ring, guest in
            var device = ConsoleDevice()
            guest.write("early")
            #expect(device.service(ring) == ConsoleServiceResult())
            #expect(guest.outputConsumer == 0)
            #expect(guest.connection == ConsoleConnectionState.disconnected.rawValue)
            device.connect(ring)
            _ = device.service(ring)
            #expect(device.takeOutput() == Array("early".utf8))
            device.close()
            guest.write("late")
            #expect(device.service(ring) == ConsoleServiceResult())
            #expect(device.state == .closed)
        }
    }
}
