/// A kernel file unwrapped to its ELF image and Xen information: a raw ELF, a
/// gzip-compressed ELF (Xen: xc_dom_try_gunzip), or a Linux bzImage whose payload is
/// decompressed (Xen: xg_dom_bzimageloader.c).
public struct KernelImage: Sendable {
    /// How the ELF was wrapped in the file.
    public enum Container: Equatable, Sendable, CustomStringConvertible {
        case elf
        case gzip
        /// A bzImage with boot protocol `protocolVersion` and a payload in `compression`.
        case bzImage(protocolVersion: UInt16, compression: Compression)

        public var description: String {
            switch self {
            case .elf: return "ELF"
            case .gzip: return "gzip-compressed ELF"
            case let .bzImage(version, compression):
                return "bzImage (boot protocol \(version >> 8).\(String(version & 0xFF, radix: 16)), \(compression) payload)"
            }
        }
    }

    /// Payload compression formats of a bzImage, recognised by magic bytes.
    public enum Compression: String, Equatable, Sendable, CaseIterable, CustomStringConvertible {
        case gzip, bzip2, xz, lzma, lzo, lz4, zstd

        /// The magic bytes each format starts with (Linux's and Xen's choice).
        var magic: [UInt8] {
            switch self {
            case .gzip: return [0x1F, 0x8B]
            case .bzip2: return [0x42, 0x5A, 0x68]  // "BZh"
            case .xz: return [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]
            case .lzma: return [0x5D, 0x00]
            case .lzo: return [0x89, 0x4C, 0x5A, 0x4F]
            case .lz4: return [0x02, 0x21]
            case .zstd: return [0x28, 0xB5, 0x2F, 0xFD]
            }
        }

        public var description: String { rawValue }

        static func detect(_ bytes: ArraySlice<UInt8>) -> Compression? {
            allCases.first { bytes.starts(with: $0.magic) }
        }
    }

    public let container: Container
    public let elf: ElfImage
    public let info: XenKernelInfo

    /// Unwraps and parses a kernel file. `maxDecompressedSize` bounds any decompression
    /// (Xen's default: 1 GiB).
    public init(bytes: [UInt8], maxDecompressedSize: Int = Decompressor.defaultLimit,
                limits: ElfImage.Limits = ElfImage.Limits()) throws(BuilderError) {
        var file = bytes
        var container = Container.elf
        if file.starts(with: Compression.gzip.magic) {
            file = try Decompressor.gunzip(file[...], limit: maxDecompressedSize)
            container = .gzip
        }
        if ElfImage.hasMagic(file) {
            elf = try ElfImage(bytes: file, limits: limits)
        } else if KernelImage.isBzImage(file) {
            let (version, compression, payload) = try KernelImage.unwrapBzImage(file, limit: maxDecompressedSize)
            guard ElfImage.hasMagic(payload) else { throw .payloadNotELF }
            elf = try ElfImage(bytes: payload, limits: limits)
            container = .bzImage(protocolVersion: version, compression: compression)
        } else if container == .gzip {
            throw .notELF
        } else {
            throw .unrecognisedImage(magic: Array(file.prefix(4)))
        }
        self.container = container
        info = try XenKernelInfo.parse(elf)
    }

    /// Offsets in the Linux boot protocol's setup header (Documentation/x86/boot.rst).
    private enum SetupHeader {
        static let setupSectors: UInt64 = 0x1F1
        static let magic: UInt64 = 0x202  // "HdrS"
        static let version: UInt64 = 0x206
        static let payloadOffset: UInt64 = 0x248
        static let payloadLength: UInt64 = 0x24C
        /// sizeof(struct setup_header) as Xen declares it: the header ends after payload_length.
        static let size: UInt64 = 0x250
        static let minimumVersion: UInt16 = 0x0208
    }

    /// Whether the file carries the Linux setup-header magic "HdrS" at 0x202.
    public static func isBzImage(_ bytes: [UInt8]) -> Bool {
        bytes.readLE(UInt32.self, at: SetupHeader.magic) == 0x5372_6448  // "HdrS" little-endian
    }

    /// Finds and decompresses the payload of a bzImage. Returns the boot protocol version,
    /// the compression format and the decompressed bytes.
    static func unwrapBzImage(_ bytes: [UInt8], limit: Int) throws(BuilderError) -> (UInt16, Compression, [UInt8]) {
        let size = UInt64(bytes.count)
        guard size >= SetupHeader.size,
              let sectors = bytes.readLE(UInt8.self, at: SetupHeader.setupSectors),
              let version = bytes.readLE(UInt16.self, at: SetupHeader.version),
              let relativeOffset = bytes.readLE(UInt32.self, at: SetupHeader.payloadOffset),
              let length = bytes.readLE(UInt32.self, at: SetupHeader.payloadLength)
        else { throw .bzImageTooSmall(size: bytes.count) }
        guard version >= SetupHeader.minimumVersion else { throw .bootProtocolTooOld(version: version) }

        // The payload offset is relative to the protected-mode code, which follows the
        // setup sectors and the boot sector. (Xen takes setup_sects as is; with a 2.08+
        // protocol it is never the legacy 0.)
        let offset = (UInt64(sectors) + 1) * 512 + UInt64(relativeOffset)
        guard offset < size, UInt64(length) <= size - offset,
              let payload = bytes.slice(at: offset, length: UInt64(length))
        else { throw .payloadOutOfFile(offset: offset, length: UInt64(length), fileSize: size) }

        guard let compression = Compression.detect(payload) else {
            throw .unknownCompression(magic: Array(payload.prefix(6)))
        }
        let decompressed: [UInt8]
        switch compression {
        case .gzip: decompressed = try Decompressor.gunzip(payload, limit: limit)
        case .xz: decompressed = try Decompressor.unxz(payload, limit: limit)
        case .lzma: decompressed = try Decompressor.unlzma(payload, limit: limit)
        case .zstd: decompressed = try Decompressor.unzstd(payload, limit: limit)
        case .bzip2, .lzo, .lz4: throw .unsupportedCompression(compression.rawValue)
        }
        return (version, compression, decompressed)
    }
}
