import XenABI

/// Assembles small ELF64 x86-64 images for tests: chosen PT_LOAD segments, notes in a
/// PT_NOTE segment (or only in an SHT_NOTE section), extra sections. Header fields can be
/// overwritten afterwards with `patch` to make hostile images.
struct TestELF {
    struct Segment {
        var type: UInt32 = 1
        var flags: UInt32 = 7
        var virtualAddress: UInt64
        var physicalAddress: UInt64
        var data: [UInt8]
        var memorySize: UInt64
    }

    struct Note {
        var name: String = "Xen"
        var type: UInt32
        var descriptor: [UInt8]
    }

    struct Section {
        var name: String
        var type: UInt32
        var data: [UInt8]
    }

    var entry: UInt64 = 0
    var segments: [Segment] = []
    /// Notes in a PT_NOTE segment (and a matching SHT_NOTE section).
    var notes: [Note] = []
    /// When true, the notes get only an SHT_NOTE section and no PT_NOTE.
    var notesInSectionOnly = false
    /// Padding of names and descriptors in the note area (and its p_align / sh_addralign).
    var noteAlignment = 4
    var sections: [Section] = []

    // MARK: note helpers

    static func number(_ type: XenElfNote, _ value: UInt64, size: Int = 8) -> Note {
        Note(type: type.rawValue, descriptor: (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
    }

    static func string(_ type: XenElfNote, _ value: String) -> Note {
        Note(type: type.rawValue, descriptor: Array(value.utf8) + [0])
    }

    /// The notes of a Linux 6.1-like kernel (values from §1.4 of the ABI fact sheet).
    static func linuxNotes(entry: UInt64, hypercallPage: UInt64? = nil, initP2M: Bool = true,
                           modStartPFN: Bool = true) -> [Note] {
        var notes: [Note] = [
            string(.guestOS, "linux"), string(.guestVersion, "2.6"), string(.xenVersion, "xen-3.0"),
            number(.virtBase, 0xFFFF_FFFF_8000_0000), number(.paddrOffset, 0), number(.entry, entry),
            string(.features, "!writable_page_tables|pae_pgdir_above_4gb"),
            number(.supportedFeatures, 0x8801, size: 4), string(.paeMode, "yes"), string(.loader, "generic"),
            Note(type: XenElfNote.l1MFNValid.rawValue, descriptor: [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
            number(.suspendCancel, 1, size: 4), number(.hvStartLow, 0xFFFF_8000_0000_0000),
            number(.phys32Entry, 0x100_0850),
        ]
        if initP2M { notes.append(number(.initP2M, 0x80_0000_0000)) }
        if modStartPFN { notes.append(number(.modStartPFN, 1, size: 4)) }
        if let hypercallPage { notes.append(number(.hypercallPage, hypercallPage)) }
        return notes
    }

    /// A Linux-like image: text at VA 0xffffffff81000000 / paddr 16 MiB, `memorySize` bytes
    /// in memory of which `fileBytes` come from the file (the rest is bss).
    static func linuxLike(fileBytes: Int = 0x3000, memorySize: UInt64 = 0x200_0000,
                          hypercallPage: UInt64? = nil, initP2M: Bool = true, modStartPFN: Bool = true) -> TestELF {
        let entry: UInt64 = 0xFFFF_FFFF_8100_1000
        var elf = TestELF(entry: 0x100_0000)
        elf.segments = [Segment(virtualAddress: 0xFFFF_FFFF_8100_0000, physicalAddress: 0x100_0000,
                                data: pattern(fileBytes, seed: 0x11), memorySize: memorySize)]
        elf.notes = linuxNotes(entry: entry, hypercallPage: hypercallPage, initP2M: initP2M, modStartPFN: modStartPFN)
        return elf
    }

    /// A PV-GRUB-like image: linked at 0, entered at 0, VIRT_BASE 0, no hypercall page.
    static func grubLike(fileBytes: Int = 0x1_8000, memorySize: UInt64 = 0x2_1000) -> TestELF {
        var elf = TestELF(entry: 0)
        elf.segments = [Segment(virtualAddress: 0, physicalAddress: 0, data: pattern(fileBytes, seed: 0x22),
                                memorySize: memorySize)]
        elf.notes = [string(.guestOS, "GRUB"), string(.loader, "generic"), string(.xenVersion, "xen-3.0"),
                     number(.entry, 0), number(.virtBase, 0)]
        return elf
    }

    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 12)) | 1 }
    }

    // MARK: assembly

    /// Offsets of the parts of the last assembled image, for patch tests.
    struct Offsets {
        var programHeaders = 0
        var segmentData: [Int] = []
        var notes = 0
        var notesSize = 0
        var sectionHeaders = 0
    }

