import X86
import XenABI

/// Segment descriptors as Xen lets 64-bit PV guests use them.
enum SegmentDescriptors {
    /// Xen: check_descriptor() (arch/x86/pv/descriptor-tables.c) for a 64-bit guest.
    /// Returns the descriptor as installed (DPL raised so no ring-0 segment exists; a call
    /// gate's DPL moved into its selector's RPL and forced to 0 so that every use faults
    /// and is emulated), or nil when the descriptor is refused.
    static func check(_ descriptor: UInt64) -> UInt64? {
        var a = UInt32(truncatingIfNeeded: descriptor)
        var b = UInt32(truncatingIfNeeded: descriptor >> 32)
        let present: UInt32 = 1 << 15
        // A not-present descriptor always faults on use: safe as it is.
        guard b & present != 0 else { return descriptor }
        var dpl = (b >> 13) & 3
        // Xen: __fixup_guest_selector — nothing below ring 3 for a 64-bit guest's segments.
        if dpl < 3 { dpl = 3 }
        b = (b & ~(3 << 13)) | (dpl << 13)
        let codeOrData: UInt32 = 1 << 12
        if b & codeOrData != 0 {
            return UInt64(a) | UInt64(b) << 32
        }
        let type = b & 0xF00
        // Type 0 is harmless: the second half of a 64-bit call gate.
        if type == 0 { return descriptor }
        // Everything but a 64-bit call gate is refused (TSS, LDT, interrupt/trap gates).
        guard type == 0xC00 else { return nil }
        let targetSelector = UInt16(truncatingIfNeeded: a >> 16)
        guard guestGateSelectorOkay(targetSelector) else { return nil }
        b &= ~(3 << 13)
        let selector = (UInt32(targetSelector) & ~3) | dpl
        a = (a & 0xFFFF) | (selector << 16)
        // Reserved bits (7:0 of the high word) must be zero.
        guard b & 0xFF == 0 else { return nil }
        return UInt64(a) | UInt64(b) << 32
    }

    /// Xen: guest_gate_selector_okay() (asm/desc.h) — a call gate may target the guest's own
    /// GDT entries, any LDT selector, or exactly FLAT_KERNEL_CS for a 64-bit guest.
    static func guestGateSelectorOkay(_ selector: UInt16) -> Bool {
        Int(selector >> 3) < FlatSelector.firstReservedGDTEntry || selector == FlatSelector.code64 || selector & 4 != 0
    }

    /// Xen's reserved GDT entries as 64-bit PV guests see them, by selector (xen-abi §2.10).
    /// Xen: the gdt_table entries at FIRST_RESERVED_GDT_ENTRY.
    static let reserved: [(selector: UInt16, descriptor: UInt64)] = [
        (0xE008, 0x00AF_9B00_0000_FFFF),  // Xen CS64, ring 0
        (0xE010, 0x00CF_9300_0000_FFFF),  // Xen DS, ring 0
        (0xE020, 0x00CF_FB00_0000_FFFF),  // ring-3 32-bit code (FLAT_USER_CS32)
        (0xE028, 0x00CF_F300_0000_FFFF),  // ring-3 data / stack (FLAT_*_SS, DS32)
        (0xE030, 0x00AF_FB00_0000_FFFF),  // ring-3 64-bit code (FLAT_KERNEL_CS64)
    ]

    /// The descriptor-cache form of a code or data descriptor (what a segment load puts in
    /// the hidden part of the register); nil for system descriptors and not-present ones.
    static func segment(selector: UInt16, descriptor: UInt64) -> Segment? {
        let high = UInt32(truncatingIfNeeded: descriptor >> 32)
        guard high & (1 << 15) != 0, high & (1 << 12) != 0 else { return nil }
        let base = UInt64((descriptor >> 16) & 0xFF_FFFF) | UInt64(high >> 24) << 24
        var limit = UInt32(truncatingIfNeeded: descriptor & 0xFFFF) | (high & 0xF_0000)
        if high & (1 << 23) != 0 { limit = limit << 12 | 0xFFF }
        let attributes = (high >> 8) & 0xF0FF
        return Segment(selector: selector, base: base, limit: limit, attributes: attributes)
    }
}
