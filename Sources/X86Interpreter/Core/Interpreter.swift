import GuestMemory
import Synchronization
import X86

/// Kite's software x86-64 CPU: an interpreter over pre-decoded instruction blocks with a soft
/// TLB and lazy flags. Implements the `VirtualCPU` seam.
///
/// Hot state (general registers, RIP, flags, TLB) lives in stored properties and unsafe
/// buffers owned by this object; everything else is kept in `arch`, a `CPUState` whose
/// `gprs`, `rip` and `rflags` fields are stale while running and synchronised by `state`.
/// One instance runs on one thread at a time.
public final class Interpreter: VirtualCPU {
    let memory: PhysicalMemory
    /// Pointer views of `memory` and its maps for the hot paths (no reference counting).
    let ram: RAMView
    let dirtyLog: FrameBitmapView
    let codeWatch: CodeWatchView
    let translation: any PhysicalTranslation
    /// Physical addresses are machine addresses (no p2m lookup on TLB fill).
    let identityTranslation: Bool
    /// The sixteen general registers, then 16 slots that stay zero: an absent base or index
    /// register (`DecodedInstruction.noRegister`, `ripBase`) masked with 31 reads one of them,
    /// so address computation needs no branch per component.
    let regs: UnsafeMutablePointer<UInt64>
    var rip: UInt64 = 0
    /// RFLAGS; its status bits are current only while `lazy.op == .none`.
    var flagsBase: UInt64 = 2
    var lazy = LazyFlags()
    /// Everything but the hot state above.
    var arch = CPUState()
    var fsBase: UInt64 = 0
    var gsBase: UInt64 = 0
    /// Current privilege level and the TLB tag bit for it (1 at CPL 3).
    var cpl: UInt8 = 0
    var userTag: UInt64 = 0
    let tlb = SoftTLB()
    /// A one-entry paging-structure cache (SDM 4.10.3): the L1 table that maps the last
    /// 2 MiB region walked, with the rights its upper levels grant. Valid while the TLB
    /// generation is unchanged, so every flush also drops it, as on hardware.
    var walkCache = WalkCache()
    let blocks = BlockCache()
    var seenCodeEpoch: UInt32 = 0
    /// Address just past the last instruction the current block may still run; `endBlock()`
    /// zeroes it to stop after the current instruction (one compare per instruction serves
    /// both the block's end and these stops).
    var blockEnd: UInt = 0
    /// Set from any thread by `requestExit`; read once per block by the run loop.
    let exitRequested = Atomic<Bool>(false)
    public var intercepts = InterceptControls()
    public private(set) var retiredInstructions: UInt64 = 0
    var pendingEvents: [InjectedEvent] = []
    /// External interrupts are held back until `retiredInstructions` reaches this: STI and
    /// MOV/POP SS block them until the instruction after them has completed.
    var interruptShadowEnd: UInt64 = 0
    var decoder = Decoder(mode: .long64)
    /// Work one execution of a REP string instruction may do (`stringWorkCap`, or 1 while
    /// single-stepping: each iteration then traps).
    var stringWorkLimit = Interpreter.stringWorkCap
    /// DR0-DR3 as DR7 enables them; while `armed` the run loop steps one instruction at a
    /// time and watched pages stay out of the TLBs (`Interpreter+Breakpoints`).
    var breakpoints = HardwareBreakpoints()
    /// FOP and FDP of the x87 instruction executing: recorded only if it raises an unmasked
    /// exception (`x87Remember`).
    var x87Pending: (opcode: UInt16, operand: UInt64?) = (0, nil)

    public init(memory: PhysicalMemory, translation: any PhysicalTranslation) {
        self.memory = memory
        ram = memory.view
        dirtyLog = memory.dirtyLog.view
        codeWatch = memory.codeWatch.view
        self.translation = translation
        identityTranslation = translation is IdentityTranslation
        regs = .allocate(capacity: 32)
        regs.initialize(repeating: 0, count: 32)
        seenCodeEpoch = codeWatch.markEpoch
        loadState(arch)
    }

    deinit { regs.deallocate() }

    public var state: CPUState {
        get {
            var s = arch
            for i in 0..<16 { s.gprs.values[i] = regs[i] }
            s.rip = rip
            s.rflags = RFlags(rawValue: rflags)
            s.segments[SegmentRegister.fs.rawValue].base = fsBase
            s.segments[SegmentRegister.gs.rawValue].base = gsBase
            s.interruptShadow = retiredInstructions < interruptShadowEnd
            return s
        }
        set {
            // CR0.TS does not affect translation: the hypervisor toggles it without a flush.
            let cr0Changed = (newValue.cr0.rawValue ^ arch.cr0.rawValue) & ~CR0.taskSwitched.rawValue != 0
            let flush = newValue.cr3 != arch.cr3 || cr0Changed || newValue.cr4 != arch.cr4
                || newValue.efer != arch.efer
            loadState(newValue)
            if flush { tlb.flushAll() }
        }
    }

    private func loadState(_ s: CPUState) {
        arch = s
        for i in 0..<16 { regs[i] = s.gprs.values.count > i ? s.gprs.values[i] : 0 }
        rip = s.rip
        flagsBase = (s.rflags.rawValue & RFlags.defined.rawValue) | 2
        lazy.op = .none
        fsBase = s[.fs].base
        gsBase = s[.gs].base
        interruptShadowEnd = s.interruptShadow ? retiredInstructions &+ 1 : 0
        updatePrivilege()
        decoder = Decoder(mode: s.mode)
        reloadBreakpoints()
    }

    /// Recomputes the cached CPL after CS changed.
    func updatePrivilege() {
        tlb.bumpGeneration()
        cpl = arch.cpl
        userTag = cpl == 3 ? 1 : 0
    }

    public func register(_ r: GPR) -> UInt64 { regs[r.rawValue] }
    public func setRegister(_ r: GPR, _ value: UInt64) { regs[r.rawValue] = value }
    public var instructionPointer: UInt64 {
        get { rip }
        set { rip = newValue }
    }
    public var flagsRegister: UInt64 { rflags }

    public func flushTLB(_ scope: TLBFlush) {
        switch scope {
        case .all: tlb.flushAll()
        case .nonGlobal: tlb.flushNonGlobal()
        case .address(let a): tlb.flush(page: a)
        }
    }

    public func inject(_ event: InjectedEvent) { pendingEvents.append(event) }

    public func translate(_ linear: UInt64, for access: MemoryAccessKind, asUser: Bool) -> Result<MachineAddress, X86Exception> {
        do {
            let t = try walk(linear, access: access, user: asUser)
            return .success(MachineAddress((t.frame << 12) | (linear & 0xFFF)))
        } catch {
            switch error {
            case .fault(let e): return .failure(e)
            case .exit: return .failure(.generalProtection(0))
            }
        }
    }

    /// Instructions retired inside the engine (for the run loop).
    @inline(__always) func retire(_ n: Int) { retiredInstructions &+= UInt64(n) }
}

/// Makes `Interpreter` engines.
public struct InterpreterFactory: VirtualCPUFactory {
    public init() {}
    public func makeVirtualCPU(memory: PhysicalMemory, translation: any PhysicalTranslation) -> any VirtualCPU {
        Interpreter(memory: memory, translation: translation)
    }
}
