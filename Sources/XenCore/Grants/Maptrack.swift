import XenABI

/// One mapping a domain holds of another domain's grant. Xen: `struct grant_mapping`.
/// The granting table is held strongly: a mapping outlives the granting domain's
/// destruction and must still be able to unpin its entry (Xen keeps a dying domain's
/// struct alive while any of its pages is referenced).
struct MaptrackEntry {
    var ref: UInt32
    var kind: MappingKind
    let granter: GrantTable
}

/// A domain's table of mappings of foreign grants; the index is the handle returned by map.
/// It grows a "frame" of 256 slots at a time up to the domain's maptrack limit, as Xen's
/// grows by pages. Freed handles are reused last-in first-out.
/// Xen: the maptrack table and its free lists (get_maptrack_handle, put_maptrack_handle).
struct Maptrack {
    private(set) var entries: [MaptrackEntry?] = []
    private var free: [UInt32] = []
    /// Xen: max_maptrack_frames.
    var maximumFrames: UInt32

    init(maximumFrames: UInt32) { self.maximumFrames = maximumFrames }

    /// Xen: maptrack_limit — handles below it exist.
    var limit: UInt32 { UInt32(entries.count) }

    /// Handles in use.
    var inUse: Int { entries.count - free.count }

    /// A free handle, growing the table by one frame if allowed; nil when exhausted.
    /// The slot stays empty until `record`. Xen: get_maptrack_handle.
    mutating func allocate() -> UInt32? {
        if let h = free.popLast() { return h }
        let perFrame = GrantTableLimits.maptrackEntriesPerFrame
        let frames = UInt32(entries.count) / perFrame
        guard frames < maximumFrames else { return nil }
        let first = UInt32(entries.count)
        entries.append(contentsOf: repeatElement(nil, count: Int(perFrame)))
        // Hand out the lowest new handle first.
        free.append(contentsOf: (first + 1..<first + perFrame).reversed())
        return first
    }

    /// Fills an allocated slot.
    mutating func record(_ handle: UInt32, _ entry: MaptrackEntry) {
        guard handle < limit else { return }
        entries[Int(handle)] = entry
    }

    /// The mapping behind `handle`, if any.
    subscript(_ handle: UInt32) -> MaptrackEntry? {
        handle < limit ? entries[Int(handle)] : nil
    }

    /// Updates a live mapping's kind (a partial unmap).
    mutating func setKind(_ handle: UInt32, _ kind: MappingKind) {
        guard handle < limit, entries[Int(handle)] != nil else { return }
        entries[Int(handle)]?.kind = kind
    }

    /// Returns a handle to the free list, its slot emptied. Xen: put_maptrack_handle.
    mutating func release(_ handle: UInt32) {
        guard handle < limit else { return }
        entries[Int(handle)] = nil
        free.append(handle)
    }

    /// Every live mapping, emptied (domain death). Xen: gnttab_release_mappings' walk.
    mutating func takeAll() -> [(UInt32, MaptrackEntry)] {
        var all: [(UInt32, MaptrackEntry)] = []
        for (i, e) in entries.enumerated() {
            guard let e else { continue }
            all.append((UInt32(i), e))
            entries[i] = nil
            free.append(UInt32(i))
        }
        return all
    }
}
