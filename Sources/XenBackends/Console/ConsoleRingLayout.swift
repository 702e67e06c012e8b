/// The PV console page, `struct xencons_interface` (public/io/console.h): two byte rings
/// with free-running 32-bit indexes and no ring.h header. One page; 3092 bytes used.
///
/// | off  | field |
/// |------|-------|
/// | 0    | char in[1024] — backend → guest (keyboard) |
/// | 1024 | char out[2048] — guest → backend (output) |
/// | 3072 | u32 in_cons, 3076 u32 in_prod |
/// | 3080 | u32 out_cons, 3084 u32 out_prod |
/// | 3088 | u8 connection (XENCONSOLE_CONNECTED 0, XENCONSOLE_DISCONNECTED 1) |
public enum ConsoleRingLayout {
    /// Xen: xencons_interface.in
    public static let inputOffset = 0
    /// Xen: sizeof(xencons_interface.in)
    public static let inputSize = 1024
    /// Xen: xencons_interface.out
    public static let outputOffset = 1024
    /// Xen: sizeof(xencons_interface.out)
    public static let outputSize = 2048
    /// Xen: xencons_interface.in_cons (written by the guest)
    public static let inputConsumerOffset = 3072
    /// Xen: xencons_interface.in_prod (written by the backend)
    public static let inputProducerOffset = 3076
    /// Xen: xencons_interface.out_cons (written by the backend)
    public static let outputConsumerOffset = 3080
    /// Xen: xencons_interface.out_prod (written by the guest)
    public static let outputProducerOffset = 3084
    /// Xen: xencons_interface.connection (u8)
    public static let connectionOffset = 3088
    /// Xen: sizeof(struct xencons_interface)
    public static let size = 3092

    /// Xen: MASK_XENCONS_IDX(idx, in)
    public static func maskInput(_ index: UInt32) -> Int { Int(index & UInt32(inputSize - 1)) }
    /// Xen: MASK_XENCONS_IDX(idx, out)
    public static func maskOutput(_ index: UInt32) -> Int { Int(index & UInt32(outputSize - 1)) }
}

/// Values of `xencons_interface.connection`: whether a backend services the ring. The
/// builder leaves DISCONNECTED; the backend sets CONNECTED once it is live.
public enum ConsoleConnectionState: UInt8, Sendable {
    /// Xen: XENCONSOLE_CONNECTED
    case connected = 0
    /// Xen: XENCONSOLE_DISCONNECTED
    case disconnected = 1
}
