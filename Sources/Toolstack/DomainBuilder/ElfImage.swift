/// An ELF64 little-endian x86-64 image, parsed and validated up front so that later users
/// (the Xen-note reader, the segment loader) can index it without further checks.
///
/// Validation follows libelf's `elf_init` (program and section header tables inside the
/// file) and adds what libelf leaves to chance: every PT_LOAD's file range inside the file,
/// `p_filesz <= p_memsz`, no address wrap, bounded header counts.
public struct ElfImage: Sendable {
    /// Limits on header counts; real kernels have a handful of program headers and well
    /// under a thousand sections.
    public struct Limits: Sendable {
        public var maxProgramHeaders: Int
        public var maxSectionHeaders: Int
        public var maxNotes: Int
        public init(maxProgramHeaders: Int = 128, maxSectionHeaders: Int = 4096, maxNotes: Int = 2048) {
            self.maxProgramHeaders = maxProgramHeaders
            self.maxSectionHeaders = maxSectionHeaders
            self.maxNotes = maxNotes
        }
    }

    /// The fields of the ELF header the builder uses.
    public struct Header: Equatable, Sendable {
        public var type: UInt16
        public var machine: UInt16
        public var entry: UInt64
        public var programHeaderOffset: UInt64
        public var sectionHeaderOffset: UInt64
        public var programHeaderCount: Int
        public var sectionHeaderCount: Int
        public var sectionNameTableIndex: Int
    }

    /// A program header. `isLoadable` is libelf's `elf_phdr_is_loadable`: PT_LOAD with at
    /// least one of R, W, X.
    public struct ProgramHeader: Equatable, Sendable {
        public var type: UInt32
        public var flags: UInt32
        public var offset: UInt64
        public var virtualAddress: UInt64
        public var physicalAddress: UInt64
        public var fileSize: UInt64
        public var memorySize: UInt64
        public var alignment: UInt64

        public var isLoadable: Bool { type == ElfImage.ptLoad && flags & 0x7 != 0 }
    }

    /// A section header (only what the note and `__xen_guest` lookups need).
    public struct SectionHeader: Equatable, Sendable {
        public var nameOffset: UInt32
        public var type: UInt32
        public var offset: UInt64
        public var size: UInt64
        public var alignment: UInt64
    }

    static let ptLoad: UInt32 = 1
    static let ptNote: UInt32 = 4
    static let shtNote: UInt32 = 7
    static let shtNoBits: UInt32 = 8
    static let emX86_64: UInt16 = 62
    static let headerSize: UInt64 = 64
    static let programHeaderSize: UInt16 = 56
    static let sectionHeaderSize: UInt16 = 64

    /// The whole file.
    public let bytes: [UInt8]
    public let header: Header
    public let programHeaders: [ProgramHeader]
    public let sectionHeaders: [SectionHeader]
    public let limits: Limits

