import GuestMemory
import X86
import XenABI

/// Xen's copy_from_guest / copy_to_guest for 64-bit PV: guest virtual addresses translated
/// through the vCPU's current page tables with the guest's own permissions. Every failure
/// is -EFAULT; nothing here can trap on a guest value.
extension PVVCPU {
    /// Xen: HYPERVISOR_VIRT_START..HYPERVISOR_VIRT_END — guest handles may not point into
    /// the hypervisor's hole even where something is mapped there (the read-only m2p).
    static let hypervisorHole: Range<UInt64> = 0xFFFF_8000_0000_0000..<0xFFFF_8800_0000_0000

    /// Xen: access_ok() — the range is canonical, does not wrap, avoids the hypervisor hole.
    static func accessOK(_ address: UInt64, count: UInt64) -> Bool {
        guard count > 0 else { return true }
        let (last, overflow) = address.addingReportingOverflow(count - 1)
        guard !overflow else { return false }
        let lowHalfEnd: UInt64 = 0x0000_8000_0000_0000
        let highHalfStart: UInt64 = 0xFFFF_8000_0000_0000
        if address < lowHalfEnd { return last < lowHalfEnd }
        guard address >= highHalfStart else { return false }
        return last < hypervisorHole.lowerBound || address >= hypervisorHole.upperBound
    }

    /// The machine address behind a guest linear address, checked for `access`.
    func machineAddress(of linear: UInt64, for access: MemoryAccessKind) throws(XenError) -> MachineAddress {
        switch engine.translate(linear, for: access, asUser: true) {
        case .success(let address):
            guard domain.machine.contains(address, length: 1) else { throw .EFAULT }
            return address
        case .failure: throw .EFAULT
        }
    }

    /// Calls `body` with each page-bounded piece of `[address, address+count)`.
    private func forEachPiece(
        _ address: UInt64, count: Int, access: MemoryAccessKind,
        _ body: (MachineAddress, _ offset: Int, _ length: Int) throws(XenError) -> Void
    ) throws(XenError) {
        guard count >= 0, Self.accessOK(address, count: UInt64(count)) else { throw .EFAULT }
        var done = 0
        while done < count {
            let linear = address &+ UInt64(done)
            let inPage = Int(pageSize - (linear & (pageSize - 1)))
            let length = min(inPage, count - done)
            let machine = try machineAddress(of: linear, for: access)
            try body(machine, done, length)
            done += length
        }
    }

    /// Xen: copy_from_guest. Callers bound `count` before calling.
    func copyFromGuest(_ address: UInt64, count: Int) throws(XenError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let memory = domain.machine
        try forEachPiece(address, count: count, access: .read) { (machine, offset, length) throws(XenError) in
            guard let piece = memory.read(at: machine, count: length) else { throw .EFAULT }
            bytes.replaceSubrange(offset..<offset + length, with: piece)
        }
        return bytes
    }

    /// Xen: copy_to_guest. Pieces already written stay written when a later one faults,
    /// as in Xen.
    func copyToGuest(_ bytes: [UInt8], at address: UInt64) throws(XenError) {
        let memory = domain.machine
        try forEachPiece(address, count: bytes.count, access: .write) { (machine, offset, length) throws(XenError) in
            guard memory.write(bytes[offset..<offset + length], at: machine) else { throw .EFAULT }
        }
    }

    func readGuest<T: FixedWidthInteger>(_: T.Type, at address: UInt64) throws(XenError) -> T {
        let bytes = try copyFromGuest(address, count: MemoryLayout<T>.size)
        var value: T = 0
        for (i, b) in bytes.enumerated() { value |= T(truncatingIfNeeded: b) << (8 * i) }
        return value
    }

    func writeGuest<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws(XenError) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(MemoryLayout<T>.size)
        for i in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
        try copyToGuest(bytes, at: address)
    }

    /// A guest struct read once into a byte buffer (no double fetch), read by offset.
    func readGuestStruct(_ address: UInt64, size: Int) throws(XenError) -> GuestStruct {
        GuestStruct(bytes: try copyFromGuest(address, count: size))
    }
}

/// Bytes of a guest structure copied out once; fields are read by Xen's offsets.
struct GuestStruct {
    var bytes: [UInt8]

    func u8(_ offset: Int) -> UInt8 { offset < bytes.count ? bytes[offset] : 0 }
    func u16(_ offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: field(offset, 2)) }
    func u32(_ offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: field(offset, 4)) }
    func u64(_ offset: Int) -> UInt64 { field(offset, 8) }

    private func field(_ offset: Int, _ size: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<size where offset + i < bytes.count && offset + i >= 0 {
            value |= UInt64(bytes[offset + i]) << (8 * UInt64(i))
        }
        return value
    }

    mutating func set(_ offset: Int, _ size: Int, _ value: UInt64) {
        for i in 0..<size where offset + i < bytes.count && offset + i >= 0 {
            bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
        }
    }
}
