/// One ELF note: owner name (without its NUL), type and descriptor bytes.
public struct ElfNote: Equatable, Sendable {
    public var name: String
    public var type: UInt32
    public var descriptor: [UInt8]
    /// File offset of the note header, for error messages.
    public var fileOffset: UInt64
}

extension ElfImage {
    /// The notes of every PT_NOTE segment (skipping one whose `p_offset` is 0, as libelf
    /// does because of old binutils), in file order.
    public func segmentNotes() throws(BuilderError) -> [ElfNote] {
        var notes: [ElfNote] = []
        for (index, ph) in programHeaders.enumerated() where ph.type == ElfImage.ptNote && ph.offset != 0 {
            guard bytes.contains(offset: ph.offset, length: ph.fileSize) else {
                throw .segmentOutOfFile(index: index, offset: ph.offset, size: ph.fileSize,
                                        fileSize: UInt64(bytes.count))
            }
            try parseNotes(offset: ph.offset, size: ph.fileSize, alignment: ph.alignment, into: &notes)
        }
        return notes
    }

    /// The notes of every SHT_NOTE section (index 0 is the null section and skipped).
    public func sectionNotes() throws(BuilderError) -> [ElfNote] {
        var notes: [ElfNote] = []
        for (index, section) in sectionHeaders.enumerated().dropFirst() where section.type == ElfImage.shtNote {
            guard bytes.contains(offset: section.offset, length: section.size) else {
                throw .sectionOutOfFile(index: index, offset: section.offset, size: section.size,
                                        fileSize: UInt64(bytes.count))
            }
            try parseNotes(offset: section.offset, size: section.size, alignment: section.alignment, into: &notes)
        }
        return notes
    }

    /// Walks one note area. Name and descriptor offsets are padded to 4 bytes from the note's
    /// start, as in Xen's libelf (kernels emit 4-byte aligned notes, in ELF64 too); an area
    /// declared 8-byte aligned (GNU property notes) is padded to 8, as the gABI reads it,
    /// instead of being misread.
    private func parseNotes(offset: UInt64, size: UInt64, alignment: UInt64,
                            into notes: inout [ElfNote]) throws(BuilderError) {
        guard offset % 4 == 0 else { throw .misalignedNotes(offset: offset) }
        let mask: UInt64 = alignment == 8 ? 7 : 3
        let end = offset + size  // inside the file, checked by the callers
        var cursor = offset
        while cursor < end {
            guard notes.count < limits.maxNotes else { throw .tooManyNotes(limit: limits.maxNotes) }
            guard end - cursor >= 12,
                  let nameSize = bytes.readLE(UInt32.self, at: cursor),
                  let descSize = bytes.readLE(UInt32.self, at: cursor + 4),
                  let type = bytes.readLE(UInt32.self, at: cursor + 8)
            else {
                throw .malformedNote(offset: cursor, reason: "\(end - cursor) bytes left, a note header needs 12")
            }
            // Offsets relative to the note; sizes are u32, so none of this can overflow.
            let descOffset = (12 + UInt64(nameSize) + mask) & ~mask
            guard descOffset <= end - cursor else {
                throw .malformedNote(offset: cursor, reason: "name size \(nameSize) runs past the note area")
            }
            let descStart = cursor + descOffset
            guard UInt64(descSize) <= end - descStart else {
                throw .malformedNote(offset: cursor, reason: "descriptor size \(descSize) runs past the note area")
            }
            let nameBytes = bytes.slice(at: cursor + 12, length: UInt64(nameSize)) ?? []
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            let descriptor = Array(bytes.slice(at: descStart, length: UInt64(descSize)) ?? [])
            notes.append(ElfNote(name: name, type: type, descriptor: descriptor, fileOffset: cursor))
            // The last note's padding may be cut by the end of the area.
            let next = (descOffset + UInt64(descSize) + mask) & ~mask
            cursor += Swift.min(next, end - cursor)
        }
    }
}
