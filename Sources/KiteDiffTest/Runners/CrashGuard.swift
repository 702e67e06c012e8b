#if canImport(Glibc)
    import Glibc
#endif

/// Turns a crash of natively run test code (a generator bug) into a message instead of a
/// silent core dump. The handler runs on its own stack since RSP may be the test's. It is
/// process-wide, so it also catches a crash of kite-difftest itself: the message gives the
/// faulting address and the signal's code so the two can be told apart (test code lives in
/// the region printed at startup).
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
        action.__sigaction_handler.sa_sigaction = { sig, info, context in
            var rip: UInt64 = 0
            if let context {
                // ucontext_t.uc_mcontext.gregs[REG_RIP]
                let mcontext = MemoryLayout<ucontext_t>.offset(of: \ucontext_t.uc_mcontext) ?? 0
                rip = context.load(fromByteOffset: mcontext + 16 * 8, as: UInt64.self)
            }
            let code = info?.pointee.si_code ?? 0
            let sender = info?.pointee._sifields._kill.si_pid ?? 0
            let message = "\nkite-difftest: the native run of a generated case crashed (signal \(sig), si_code \(code)"
                + (code <= 0 ? ", sent by pid \(sender)" : "") + ", rip 0x\(String(rip, radix: 16))); "
                + "rerun with --verbose to see the case\n"
            message.utf8CString.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, p.count - 1) }
            _exit(3)
        }
        action.sa_flags = Int32(SA_ONSTACK | SA_SIGINFO)
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP] { sigaction(sig, &action, nil) }
    }
}
