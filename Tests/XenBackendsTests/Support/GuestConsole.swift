import XenBackends

/// The guest's end of a console page, written the way Linux's hvc_xen does it: output at
/// out_prod, input read from in_cons. Indexes can be set anywhere (a ring that has carried
/// traffic, or a hostile frontend).
struct GuestConsole {
    let base: UnsafeMutableRawPointer

    func index(_ offset: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    func setIndex(_ offset: Int, _ value: UInt32) { base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
    var connection: UInt8 { base.load(fromByteOffset: ConsoleRingLayout.connectionOffset, as: UInt8.self) }

    var outputConsumer: UInt32 { index(ConsoleRingLayout.outputConsumerOffset) }
    var outputProducer: UInt32 { index(ConsoleRingLayout.outputProducerOffset) }
    var inputConsumer: UInt32 { index(ConsoleRingLayout.inputConsumerOffset) }
    var inputProducer: UInt32 { index(ConsoleRingLayout.inputProducerOffset) }

    func setOutputIndexes(_ value: UInt32) {
        setIndex(ConsoleRingLayout.outputConsumerOffset, value)
        setIndex(ConsoleRingLayout.outputProducerOffset, value)
    }
    func setInputIndexes(_ value: UInt32) {
        setIndex(ConsoleRingLayout.inputConsumerOffset, value)
        setIndex(ConsoleRingLayout.inputProducerOffset, value)
    }

    /// Writes as many bytes as fit into out[]; returns the count.
    @discardableResult
    func write(_ bytes: some Collection<UInt8>) -> Int {
        let consumer = outputConsumer
        var producer = outputProducer
        var written = 0
        for byte in bytes {
            guard producer &- consumer < UInt32(ConsoleRingLayout.outputSize) else { break }
            base.storeBytes(of: byte, toByteOffset: ConsoleRingLayout.outputOffset + ConsoleRingLayout.maskOutput(producer),
                            as: UInt8.self)
            producer &+= 1
            written += 1
        }
        setIndex(ConsoleRingLayout.outputProducerOffset, producer)
        return written
    }

    @discardableResult
    func write(_ text: String) -> Int { write(Array(text.utf8)) }

    /// Takes up to `maximum` bytes of input from in[].
    func read(maximum: Int = Int.max) -> [UInt8] {
        var consumer = inputConsumer
        let producer = inputProducer
        var bytes: [UInt8] = []
        while consumer != producer, bytes.count < maximum {
            bytes.append(base.load(fromByteOffset: ConsoleRingLayout.inputOffset + ConsoleRingLayout.maskInput(consumer),
                                   as: UInt8.self))
            consumer &+= 1
        }
        setIndex(ConsoleRingLayout.inputConsumerOffset, consumer)
        return bytes
    }
}

/// Runs `body` with a zeroed page-aligned console page.
func withConsolePage<T>(_ body: (ConsoleRing, GuestConsole) throws -> T) rethrows -> T {
    let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
    defer { page.deallocate() }
    // As the builder leaves it.
    page.storeBytes(of: ConsoleConnectionState.disconnected.rawValue, toByteOffset: ConsoleRingLayout.connectionOffset,
                    as: UInt8.self)
    return try body(ConsoleRing(page), GuestConsole(base: page))
}

/// Bytes from a deterministic pattern (so misplaced bytes show).
func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 7 &+ seed &* 13) % 251) }
}
