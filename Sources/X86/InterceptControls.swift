/// Which guest events leave `run()` as a `VCPUExit` rather than being handled by the CPU
/// itself. The software counterpart of VT-x's execution controls and exception bitmap.
/// Some events always exit and have no control here: CPUID, XSETBV, triple faults.
public struct InterceptControls: Equatable, Sendable {
    /// Bit n set: exception vector n exits instead of being delivered through the guest IDT.
    public var exceptionBitmap: UInt32 = 0xFFFF_FFFF
    // CPUID has no control: it always exits, as under VT-x, because the hypervisor owns the
    // identity and features the guest sees.
    /// Every RDMSR/WRMSR exits when true; otherwise only those in `interceptedMSRs`, and the
    /// engine handles the architectural MSRs it knows and raises #GP for the rest.
    public var allMSRs = false
    public var interceptedMSRs: Set<UInt32> = []
    /// I/O ports whose access exits (after the CPU's privilege checks).
    public var ioPorts = IOPortBitmap(all: true)
    public var hlt = true
    /// Bit n set: MOV to CRn exits (bits 0, 3, 4, 8 are meaningful).
    public var controlRegisterWrites: UInt16 = 0
    public var syscall = false
    /// INT n, INT3 and INTO exit instead of being delivered through the guest IDT.
    public var softwareInterrupts = false
    public var invlpg = false
    public var rdtsc = false
    /// RDRAND/RDSEED exit when true and raise #UD when false (CPUID should then hide them).
    public var rdrand = false

    public init() {}

    @inlinable public func intercepts(exception vector: UInt8) -> Bool {
        vector < 32 && exceptionBitmap & (1 << UInt32(vector)) != 0
    }

    @inlinable public func intercepts(msr: UInt32) -> Bool {
        allMSRs || interceptedMSRs.contains(msr)
    }
}

/// One bit per I/O port.
public struct IOPortBitmap: Equatable, Sendable {
    public var words: [UInt64]
    public init(all: Bool) { words = Array(repeating: all ? ~0 : 0, count: 1024) }
    public subscript(port: UInt16) -> Bool {
        get { words[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }
        set {
            if newValue { words[Int(port >> 6)] |= 1 << UInt64(port & 63) }
            else { words[Int(port >> 6)] &= ~(1 << UInt64(port & 63)) }
        }
    }
    /// Whether any of `size` consecutive ports starting at `port` is set (wrapping at 0xFFFF).
    public func any(from port: UInt16, size: UInt8) -> Bool {
        var p = port
        for _ in 0..<size {
            if self[p] { return true }
            p &+= 1
        }
        return false
    }
}
