/// The direction and shape of an intercepted I/O instruction.
public struct IOAccess: Equatable, Sendable {
    public var port: UInt16
    /// 1, 2 or 4 bytes.
    public var size: UInt8
    public var isWrite: Bool
    /// INS/OUTS (the hypervisor emulates the memory side with `translate`).
    public var isString: Bool
    public var hasRepPrefix: Bool
    /// For OUT: the value written (low `size` bytes of RAX). Zero otherwise.
    public var value: UInt32

    public init(port: UInt16, size: UInt8, isWrite: Bool, isString: Bool = false, hasRepPrefix: Bool = false, value: UInt32 = 0) {
        self.port = port
        self.size = size
        self.isWrite = isWrite
        self.isString = isString
        self.hasRepPrefix = hasRepPrefix
        self.value = value
    }
}

/// Why `VirtualCPU.run(budget:)` returned: the software equivalent of a VM exit.
///
/// For every instruction intercept (the cases carrying `length`) RIP still points at the
/// intercepted instruction and no architectural effect has happened: the hypervisor emulates
/// it and advances RIP by `length`, as with VT-x's "VM-exit instruction length".
/// For `.exception` RIP points at the faulting instruction (faults) or after it (traps), and
/// the exception has not been delivered: the hypervisor decides what to do with it.
public enum VCPUExit: Equatable, Sendable {
    /// The instruction budget ran out; nothing is pending.
    case budgetExhausted
    /// An exception whose vector is set in `InterceptControls.exceptionBitmap`.
    case exception(X86Exception)
    /// INT n, INT3 or INTO (`InterceptControls.softwareInterrupts`). INT3 reports vector 3.
    case softwareInterrupt(vector: UInt8, length: UInt8)
    /// SYSCALL (`InterceptControls.syscall`).
    case syscall(length: UInt8)
    /// HLT at CPL 0 (`InterceptControls.hlt`).
    case hlt(length: UInt8)
    /// CPUID (always exits); the leaf is in EAX and the subleaf in ECX.
    case cpuid(length: UInt8)
    /// RDMSR of an intercepted MSR at CPL 0; the result goes to EDX:EAX.
    case rdmsr(msr: UInt32, length: UInt8)
    /// WRMSR of an intercepted MSR at CPL 0.
    case wrmsr(msr: UInt32, value: UInt64, length: UInt8)
    /// IN/OUT/INS/OUTS to an intercepted port, after the CPU's own IOPL/bitmap checks passed.
    case io(IOAccess, length: UInt8)
    /// MOV to CR0/CR3/CR4/CR8 at CPL 0 when that register's writes are intercepted.
    case controlRegisterWrite(register: UInt8, value: UInt64, length: UInt8)
    /// INVLPG at CPL 0 when intercepted.
    case invlpg(address: UInt64, length: UInt8)
    /// RDTSC/RDTSCP when intercepted.
    case rdtsc(isRDTSCP: Bool, length: UInt8)
    /// RDRAND/RDSEED when intercepted; the hypervisor supplies the value.
    case rdrand(register: UInt8, operandSize: UInt8, length: UInt8)
    /// XSETBV at CPL 0 (always an exit, as on VT-x).
    case xsetbv(length: UInt8)
    /// A guest-physical address with no machine frame behind it (what EPT violations are
    /// to VT-x; an MMIO access for a device model, or a hole for PV).
    case physicalAccessFault(physicalAddress: UInt64, isWrite: Bool)
    /// An exception during delivery of a double fault: the guest is dead.
    case tripleFault
    /// The CPU is in a mode this engine cannot execute yet.
    case unsupportedMode(CPUMode)
}
