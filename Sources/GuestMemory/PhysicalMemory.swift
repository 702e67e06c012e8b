#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Host-side failures of machine memory.
public enum PhysicalMemoryError: Error, Equatable, CustomStringConvertible {
    case sizeNotPageAligned(UInt64)
    case sizeTooLarge(UInt64)
    case mappingFailed(errno: Int32)

    public var description: String {
        switch self {
        case .sizeNotPageAligned(let s): "machine memory size \(s) is not a multiple of 4096 bytes"
        case .sizeTooLarge(let s): "machine memory size \(s) exceeds the 64 TiB Kite supports"
        case .mappingFailed(let e):
            "could not reserve machine memory (mmap errno \(e)); lower the memory size"
        }
    }
}

/// Machine RAM: one anonymous host mapping shared by every domain and every vCPU thread.
///
/// Every accessor taking a guest-influenced address checks bounds with overflow-reporting
/// arithmetic and returns nil (or false) rather than trapping. The mapping is reserved with
/// MAP_NORESERVE so untouched frames cost no host memory.
///
/// Beside the bytes it keeps two per-frame maps shared by all vCPUs: the dirty log (for
/// save/restore and migration) and the code watch (frames holding decoded instructions,
/// so the CPU engine can invalidate them on a store). Both are updated with atomics.
public final class PhysicalMemory: @unchecked Sendable {
    /// Size in bytes; a multiple of `pageSize`.
    public let size: UInt64
    /// Number of machine frames.
    public let frameCount: UInt64
    /// First byte of the mapping. Valid for `size` bytes for the life of this object.
    public let base: UnsafeMutableRawPointer
    /// Frames written since the log was last cleared.
    public let dirtyLog: FrameBitmap
    /// Frames that hold instructions some vCPU has decoded, with a version per frame.
    public let codeWatch: CodeWatch

    public init(bytes: UInt64) throws(PhysicalMemoryError) {
        guard bytes % pageSize == 0, bytes > 0 else { throw .sizeNotPageAligned(bytes) }
        guard bytes <= (1 << 46) else { throw .sizeTooLarge(bytes) }
        let p = mmap(nil, Int(bytes), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw .mappingFailed(errno: errno) }
        #if os(Linux)
            // Transparent huge pages for guest RAM where the host allows them only on request
            // (THP "madvise" mode): fewer host TLB misses on guest memory. Advisory: a host
            // that refuses it runs the same, only slower.
            _ = madvise(p, Int(bytes), MADV_HUGEPAGE)
        #endif
        size = bytes
        frameCount = bytes >> pageShift
        base = p
        dirtyLog = FrameBitmap(frameCount: frameCount)
        codeWatch = CodeWatch(frameCount: frameCount)
    }

    deinit { munmap(base, Int(size)) }

    /// The non-owning view the CPU engine uses on its hot paths.
    public var view: RAMView { RAMView(base: base, frameCount: frameCount) }

    /// True when `[address, address+length)` lies inside machine RAM.
    @inlinable public func contains(_ address: MachineAddress, length: UInt64) -> Bool {
        let (end, overflow) = address.rawValue.addingReportingOverflow(length)
        return !overflow && end <= size
    }

    /// True when `frame` is a frame of machine RAM.
    @inlinable public func contains(_ frame: MachineFrame) -> Bool { frame.rawValue < frameCount }

    /// A host pointer to `length` bytes at `address`, or nil when any byte is outside RAM.
    @inlinable public func pointer(to address: MachineAddress, length: UInt64) -> UnsafeMutableRawPointer? {
        guard contains(address, length: length) else { return nil }
        return base + Int(address.rawValue)
    }

    /// A host pointer to the first byte of `frame`, or nil when it is not a frame of RAM.
    @inlinable public func pointer(to frame: MachineFrame) -> UnsafeMutableRawPointer? {
        guard contains(frame) else { return nil }
        return base + Int(frame.rawValue << pageShift)
    }

    /// Reads a little-endian integer; nil when out of range.
    @inlinable public func load<T: FixedWidthInteger>(_: T.Type, at address: MachineAddress) -> T? {
        guard let p = pointer(to: address, length: UInt64(MemoryLayout<T>.size)) else { return nil }
        return T(littleEndian: p.loadUnaligned(as: T.self))
    }

    /// Writes a little-endian integer and marks the frame dirty; false when out of range.
    @discardableResult
    @inlinable public func store<T: FixedWidthInteger>(_ value: T, at address: MachineAddress) -> Bool {
        let length = UInt64(MemoryLayout<T>.size)
        guard let p = pointer(to: address, length: length) else { return false }
        p.storeBytes(of: value.littleEndian, as: T.self)
        noteWrite(address, length: length)
        return true
    }

    /// Copies bytes into RAM; false (and nothing written) when any byte is out of range.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>, at address: MachineAddress) -> Bool {
        guard let p = pointer(to: address, length: UInt64(bytes.count)) else { return false }
        var i = 0
        for b in bytes {
            p.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
            i += 1
        }
        noteWrite(address, length: UInt64(bytes.count))
        return true
    }

    /// Copies bytes out of RAM; nil when any byte is out of range.
    public func read(at address: MachineAddress, count: Int) -> [UInt8]? {
        guard count >= 0, let p = pointer(to: address, length: UInt64(count)) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }

    /// Fills a frame with zeroes; false when it is not a frame of RAM.
    @discardableResult
    public func zero(_ frame: MachineFrame) -> Bool {
        guard let p = pointer(to: frame) else { return false }
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Int(pageSize))
        noteWrite(frame.address, length: pageSize)
        return true
    }

    /// Records a host-side write of `[address, address+length)`: marks frames dirty and
    /// invalidates decoded code in them. Callers have already bounds-checked the range.
    @inlinable public func noteWrite(_ address: MachineAddress, length: UInt64) {
        guard length > 0 else { return }
        let first = address.rawValue >> pageShift
        let last = (address.rawValue + length - 1) >> pageShift
        var f = first
        while f <= last {
            dirtyLog.set(f)
            codeWatch.noteWrite(frame: f)
            f += 1
        }
    }
}
