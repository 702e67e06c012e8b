import XenABI

/// What a Xen PV kernel says about itself (its Xen ELF notes, or a legacy `__xen_guest`
/// section) after libelf's defaults and sanity checks (`elf_xen_parse`,
/// `elf_xen_note_check`, `elf_xen_addr_calc_check`) and the builder's feature checks.
public struct XenKernelInfo: Equatable, Sendable {
    /// Where the information came from.
    public enum Source: Equatable, Sendable {
        /// Xen ELF notes in PT_NOTE segments.
        case noteSegments
        /// Xen ELF notes in SHT_NOTE sections (no PT_NOTE carried any).
        case noteSections
        /// The legacy `__xen_guest` section.
        case legacyGuestInfo
    }

    public var source: Source
    /// Entry point (ENTRY note, else `e_entry`). Xen: parms->virt_entry
    public var entry: UInt64
    /// Virtual address of pseudo-physical 0. Xen: parms->virt_base
    public var virtBase: UInt64
    /// Xen: parms->elf_paddr_offset
    public var paddrOffset: UInt64
    /// Virtual address of the hypercall page, if the kernel asks for one. Xen: parms->virt_hypercall
    public var hypercallPage: UInt64?
    /// INIT_P2M as given by the kernel (the layout may still decline it). Xen: parms->p2m_base
    public var initP2M: UInt64?
    /// MOD_START_PFN: the ramdisk is left unmapped. Xen: parms->unmapped_initrd
    public var modStartPFN: Bool
    /// Xen: parms->virt_hv_start_low
    public var hvStartLow: UInt64?
    /// PHYS32_ENTRY (PVH entry point; informational for PV). Xen: parms->phys_entry
    public var phys32Entry: UInt64?
    public var suspendCancel: Bool
    /// L1_MFN_VALID mask/value pair, informational.
    public var l1MFNValid: [UInt64]
    public var xenVersion: String
    public var guestOS: String
    public var guestVersion: String
    public var loader: String
    public var paeMode: String?
    /// Features the kernel supports: FEATURES names plus the SUPPORTED_FEATURES bitmap.
    /// Xen: parms->f_supported
    public var supportedFeatures: XenFeatureSet
    /// Features the kernel marks `!` (required). Xen: parms->f_required
    public var requiredFeatures: XenFeatureSet
    /// The SUPPORTED_FEATURES note alone, if present.
    public var supportedFeaturesNote: XenFeatureSet?
    /// Lowest and highest `p_paddr` of the loadable segments. Xen: elf->pstart / elf->pend
    public var physicalStart: UInt64
    public var physicalEnd: UInt64
    /// Kernel's virtual extent. Xen: parms->virt_kstart / parms->virt_kend
    public var kernelStart: UInt64
    public var kernelEnd: UInt64
    /// `XENVER_capabilities` token of the image. Xen: dom->guest_type
    public var guestType: String { StartInfo64.magicPV64 }

    /// Features a 64-bit PV domU on Kite may require: writable page tables (provided, as
    /// on Xen, by the VMASST writable-pagetables emulation) and PAE page directories above
    /// 4 GiB (meaningless, hence harmless, for 64-bit). Anything else a kernel marks
    /// required is refused, which includes Xen's own two refusals (dom0, and
    /// auto_translated_physmap for PV).
    public static let featuresKiteOffersPV64 = XenFeatureSet([.writablePageTables, .paePgdirAbove4GB])

    /// Reads and checks the Xen information of `elf` for a PV domU.
    public static func parse(_ elf: ElfImage) throws(BuilderError) -> XenKernelInfo {
        var raw = RawParameters()
        let segmentNotes = try elf.segmentNotes().filter { $0.name == XenElfNote.owner }
        var source = Source.noteSegments
        if !segmentNotes.isEmpty {
            for note in segmentNotes { try raw.apply(note) }
        } else {
            let sectionNotes = try elf.sectionNotes().filter { $0.name == XenElfNote.owner }
            if !sectionNotes.isEmpty {
                source = .noteSections
                for note in sectionNotes { try raw.apply(note) }
            } else if let guestInfo = elf.section(named: "__xen_guest") {
                source = .legacyGuestInfo
                try raw.applyLegacyGuestInfo(section: guestInfo, of: elf)
            } else {
                throw .notAXenKernel("it has no Xen ELF notes and no __xen_guest section")
            }
        }
        return try raw.finish(elf: elf, source: source)
    }

