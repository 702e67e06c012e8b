import GuestMemory
import X86

/// A bare x86-64 machine for freestanding flat binaries: RAM, identity page tables, one vCPU
/// in 64-bit mode at CPL 0, a debug console on port 0xE9 and an exit port on 0xF4.
///
/// It drives any `VirtualCPU` through the same seam XenCore will use, so the CLI, the
/// benchmarks and the tests run guests the same way. Layout: `BareMetalConfiguration`.
///
/// On entry: RIP = load address, RSP = top of RAM (16-byte aligned), RDI = RAM size in bytes,
/// interrupts off, no IDT (every exception ends the run).
public final class BareMetalMachine {
    public let configuration: BareMetalConfiguration
    public let memory: PhysicalMemory
    public let cpu: any VirtualCPU
    /// The L4 page table (CR3).
    public let pageTableRoot: MachineFrame
    public let imageBytes: Int
    /// What CPUID returns; replaceable before `run`.
    public var cpuid = CPUIDPolicy.kite
    /// Instructions this machine emulated on an exit (OUT, IN, CPUID, HLT): the engine does
    /// not count them as retired, but the guest executed them.
    public internal(set) var emulatedInstructions: UInt64 = 0

    /// Guest instructions executed so far: retired by the engine plus emulated here.
    public var instructions: UInt64 { cpu.retiredInstructions &+ emulatedInstructions }

    /// Loads `image` and prepares the vCPU. `engine` makes the CPU (the interpreter today).
    public init(image: [UInt8], configuration: BareMetalConfiguration = .init(), engine: any VirtualCPUFactory) throws(BareMetalSetupError) {
        let size = configuration.memoryBytes
        guard size % pageSize == 0, size >= BareMetalConfiguration.minimumMemoryBytes,
            size <= BareMetalConfiguration.maximumMemoryBytes
        else { throw .memorySize(size) }
        let load = configuration.loadAddress
        guard load % pageSize == 0, load >= 0x10_0000, load < size else { throw .loadAddress(load) }
        guard !image.isEmpty else { throw .emptyImage }
        // Keep a page of stack between the image and the top of RAM.
        let room = size - load - pageSize
        guard UInt64(image.count) <= room else { throw .imageTooLarge(imageBytes: image.count, room: room) }

        let memory: PhysicalMemory
        do { memory = try PhysicalMemory(bytes: size) } catch { throw .memory(error) }
        memory.write(image, at: MachineAddress(load))

        let root: MachineFrame
        do { root = try Self.buildIdentityTables(memory: memory, below: load) } catch { throw .pageTables(error) }

        let cpu = engine.makeVirtualCPU(memory: memory, translation: IdentityTranslation(memory: memory))
        var state = CPUState.flatLongMode(cpl: 0, cr3: root.address.rawValue, rip: load, rsp: size)
        state[.rdi] = size
        cpu.state = state
        var intercepts = InterceptControls()
        intercepts.allMSRs = true
        cpu.intercepts = intercepts

        self.configuration = configuration
        self.memory = memory
        self.cpu = cpu
        self.pageTableRoot = root
        self.imageBytes = image.count
    }

    /// Identity-maps all of RAM except page 0: 4 KiB pages for the first 2 MiB (so that
    /// page 0 can stay unmapped) and for a partial last 2 MiB, 2 MiB pages elsewhere.
    /// Table frames come from frame 1 upwards and must stay below `limit`.
    static func buildIdentityTables(memory: PhysicalMemory, below limit: UInt64) throws(PageTableBuilder.BuildError) -> MachineFrame {
        var next: UInt64 = 1
        let lastFrame = limit >> pageShift
        var tables = try PageTableBuilder(memory: memory) {
            guard next < lastFrame else { return nil }
            defer { next += 1 }
            return MachineFrame(next)
        }
        let flags = PTE.writable
        let large: UInt64 = 2 << 20
        let size = memory.size
        try tables.mapRange(linear: pageSize, length: min(large, size) - pageSize, to: MachineFrame(1), flags: flags)
        var chunk = large
        while chunk < size {
            if size - chunk >= large {
                try tables.mapLarge(linear: chunk, to: MachineAddress(chunk), level: 2, flags: flags)
            } else {
                try tables.mapRange(linear: chunk, length: size - chunk, to: MachineAddress(chunk).frame, flags: flags)
            }
            chunk += large
        }
        return tables.root
    }
}
