import XenABI

extension PVHypercalls {
    static let extraVersion = ".0-kite"
    static let capabilities = "xen-3.0-x86_64"
    static let changeset = "Kite"
    /// Xen: xen_deny() — what a sub-op the policy denies returns instead of data.
    static let deniedString = "<denied>"
    /// Xen: HYPERVISOR_VIRT_START for 64-bit PV guests.
    static let hypervisorVirtStart: UInt64 = 0xFFFF_8000_0000_0000
    /// XENFEAT_* bits Xen offers every 64-bit PV domU (common/kernel.c): 5
    /// mmu_pt_update_preserve_ad, 6 highmem_assist, 7 gnttab_map_avail_bits, 13
    /// memory_op_vnode_supported (XENMEM_get_vnumainfo answers -EOPNOTSUPP without vNUMA).
    static let featureSubmap0: UInt32 = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 13)

    /// Xen: do_xen_version (common/kernel.c) with the XSM dummy policy of an unprivileged
    /// domain: commandline answers "<denied>", build_id is refused with -EPERM.
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
            // Xen: a non-NULL argument is an error for this argument-less sub-op.
            guard arg == 0 else { throw .EINVAL }
            return .value(4096)
        case .guestHandle:
            try vcpu.copyToGuest(vcpu.domain.handle, at: arg)
        case .commandline:
            // Xen: denied to a domU by the XSM policy, answered with xen_deny()'s string.
            try vcpu.copyToGuest(paddedString(deniedString, length: deniedString.utf8.count + 1), at: arg)
        case .buildID:
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