    /// FEATURES string → (supported, required), as libelf's `elf_xen_parse_features`:
    /// unknown names are ignored unless marked required, which is an error.
    public static func parseFeatures(_ string: String) throws(BuilderError) -> (supported: XenFeatureSet, required: XenFeatureSet) {
        var supported: XenFeatureSet = []
        var required: XenFeatureSet = []
        for item in string.split(separator: "|", omittingEmptySubsequences: true) {
            if item.hasPrefix("!") {
                let name = String(item.dropFirst())
                guard let feature = XenFeature(elfNoteName: name) else { throw .unknownRequiredFeature(name) }
                supported.insert(feature)
                required.insert(feature)
            } else if let feature = XenFeature(elfNoteName: String(item)) {
                supported.insert(feature)
            }
        }
        return (supported, required)
    }
}

/// The values as read, before defaults (libelf's `elf_dom_parms` with UNSET_ADDR = nil).
private struct RawParameters {
    var entry: UInt64?
    var virtBase: UInt64?
    var paddrOffset: UInt64?
    var hypercallPage: UInt64?
    var initP2M: UInt64?
    var modStartPFN = false
    var hvStartLow: UInt64?
    var phys32Entry: UInt64?
    var suspendCancel = false
    var l1MFNValid: [UInt64] = []
    var xenVersion = ""
    var guestOS = ""
    var guestVersion = ""
    var loader = ""
    var paeMode: String?
    var supported: XenFeatureSet = []
    var required: XenFeatureSet = []
    var supportedNote: XenFeatureSet?

    mutating func apply(_ note: ElfNote) throws(BuilderError) {
        guard let kind = XenElfNote(rawValue: note.type) else { return }  // unknown: ignored, as Xen
        switch kind {
        case .info, .phys32Reloc:
            return
        case .xenVersion: xenVersion = try string(note, kind)
        case .guestOS: guestOS = try string(note, kind)
        case .guestVersion: guestVersion = try string(note, kind)
        case .loader: loader = try string(note, kind)
        case .paeMode: paeMode = try string(note, kind)
        case .bsdSymtab:
            if try string(note, kind) == "yes" { throw .bsdSymtabUnsupported }
        case .features:
            let parsed = try XenKernelInfo.parseFeatures(try string(note, kind))
            supported.formUnion(parsed.supported)
            required.formUnion(parsed.required)
        case .supportedFeatures:
            // An array of u32 submaps; only submap 0 exists.
            guard note.descriptor.count >= 4, note.descriptor.count % 4 == 0 else {
                throw .badNumericNote(note: kind.description, size: UInt32(clamping: note.descriptor.count))
            }
            let bits = XenFeatureSet(rawValue: UInt32(note.descriptor[0..<4].littleEndianValue))
            supported.formUnion(bits)
            supportedNote = bits
        case .l1MFNValid:
            if note.descriptor.count % 8 == 0 {
                l1MFNValid = stride(from: 0, to: note.descriptor.count, by: 8).map {
                    note.descriptor[$0..<$0 + 8].littleEndianValue
                }
            }
        case .entry: entry = try number(note, kind)
        case .hypercallPage: hypercallPage = try number(note, kind)
        case .virtBase: virtBase = try number(note, kind)
        case .paddrOffset: paddrOffset = try number(note, kind)
        case .initP2M: initP2M = try number(note, kind)
        case .modStartPFN: modStartPFN = try number(note, kind) != 0
        case .hvStartLow: hvStartLow = try number(note, kind)
        case .suspendCancel: suspendCancel = try number(note, kind) != 0
        case .phys32Entry: phys32Entry = try number(note, kind)
        }
    }

    private func number(_ note: ElfNote, _ kind: XenElfNote) throws(BuilderError) -> UInt64 {
        switch note.descriptor.count {
        case 1, 2, 4, 8: return note.descriptor[...].littleEndianValue
        default: throw .badNumericNote(note: kind.description, size: UInt32(clamping: note.descriptor.count))
        }
    }

    /// The string up to its NUL. Linux emits FEATURES without one (descsz 41): libelf reads
    /// on into the note's zero padding, so a descriptor without NUL ends at its size here.
    private func string(_ note: ElfNote, _ kind: XenElfNote) throws(BuilderError) -> String {
        let end = note.descriptor.firstIndex(of: 0) ?? note.descriptor.endIndex
        return String(decoding: note.descriptor[..<end], as: UTF8.self)
    }

