import CDecompress

/// Decompression of kernel payloads with the system libraries (liblzma, zlib, libzstd).
/// Output is produced in chunks and refused as soon as it would exceed `limit`, so a
/// decompression bomb costs at most `limit` bytes of memory. Each decoder stops at the end
/// of its first stream: Linux appends the uncompressed size after the stream, which is
/// ignored here as Xen's builder ignores it.
public enum Decompressor {
    /// Xen: XC_DOM_DECOMPRESS_MAX — the builder's default cap on a decompressed image.
    public static let defaultLimit = 1 << 30

    private static let chunk = 1 << 20

    /// gzip (or zlib) stream. Xen: xc_dom_do_gunzip.
    public static func gunzip(_ input: ArraySlice<UInt8>, limit: Int = defaultLimit) throws(BuilderError) -> [UInt8] {
        var stream = z_stream()
        // MAX_WBITS + 32: detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, MAX_WBITS + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .decompressionFailed(format: "gzip", detail: "zlib could not initialise")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var failure: BuilderError?
        input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(clamping: source.count)
            var buffer = [UInt8](repeating: 0, count: chunk)
            while true {
                let status: Int32 = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                if output.count + produced > limit {
                    failure = .decompressedTooLarge(format: "gzip", limit: limit)
                    return
                }
                output.append(contentsOf: buffer[0..<produced])
                if status == Z_STREAM_END { return }
                if status != Z_OK {
                    failure = .decompressionFailed(format: "gzip", detail: zlibMessage(status, stream.msg))
                    return
                }
                if stream.avail_in == 0 && produced == 0 {
                    failure = .decompressionFailed(format: "gzip", detail: "the stream ends early")
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    /// xz container (`FD 37 7A 58 5A 00`). Xen: xc_try_xz_decode.
    public static func unxz(_ input: ArraySlice<UInt8>, limit: Int = defaultLimit) throws(BuilderError) -> [UInt8] {
        try lzmaDecode(input, limit: limit, format: "xz") { stream in
            lzma_stream_decoder(&stream, UInt64.max, 0)
        }
    }

    /// Legacy `.lzma` ("lzma-alone", `5D 00 ...`). Xen: xc_try_lzma_decode.
    public static func unlzma(_ input: ArraySlice<UInt8>, limit: Int = defaultLimit) throws(BuilderError) -> [UInt8] {
        try lzmaDecode(input, limit: limit, format: "lzma") { stream in
            lzma_alone_decoder(&stream, UInt64.max)
        }
    }

    private static func lzmaDecode(
        _ input: ArraySlice<UInt8>, limit: Int, format: String,
        start: (inout lzma_stream) -> lzma_ret
    ) throws(BuilderError) -> [UInt8] {
        var stream = lzma_stream()
        guard start(&stream) == LZMA_OK else {
            throw .decompressionFailed(format: format, detail: "liblzma could not initialise")
        }
        defer { lzma_end(&stream) }
        var output: [UInt8] = []
        var failure: BuilderError?
        input.withUnsafeBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = source.count
            var buffer = [UInt8](repeating: 0, count: chunk)
            while true {
                let action = stream.avail_in == 0 ? LZMA_FINISH : LZMA_RUN
                let status = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = out.count
                    return lzma_code(&stream, action)
                }
                let produced = chunk - stream.avail_out
                if output.count + produced > limit {
                    failure = .decompressedTooLarge(format: format, limit: limit)
                    return
                }
                output.append(contentsOf: buffer[0..<produced])
                if status == LZMA_STREAM_END { return }
                if status != LZMA_OK {
                    failure = .decompressionFailed(format: format, detail: lzmaMessage(status))
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    /// zstd frame (`28 B5 2F FD`). Xen: xc_try_zstd_decode.
    public static func unzstd(_ input: ArraySlice<UInt8>, limit: Int = defaultLimit) throws(BuilderError) -> [UInt8] {
        guard let context = ZSTD_createDStream() else {
            throw .decompressionFailed(format: "zstd", detail: "libzstd could not initialise")
        }
        defer { ZSTD_freeDStream(context) }
        var output: [UInt8] = []
        var failure: BuilderError?
        input.withUnsafeBufferPointer { source in
            var inBuffer = ZSTD_inBuffer(src: UnsafeRawPointer(source.baseAddress), size: source.count, pos: 0)
            var buffer = [UInt8](repeating: 0, count: chunk)
            while true {
                var produced = 0
                let result: Int = buffer.withUnsafeMutableBufferPointer { out in
                    var outBuffer = ZSTD_outBuffer(dst: UnsafeMutableRawPointer(out.baseAddress), size: out.count, pos: 0)
                    let r = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                    produced = outBuffer.pos
                    return r
                }
                if ZSTD_isError(result) != 0 {
                    let name = ZSTD_getErrorName(result).map { String(cString: $0) } ?? "error \(result)"
                    failure = .decompressionFailed(format: "zstd", detail: name)
                    return
                }
                if output.count + produced > limit {
                    failure = .decompressedTooLarge(format: "zstd", limit: limit)
                    return
                }
                output.append(contentsOf: buffer[0..<produced])
                if result == 0 { return }  // end of the frame
                if inBuffer.pos == inBuffer.size && produced < chunk {
                    failure = .decompressionFailed(format: "zstd", detail: "the frame ends early")
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    private static func zlibMessage(_ status: Int32, _ message: UnsafeMutablePointer<CChar>?) -> String {
        if let message { return String(cString: message) }
        switch status {
        case Z_DATA_ERROR: return "corrupt data"
        case Z_BUF_ERROR: return "the stream ends early"
        case Z_MEM_ERROR: return "out of memory"
        default: return "zlib status \(status)"
        }
    }

    private static func lzmaMessage(_ status: lzma_ret) -> String {
        switch status {
        case LZMA_DATA_ERROR: return "corrupt data"
        case LZMA_FORMAT_ERROR: return "not in the expected format"
        case LZMA_BUF_ERROR: return "the stream ends early"
        case LZMA_MEM_ERROR: return "out of memory"
        case LZMA_MEMLIMIT_ERROR: return "memory limit reached"
        case LZMA_OPTIONS_ERROR: return "unsupported options"
        case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check"
        default: return "liblzma status \(status.rawValue)"
        }
    }
}