    func assemble() -> (bytes: [UInt8], offsets: Offsets) {
        var out = [UInt8](repeating: 0, count: 64)
        var offsets = Offsets()
        let hasNotes = !notes.isEmpty
        let phCount = segments.count + (hasNotes && !notesInSectionOnly ? 1 : 0)
        offsets.programHeaders = 64
        out += [UInt8](repeating: 0, count: phCount * 56)

        for segment in segments {
            align(&out, 16)
            offsets.segmentData.append(out.count)
            out += segment.data
        }
        var noteBytes: [UInt8] = []
        for note in notes {
            let name = Array(note.name.utf8) + [0]
            put32(&noteBytes, UInt32(name.count))
            put32(&noteBytes, UInt32(note.descriptor.count))
            put32(&noteBytes, note.type)
            noteBytes += name
            align(&noteBytes, noteAlignment)
            noteBytes += note.descriptor
            align(&noteBytes, noteAlignment)
        }
        align(&out, noteAlignment)
        offsets.notes = out.count
        offsets.notesSize = noteBytes.count
        out += noteBytes

        // Sections: null, the notes, the extra ones, then .shstrtab.
        var allSections: [(name: String, type: UInt32, offset: Int, size: Int)] = [("", 0, 0, 0)]
        if hasNotes { allSections.append((".notes", 7, offsets.notes, noteBytes.count)) }
        for section in sections {
            allSections.append((section.name, section.type, out.count, section.data.count))
            out += section.data
        }
        var names: [UInt8] = [0]
        var nameOffsets: [Int] = []
        for section in allSections {
            nameOffsets.append(section.name.isEmpty ? 0 : names.count)
            if !section.name.isEmpty { names += Array(section.name.utf8) + [0] }
        }
        let shstrtabNameOffset = names.count
        names += Array(".shstrtab".utf8) + [0]
        allSections.append((".shstrtab", 3, out.count, names.count))
        nameOffsets.append(shstrtabNameOffset)
        out += names
        align(&out, 8)
        offsets.sectionHeaders = out.count
        for (i, section) in allSections.enumerated() {
            var sh = [UInt8](repeating: 0, count: 64)
            set32(&sh, 0, UInt32(nameOffsets[i]))
            set32(&sh, 4, section.type)
            set64(&sh, 24, UInt64(section.offset))
            set64(&sh, 32, UInt64(section.size))
            if section.type == 7 { set64(&sh, 48, UInt64(noteAlignment)) }
            out += sh
        }

        // ELF header.
        out[0] = 0x7F; out[1] = 0x45; out[2] = 0x4C; out[3] = 0x46
        out[4] = 2; out[5] = 1; out[6] = 1
        set16(&out, 16, 2)  // ET_EXEC
        set16(&out, 18, 62)
        set32(&out, 20, 1)
        set64(&out, 24, entry)
        set64(&out, 32, 64)
        set64(&out, 40, UInt64(offsets.sectionHeaders))
        set16(&out, 52, 64)
        set16(&out, 54, 56)
        set16(&out, 56, UInt16(phCount))
        set16(&out, 58, 64)
        set16(&out, 60, UInt16(allSections.count))
        set16(&out, 62, UInt16(allSections.count - 1))

        // Program headers.
        for (i, segment) in segments.enumerated() {
            let base = 64 + i * 56
            set32(&out, base, segment.type)
            set32(&out, base + 4, segment.flags)
            set64(&out, base + 8, UInt64(offsets.segmentData[i]))
            set64(&out, base + 16, segment.virtualAddress)
            set64(&out, base + 24, segment.physicalAddress)
            set64(&out, base + 32, UInt64(segment.data.count))
            set64(&out, base + 40, segment.memorySize)
            set64(&out, base + 48, 0x1000)
        }
        if hasNotes && !notesInSectionOnly {
            let base = 64 + segments.count * 56
            set32(&out, base, 4)
            set32(&out, base + 4, 4)
            set64(&out, base + 8, UInt64(offsets.notes))
            set64(&out, base + 32, UInt64(noteBytes.count))
            set64(&out, base + 40, UInt64(noteBytes.count))
            set64(&out, base + 48, UInt64(noteAlignment))
        }
        return (out, offsets)
    }

    var bytes: [UInt8] { assemble().bytes }
}

func align(_ bytes: inout [UInt8], _ alignment: Int) {
    while bytes.count % alignment != 0 { bytes.append(0) }
}

func put32(_ bytes: inout [UInt8], _ value: UInt32) {
    for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
}

func set16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
    for i in 0..<2 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt16(i))) }
}

func set32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
    for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
}

func set64(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt64) {
    for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
}

func get64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
    (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
}

func get32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
}
