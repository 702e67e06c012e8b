import Foundation

/// A guest's console output appended to a file, as xenconsoled's `--log=guest` does
/// (`<directory>/guest-<name>.log`). Writes happen on the caller's thread (the console
/// backend's queue or a vCPU's); a write error stops logging for this guest, once, with a
/// message, rather than failing the guest.
final class ConsoleLogFile: @unchecked Sendable {
    let path: String
    private let handle: FileHandle
    private let lock = NSLock()
    private var failed = false
    private let report: @Sendable (String) -> Void

    init(directory: String, guestName: String, report: @escaping @Sendable (String) -> Void) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/guest-\(guestName).log"
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        self.report = report
    }

    func write(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        defer { lock.unlock() }
        guard !failed else { return }
        do { try handle.write(contentsOf: Data(bytes)) } catch {
            failed = true
            report("console log \(path): \(error.localizedDescription); logging stopped")
        }
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        try? handle.close()
        failed = true
    }
}
