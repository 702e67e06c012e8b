#if canImport(Glibc)
    import Glibc
#endif

/// Turns a fault of natively run test code into a result instead of a dead process: while a
/// native run is in progress (a flag in the region's slots page), the handler records the
/// signal, its code and RIP in the slots page and resumes at the region's bail-out stub, which
/// returns from the run as the epilogue would. The caller then sees `abnormalExit` and can run
/// the case again (a host that faults once on a case that runs cleanly the next time is the
/// host's problem, not the engine's).
///
/// The handler runs on its own stack since RSP may be the test's. It is process-wide, so a
/// fault of kite-difftest itself (or of the bail-out stub) still ends the process with a
/// message giving the signal's code, its sender and the faulting RIP.
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
            // ucontext_t.uc_mcontext.gregs[REG_RIP] and [REG_EFL]
            let gregs = MemoryLayout<ucontext_t>.offset(of: \ucontext_t.uc_mcontext) ?? 0
            let ripOffset = gregs + 16 * 8, flagsOffset = gregs + 17 * 8
            let rip = context?.load(fromByteOffset: ripOffset, as: UInt64.self) ?? 0
            let code = info?.pointee.si_code ?? 0
            if let context, case .success(let region) = NativeRunner.mappedRegion,
               let slots = UnsafeMutableRawPointer(bitPattern: region) {
                let l = Layout(region: UInt64(region))
                func slot(_ linear: UInt64) -> UnsafeMutableRawPointer { slots + Int(linear - l.region) }
                let inStub = rip >= l.bailOut && rip < l.bailOut + Layout.bailOutSize
                if slot(l.inNativeRunSlot).load(as: UInt64.self) != 0 && !inStub {
                    slot(l.crashSignalSlot).storeBytes(of: UInt64(sig), as: UInt64.self)
                    slot(l.crashCodeSlot).storeBytes(of: UInt64(bitPattern: Int64(code)), as: UInt64.self)
                    slot(l.crashRIPSlot).storeBytes(of: rip, as: UInt64.self)
                    context.storeBytes(of: l.bailOut, toByteOffset: ripOffset, as: UInt64.self)
                    // The test's TF, DF or AC must not follow the stub.
                    context.storeBytes(of: UInt64(0x202), toByteOffset: flagsOffset, as: UInt64.self)
                    return
                }
            }
            let sender = info?.pointee._sifields._kill.si_pid ?? 0
            let message = "\nkite-difftest: crashed outside a native run (signal \(sig), si_code \(code)"
                + (code <= 0 ? ", sent by pid \(sender)" : "") + ", rip 0x\(String(rip, radix: 16)))\n"
            message.utf8CString.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, p.count - 1) }
            _exit(3)
        }
        action.sa_flags = Int32(SA_ONSTACK | SA_SIGINFO)
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP] { sigaction(sig, &action, nil) }
    }
}
