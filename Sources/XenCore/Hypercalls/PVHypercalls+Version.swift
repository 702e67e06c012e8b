import XenABI

extension PVHypercalls {
    static let extraVersion = ".0-kite"
    static let capabilities = "xen-3.0-x86_64"
    static let changeset = "Kite"
    /// Xen: HYPERVISOR_VIRT_START for 64-bit PV guests.
    static let hypervisorVirtStart: UInt64 = 0xFFFF_8000_0000_0000
    /// XENFEAT_* bits offered to 64-bit PV guests: only what Kite implements.
    /// 5 = XENFEAT_mmu_pt_update_preserve_ad.
    static let featureSubmap0: UInt32 = 1 << 5

    /// Xen: do_xen_version (common/kernel.c) with the XSM dummy policy of an unprivileged
    /// domain: commandline and build_id are refused with -EPERM.
    static func xenVersion(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let arg = args[1]
        guard let op = XenVersionOp(rawValue: args[0] & 0xFFFF_FFFF) else { throw .ENOSYS }
        let policy = vcpu.domain.cpuidPolicy
        switch op {
        case .version:
            return .value(UInt64(policy.xenMajor << 16 | policy.xenMinor))
        case .extraversion:
            try vcpu.copyToGuest(paddedString(extraVersion, length: 16), at: arg)
        case .compileInfo:
            var info = paddedString("swiftc", length: 64)
            info += paddedString("kite", length: 16)
            info += paddedString("kite.invalid", length: 32)
            info += paddedString("Sat Nov 21 2026", length: 32)
            try vcpu.copyToGuest(info, at: arg)
        case .capabilities:
            try vcpu.copyToGuest(paddedString(capabilities, length: 1024), at: arg)
        case .changeset:
            try vcpu.copyToGuest(paddedString(changeset, length: 64), at: arg)
        case .platformParameters:
            try vcpu.writeGuest(hypervisorVirtStart, at: arg)
        case .getFeatures:
            let index = try vcpu.readGuest(UInt32.self, at: arg)
            guard index == 0 else { throw .EINVAL }
            try vcpu.writeGuest(featureSubmap0, at: arg &+ 4)
        case .pagesize:
            return .value(4096)
        case .guestHandle:
            try vcpu.copyToGuest(vcpu.domain.handle, at: arg)
        case .commandline, .buildID:
            throw .EPERM
        }
        return .success
    }

    /// A NUL-padded fixed-size string field.
    static func paddedString(_ s: String, length: Int) -> [UInt8] {
        var bytes = Array(s.utf8.prefix(length - 1))
        bytes += Array(repeating: 0, count: length - bytes.count)
        return bytes
    }
}
