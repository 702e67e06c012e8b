/// A segment register by its encoding number (ES, CS, SS, DS, FS, GS order).
public enum SegmentRegister: Int, CaseIterable, Sendable {
    case es = 0, cs, ss, ds, fs, gs
}

/// The hidden part of a segment register: what the CPU caches from a descriptor.
public struct Segment: Equatable, Sendable {
    public var selector: UInt16
    public var base: UInt64
    public var limit: UInt32
    /// Descriptor attributes in VMX access-rights layout: bits 0-3 type, 4 S, 5-6 DPL,
    /// 7 P, 12 AVL, 13 L, 14 D/B, 15 G. Bit 16 set means "unusable" (null selector).
    public var attributes: UInt32

    public init(selector: UInt16 = 0, base: UInt64 = 0, limit: UInt32 = 0xFFFF_FFFF, attributes: UInt32 = 0) {
        self.selector = selector
        self.base = base
        self.limit = limit
        self.attributes = attributes
    }

    public var type: UInt8 { UInt8(attributes & 0xF) }
    public var dpl: UInt8 { UInt8((attributes >> 5) & 3) }
    public var present: Bool { attributes & 0x80 != 0 }
    public var longMode: Bool { attributes & 0x2000 != 0 }
    public var defaultBig: Bool { attributes & 0x4000 != 0 }
    public var usable: Bool { attributes & 0x1_0000 == 0 }

    /// A 64-bit code segment at the given privilege level (L=1, present, execute/read).
    public static func longCode(selector: UInt16, dpl: UInt8) -> Segment {
        Segment(selector: selector, base: 0, limit: 0xFFFF_FFFF,
                attributes: 0xB | 0x10 | (UInt32(dpl & 3) << 5) | 0x80 | 0x2000 | 0x8000)
    }

    /// A flat read/write data segment at the given privilege level.
    public static func flatData(selector: UInt16, dpl: UInt8) -> Segment {
        Segment(selector: selector, base: 0, limit: 0xFFFF_FFFF,
                attributes: 0x3 | 0x10 | (UInt32(dpl & 3) << 5) | 0x80 | 0x4000 | 0x8000)
    }

    /// A null selector loaded into a data segment register (usable only as FS/GS base carrier).
    public static func null(selector: UInt16 = 0) -> Segment {
        Segment(selector: selector, base: 0, limit: 0, attributes: 0x1_0000)
    }
}

/// GDTR / IDTR.
public struct DescriptorTableRegister: Equatable, Sendable {
    public var base: UInt64
    public var limit: UInt16
    public init(base: UInt64 = 0, limit: UInt16 = 0xFFFF) {
        self.base = base
        self.limit = limit
    }
}
