import XenABI

/// The 64-bit PV hypercall page: 128 slots of 32 bytes, slot i calling hypercall i with
/// `syscall`, the rest of the page `int3`. Xen fills it on XEN_DOMCTL_hypercall_init
/// (xen/arch/x86/pv/hypercall.c `pv_ring3_init_hypercall_page`, after filling with 0xCC).
public enum HypercallPage {
    public static let slotSize = 32
    public static let slotCount = 4096 / slotSize

    /// The page's 4096 bytes.
    public static func pv64() -> [UInt8] {
        var page = [UInt8](repeating: 0xCC, count: 4096)
        let iret = Int(Hypercall.iret.rawValue)
        for slot in 0..<slotCount {
            let base = slot * slotSize
            let number = UInt32(slot)
            let imm = [UInt8(number & 0xFF), UInt8(number >> 8 & 0xFF), UInt8(number >> 16 & 0xFF), UInt8(number >> 24)]
            let stub: [UInt8]
            if slot == iret {
                // push rcx; push r11; push rax; mov eax, 23; syscall — never returns.
                stub = [0x51, 0x41, 0x53, 0x50, 0xB8] + imm + [0x0F, 0x05]
            } else {
                // push rcx; push r11; mov eax, i; syscall; pop r11; pop rcx; ret
                stub = [0x51, 0x41, 0x53, 0xB8] + imm + [0x0F, 0x05, 0x41, 0x5B, 0x59, 0xC3]
            }
            page.replaceSubrange(base..<base + stub.count, with: stub)
        }
        return page
    }
}