    /// Whether `bytes` starts with the ELF magic.
    public static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x7F && bytes[1] == 0x45 && bytes[2] == 0x4C && bytes[3] == 0x46
    }

    public init(bytes: [UInt8], limits: Limits = Limits()) throws(BuilderError) {
        guard ElfImage.hasMagic(bytes) else { throw .notELF }
        let fileSize = UInt64(bytes.count)
        guard fileSize >= ElfImage.headerSize else {
            throw .truncated(what: "the ELF header", needed: ElfImage.headerSize, available: fileSize)
        }
        guard bytes[4] == 2 else { throw .unsupportedELFClass(bytes[4]) }
        guard bytes[5] == 1 else { throw .unsupportedByteOrder(bytes[5]) }

        // The header is 64 bytes and present: these reads cannot fail.
        let u16 = { (o: UInt64) -> UInt16 in bytes.readLE(UInt16.self, at: o) ?? 0 }
        let u64 = { (o: UInt64) -> UInt64 in bytes.readLE(UInt64.self, at: o) ?? 0 }
        let machine = u16(18)
        guard machine == ElfImage.emX86_64 else { throw .unsupportedMachine(machine) }

        let header = Header(
            type: u16(16), machine: machine, entry: u64(24),
            programHeaderOffset: u64(32), sectionHeaderOffset: u64(40),
            programHeaderCount: Int(u16(56)), sectionHeaderCount: Int(u16(60)),
            sectionNameTableIndex: Int(u16(62)))
        let phentsize = u16(54)
        let shentsize = u16(58)

        guard header.programHeaderCount <= limits.maxProgramHeaders else {
            throw .tooManyHeaders(what: "program headers", count: header.programHeaderCount,
                                  limit: limits.maxProgramHeaders)
        }
        guard header.sectionHeaderCount <= limits.maxSectionHeaders else {
            throw .tooManyHeaders(what: "section headers", count: header.sectionHeaderCount,
                                  limit: limits.maxSectionHeaders)
        }
        if header.programHeaderCount > 0 && phentsize != ElfImage.programHeaderSize {
            throw .badHeaderEntrySize(what: "program header", size: phentsize, expected: ElfImage.programHeaderSize)
        }
        if header.sectionHeaderCount > 0 && shentsize != ElfImage.sectionHeaderSize {
            throw .badHeaderEntrySize(what: "section header", size: shentsize, expected: ElfImage.sectionHeaderSize)
        }

        let phTableSize = UInt64(header.programHeaderCount) * UInt64(ElfImage.programHeaderSize)
        guard bytes.contains(offset: header.programHeaderOffset, length: phTableSize) else {
            throw .tableOutOfFile(what: "program header table", offset: header.programHeaderOffset,
                                  size: phTableSize, fileSize: fileSize)
        }
        let shTableSize = UInt64(header.sectionHeaderCount) * UInt64(ElfImage.sectionHeaderSize)
        guard bytes.contains(offset: header.sectionHeaderOffset, length: shTableSize) else {
            throw .tableOutOfFile(what: "section header table", offset: header.sectionHeaderOffset,
                                  size: shTableSize, fileSize: fileSize)
        }

        var programHeaders: [ProgramHeader] = []
        programHeaders.reserveCapacity(header.programHeaderCount)
        for index in 0..<header.programHeaderCount {
            let base = header.programHeaderOffset + UInt64(index) * UInt64(ElfImage.programHeaderSize)
            let ph = ProgramHeader(
                type: bytes.readLE(UInt32.self, at: base) ?? 0,
                flags: bytes.readLE(UInt32.self, at: base + 4) ?? 0,
                offset: u64(base + 8), virtualAddress: u64(base + 16),
                physicalAddress: u64(base + 24), fileSize: u64(base + 32),
                memorySize: u64(base + 40), alignment: u64(base + 48))
            try ElfImage.validate(ph, index: index, fileBytes: bytes)
            programHeaders.append(ph)
        }

        var sectionHeaders: [SectionHeader] = []
        sectionHeaders.reserveCapacity(header.sectionHeaderCount)
        for index in 0..<header.sectionHeaderCount {
            let base = header.sectionHeaderOffset + UInt64(index) * UInt64(ElfImage.sectionHeaderSize)
            sectionHeaders.append(SectionHeader(
                nameOffset: bytes.readLE(UInt32.self, at: base) ?? 0,
                type: bytes.readLE(UInt32.self, at: base + 4) ?? 0,
                offset: u64(base + 24), size: u64(base + 32), alignment: u64(base + 48)))
        }

        self.bytes = bytes
        self.header = header
        self.programHeaders = programHeaders
        self.sectionHeaders = sectionHeaders
        self.limits = limits
    }

    private static func validate(_ ph: ProgramHeader, index: Int, fileBytes: [UInt8]) throws(BuilderError) {
        // Only segments the loader copies need their bytes; a PT_NOTE is checked when read.
        guard ph.isLoadable else { return }
        guard fileBytes.contains(offset: ph.offset, length: ph.fileSize) else {
            throw .segmentOutOfFile(index: index, offset: ph.offset, size: ph.fileSize,
                                    fileSize: UInt64(fileBytes.count))
        }
        guard ph.fileSize <= ph.memorySize else {
            throw .segmentFileSizeExceedsMemorySize(index: index, fileSize: ph.fileSize, memorySize: ph.memorySize)
        }
        guard ph.physicalAddress.addingReportingOverflow(ph.memorySize).overflow == false else {
            throw .segmentAddressOverflow(index: index, address: ph.physicalAddress, memorySize: ph.memorySize)
        }
        guard ph.virtualAddress.addingReportingOverflow(ph.memorySize).overflow == false else {
            throw .segmentAddressOverflow(index: index, address: ph.virtualAddress, memorySize: ph.memorySize)
        }
    }

    /// The segments the loader copies, in file order.
    public var loadableSegments: [ProgramHeader] { programHeaders.filter(\.isLoadable) }

    /// The bytes of a loadable segment's file image (validated at init).
    func fileBytes(of segment: ProgramHeader) -> ArraySlice<UInt8> {
        bytes.slice(at: segment.offset, length: segment.fileSize) ?? []
    }

    /// Lowest `p_paddr` and highest `p_paddr + p_memsz` over the loadable segments
    /// (libelf's `pstart`/`pend`), or nil when there is none.
    public var physicalExtent: (start: UInt64, end: UInt64)? {
        let segments = loadableSegments
        guard let first = segments.first else { return nil }
        var low = first.physicalAddress
        var high = first.physicalAddress &+ first.memorySize  // overflow excluded at init
        for segment in segments.dropFirst() {
            low = Swift.min(low, segment.physicalAddress)
            high = Swift.max(high, segment.physicalAddress &+ segment.memorySize)
        }
        return (low, high)
    }

    /// The section called `name`, looked up through the section-name string table.
    public func section(named name: String) -> SectionHeader? {
        guard header.sectionNameTableIndex < sectionHeaders.count else { return nil }
        let table = sectionHeaders[header.sectionNameTableIndex]
        guard bytes.contains(offset: table.offset, length: table.size) else { return nil }
        let wanted = Array(name.utf8) + [0]
        for section in sectionHeaders {
            let nameOffset = UInt64(section.nameOffset)
            guard nameOffset < table.size,
                  let candidate = bytes.slice(at: table.offset + nameOffset,
                                              length: Swift.min(UInt64(wanted.count), table.size - nameOffset))
            else { continue }
            if candidate.elementsEqual(wanted) { return section }
        }
        return nil
    }
}
