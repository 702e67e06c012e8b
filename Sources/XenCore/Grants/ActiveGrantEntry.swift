import XenABI

/// Kite's shadow of a grant entry while it is in use: how many mappings and copies pin it,
/// for whom, and which frame they use. The guest may rewrite its shared entry at any time;
/// once pinned, only this shadow counts. Xen: `struct active_grant_entry` (common/grant_table.c).
struct ActiveGrantEntry {
    /// Four 8-bit counts: host writable, host read-only, device writable, device read-only.
    /// Xen: act->pin with the GNTPIN_* fields.
    var pin: UInt32 = 0
    /// The domain the pins belong to. Xen: act->domid.
    var grantee: UInt16 = 0
    /// The machine frame the pins use. Xen: act->mfn.
    var frame: UInt64 = 0

    var isPinned: Bool { pin != 0 }
    /// Xen: act->pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask).
    var hasWritablePins: Bool { pin & (GrantPin.hostWritableMask | GrantPin.deviceWritableMask) != 0 }
    /// Xen: act->pin & 0x80808080U — one more pin could overflow a field.
    var isNearOverflow: Bool { pin & GrantPin.overflowMask != 0 }
}

/// The pin-count fields. Xen: GNTPIN_* (common/grant_table.c).
enum GrantPin {
    /// Xen: GNTPIN_hstw_inc / _mask
    static let hostWritable: UInt32 = 1 << 0
    static let hostWritableMask: UInt32 = 0xFF << 0
    /// Xen: GNTPIN_hstr_inc / _mask
    static let hostReadOnly: UInt32 = 1 << 8
    static let hostReadOnlyMask: UInt32 = 0xFF << 8
    /// Xen: GNTPIN_devw_inc / _mask
    static let deviceWritable: UInt32 = 1 << 16
    static let deviceWritableMask: UInt32 = 0xFF << 16
    /// Xen: GNTPIN_devr_inc / _mask
    static let deviceReadOnly: UInt32 = 1 << 24
    static let deviceReadOnlyMask: UInt32 = 0xFF << 24
    static let overflowMask: UInt32 = 0x8080_8080

    /// What one map request adds to the pin. Xen: map_grant_ref's pin_incr.
    static func increment(for flags: GrantMapFlags) -> UInt32 {
        let readOnly = flags.contains(.readOnly)
        var pin: UInt32 = 0
        if flags.contains(.deviceMap) { pin += readOnly ? deviceReadOnly : deviceWritable }
        if flags.contains(.hostMap) { pin += readOnly ? hostReadOnly : hostWritable }
        return pin
    }
}

/// What a mapping is made of: Xen's maptrack flags (the low 16 bits of the map request's
/// GNTMAP flags: device/host map, read-only, application map, contains-PTE).
struct MappingKind: Equatable {
    var flags: GrantMapFlags

    init(_ flags: GrantMapFlags) { self.flags = GrantMapFlags(rawValue: flags.rawValue & 0xFFFF) }

    var isReadOnly: Bool { flags.contains(.readOnly) }
    var device: Bool { flags.contains(.deviceMap) }
    var host: Bool { flags.contains(.hostMap) }
    var isMapped: Bool { device || host }
}
