import Testing
@testable import Toolstack
import XenABI

/// Unwrapping kernels: raw ELF, gzip-wrapped ELF, bzImage with each payload format,
/// and the refusals (unsupported formats, bad headers, decompression bombs).
@Suite struct KernelImageTests {
    let vmlinux = TestELF.linuxLike(fileBytes: 0x6000).bytes

    @Test func acceptsARawELF() throws {
        let kernel = try KernelImage(bytes: vmlinux)
        #expect(kernel.container == .elf)
        #expect(kernel.elf.bytes == vmlinux)
        #expect(kernel.info.entry == 0xFFFF_FFFF_8100_1000)
    }

    @Test func acceptsAGzipWrappedELF() throws {
        let kernel = try KernelImage(bytes: Compressors.gzip(vmlinux))
        #expect(kernel.container == .gzip)
        #expect(kernel.elf.bytes == vmlinux)
    }

    @Test(arguments: [KernelImage.Compression.xz, .gzip, .zstd, .lzma])
    func unwrapsABzImage(_ compression: KernelImage.Compression) throws {
        let payload: [UInt8]
        switch compression {
        case .xz: payload = Compressors.xz(vmlinux)
        case .gzip: payload = Compressors.gzip(vmlinux)
        case .zstd: payload = Compressors.zstd(vmlinux)
        default: payload = Compressors.lzmaAlone(vmlinux)
        }
        let image = Compressors.bzImage(payload: payload, uncompressedSize: UInt32(vmlinux.count))
        #expect(KernelImage.isBzImage(image))
        let kernel = try KernelImage(bytes: image)
        #expect(kernel.container == .bzImage(protocolVersion: 0x020F, compression: compression))
        #expect(kernel.elf.bytes == vmlinux)
        #expect(kernel.info.virtBase == 0xFFFF_FFFF_8000_0000)
    }

    @Test func honoursSetupSectorsAndPayloadOffset() throws {
        let image = Compressors.bzImage(payload: Compressors.xz(vmlinux), setupSectors: 27, payloadOffset: 0x52CC)
        #expect(try KernelImage(bytes: image).elf.bytes == vmlinux)
    }

    @Test(arguments: [("bzip2", [UInt8]([0x42, 0x5A, 0x68, 0x39])), ("lzo", [0x89, 0x4C, 0x5A, 0x4F, 0x00]),
                      ("lz4", [0x02, 0x21, 0x4C, 0x18])])
    func refusesFormatsItCannotDecompress(_ name: String, _ magic: [UInt8]) {
        let image = Compressors.bzImage(payload: magic + [UInt8](repeating: 0, count: 64))
        #expect(throws: BuilderError.unsupportedCompression(name)) { try KernelImage(bytes: image) }
        #expect(BuilderError.unsupportedCompression(name).description.contains(name))
    }

    @Test func refusesUnknownPayloads() {
        let image = Compressors.bzImage(payload: [0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4])
        #expect(throws: BuilderError.unknownCompression(magic: [0xDE, 0xAD, 0xBE, 0xEF, 1, 2])) {
            try KernelImage(bytes: image)
        }
        // A payload that decompresses to something other than ELF.
        let notELF = Compressors.bzImage(payload: Compressors.xz(Array("hello, world".utf8)))
        #expect(throws: BuilderError.payloadNotELF) { try KernelImage(bytes: notELF) }
        #expect(throws: BuilderError.unrecognisedImage(magic: [0x4D, 0x5A, 0, 0])) {
            try KernelImage(bytes: [0x4D, 0x5A, 0, 0, 0, 0])
        }
        #expect(throws: BuilderError.notELF) { try KernelImage(bytes: Compressors.gzip(Array("text".utf8))) }
    }

    @Test func refusesBadSetupHeaders() {
        let good = Compressors.bzImage(payload: Compressors.xz(vmlinux))
        var old = good
        set16(&old, 0x206, 0x0207)
        #expect(throws: BuilderError.bootProtocolTooOld(version: 0x0207)) { try KernelImage(bytes: old) }
        var beyond = good
        set32(&beyond, 0x248, 0xFFFF_FF00)
        #expect(throws: BuilderError.self) { try KernelImage(bytes: beyond) }
        var tooLong = good
        set32(&tooLong, 0x24C, UInt32(good.count))
        #expect(throws: BuilderError.self) { try KernelImage(bytes: tooLong) }
        let tiny = Array(good.prefix(0x240))
        #expect(throws: BuilderError.bzImageTooSmall(size: 0x240)) { try KernelImage.unwrapBzImage(tiny, limit: 1 << 20) }
    }

    @Test func refusesCorruptAndTruncatedPayloads() {
        var xz = Compressors.xz(vmlinux)
        xz[xz.count / 2] ^= 0xFF
        #expect(throws: BuilderError.self) { try KernelImage(bytes: Compressors.bzImage(payload: xz)) }
        for payload in [Compressors.xz(vmlinux), Compressors.gzip(vmlinux), Compressors.zstd(vmlinux)] {
            let truncated = Array(payload.prefix(payload.count / 2))
            #expect(throws: BuilderError.self) { try KernelImage(bytes: Compressors.bzImage(payload: truncated)) }
        }
    }

    @Test func refusesDecompressionBombs() {
        // 16 MiB of zeros compress to a few KiB; a 1 MiB limit must stop each decoder early.
        let zeros = [UInt8](repeating: 0, count: 16 << 20)
        let limit = 1 << 20
        let cases: [(String, [UInt8])] = [("xz", Compressors.xz(zeros)), ("gzip", Compressors.gzip(zeros)),
                                          ("zstd", Compressors.zstd(zeros)), ("lzma", Compressors.lzmaAlone(zeros))]
        for (format, payload) in cases {
            #expect(payload.count < 1 << 20)
            #expect(throws: BuilderError.decompressedTooLarge(format: format, limit: limit)) {
                try KernelImage(bytes: Compressors.bzImage(payload: payload), maxDecompressedSize: limit)
            }
        }
        #expect(throws: BuilderError.decompressedTooLarge(format: "gzip", limit: limit)) {
            try KernelImage(bytes: Compressors.gzip(zeros), maxDecompressedSize: limit)
        }
    }

    @Test func decompressorsRoundTrip() throws {
        let data = TestELF.pattern(300_000, seed: 7)
        #expect(try Decompressor.unxz(Compressors.xz(data)[...]) == data)
        #expect(try Decompressor.unlzma(Compressors.lzmaAlone(data)[...]) == data)
        #expect(try Decompressor.gunzip(Compressors.gzip(data)[...]) == data)
        #expect(try Decompressor.unzstd(Compressors.zstd(data)[...]) == data)
        // Exactly at the limit is fine.
        #expect(try Decompressor.unzstd(Compressors.zstd(data)[...], limit: data.count) == data)
    }
}
