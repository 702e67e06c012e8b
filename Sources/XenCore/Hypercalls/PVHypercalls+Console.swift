import XenABI

extension PVHypercalls {
    /// Bytes copied per step, as Xen's guest_console_write kbuf.
    static let consoleChunk = 128
    /// Bytes written per hypercall invocation before it yields with a continuation, so a
    /// 2 GiB write cannot hold the vCPU thread for long.
    static let consoleBytesPerInvocation = 4096

    /// Xen: do_console_io (drivers/char/console.c). Writes go to the domain's console sink;
    /// there is no hypervisor-console input yet, so reads return 0 bytes.
    static func consoleIO(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let count = UInt32(truncatingIfNeeded: args[1])
        let buffer = args[2]
        switch args[0] & 0xFFFF_FFFF {
        case ConsoleIO.write:
            var done = 0
            while done < Int(count) {
                if done >= consoleBytesPerInvocation {
                    var next = args
                    next[1] = UInt64(count) - UInt64(done)
                    next[2] = buffer &+ UInt64(done)
                    return .preempted(next)
                }
                let length = min(consoleChunk, Int(count) - done)
                let bytes = try vcpu.copyFromGuest(buffer &+ UInt64(done), count: length)
                vcpu.domain.consoleSink(bytes[...])
                done += length
            }
            return .success
        case ConsoleIO.read:
            // Xen: counts above INT_MAX would overlap the error range.
            guard count <= UInt32(Int32.max) else { throw .E2BIG }
            return .value(0)
        default:
            throw .ENOSYS
        }
    }
}
