/// Page-table entry bits and masks Xen uses to validate 64-bit PV page tables
/// (xen/arch/x86/mm.c, asm/x86_64/page.h, pv/mm.h). Entries are raw 64-bit values.
enum PVEntry {
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    static let user: UInt64 = 1 << 2
    static let writeThrough: UInt64 = 1 << 3
    static let cacheDisable: UInt64 = 1 << 4
    static let accessed: UInt64 = 1 << 5
    static let dirty: UInt64 = 1 << 6
    /// PSE in L2/L3 entries, PAT in L1 entries.
    static let pageSize: UInt64 = 1 << 7
    static let global: UInt64 = 1 << 8
    /// Xen: _PAGE_AVAIL (bits 9-11).
    static let available: UInt64 = 0xE00
    /// Xen: _PAGE_AVAIL_HIGH (bits 52-62).
    static let availableHigh: UInt64 = 0x7FF0_0000_0000_0000
    static let noExecute: UInt64 = 1 << 63
    /// Xen: _PAGE_GUEST_KERNEL — software bit 52 marking a guest-kernel mapping, which Xen
    /// must make user-accessible because the PV kernel runs at CPL 3.
    static let guestKernel: UInt64 = 1 << 52
    /// Xen: PADDR_MASK & PAGE_MASK — the frame bits of an entry (12-51).
    static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000

    /// Xen: base_disallow_mask — every flag but P, RW, US, A, D, AVAIL, AVAIL_HIGH and NX,
    /// which leaves PWT, PCD, PSE and G. Used for L2, L3 and L4 entries.
    static let baseDisallow: UInt64 = writeThrough | cacheDisable | pageSize | global
    /// Xen: l1_disallow_mask(d) for a domain without I/O rights — G is allowed, the cache
    /// attributes (PWT, PCD, PAT) are not. (_PAGE_GNTTAB is 0 in release builds.)
    static let l1Disallow: UInt64 = baseDisallow & ~global
    /// Xen: L2_DISALLOW_MASK, l3_disallow_mask(d) for a 64-bit guest, L4_DISALLOW_MASK.
    static let upperDisallow: UInt64 = baseDisallow

    /// Xen: `l1e_has_changed(old, new, ~FASTPATH_FLAG_WHITELIST)` — the bits whose change
    /// requires re-validation: the frame and every flag outside NX, AVAIL_HIGH, AVAIL, G, D,
    /// A and US (that is P, RW, PWT, PCD, PSE/PAT).
    static let revalidateMask: UInt64 = addressMask | present | writable | writeThrough | cacheDisable | pageSize

    /// Xen: `l1e_get_pfn` — the frame an entry names (bits 12-51).
    @inline(__always) static func frame(_ entry: UInt64) -> UInt64 { (entry & addressMask) >> 12 }

    /// Xen: `(PADDR_MASK >> PAGE_SHIFT)` — INVALID_MFN as it appears in an entry; mapping it
    /// fails with -EINVAL instead of the -EPERM of other non-RAM frames.
    static let invalidFrameInEntry: UInt64 = addressMask >> 12
}

/// The L4 slots Xen keeps for itself in every 64-bit PV top-level table.
/// Xen: ROOT_PAGETABLE_FIRST_XEN_SLOT ... ROOT_PAGETABLE_LAST_XEN_SLOT (asm/config.h).
enum XenL4Slots {
    static let first = 256
    static let last = 271
    /// Xen: RO_MPT_VIRT_START — the read-only machine-to-phys table (user readable).
    static let machineToPhys = 256
    /// Xen: PERDOMAIN_VIRT_START — Kite's per-domain area (supervisor only).
    static let perDomain = 260
    /// Xen: is_guest_l4_slot(d, s) for a 64-bit domain.
    @inline(__always) static func isGuestSlot(_ slot: Int) -> Bool { slot < first || slot > last }
}

/// Xen's adjustments of guest entries for 64-bit PV (adjust_guest_l*e, pv/mm.h): the guest
/// kernel runs at CPL 3, so every mapping must be user-accessible.
enum PVAdjust {
    /// Xen: adjust_guest_l1e — a kernel page (US clear) gets US and the guest-kernel bit; a
    /// user page gets US and G.
    @inline(__always) static func l1(_ e: UInt64) -> UInt64 {
        guard e & PVEntry.present != 0 else { return e }
        var e = e
        if e & PVEntry.user == 0 { e |= PVEntry.guestKernel | PVEntry.user }
        if e & PVEntry.guestKernel == 0 { e |= PVEntry.global | PVEntry.user }
        return e
    }
    /// Xen: adjust_guest_l2e / adjust_guest_l3e — US.
    @inline(__always) static func l2or3(_ e: UInt64) -> UInt64 {
        e & PVEntry.present != 0 ? e | PVEntry.user : e
    }
    /// Xen: adjust_guest_l4e — A and US.
    @inline(__always) static func l4(_ e: UInt64) -> UInt64 {
        e & PVEntry.present != 0 ? e | PVEntry.accessed | PVEntry.user : e
    }
}

/// Xen: `__addr_ok(addr)` for 64-bit guests — below 2^48 or above Xen's L4 slots.
@inline(__always) func pvAddressOK(_ linear: UInt64) -> Bool {
    linear < (1 << 48) || linear >= 0xFFFF_8800_0000_0000
}

/// Canonical 48-bit address (Xen: is_canonical_address).
@inline(__always) func pvIsCanonical(_ linear: UInt64) -> Bool {
    let top = linear >> 47
    return top == 0 || top == 0x1_FFFF
}
