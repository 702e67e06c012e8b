import GuestMemory
import X86

/// Why a `BareMetalMachine` could not be built. Each message says what to change.
public enum BareMetalSetupError: Error, Equatable, CustomStringConvertible {
    case emptyImage
    case memorySize(UInt64)
    case loadAddress(UInt64)
    case imageTooLarge(imageBytes: Int, room: UInt64)
    case memory(PhysicalMemoryError)
    case pageTables(PageTableBuilder.BuildError)

    public var description: String {
        switch self {
        case .emptyImage:
            "the image is empty; pass a flat binary built by scripts/build-guests.sh"
        case .memorySize(let s):
            "memory size \(s) bytes is not usable: it must be a multiple of 4 KiB between "
                + "\(BareMetalConfiguration.minimumMemoryBytes >> 20) MiB and "
                + "\(BareMetalConfiguration.maximumMemoryBytes >> 30) GiB"
        case .loadAddress(let a):
            "load address 0x\(String(a, radix: 16)) must be 4 KiB aligned and at or above 1 MiB "
                + "(the page tables live below it)"
        case .imageTooLarge(let bytes, let room):
            "the image (\(bytes) bytes) does not fit: \(room) bytes lie between the load address "
                + "and the end of memory; give the machine more memory"
        case .memory(let e): e.description
        case .pageTables(let e): "could not build the identity page tables: \(e)"
        }
    }
}

/// Why a bare-metal run ended without the guest asking to exit or halting.
public enum BareMetalFailure: Error, Equatable, CustomStringConvertible {
    /// An exception the guest raised (no IDT is installed: every vector ends the run).
    case exception(X86Exception, rip: UInt64)
    case tripleFault(rip: UInt64)
    /// RDMSR/WRMSR: bare metal provides no model-specific registers.
    case msrAccess(msr: UInt32, isWrite: Bool, rip: UInt64)
    /// INS/OUTS: the debug ports take single IN/OUT instructions only.
    case stringIO(port: UInt16, rip: UInt64)
    case instructionLimit(UInt64)
    /// The physical address had no RAM behind it.
    case physicalAccess(address: UInt64, isWrite: Bool, rip: UInt64)
    /// An exit this machine does not emulate.
    case unhandledExit(VCPUExit, rip: UInt64)

    public var description: String {
        switch self {
        case .exception(let e, let rip):
            "guest raised \(e) (vector \(e.vector)) at RIP 0x\(hex(rip))"
        case .tripleFault(let rip):
            "guest triple-faulted at RIP 0x\(hex(rip))"
        case .msrAccess(let msr, let isWrite, let rip):
            "guest \(isWrite ? "wrote" : "read") MSR 0x\(hex(UInt64(msr))) at RIP 0x\(hex(rip)); "
                + "bare-metal guests have no model-specific registers"
        case .stringIO(let port, let rip):
            "guest used a string I/O instruction on port 0x\(hex(UInt64(port))) at RIP 0x\(hex(rip)); "
                + "use single IN/OUT instructions"
        case .instructionLimit(let n):
            "the guest did not finish within \(n) instructions (raise --max-instructions)"
        case .physicalAccess(let address, let isWrite, let rip):
            "guest \(isWrite ? "wrote" : "read") physical address 0x\(hex(address)) beyond RAM "
                + "at RIP 0x\(hex(rip))"
        case .unhandledExit(let exit, let rip):
            "the CPU exited with \(exit) at RIP 0x\(hex(rip)), which bare metal does not emulate"
        }
    }
}

@inline(__always) func hex(_ v: UInt64) -> String { String(v, radix: 16) }
