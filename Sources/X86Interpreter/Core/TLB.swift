/// One cached translation: a linear page to a host pointer and its machine frame.
/// `tag` is the page's linear address OR'd with 1 for user-privilege entries, so that a
/// supervisor entry never satisfies a user access and vice versa. An empty entry has a tag
/// no page address can equal.
struct TLBEntry {
    var tag: UInt64 = TLBEntry.emptyTag
    var host: UnsafeMutableRawPointer? = nil
    var frame: UInt64 = 0
    var global = false
    static let emptyTag: UInt64 = 0xFFF
}

/// Three direct-mapped soft TLBs (read, write, fetch), each filled only with translations
/// that permit that access, so a hit needs no permission check. Writable entries are
/// installed only for pages whose dirty bit is set and that hold no decoded code.
struct SoftTLB: ~Copyable {
    static let entries = 512
    static let mask = UInt64(entries - 1)
    let read: UnsafeMutablePointer<TLBEntry>
    let write: UnsafeMutablePointer<TLBEntry>
    let fetch: UnsafeMutablePointer<TLBEntry>
    /// Increases on every flush and privilege change: block links recorded under an older
    /// generation may no longer describe where RIP's linear address leads.
    let generationCounter: UnsafeMutablePointer<UInt32>

    init() {
        generationCounter = .allocate(capacity: 1)
        generationCounter.initialize(to: 0)
        read = .allocate(capacity: Self.entries)
        write = .allocate(capacity: Self.entries)
        fetch = .allocate(capacity: Self.entries)
        for t in [read, write, fetch] { t.initialize(repeating: TLBEntry(), count: Self.entries) }
    }

    deinit {
        generationCounter.deallocate()
        read.deallocate()
        write.deallocate()
        fetch.deallocate()
    }

    @inline(__always) static func slot(_ linear: UInt64) -> Int { Int((linear >> 12) & mask) }

    @inline(__always) var generation: UInt32 { generationCounter.pointee }
    func bumpGeneration() { generationCounter.pointee &+= 1 }

    func flushAll() {
        bumpGeneration()
        for t in [read, write, fetch] { t.update(repeating: TLBEntry(), count: Self.entries) }
    }

    func flushNonGlobal() {
        bumpGeneration()
        for t in [read, write, fetch] {
            for i in 0..<Self.entries where !t[i].global { t[i] = TLBEntry() }
        }
    }

    func flushWrites() { write.update(repeating: TLBEntry(), count: Self.entries) }  // fetches unaffected

    /// Drops the entries of the page holding `linear` in both privilege contexts.
    func flush(page linear: UInt64) {
        bumpGeneration()
        let i = Self.slot(linear)
        let page = linear & ~0xFFF
        for t in [read, write, fetch] where t[i].tag & ~1 == page { t[i] = TLBEntry() }
    }

    /// Drops every writable entry for machine frame `frame` (it just became a code frame).
    func flushWrites(frame: UInt64) {
        for i in 0..<Self.entries where write[i].frame == frame { write[i] = TLBEntry() }
    }
}
