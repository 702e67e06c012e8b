import Foundation

/// The control API's framing: one JSON object per line (UTF-8, `\n`-terminated; JSON
/// escapes every newline inside strings). A line longer than the limit is skipped up to
/// its newline and answered with `request-too-large`; the connection stays usable.
public enum ControlFraming {
    /// The longest request line kited reads. Requests carry paths, not images.
    public static let maximumRequestBytes = 1 << 20
    /// The longest reply line `kite` reads (a large dmesg or list).
    public static let maximumReplyBytes = 64 << 20

    /// `value` as one line of JSON (sorted keys, so output is stable for scripts and tests).
    public static func line(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            return Array(#"{"error":{"code":"internal","message":"cannot encode the reply"},"ok":false}"#.utf8) + [0x0A]
        }
        return [UInt8](data) + [0x0A]
    }

    /// Decodes one request line; every failure becomes the error kited replies with.
    public static func request(from line: [UInt8]) -> Result<ControlRequest, ControlError> {
        do {
            return .success(try JSONDecoder().decode(ControlRequest.self, from: Data(line)))
        } catch let e as ControlRequest.UnknownOperation {
            return .failure(ControlError(
                .unknownOperation,
                "unknown operation \"\(e.op)\" (known: \(ControlRequest.operations.joined(separator: ", ")))"))
        } catch let e as DecodingError {
            // Foundation reports a number that does not fit its field (a negative size) as
            // "not valid JSON" without a path; tell the two apart by parsing alone.
            if case .dataCorrupted(let ctx) = e, ctx.codingPath.isEmpty,
                (try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])) != nil
            {
                return .failure(ControlError(
                    .malformedRequest, "a number is out of range for its field (ids, counts and sizes are whole numbers, not negative)"))
            }
            return .failure(ControlError(.malformedRequest, describe(e)))
        } catch {
            return .failure(ControlError(.malformedRequest, "the request is not JSON: \(error)"))
        }
    }

    /// Decodes one reply line.
    public static func response(from line: [UInt8]) -> Result<ControlReply, ControlError> {
        do {
            return try JSONDecoder().decode(ControlResponse.self, from: Data(line)).result
        } catch let e as DecodingError {
            return .failure(ControlError(.protocolError, "kited's reply does not parse: \(describe(e))"))
        } catch {
            return .failure(ControlError(.protocolError, "kited's reply does not parse: \(error)"))
        }
    }

    /// A DecodingError in words: which field, what was wrong.
    static func describe(_ e: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the request" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .keyNotFound(let key, let ctx):
            return "missing field \(path(ctx.codingPath + [key]))"
        case .typeMismatch(let type, let ctx):
            return "\(path(ctx.codingPath)) should be \(describe(type))"
        case .valueNotFound(let type, let ctx):
            return "\(path(ctx.codingPath)) should be \(describe(type)), not null"
        case .dataCorrupted(let ctx):
            // Unparsable JSON comes with the parser's error underneath; a value that parsed
            // but does not fit (a negative size) comes without.
            if ctx.underlyingError != nil || ctx.debugDescription.contains("not valid JSON") {
                return "the request is not valid JSON"
            }
            return ctx.codingPath.isEmpty ? ctx.debugDescription : "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        case is Int.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type: "a whole number"
        default: "\(type)"
        }
    }
}

/// Reads `\n`-terminated lines from a socket, each at most `limit` bytes.
public final class ControlLineReader {
    public enum Line: Equatable {
        case line([UInt8])
        /// A line longer than the limit, skipped up to its end.
        case tooLong
        /// End of stream (or a final line without its newline, dropped).
        case end
    }

    private let socket: ControlSocket
    private let limit: Int
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    public init(socket: ControlSocket, limit: Int) {
        self.socket = socket
        self.limit = limit
    }

    public func next() -> Line {
        var skipping = false
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if skipping || line.count > limit { return .tooLong }
                return .line(line)
            }
            if buffer.count > limit {
                // Too long already: drop what we have and keep reading to the newline.
                skipping = true
                buffer.removeAll(keepingCapacity: true)
            }
            let n = socket.read(into: &chunk)
            guard n > 0 else { return skipping ? .tooLong : .end }
            buffer += chunk[..<n]
        }
    }

    /// Bytes read past the last line (the start of a raw console stream).
    public func takeBuffered() -> [UInt8] {
        defer { buffer.removeAll() }
        return buffer
    }
}
