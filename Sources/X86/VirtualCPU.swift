import GuestMemory

/// An event the hypervisor asks the CPU to deliver through the guest's IDT before it runs
/// the next instruction (VT-x's VM-entry interruption information).
public struct InjectedEvent: Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        case externalInterrupt
        case nmi
        case hardwareException
        /// INT n: privilege-checked against the gate DPL, returns after the instruction.
        case softwareInterrupt(instructionLength: UInt8)
    }
    public var vector: UInt8
    public var kind: Kind
    public var errorCode: UInt32?
    /// For #PF: the address to load into CR2.
    public var faultAddress: UInt64?

    public init(vector: UInt8, kind: Kind, errorCode: UInt32? = nil, faultAddress: UInt64? = nil) {
        self.vector = vector
        self.kind = kind
        self.errorCode = errorCode
        self.faultAddress = faultAddress
    }
}

/// The seam between the hypervisor and a CPU engine (what VT-x is to Xen).
///
/// The engine executes guest code on `state` until an intercepted event occurs and returns it
/// as a `VCPUExit`. It knows nothing of Xen. One engine instance runs on one host thread at a
/// time; several instances may share the same `PhysicalMemory` from different threads.
public protocol VirtualCPU: AnyObject {
    /// Architectural state. Setting it takes effect at the next `run`; setting CR3, CR0, CR4
    /// or EFER through here also flushes the TLB as the corresponding instruction would.
    var state: CPUState { get set }
    /// What exits.
    var intercepts: InterceptControls { get set }
    /// Instructions retired since creation.
    var retiredInstructions: UInt64 { get }
    /// One general register, without building the whole `state` (hypercall paths).
    func register(_ r: GPR) -> UInt64
    func setRegister(_ r: GPR, _ value: UInt64)
    /// RIP alone, without building the whole `state`.
    var instructionPointer: UInt64 { get set }
    /// RFLAGS alone (read), without building the whole `state`.
    var flagsRegister: UInt64 { get }

    /// Runs at most `budget` instructions.
    func run(budget: Int) -> VCPUExit
    /// Makes a `run` in progress on another thread return `.budgetExhausted` soon (at the
    /// end of the current instruction block), or the next `run` return at once. The one
    /// call that may be made from any thread: how a hypervisor kicks a vCPU out of guest
    /// code (Xen: an IPI that forces a VM exit) for a TLB shootdown or an event.
    func requestExit()
    /// Invalidates cached translations (the hypervisor changed page tables behind the guest).
    func flushTLB(_ scope: TLBFlush)
    /// Queues an event for delivery through the guest IDT at the start of the next `run`.
    func inject(_ event: InjectedEvent)
    /// Translates a linear address with the current paging state and privilege as the guest
    /// would for `access`, setting accessed/dirty bits. Used by the hypervisor to read
    /// hypercall arguments. Returns the machine address or the exception the access raises.
    func translate(_ linear: UInt64, for access: MemoryAccessKind, asUser: Bool) -> Result<MachineAddress, X86Exception>
}

/// Register access through `state` for engines that keep nothing faster.
extension VirtualCPU {
    public func register(_ r: GPR) -> UInt64 { state.gprs[r] }
    public func setRegister(_ r: GPR, _ value: UInt64) { state.gprs[r] = value }
    public var instructionPointer: UInt64 {
        get { state.rip }
        set { state.rip = newValue }
    }
    public var flagsRegister: UInt64 { state.rflags.rawValue }
}

/// Makes engines; XenCore receives one and never names a concrete engine.
public protocol VirtualCPUFactory: Sendable {
    func makeVirtualCPU(memory: PhysicalMemory, translation: any PhysicalTranslation) -> any VirtualCPU
}
