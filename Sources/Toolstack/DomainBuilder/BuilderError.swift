import GuestMemory

/// Why the domain builder refused a kernel, a ramdisk or a memory size. Every message says
/// what is wrong and what to do about it; kernel images are untrusted input, so every
/// malformed field ends here instead of in a trap.
public enum BuilderError: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: ELF container
    case notELF
    case truncated(what: String, needed: UInt64, available: UInt64)
    case unsupportedELFClass(UInt8)
    case unsupportedByteOrder(UInt8)
    case unsupportedMachine(UInt16)
    case badHeaderEntrySize(what: String, size: UInt16, expected: UInt16)
    case tooManyHeaders(what: String, count: Int, limit: Int)
    case tableOutOfFile(what: String, offset: UInt64, size: UInt64, fileSize: UInt64)
    case segmentOutOfFile(index: Int, offset: UInt64, size: UInt64, fileSize: UInt64)
    case segmentFileSizeExceedsMemorySize(index: Int, fileSize: UInt64, memorySize: UInt64)
    case segmentAddressOverflow(index: Int, address: UInt64, memorySize: UInt64)
    case sectionOutOfFile(index: Int, offset: UInt64, size: UInt64, fileSize: UInt64)
    case misalignedNotes(offset: UInt64)
    case malformedNote(offset: UInt64, reason: String)
    case tooManyNotes(limit: Int)
    case badNumericNote(note: String, size: UInt32)

    // MARK: Xen kernel information
    case notAXenKernel(String)
    case unsupportedXenVersion(String)
    case unsupportedLoader(loader: String, guestOS: String)
    case unknownRequiredFeature(String)
    case requiredFeatureUnavailable(String)
    case paddrOffsetWithoutVirtBase
    case noLoadableSegments
    case addressesOutOfBounds(String)
    case p2mInsideKernel(p2mBase: UInt64, kernelStart: UInt64, kernelEnd: UInt64)
    case unsupportedLegacyGuestInfo(String)
    case bsdSymtabUnsupported

    // MARK: bzImage and compression
    case bzImageTooSmall(size: Int)
    case bootProtocolTooOld(version: UInt16)
    case payloadOutOfFile(offset: UInt64, length: UInt64, fileSize: UInt64)
    case unsupportedCompression(String)
    case unknownCompression(magic: [UInt8])
    case decompressionFailed(format: String, detail: String)
    case decompressedTooLarge(format: String, limit: Int)
    case payloadNotELF
    case unrecognisedImage(magic: [UInt8])

    // MARK: layout
    case misalignedAddress(what: String, address: UInt64)
    case outOfMemory(segment: String, pages: UInt64, totalPages: UInt64, used: UInt64)
    case initialMappingTooLarge(endPFN: UInt64, totalPages: UInt64)
    case addressSpaceOverflow(what: String)
    case overlapsHypervisorHole(what: String, start: UInt64, end: UInt64)
    case nonCanonical(what: String, start: UInt64, end: UInt64)
    case overlappingMappings(kernelEnd: UInt64, p2mBase: UInt64)
    case hypercallPageOutsideMemory(address: UInt64)
    case commandLineTooLong(bytes: Int, limit: Int)
    case emptyRamdisk
    case ramdiskTooLarge(bytes: Int, limit: Int)
    case noMemory

    // MARK: writing
    case frameNotPopulated(GuestFrame)
    case writeFailed(GuestFrame, reason: String)

    public var description: String {
        switch self {
        case .notELF:
            return "the kernel is not an ELF image (no \\x7fELF magic); pass a vmlinux ELF, a bzImage or a gzip-compressed ELF"
        case let .truncated(what, needed, available):
            return "the image is truncated: \(what) needs \(needed) bytes but only \(available) are there; the file is damaged or incomplete"
        case let .unsupportedELFClass(c):
            return "ELF class \(c) is not supported: Kite builds 64-bit PV guests only (ELFCLASS64); use an x86-64 kernel"
        case let .unsupportedByteOrder(d):
            return "ELF data encoding \(d) is not supported: x86-64 kernels are little-endian (ELFDATA2LSB)"
        case let .unsupportedMachine(m):
            return "ELF machine \(m) is not x86-64 (62); use a kernel built for x86-64"
        case let .badHeaderEntrySize(what, size, expected):
            return "the ELF \(what) entry size is \(size), expected \(expected); the header is corrupt"
        case let .tooManyHeaders(what, count, limit):
            return "the image declares \(count) \(what), more than the \(limit) the builder accepts; the header is corrupt or hostile"
        case let .tableOutOfFile(what, offset, size, fileSize):
            return "the ELF \(what) (offset \(hex(offset)), \(size) bytes) lies beyond the end of the \(fileSize)-byte file; the image is corrupt or truncated"
        case let .segmentOutOfFile(index, offset, size, fileSize):
            return "program header \(index): file range \(hex(offset))+\(hex(size)) lies beyond the \(fileSize)-byte file; the image is corrupt or truncated"
        case let .segmentFileSizeExceedsMemorySize(index, fileSize, memorySize):
            return "program header \(index): p_filesz \(hex(fileSize)) is larger than p_memsz \(hex(memorySize)); the image is corrupt"
        case let .segmentAddressOverflow(index, address, memorySize):
            return "program header \(index): address \(hex(address)) + size \(hex(memorySize)) wraps past 2^64; the image is corrupt"
        case let .sectionOutOfFile(index, offset, size, fileSize):
            return "section \(index): file range \(hex(offset))+\(hex(size)) lies beyond the \(fileSize)-byte file; the image is corrupt or truncated"
        case let .misalignedNotes(offset):
            return "the note area at file offset \(hex(offset)) is not 4-byte aligned; the image is corrupt"
        case let .malformedNote(offset, reason):
            return "malformed ELF note at file offset \(hex(offset)): \(reason); the image is corrupt"
        case let .tooManyNotes(limit):
            return "the image has more than \(limit) ELF notes; it is corrupt or hostile"
        case let .badNumericNote(note, size):
            return "Xen note \(note) has a \(size)-byte value; numeric notes hold 1, 2, 4 or 8 bytes"
        case let .notAXenKernel(reason):
            return "not a Xen PV kernel: \(reason); use a kernel built with Xen guest support (Linux CONFIG_XEN_PV, PV-GRUB)"
        case let .unsupportedXenVersion(v):
            return "the kernel was built for Xen ABI \"\(v)\"; only \"xen-3.0\" kernels can be loaded"
        case let .unsupportedLoader(loader, guestOS):
            return "the kernel's LOADER is \"\(loader)\" and GUEST_OS \"\(guestOS)\": only images for the generic loader or Linux can be loaded"
        case let .unknownRequiredFeature(name):
            return "the kernel requires the unknown Xen feature \"\(name)\"; it needs a hypervisor Kite does not emulate"
        case let .requiredFeatureUnavailable(name):
            return "the kernel requires the Xen feature \(name), which Kite does not offer to a 64-bit PV domU; use a kernel that does not require it"
        case .paddrOffsetWithoutVirtBase:
            return "the kernel sets PADDR_OFFSET without VIRT_BASE; its Xen notes are inconsistent"
        case .noLoadableSegments:
            return "the ELF image has no loadable (PT_LOAD) segments; there is nothing to boot"
        case let .addressesOutOfBounds(detail):
            return "the kernel's addresses are out of bounds (\(detail)); its Xen notes or program headers are inconsistent"
        case let .p2mInsideKernel(base, start, end):
            return "INIT_P2M \(hex(base)) lies inside the kernel [\(hex(start)), \(hex(end))); the kernel's notes are inconsistent"
        case let .unsupportedLegacyGuestInfo(reason):
            return "the kernel describes itself with a legacy __xen_guest section that Kite does not accept (\(reason)); use a kernel with Xen ELF notes"
        case .bsdSymtabUnsupported:
            return "the kernel asks for its symbol table to be loaded (BSD_SYMTAB); Kite's builder does not support that"
        case let .bzImageTooSmall(size):
            return "the bzImage is only \(size) bytes, smaller than its setup header; the file is truncated"
        case let .bootProtocolTooOld(version):
            return "the bzImage uses boot protocol \(hex(UInt64(version))); 0x208 or newer is needed to find the payload; use a newer kernel"
        case let .payloadOutOfFile(offset, length, fileSize):
            return "the bzImage payload (offset \(hex(offset)), \(length) bytes) lies beyond the \(fileSize)-byte file; the file is truncated or corrupt"
        case let .unsupportedCompression(name):
            return "the kernel payload is \(name)-compressed, which Kite cannot decompress; rebuild the kernel with xz, gzip, lzma or zstd compression, or pass the vmlinux ELF"
        case let .unknownCompression(magic):
            return "the bzImage payload has an unknown compression format (magic \(magic.map { hex2($0) }.joined(separator: " "))); pass the vmlinux ELF instead"
        case let .decompressionFailed(format, detail):
            return "\(format) decompression failed: \(detail); the image is corrupt or truncated"
        case let .decompressedTooLarge(format, limit):
            return "the \(format) payload decompresses to more than \(limit) bytes, the builder's limit; the image is hostile or the limit too small"
        case .payloadNotELF:
            return "the bzImage payload decompressed, but it is not an ELF image; this kernel cannot be booted as a Xen PV guest"
        case let .unrecognisedImage(magic):
            return "the kernel image is neither ELF, bzImage nor gzip (starts with \(magic.map { hex2($0) }.joined(separator: " "))); pass a vmlinux or bzImage"
        case let .misalignedAddress(what, address):
            return "\(what) \(hex(address)) is not page-aligned; the kernel's notes or program headers are inconsistent"
        case let .outOfMemory(segment, pages, total, used):
            return "not enough memory for the \(segment): it needs \(pages) pages but only \(total &- min(used, total)) of \(total) are left; give the domain more memory"
        case let .initialMappingTooLarge(endPFN, total):
            return "the initial mapping reaches pfn \(hex(endPFN)) but the domain has only \(hex(total)) pages; give the domain more memory"
        case let .addressSpaceOverflow(what):
            return "\(what) would run past the top of the 64-bit address space; the kernel's VIRT_BASE is too high for this much memory"
        case let .overlapsHypervisorHole(what, start, end):
            return "\(what) [\(hex(start)), \(hex(end))) overlaps the hypervisor's reserved range [0xffff800000000000, 0xffff880000000000); the kernel cannot run as a 64-bit PV guest"
        case let .nonCanonical(what, start, end):
            return "\(what) [\(hex(start)), \(hex(end))) is not a canonical x86-64 address range; the kernel's notes are inconsistent"
        case let .overlappingMappings(kernelEnd, p2mBase):
            return "the INIT_P2M area at \(hex(p2mBase)) overlaps the kernel mapping ending at \(hex(kernelEnd)); the kernel's notes are inconsistent"
        case let .hypercallPageOutsideMemory(address):
            return "the HYPERCALL_PAGE \(hex(address)) is not inside the domain's memory; the kernel's notes are inconsistent"
        case let .commandLineTooLong(bytes, limit):
            return "the command line is \(bytes) bytes; a PV guest's limit is \(limit) bytes; shorten it"
        case .emptyRamdisk:
            return "the ramdisk is empty; pass a non-empty initrd or none"
        case let .ramdiskTooLarge(bytes, limit):
            return "the ramdisk is \(bytes) bytes, more than the builder's \(limit)-byte limit"
        case .noMemory:
            return "the domain has no memory; give it at least a few MiB"
        case let .frameNotPopulated(frame):
            return "guest frame \(frame) is not populated; the domain's memory was not set up before building"
        case let .writeFailed(frame, reason):
            return "writing guest frame \(frame) failed: \(reason)"
        }
    }
}

private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
private func hex2(_ byte: UInt8) -> String {
    let s = String(byte, radix: 16)
    return s.count == 1 ? "0" + s : s
}
