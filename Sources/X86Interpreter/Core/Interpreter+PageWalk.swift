import GuestMemory
import X86

/// A one-entry paging-structure cache: the L1 table of the last 2 MiB region walked and the
/// rights its upper levels grant, with the walk's settings (valid while the TLB generation is
/// unchanged, and every change of CR0, CR4 or EFER flushes the TLB).
struct WalkCache {
    /// Linear address >> 21 of the cached region, or ~0.
    var region: UInt64 = ~0
    var generation: UInt32 = 0
    /// Guest-physical address of the L1 table.
    var table: UInt64 = 0
    /// Its host address when physical addresses are machine addresses (else nil: the p2m is
    /// consulted on every walk).
    var tableHost: UnsafeMutableRawPointer? = nil
    /// Reserved bits of an L1 entry.
    var reserved: UInt64 = 0
    var writable = false
    var user = false
    var noExecute = false
    /// EFER.NXE, CR0.WP and CR4.PGE when the cache was filled.
    var nxe = false
    var writeProtect = false
    var globalPages = false
}

struct Translation {
    var frame: UInt64
    var host: UnsafeMutableRawPointer
    var global: Bool
    /// The access rights the whole walk grants (for filling the other TLBs).
    var writable: Bool
}

extension Interpreter {
    /// Host pointer to the 8-byte paging-structure entry at guest-physical `address`.
    @inline(__always)
    func physicalPointer(_ physical: UInt64, isWrite: Bool) throws(CPUEvent) -> (UnsafeMutableRawPointer, UInt64) {
        let pframe = physical >> 12
        let mframe: UInt64
        if identityTranslation {
            mframe = pframe
        } else if let f = translation.machineFrame(forPhysicalFrame: pframe) {
            mframe = f.rawValue
        } else {
            throw .exit(.physicalAccessFault(physicalAddress: physical, isWrite: isWrite))
        }
        guard let p = ram.pointer(to: mframe) else {
            throw .exit(.physicalAccessFault(physicalAddress: physical, isWrite: isWrite))
        }
        return (p + Int(physical & 0xFFF), mframe)
    }

    /// Walks the 4-level page tables for `linear` as the CPU does for `access` at the given
    /// privilege, checking reserved bits and permissions and setting accessed/dirty bits.
    /// Throws #PF with the architectural error code, #GP for non-canonical addresses.
    func walk(_ linear: UInt64, access: MemoryAccessKind, user: Bool) throws(CPUEvent) -> Translation {
        if let t = walkCached(linear, access: access, user: user) { return t }
        return try walkFull(linear, access: access, user: user)
    }

