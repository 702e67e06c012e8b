import CDecompress

/// Compressors for test payloads, using the same system libraries the builder decompresses
/// with.
enum Compressors {
    /// xz with the x86 BCJ filter and LZMA2, CRC32 check: how Linux builds vmlinux.bin.xz.
    static func xz(_ input: [UInt8]) -> [UInt8] {
        var options = lzma_options_lzma()
        _ = lzma_lzma_preset(&options, 6)
        return withUnsafeMutablePointer(to: &options) { optionsPointer in
            // LZMA_FILTER_X86, LZMA_FILTER_LZMA2, LZMA_VLI_UNKNOWN: function-like macros in
            // lzma.h, which Swift does not import.
            var filters = [
                lzma_filter(id: 0x04, options: nil),
                lzma_filter(id: 0x21, options: UnsafeMutableRawPointer(optionsPointer)),
                lzma_filter(id: UInt64.max, options: nil),
            ]
            var output = [UInt8](repeating: 0, count: input.count + input.count / 2 + 4096)
            var position = 0
            let status = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { out in
                    lzma_stream_buffer_encode(&filters, LZMA_CHECK_CRC32, nil, source.baseAddress, source.count,
                                              out.baseAddress, &position, out.count)
                }
            }
            precondition(status == LZMA_OK, "xz encode failed")
            return Array(output[0..<position])
        }
    }

    /// Legacy .lzma (lzma-alone).
    static func lzmaAlone(_ input: [UInt8]) -> [UInt8] {
        var options = lzma_options_lzma()
        _ = lzma_lzma_preset(&options, 6)
        var stream = lzma_stream()
        precondition(lzma_alone_encoder(&stream, &options) == LZMA_OK)
        defer { lzma_end(&stream) }
        var output = [UInt8](repeating: 0, count: input.count + input.count / 2 + 4096)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = source.baseAddress
                stream.avail_in = source.count
                stream.next_out = out.baseAddress
                stream.avail_out = out.count
                precondition(lzma_code(&stream, LZMA_FINISH) == LZMA_STREAM_END, "lzma encode failed")
            }
        }
        return Array(output[0..<Int(stream.total_out)])
    }

    /// gzip (deflate with a gzip header and trailer).
    static func gzip(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = UInt32(source.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END, "gzip encode failed")
            }
        }
        return Array(output[0..<Int(stream.total_out)])
    }

    static func zstd(_ input: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { out in
                ZSTD_compress(out.baseAddress, out.count, source.baseAddress, source.count, 19)
            }
        }
        precondition(ZSTD_isError(written) == 0, "zstd encode failed")
        return Array(output[0..<written])
    }

    /// A Linux bzImage around `payload`: boot sector and `setupSectors` setup sectors with
    /// the setup header, then the protected-mode part with the payload at
    /// `payloadOffset`, followed (as Linux does) by the 4-byte uncompressed size.
    static func bzImage(payload: [UInt8], uncompressedSize: UInt32 = 0, setupSectors: UInt8 = 4,
                        version: UInt16 = 0x020F, payloadOffset: UInt32 = 0x1000) -> [UInt8] {
        let setupSize = (Int(setupSectors) + 1) * 512
        var image = [UInt8](repeating: 0, count: setupSize + Int(payloadOffset))
        image[0x1F1] = setupSectors
        image[0x1FE] = 0x55
        image[0x1FF] = 0xAA
        image.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        set16(&image, 0x206, version)
        set32(&image, 0x248, payloadOffset)
        set32(&image, 0x24C, UInt32(payload.count + 4))
        image += payload
        put32(&image, uncompressedSize)
        return image
    }
}
