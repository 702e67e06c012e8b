/// `xl block-list` and `xl network-list` tables, column for column (xl prints -1 for a
/// node that is missing, as before the guest connected).
extension ControlFormatting {
    static func number(_ n: UInt32?) -> String { n.map { String($0) } ?? "-1" }

    /// Vdev (the device number), BE, handle (the guest's domain id, as xl prints it),
    /// state (the backend's), evt-ch, ring-ref, BE-path.
    public static func blockList(_ disks: [BlockDeviceInfo]) -> String {
        var out = pad("Vdev", 5) + " " + pad("BE", 3) + " " + pad("handle", 6) + " " + pad("state", 5) + " "
            + pad("evt-ch", 6) + " " + pad("ring-ref", 8) + " " + pad("BE-path", 30) + "\n"
        for d in disks {
            out += pad("\(d.devid)", 5) + " " + pad("\(d.backendDomain.rawValue)", 3) + " " + pad("\(d.domain.rawValue)", 6) + " "
                + pad(number(d.state), 5) + " " + pad(number(d.eventChannel), 6) + " " + pad(number(d.ringRef), 8) + " "
                + pad(d.backendPath, 30) + "\n"
        }
        return out
    }

    /// Idx, BE, Mac Addr., handle, state, evt-ch, tx-/rx-ring-ref, BE-path.
    public static func networkList(_ vifs: [NetworkDeviceInfo]) -> String {
        var out = pad("Idx", 3) + " " + pad("BE", 2) + " " + pad("Mac Addr.", 17) + " " + pad("handle", 6) + " "
            + pad("state", 5) + " " + pad("evt-ch", 6) + " " + pad("tx-", 5, right: true) + "/" + pad("rx-ring-ref", 5) + " "
            + pad("BE-path", 30) + "\n"
        for v in vifs {
            out += pad("\(v.devid)", 3) + " " + pad("\(v.backendDomain.rawValue)", 2) + " " + v.mac
                + pad("\(v.devid)", 6, right: true) + " " + pad(number(v.state), 5, right: true) + " "
                + pad(number(v.eventChannel), 6, right: true) + " " + pad(number(v.txRingRef), 5, right: true) + "/"
                + pad(number(v.rxRingRef), 11) + " " + pad(v.backendPath, 30) + "\n"
        }
        return out
    }
}