    /// The walk without the paging-structure cache's shortcut (see `walk`).
    func walkFull(_ linear: UInt64, access: MemoryAccessKind, user: Bool) throws(CPUEvent) -> Translation {
        guard isCanonical(linear) else { throw .fault(.generalProtection(0)) }
        let isWrite = access == .write
        var code: PageFaultErrorCode = []
        if isWrite { code.insert(.write) }
        if user { code.insert(.user) }
        let nxe = arch.efer.contains(.noExecuteEnable)
        if access == .execute && nxe { code.insert(.instructionFetch) }

        guard arch.cr0.contains(.paging) else {
            let (p, f) = try physicalPointer(linear & ~0xFFF, isWrite: isWrite)
            return Translation(frame: f, host: p, global: false, writable: true)
        }
        // Bits 51..46 of addresses and, without EFER.NXE, bit 63 are reserved.
        var reserved: UInt64 = 0x000F_C000_0000_0000
        if !nxe { reserved |= PTE.noExecute }
        var table = arch.cr3 & PTE.addressMask
        var writable = true
        var userOK = true
        var noExec = false
        // The entries visited, for the accessed/dirty updates (no allocation on a walk).
        var visited: (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) = (nil, nil, nil, nil)
        var visitedCount = 0
        var level = 4
        if walkCache.region == linear >> 21 && walkCache.generation == tlb.generation {
            // Upper levels were walked (and their accessed bits set) under this generation.
            level = 1
            table = walkCache.table
            writable = walkCache.writable
            userOK = walkCache.user
            noExec = walkCache.noExecute
        }
        var leaf: UInt64 = 0
        var pageBase: UInt64 = 0
        while true {
            let index = (linear >> (12 + 9 * UInt64(level - 1))) & 511
            let (ptr, _) = try physicalPointer(table + index * 8, isWrite: false)
            let entry = ptr.load(as: UInt64.self)
            guard entry & PTE.present != 0 else {
                throw .fault(.pageFault(address: linear, code: code))
            }
            var levelReserved = reserved
            let isLarge = (level == 2 || level == 3) && entry & PTE.pageSize != 0
            if level == 4 { levelReserved |= PTE.pageSize }
            if isLarge { levelReserved |= level == 3 ? 0x3FFF_E000 : 0x1F_E000 }
            if entry & levelReserved != 0 {
                throw .fault(.pageFault(address: linear, code: code.union([.present, .reservedBit])))
            }
            writable = writable && entry & PTE.writable != 0
            userOK = userOK && entry & PTE.user != 0
            noExec = noExec || (nxe && entry & PTE.noExecute != 0)
            switch visitedCount {
            case 0: visited.0 = ptr
            case 1: visited.1 = ptr
            case 2: visited.2 = ptr
            default: visited.3 = ptr
            }
            visitedCount += 1
            if level == 1 || isLarge {
                leaf = entry
                let pageBits = UInt64(12 + 9 * (level - 1))
                let frameMask = PTE.addressMask & ~((UInt64(1) << pageBits) - 1)
                pageBase = (entry & frameMask) | (linear & ((UInt64(1) << pageBits) - 1) & ~0xFFF)
                break
            }
            table = entry & PTE.addressMask
            level -= 1
            if level == 1 {
                let tableHost = identityTranslation ? ram.pointer(to: table >> 12) : nil
                walkCache = WalkCache(
                    region: linear >> 21, generation: tlb.generation, table: table, tableHost: tableHost,
                    reserved: reserved, writable: writable, user: userOK, noExecute: noExec, nxe: nxe,
                    writeProtect: arch.cr0.contains(.writeProtect), globalPages: arch.cr4.contains(.pageGlobalEnable))
            }
        }
        // Permissions (SDM 4.6): user accesses need U/S everywhere; writes need R/W unless a
        // supervisor write with CR0.WP clear; fetches need NX clear.
        var allowed = true
        if user && !userOK { allowed = false }
        if isWrite && !writable && (user || arch.cr0.contains(.writeProtect)) { allowed = false }
        if access == .execute && noExec { allowed = false }
        guard allowed else {
            throw .fault(.pageFault(address: linear, code: code.union(.present)))
        }
        // Accessed bits on every level, dirty on the leaf for writes (atomically: other vCPUs
        // and the hypervisor may be updating the same entries).
        for i in 0..<visitedCount {
            let isLeaf = i == visitedCount - 1
            let p: UnsafeMutableRawPointer? = switch i {
            case 0: visited.0
            case 1: visited.1
            case 2: visited.2
            default: visited.3
            }
            guard let p else { continue }
            let bits = PTE.accessed | (isLeaf && isWrite ? PTE.dirty : 0)
            var old = p.load(as: UInt64.self)
            while old & bits != bits {
                let seen = PhysicalMemory.compareExchange64(p, expected: old, desired: old | bits)
                if seen == old { break }
                old = seen
            }
        }
        let (host, frame) = try physicalPointer(pageBase, isWrite: isWrite)
        let global = leaf & PTE.global != 0 && arch.cr4.contains(.pageGlobalEnable)
        let effectiveWritable = writable || (!user && !arch.cr0.contains(.writeProtect))
        return Translation(frame: frame, host: host, global: global, writable: effectiveWritable)
    }

    /// The common case of a walk, from the paging-structure cache with nothing to update: the
    /// L1 entry is present with no reserved bits, already accessed (and dirty for a write),
    /// and grants the access. Returns nil for everything else (the full walk decides).
    @inline(always)
    func walkCached(_ linear: UInt64, access: MemoryAccessKind, user: Bool) -> Translation? {
        guard walkCache.region == linear >> 21, walkCache.generation == tlb.generation,
            let table = walkCache.tableHost
        else { return nil }
        let c = walkCache
        let entry = (table + Int((linear >> 12) & 511) * 8).load(as: UInt64.self)
        let isWrite = access == .write
        let needed = PTE.present | PTE.accessed | (isWrite ? PTE.dirty : 0)
        guard entry & needed == needed, entry & c.reserved == 0 else { return nil }
        if user && !(c.user && entry & PTE.user != 0) { return nil }
        let writable = c.writable && entry & PTE.writable != 0
        if isWrite && !writable && (user || c.writeProtect) { return nil }
        if access == .execute && (c.noExecute || (c.nxe && entry & PTE.noExecute != 0)) { return nil }
        // Identity translation (tableHost is set only then): the frame is a machine frame.
        let frame = (entry & PTE.addressMask) >> 12
        guard let host = ram.pointer(to: frame) else { return nil }
        return Translation(
            frame: frame, host: host, global: entry & PTE.global != 0 && c.globalPages,
            writable: writable || (!user && !c.writeProtect))
    }
}