    /// The `__xen_guest` string: `KEY=VALUE` pairs separated by commas. Accepted only when
    /// every key is one libelf knows and every number is plain decimal or 0x-hex.
    mutating func applyLegacyGuestInfo(section: ElfImage.SectionHeader, of elf: ElfImage) throws(BuilderError) {
        guard let content = elf.bytes.slice(at: section.offset, length: section.size) else {
            throw .sectionOutOfFile(index: -1, offset: section.offset, size: section.size,
                                    fileSize: UInt64(elf.bytes.count))
        }
        let text = String(decoding: content.prefix { $0 != 0 }, as: UTF8.self)
        var hypercallPFN: UInt64?
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : ""
            func num() throws(BuilderError) -> UInt64 {
                let parsed: UInt64? = value.hasPrefix("0x") || value.hasPrefix("0X")
                    ? UInt64(value.dropFirst(2), radix: 16) : UInt64(value, radix: 10)
                guard let parsed else {
                    throw .unsupportedLegacyGuestInfo("\(key)=\(value) is not a decimal or 0x-hex number")
                }
                return parsed
            }
            switch key {
            case "LOADER": loader = value
            case "GUEST_OS": guestOS = value
            case "GUEST_VER": guestVersion = value
            case "XEN_VER": xenVersion = value
            case "PAE": paeMode = value
            case "BSD_SYMTAB": throw .bsdSymtabUnsupported
            case "VIRT_BASE": virtBase = try num()
            case "VIRT_ENTRY": entry = try num()
            case "ELF_PADDR_OFFSET": paddrOffset = try num()
            case "HYPERCALL_PAGE": hypercallPFN = try num()
            case "FEATURES":
                let parsed = try XenKernelInfo.parseFeatures(value)
                supported.formUnion(parsed.supported)
                required.formUnion(parsed.required)
            default:
                throw .unsupportedLegacyGuestInfo("unknown key \"\(key)\"")
            }
        }
        // HYPERCALL_PAGE is a page number relative to VIRT_BASE here.
        if let pfn = hypercallPFN {
            guard pfn <= UInt64.max >> 12 else {
                throw .unsupportedLegacyGuestInfo("HYPERCALL_PAGE \(pfn) is out of range")
            }
            hypercallPage = virtBase.map { $0 &+ (pfn << 12) } ?? (pfn << 12)
        }
    }

    func finish(elf: ElfImage, source: XenKernelInfo.Source) throws(BuilderError) -> XenKernelInfo {
        // elf_xen_note_check
        let genericLoader = !loader.isEmpty && loader.hasPrefix("generic")
        let linux = !guestOS.isEmpty && guestOS.hasPrefix("linux")
        guard genericLoader || linux else { throw .unsupportedLoader(loader: loader, guestOS: guestOS) }
        guard xenVersion.hasPrefix("xen-3.0") else { throw .unsupportedXenVersion(xenVersion) }

        // Features: xg_dom_elfloader refuses dom0-only kernels, bootearly refuses PV
        // autotranslate; Kite also refuses every other requirement it cannot meet.
        for feature in required.features where !XenKernelInfo.featuresKiteOffersPV64.contains(feature) {
            throw .requiredFeatureUnavailable(feature.description)
        }

        // elf_xen_addr_calc_check (PV)
        if paddrOffset != nil && virtBase == nil { throw .paddrOffsetWithoutVirtBase }
        let base = virtBase ?? 0
        let offset = paddrOffset ?? (source == .legacyGuestInfo ? base : 0)
        guard let extent = elf.physicalExtent else { throw .noLoadableSegments }
        // libelf computes these in wrapping unsigned arithmetic; a wrap shows up as
        // kstart > kend or as an address below virt_base, refused just below.
        let virtOffset = base &- offset
        let kernelStart = extent.start &+ virtOffset
        let kernelEnd = extent.end &+ virtOffset
        let entryPoint = entry ?? elf.header.entry
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        if kernelStart > kernelEnd {
            throw .addressesOutOfBounds("kernel start \(hex(kernelStart)) above its end \(hex(kernelEnd))")
        }
        if entryPoint < kernelStart || entryPoint > kernelEnd {
            throw .addressesOutOfBounds("entry \(hex(entryPoint)) outside the kernel [\(hex(kernelStart)), \(hex(kernelEnd))]")
        }
        if base > kernelStart {
            throw .addressesOutOfBounds("VIRT_BASE \(hex(base)) above the kernel start \(hex(kernelStart))")
        }
        if let p2m = initP2M, p2m >= kernelStart, p2m < kernelEnd {
            throw .p2mInsideKernel(p2mBase: p2m, kernelStart: kernelStart, kernelEnd: kernelEnd)
        }

        return XenKernelInfo(
            source: source, entry: entryPoint, virtBase: base, paddrOffset: offset,
            hypercallPage: hypercallPage, initP2M: initP2M, modStartPFN: modStartPFN,
            hvStartLow: hvStartLow, phys32Entry: phys32Entry, suspendCancel: suspendCancel,
            l1MFNValid: l1MFNValid, xenVersion: xenVersion, guestOS: guestOS,
            guestVersion: guestVersion, loader: loader, paeMode: paeMode,
            supportedFeatures: supported, requiredFeatures: required,
            supportedFeaturesNote: supportedNote, physicalStart: extent.start,
            physicalEnd: extent.end, kernelStart: kernelStart, kernelEnd: kernelEnd)
    }
}
