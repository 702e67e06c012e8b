import GuestMemory
import Toolstack

/// A domain's memory as a dictionary of pages keyed by machine frame, with a p2m that is
/// deliberately not the identity (pfn i → machine frame `base + pages - 1 - i`), and
/// optional holes. Absent pages read as zeros, so zeroing costs nothing.
final class TestMemory: PVBuildMemory {
    let pages: UInt64
    let base: UInt64
    var holes: Set<UInt64> = []
    private(set) var store: [UInt64: [UInt8]] = [:]
    private(set) var writes = 0

    init(pages: UInt64, base: UInt64 = 0x10_0000) {
        self.pages = pages
        self.base = base
    }

    func machineFrame(of frame: GuestFrame) -> MachineFrame? {
        guard frame.rawValue < pages, !holes.contains(frame.rawValue) else { return nil }
        return MachineFrame(base + pages - 1 - frame.rawValue)
    }

    /// The pfn backed by machine frame `mfn`, if any.
    func pfn(ofMachineFrame mfn: UInt64) -> UInt64? {
        guard mfn >= base, mfn < base + pages else { return nil }
        let pfn = base + pages - 1 - mfn
        return holes.contains(pfn) ? nil : pfn
    }

    func write(_ bytes: UnsafeRawBufferPointer, to frame: GuestFrame, offset: Int) throws(BuilderError) {
        guard offset >= 0, bytes.count <= 4096 - offset else {
            throw .writeFailed(frame, reason: "crosses the page")
        }
        guard let mfn = machineFrame(of: frame) else { throw .frameNotPopulated(frame) }
        var page = store.removeValue(forKey: mfn.rawValue) ?? [UInt8](repeating: 0, count: 4096)
        page.withUnsafeMutableBytes { target in
            if let source = bytes.baseAddress, bytes.count > 0 {
                (target.baseAddress! + offset).copyMemory(from: source, byteCount: bytes.count)
            }
        }
        store[mfn.rawValue] = page
        writes += 1
    }

    func zero(_ frame: GuestFrame) throws(BuilderError) {
        guard let mfn = machineFrame(of: frame) else { throw .frameNotPopulated(frame) }
        store[mfn.rawValue] = nil
    }

    func readMachine(_ mfn: UInt64) -> [UInt8] { store[mfn] ?? [UInt8](repeating: 0, count: 4096) }

    func read(pfn: UInt64) -> [UInt8] {
        guard let mfn = machineFrame(of: GuestFrame(pfn)) else { return [] }
        return readMachine(mfn.rawValue)
    }

    /// `count` bytes starting at byte `offset` of pfn `pfn`, across pages.
    func read(pfn: UInt64, offset: Int, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var position = offset
        while out.count < count {
            let page = read(pfn: pfn + UInt64(position / 4096))
            let inPage = position % 4096
            let n = min(4096 - inPage, count - out.count)
            out += page[inPage..<inPage + n]
            position += n
        }
        return out
    }

    func isAllZero(pfn: UInt64) -> Bool {
        guard let mfn = machineFrame(of: GuestFrame(pfn)) else { return false }
        return store[mfn.rawValue]?.allSatisfy { $0 == 0 } ?? true
    }
}
