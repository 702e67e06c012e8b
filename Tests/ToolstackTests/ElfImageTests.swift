import Testing
@testable import Toolstack
import XenABI

/// The ELF parser against well-formed and hostile images: every malformed field is a
/// `BuilderError`, never a trap.
@Suite struct ElfImageTests {
    @Test func parsesSegmentsAndNotesOfAWellFormedImage() throws {
        let image = try ElfImage(bytes: TestELF.linuxLike().bytes)
        #expect(image.header.machine == 62)
        #expect(image.loadableSegments.count == 1)
        #expect(image.loadableSegments[0].physicalAddress == 0x100_0000)
        #expect(image.loadableSegments[0].memorySize == 0x200_0000)
        let notes = try image.segmentNotes()
        #expect(notes.count == TestELF.linuxNotes(entry: 0).count)
        #expect(notes.allSatisfy { $0.name == "Xen" })
        #expect(try image.sectionNotes().count == notes.count)
        #expect(image.section(named: ".notes") != nil)
        #expect(image.section(named: "__xen_guest") == nil)
    }

    @Test func refusesWhatIsNotAnX86_64ELF() {
        #expect(throws: BuilderError.notELF) { try ElfImage(bytes: [0x4D, 0x5A, 0x90, 0x00]) }
        #expect(throws: BuilderError.notELF) { try ElfImage(bytes: []) }
        let good = TestELF.linuxLike().bytes
        #expect(throws: BuilderError.truncated(what: "the ELF header", needed: 64, available: 20)) {
            try ElfImage(bytes: Array(good.prefix(20)))
        }
        var elf32 = good
        elf32[4] = 1
        #expect(throws: BuilderError.unsupportedELFClass(1)) { try ElfImage(bytes: elf32) }
        var bigEndian = good
        bigEndian[5] = 2
        #expect(throws: BuilderError.unsupportedByteOrder(2)) { try ElfImage(bytes: bigEndian) }
        var arm = good
        set16(&arm, 18, 183)
        #expect(throws: BuilderError.unsupportedMachine(183)) { try ElfImage(bytes: arm) }
    }

    @Test func refusesHeaderTablesOutsideTheFile() {
        let (good, offsets) = TestELF.linuxLike().assemble()
        var phBeyond = good
        set64(&phBeyond, 32, UInt64(good.count - 10))
        #expect(throws: BuilderError.self) { try ElfImage(bytes: phBeyond) }
        var phHuge = good
        set64(&phHuge, 32, UInt64.max - 8)  // offset + size would overflow
        #expect(throws: BuilderError.tableOutOfFile(what: "program header table", offset: UInt64.max - 8,
                                                    size: 112, fileSize: UInt64(good.count))) {
            try ElfImage(bytes: phHuge)
        }
        var shBeyond = good
        set64(&shBeyond, 40, UInt64(offsets.sectionHeaders + 4096))
        #expect(throws: BuilderError.self) { try ElfImage(bytes: shBeyond) }
        var badEntrySize = good
        set16(&badEntrySize, 54, 32)
        #expect(throws: BuilderError.badHeaderEntrySize(what: "program header", size: 32, expected: 56)) {
            try ElfImage(bytes: badEntrySize)
        }
        var tooMany = good
        set16(&tooMany, 56, 0xFFFF)
        #expect(throws: BuilderError.tooManyHeaders(what: "program headers", count: 0xFFFF, limit: 128)) {
            try ElfImage(bytes: tooMany)
        }
        var tooManySections = good
        set16(&tooManySections, 60, 5000)
        #expect(throws: BuilderError.tooManyHeaders(what: "section headers", count: 5000, limit: 4096)) {
            try ElfImage(bytes: tooManySections)
        }
    }

    @Test func refusesBadLoadSegments() {
        let (good, offsets) = TestELF.linuxLike().assemble()
        let ph = offsets.programHeaders
        var beyond = good
        set64(&beyond, ph + 8, UInt64(good.count))  // p_offset at the end, p_filesz 0x3000
        #expect(throws: BuilderError.segmentOutOfFile(index: 0, offset: UInt64(good.count), size: 0x3000,
                                                      fileSize: UInt64(good.count))) {
            try ElfImage(bytes: beyond)
        }
        var wrapping = good
        set64(&wrapping, ph + 8, UInt64.max - 0x1000)
        #expect(throws: BuilderError.self) { try ElfImage(bytes: wrapping) }
        var fileBigger = good
        set64(&fileBigger, ph + 40, 0x1000)  // p_memsz < p_filesz
        #expect(throws: BuilderError.segmentFileSizeExceedsMemorySize(index: 0, fileSize: 0x3000, memorySize: 0x1000)) {
            try ElfImage(bytes: fileBigger)
        }
        var paddrWrap = good
        set64(&paddrWrap, ph + 24, UInt64.max - 0x100)
        #expect(throws: BuilderError.segmentAddressOverflow(index: 0, address: UInt64.max - 0x100, memorySize: 0x200_0000)) {
            try ElfImage(bytes: paddrWrap)
        }
        var vaddrWrap = good
        set64(&vaddrWrap, ph + 16, UInt64.max - 0x100)
        #expect(throws: BuilderError.segmentAddressOverflow(index: 0, address: UInt64.max - 0x100, memorySize: 0x200_0000)) {
            try ElfImage(bytes: vaddrWrap)
        }
        // A segment without R, W or X is not loadable (libelf), so its range is not checked.
        var unflagged = beyond
        set32(&unflagged, ph + 4, 0)
        #expect(throws: Never.self) { try ElfImage(bytes: unflagged) }
    }

    @Test func refusesMalformedNotes() throws {
        let (good, offsets) = TestELF.linuxLike().assemble()
        let notePH = offsets.programHeaders + 56
        var nameTooBig = good
        set32(&nameTooBig, offsets.notes, 0x7FFF_FFF0)
        #expect(throws: BuilderError.malformedNote(offset: UInt64(offsets.notes),
                                                   reason: "name size 2147483632 runs past the note area")) {
            try ElfImage(bytes: nameTooBig).segmentNotes()
        }
        var descTooBig = good
        set32(&descTooBig, offsets.notes + 4, 0xFFFF_FFFF)
        #expect(throws: BuilderError.self) { try ElfImage(bytes: descTooBig).segmentNotes() }
        var cutHeader = good
        set64(&cutHeader, notePH + 32, 8)  // p_filesz shorter than one note header
        #expect(throws: BuilderError.malformedNote(offset: UInt64(offsets.notes),
                                                   reason: "8 bytes left, a note header needs 12")) {
            try ElfImage(bytes: cutHeader).segmentNotes()
        }
        var misaligned = good
        set64(&misaligned, notePH + 8, UInt64(offsets.notes + 2))
        #expect(throws: BuilderError.misalignedNotes(offset: UInt64(offsets.notes + 2))) {
            try ElfImage(bytes: misaligned).segmentNotes()
        }
        var outside = good
        set64(&outside, notePH + 8, UInt64(good.count - 4))
        #expect(throws: BuilderError.self) { try ElfImage(bytes: outside).segmentNotes() }
        let limited = try ElfImage(bytes: good, limits: ElfImage.Limits(maxNotes: 3))
        #expect(throws: BuilderError.tooManyNotes(limit: 3)) { try limited.segmentNotes() }
    }

    @Test func readsAnEightByteAlignedNoteArea() throws {
        // A GNU property note (descsz 0x14) padded to 8 before the Xen notes.
        var elf = TestELF.linuxLike()
        var property = TestELF.Note(type: 5, descriptor: [UInt8](repeating: 0xAB, count: 0x14))
        property.name = "GNU"
        elf.notes.insert(property, at: 0)
        elf.noteAlignment = 8
        let image = try ElfImage(bytes: elf.bytes)
        let notes = try image.segmentNotes()
        #expect(notes.count == elf.notes.count)
        #expect(notes[0].descriptor.count == 0x14 && notes[1].name == "Xen")
        #expect(try XenKernelInfo.parse(image).entry == 0xFFFF_FFFF_8100_1000)
    }

    @Test func skipsAPTNoteAtOffsetZeroAsLibelfDoes() throws {
        let (good, offsets) = TestELF.linuxLike().assemble()
        var zeroOffset = good
        set64(&zeroOffset, offsets.programHeaders + 56 + 8, 0)
        let image = try ElfImage(bytes: zeroOffset)
        #expect(try image.segmentNotes().isEmpty)
        // The SHT_NOTE section still carries them, and the kernel info falls back to it.
        #expect(try XenKernelInfo.parse(image).source == .noteSections)
    }

    @Test func survivesRandomCorruption() {
        // Flip bytes all over a valid image: every outcome is a value or a BuilderError.
        let good = TestELF.linuxLike(fileBytes: 0x200).bytes
        var generator = SplitMix(seed: 0x5EED)
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<Int(generator.next() % 8 + 1) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            if Bool.random(using: &generator) { bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count)))) }
            _ = try? KernelImage(bytes: bytes)
        }
    }
}

/// A small deterministic generator for fuzz-style tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
