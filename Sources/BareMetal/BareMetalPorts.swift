/// The I/O ports a bare-metal guest talks to, chosen to match QEMU so the same test kernels
/// run under both.
public enum BareMetalPort {
    /// Bochs/QEMU debug console (`-debugcon`): each OUT appends its low byte to the console.
    public static let debugConsole: UInt16 = 0xE9
    /// QEMU's `isa-debug-exit` port: an OUT ends the run. Unlike QEMU, which exits with
    /// `(value << 1) | 1`, Kite reports the value itself as the exit code.
    public static let debugExit: UInt16 = 0xF4
}
