import ArgumentParser
import Foundation
import KiteControl
import XenBackends

/// `kite xenstore`: the host side of xenstore over the store's Unix socket, like Xen's
/// xenstore-ls, -read, -write, -rm and -watch. Every request is made as domain 0.
struct XenStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xenstore",
        abstract: "Read and change the xenstore of the running domains (as domain 0).",
        discussion: """
            Talks to the Kite process hosting the domains (kite run or kited) through its
            xenstore socket, by default in Kite's runtime directory.
              kite xenstore ls -p /local/domain/1
              kite xenstore read /local/domain/1/name
              kite xenstore write /local/domain/1/control/shutdown poweroff
              kite xenstore watch /local/domain/1/device
            """,
        subcommands: [XenStoreList.self, XenStoreRead.self, XenStoreWrite.self, XenStoreRemove.self, XenStoreWatch.self]
    )
}

/// The option every subcommand takes.
struct XenStoreSocketOption: ParsableArguments {
    @Option(name: .customLong("socket"), help: ArgumentHelp("The xenstore socket (default: in Kite's runtime directory).",
                                                            valueName: "path"))
    var path: String?

    func connect() throws -> XenStoreSocketClient {
        let socket = path ?? KiteRuntimeDirectory.current().xenstoreSocket
        do { return try XenStoreSocketClient(path: socket) } catch { throw CommandFailure(error.description) }
    }
}

/// Runs `body`, turning store errors into `kite: message`.
private func storeCall<R>(_ body: () throws(XenStoreToolError) -> R) throws -> R {
    do { return try body() } catch { throw CommandFailure(error.description) }
}

struct XenStoreList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List a subtree with its values (xenstore-ls).")

    @OptionGroup var socket: XenStoreSocketOption
    @Flag(name: .short, help: "Show each node's permissions.") var permissions = false
    @Argument(help: "The subtree (default: /).") var path = "/"

    func run() throws {
        let client = try socket.connect()
        try list(client, path, depth: 0)
    }

    /// One line per node: indentation by depth, `name = "value"`, with -p `  (n0,r1)`.
    private func list(_ client: XenStoreSocketClient, _ node: String, depth: Int) throws {
        for name in try storeCall({ () throws(XenStoreToolError) in try client.directory(node) }) {
            let child = node == "/" ? "/" + name : node + "/" + name
            var line = String(repeating: " ", count: depth) + name
            if let value = try? client.read(child) {
                line += " = \"\(Self.sanitised(value))\""
            } else {
                line += ":"
            }
            if permissions, let entries = try? client.permissions(child) {
                line += "  (" + entries.joined(separator: ",") + ")"
            }
            print(line)
            try list(client, child, depth: depth + 1)
        }
    }

    /// xenstore-ls shows unprintable bytes as octal escapes and escapes backslashes.
    static func sanitised(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(UnicodeScalar(byte))
            default: text += "\\" + String(byte, radix: 8).leftPadded(to: 3)
            }
        }
        return text
    }
}

struct XenStoreRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Print the values of nodes, one per line (xenstore-read).")

    @OptionGroup var socket: XenStoreSocketOption
    @Argument(help: "Nodes to read.") var paths: [String]

    func run() throws {
        let client = try socket.connect()
        for path in paths {
            let value = try storeCall { () throws(XenStoreToolError) in try client.read(path) }
            print(String(decoding: value, as: UTF8.self))
        }
    }
}

struct XenStoreWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write values: path value [path value ...] (xenstore-write).")

    @OptionGroup var socket: XenStoreSocketOption
    @Argument(help: "Pairs of a node and its new value.") var pairs: [String]

    func validate() throws {
        guard !pairs.isEmpty, pairs.count % 2 == 0 else {
            throw ValidationError("give pairs of a path and a value")
        }
    }

    func run() throws {
        let client = try socket.connect()
        for index in stride(from: 0, to: pairs.count, by: 2) {
            let (path, value) = (pairs[index], pairs[index + 1])
            try storeCall { () throws(XenStoreToolError) in try client.write(path, Array(value.utf8)) }
        }
    }
}

struct XenStoreRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove nodes and their subtrees (xenstore-rm).")

    @OptionGroup var socket: XenStoreSocketOption
    @Argument(help: "Nodes to remove.") var paths: [String]

    func run() throws {
        let client = try socket.connect()
        for path in paths {
            try storeCall { () throws(XenStoreToolError) in try client.remove(path) }
        }
    }
}

struct XenStoreWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print the path of every change at or below a node (xenstore-watch); the first line comes at once.")

    @OptionGroup var socket: XenStoreSocketOption
    @Option(name: .short, help: "Stop after this many events.") var count: Int?
    @Argument(help: "The node to watch.") var path: String

    func run() throws {
        let client = try socket.connect()
        try storeCall { () throws(XenStoreToolError) in try client.watch(path, token: "kite") }
        var seen = 0
        while count.map({ seen < $0 }) ?? true {
            let event: (path: String, token: String)
            do { event = try client.nextEvent() } catch { throw CommandFailure(error.description) }
            // Unbuffered: a watcher is often piped into another program.
            FileHandle.standardOutput.write(Data((event.path + "\n").utf8))
            seen += 1
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
