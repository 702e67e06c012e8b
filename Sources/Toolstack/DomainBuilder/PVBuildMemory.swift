import GuestMemory

/// The new domain's memory as the builder sees it: the p2m the hypervisor made when it
/// populated the domain, and page-sized writes by pseudo-physical frame. This is all the
/// builder touches, so it can be tested against a dictionary and driven against real RAM.
/// (Xen: the builder's `xc_dom_p2m` and its foreign mappings of the new domain's pages.)
///
/// The builder expects freshly populated, zero-filled frames: it zeroes what Xen's builder
/// zeroes (segments, the xenstore and console pages, start_info) and leaves padding alone.
public protocol PVBuildMemory {
    /// The machine frame backing `frame`, or nil for a hole or a frame beyond the domain.
    func machineFrame(of frame: GuestFrame) -> MachineFrame?
    /// Writes `bytes` into `frame` at `offset`; `offset + bytes.count` is at most 4096.
    func write(_ bytes: UnsafeRawBufferPointer, to frame: GuestFrame, offset: Int) throws(BuilderError)
    /// Fills `frame` with zeros.
    func zero(_ frame: GuestFrame) throws(BuilderError)
}

extension PVBuildMemory {
    /// Writes `bytes` starting at byte `offset` of the pseudo-physical range beginning at
    /// `frame`, splitting at page boundaries.
    func write(_ bytes: ArraySlice<UInt8>, startingAt frame: GuestFrame, offset: UInt64) throws(BuilderError) {
        var done = 0
        var position = offset
        while done < bytes.count {
            let page = GuestFrame(frame.rawValue + position / 4096)
            let inPage = Int(position % 4096)
            let count = Swift.min(4096 - inPage, bytes.count - done)
            let start = bytes.startIndex + done
            var failure: BuilderError?
            bytes[start..<start + count].withUnsafeBytes { chunk in
                do throws(BuilderError) { try write(chunk, to: page, offset: inPage) } catch { failure = error }
            }
            if let failure { throw failure }
            done += count
            position += UInt64(count)
        }
    }

    func write(_ bytes: [UInt8], to frame: GuestFrame) throws(BuilderError) {
        try write(bytes[...], startingAt: frame, offset: 0)
    }

    /// The machine frame of `frame`, or an error naming the unpopulated frame.
    func requireMachineFrame(of frame: GuestFrame) throws(BuilderError) -> MachineFrame {
        guard let machine = machineFrame(of: frame) else { throw .frameNotPopulated(frame) }
        return machine
    }
}

/// Domain memory backed by machine RAM and a p2m array (`p2m[pfn]` = machine frame, nil
/// for a hole): what `kite run` has after populating a domain.
public struct PhysicalBuildMemory: PVBuildMemory {
    public let ram: PhysicalMemory
    public let p2m: [MachineFrame?]

    public init(ram: PhysicalMemory, p2m: [MachineFrame?]) {
        self.ram = ram
        self.p2m = p2m
    }

    public func machineFrame(of frame: GuestFrame) -> MachineFrame? {
        guard frame.rawValue < UInt64(p2m.count), let machine = p2m[Int(frame.rawValue)],
              ram.contains(machine) else { return nil }
        return machine
    }

    public func write(_ bytes: UnsafeRawBufferPointer, to frame: GuestFrame, offset: Int) throws(BuilderError) {
        guard offset >= 0, offset <= 4096, bytes.count <= 4096 - offset else {
            throw .writeFailed(frame, reason: "\(bytes.count) bytes at offset \(offset) cross the page")
        }
        guard let machine = machineFrame(of: frame), let page = ram.pointer(to: machine) else {
            throw .frameNotPopulated(frame)
        }
        if let source = bytes.baseAddress, bytes.count > 0 {
            (page + offset).copyMemory(from: source, byteCount: bytes.count)
            ram.noteWrite(MachineAddress(machine.address.rawValue + UInt64(offset)), length: UInt64(bytes.count))
        }
    }

    public func zero(_ frame: GuestFrame) throws(BuilderError) {
        guard let machine = machineFrame(of: frame), ram.zero(machine) else { throw .frameNotPopulated(frame) }
    }
}
