import GuestMemory
import X86

extension Interpreter {
    // MARK: Fast paths (TLB hit, access within one page)

    /// The tag a TLB hit for `size` bytes at `linear` must find in `linear`'s slot: the page of
    /// the access's last byte. An access that crosses into the next page finds a tag for
    /// another page there (its slot belongs to `linear`'s page), so one compare checks both
    /// the translation and the page bound.
    @inline(__always)
    func hitTag(_ linear: UInt64, _ size: UInt8) -> UInt64 {
        ((linear &+ UInt64(size &- 1)) & ~0xFFF) | userTag
    }

    @inline(__always)
    func read(_ linear: UInt64, _ size: UInt8) throws(CPUEvent) -> UInt64 {
        let e = tlb.read + SoftTLB.slot(linear)
        if e.pointee.tag == hitTag(linear, size), let h = e.pointee.host {
            return Self.load(h + Int(linear & 0xFFF), size)
        }
        return try readSlow(linear, size, user: cpl == 3)
    }

    @inline(__always)
    func write(_ linear: UInt64, _ size: UInt8, _ value: UInt64) throws(CPUEvent) {
        let e = tlb.write + SoftTLB.slot(linear)
        if e.pointee.tag == hitTag(linear, size), let h = e.pointee.host {
            Self.store(h + Int(linear & 0xFFF), size, value)
            return
        }
        try writeSlow(linear, size, value, user: cpl == 3)
    }

    /// A host pointer for a read-modify-write of `size` bytes at `linear`, translated for
    /// writing, or nil when the operand crosses a page or lies in a code frame (then use
    /// `read`/`write`, which check both pages and note code writes; both pages have already
    /// been checked for writability, so a fault has been raised if either is not writable).
    @inline(__always)
    func writablePointer(_ linear: UInt64, _ size: UInt8) throws(CPUEvent) -> UnsafeMutableRawPointer? {
        let e = tlb.write + SoftTLB.slot(linear)
        if e.pointee.tag == hitTag(linear, size), let h = e.pointee.host {
            return h + Int(linear & 0xFFF)
        }
        return try writablePointerSlow(linear, size, user: cpl == 3)
    }

