import XenABI

/// CONTROL (formerly DEBUG): `command\0args…` from dom0 (tools/xenstored/control.c).
/// Supported: check, print, help, quota [set <name> <value> | <domid>]. Unknown commands are
/// EINVAL. Logging, live update and memory reports belong to the C daemon and are not offered.
extension XenStoreServer {
    private static let commands: [(name: String, parameters: String)] = [
        ("check", ""), ("print", "<string>"), ("quota", "[set <name> <val>|<domid>]"), ("help", ""),
    ]

    mutating func doControl(_ request: Request) throws(XenError) {
        let payload = request.message.payload
        guard let nul = payload.firstIndex(of: 0) else { throw .EINVAL }
        let command = String(decoding: payload[0..<nul], as: UTF8.self)
        guard Self.commands.contains(where: { $0.name == command }) else { throw .EINVAL }
        let arguments = XenStorePayload.strings(payload).dropFirst().map { String(decoding: $0, as: UTF8.self) }
        switch command {
        case "check":
            guard arguments.isEmpty else { throw .EINVAL }
            sendAcknowledgement(request)
        case "print":
            guard arguments.count == 1 else { throw .EINVAL }
            actions.append(.log("control: \(arguments[0])"))
            sendAcknowledgement(request)
        case "help":
            guard arguments.isEmpty else { throw .EINVAL }
            let text = Self.commands.map { pad($0.name, 15) + " " + $0.parameters + "\n" }.joined()
            sendReply(Array(text.utf8) + [0], request)
        default:
            try doControlQuota(Array(arguments), request)
        }
    }

    private mutating func doControlQuota(_ arguments: [String], _ request: Request) throws(XenError) {
        if arguments.isEmpty {
            var text = "Quota settings:\n"
            for (name, value, description) in quotas.named {
                text += pad(name, 17) + ": " + padLeft(String(value), 8) + " " + description + "\n"
            }
            sendReply(Array(text.utf8) + [0], request)
            return
        }
        if arguments[0] == "set" {
            guard arguments.count == 3 else { throw .EINVAL }
            let value = XenStorePayload.atoi(Array(arguments[2].utf8))
            guard value >= 1, quotas.set(arguments[1], to: Int(value)) else { throw .EINVAL }
            sendAcknowledgement(request)
            return
        }
        guard arguments.count == 1 else { throw .EINVAL }
        let domid = XenStorePayload.atou(Array(arguments[0].utf8))
        guard domid <= 0xFFFF, domains[UInt16(domid)] != nil else { throw .ENOENT }
        var text = "Domain \(domid):\n"
        let watches = connection(of: DomainID(UInt16(domid))).flatMap { connections[$0]?.watches.count } ?? 0
        let open = connection(of: DomainID(UInt16(domid))).flatMap { connections[$0]?.transactionIDs.count } ?? 0
        for (name, value) in [("nodes", nodeCounts[domid] ?? 0), ("watches", watches), ("transactions", open)] {
            text += pad(name, 17) + ": " + padLeft(String(value), 8) + "\n"
        }
        sendReply(Array(text.utf8) + [0], request)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
