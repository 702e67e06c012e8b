#if canImport(Glibc)
    import Glibc
#endif

/// Turns a crash of natively run test code (a generator bug) into a message instead of a
/// silent core dump. The handler runs on its own stack since RSP may be the test's.
enum CrashGuard {
    static func install() {
        let size = 1 << 16
        if let stack = malloc(size) {
            var ss = stack_t()
            ss.ss_sp = stack
            ss.ss_size = size
            ss.ss_flags = 0
            sigaltstack(&ss, nil)
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { sig in
            let message = "\nkite-difftest: the native run of a generated case crashed (signal \(sig)); "
                + "rerun with --verbose to see the case\n"
            message.utf8CString.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, p.count - 1) }
            _exit(3)
        }
        action.sa_flags = Int32(SA_ONSTACK)
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP] { sigaction(sig, &action, nil) }
    }
}