    func writablePointerSlow(_ linear: UInt64, _ size: UInt8, user: Bool) throws(CPUEvent) -> UnsafeMutableRawPointer? {
        let t = try fill(linear, access: .write, user: user)
        let last = linear &+ UInt64(size) &- 1
        if last & ~0xFFF != linear & ~0xFFF {
            try fill(last & ~0xFFF, access: .write, user: user)
            return nil
        }
        // A code frame gets no writable TLB entry: its stores must reach `noteCodeWrite`;
        // nor does a page with a data breakpoint: its stores must reach `writeSlow`.
        if codeWatch.holdsCode(t.frame) || breakpoints.armed && breakpoints.watchesPage(linear, write: true) { return nil }
        return t.host + Int(linear & 0xFFF)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutableRawPointer, _ size: UInt8) -> UInt64 {
        switch size {
        case 1: UInt64(p.load(as: UInt8.self))
        case 2: UInt64(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
        case 4: UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        default: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
        }
    }

    @inline(__always)
    static func store(_ p: UnsafeMutableRawPointer, _ size: UInt8, _ value: UInt64) {
        switch size {
        case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
        case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, as: UInt16.self)
        case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, as: UInt32.self)
        default: p.storeBytes(of: value.littleEndian, as: UInt64.self)
        }
    }

    // MARK: Slow paths

    /// Translates and caches one page for `access`. Returns the translation.
    @discardableResult
    func fill(_ linear: UInt64, access: MemoryAccessKind, user: Bool) throws(CPUEvent) -> Translation {
        let t: Translation
        if let cached = walkCached(linear, access: access, user: user) {
            t = cached
        } else {
            t = try walkFull(linear, access: access, user: user)
        }
        let tag = (linear & ~0xFFF) | (user ? 1 : 0)
        let i = SoftTLB.slot(linear)
        let entry = TLBEntry(tag: tag, host: t.host, frame: t.frame, global: t.global)
        switch access {
        case .read:
            tlb.read[i] = entry
        case .execute:
            tlb.fetch[i] = entry
        case .write:
            tlb.read[i] = entry
            dirtyLog.set(t.frame)
            // A code frame never gets a cached writable mapping: each store must reach
            // `noteCodeWrite` so decoded blocks of it are dropped.
            if !codeWatch.holdsCode(t.frame) { tlb.write[i] = entry }
        }
        if breakpoints.armed { dropWatchedEntries(slot: i, linear: linear) }
        return t
    }

    /// Faults now if any byte of `[linear, linear+size)` is not writable.
    func probeWrite(_ linear: UInt64, _ size: UInt8, user: Bool) throws(CPUEvent) {
        try fill(linear, access: .write, user: user)
        let last = linear &+ UInt64(size) &- 1
        if last & ~0xFFF != linear & ~0xFFF { try fill(last & ~0xFFF, access: .write, user: user) }
    }

    func readSlow(_ linear: UInt64, _ size: UInt8, user: Bool) throws(CPUEvent) -> UInt64 {
        if breakpoints.armed { noteDataAccess(linear, size, write: false) }
        let first = try fill(linear, access: .read, user: user)
        let offset = Int(linear & 0xFFF)
        if offset + Int(size) <= 4096 { return Self.load(first.host + offset, size) }
        // Crosses into the next page: both must be readable before anything is returned.
        // A fault on the second page reports that page's first byte, as the CPU does.
        let second = try fill((linear &+ UInt64(size) &- 1) & ~0xFFF, access: .read, user: user)
        var v: UInt64 = 0
        for i in 0..<Int(size) {
            let b = offset + i < 4096 ? first.host.load(fromByteOffset: offset + i, as: UInt8.self)
                : second.host.load(fromByteOffset: offset + i - 4096, as: UInt8.self)
            v |= UInt64(b) << (8 * UInt64(i))
        }
        return v
    }

    func writeSlow(_ linear: UInt64, _ size: UInt8, _ value: UInt64, user: Bool) throws(CPUEvent) {
        if breakpoints.armed { noteDataAccess(linear, size, write: true) }
        let first = try fill(linear, access: .write, user: user)
        let offset = Int(linear & 0xFFF)
        if offset + Int(size) <= 4096 {
            Self.store(first.host + offset, size, value)
            noteCodeWrite(first.frame)
            return
        }
        // Both pages are checked for writability before any byte is written.
        let second = try fill((linear &+ UInt64(size) &- 1) & ~0xFFF, access: .write, user: user)
        for i in 0..<Int(size) {
            let b = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
            if offset + i < 4096 {
                first.host.storeBytes(of: b, toByteOffset: offset + i, as: UInt8.self)
            } else {
                second.host.storeBytes(of: b, toByteOffset: offset + i - 4096, as: UInt8.self)
            }
        }
        noteCodeWrite(first.frame)
        noteCodeWrite(second.frame)
    }

    /// A store reached a frame through the slow path: if it holds decoded code, bump its
    /// version so stale blocks are dropped, and stop the current block.
    @inline(__always)
    func noteCodeWrite(_ frame: UInt64) {
        if codeWatch.holdsCode(frame) {
            codeWatch.noteWrite(frame: frame)
            endBlock()
        }
    }

    // MARK: Bulk helpers for system structures (IDT, GDT, TSS, descriptor tables)

    /// Reads with supervisor privilege (implicit system accesses are supervisor accesses).
    func readSystem(_ linear: UInt64, _ size: UInt8) throws(CPUEvent) -> UInt64 {
        try readSlow(linear, size, user: false)
    }

    func writeSystem(_ linear: UInt64, _ size: UInt8, _ value: UInt64) throws(CPUEvent) {
        try writeSlow(linear, size, value, user: false)
    }
}
