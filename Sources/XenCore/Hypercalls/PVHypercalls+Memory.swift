import GuestMemory
import XenABI

extension PVHypercalls {
    /// Extents handled per invocation before a reservation call yields with a continuation.
    static let extentsPerInvocation: UInt64 = 256

    /// Xen: do_memory_op (common/memory.c, arch/x86/x86_64/mm.c) for a 64-bit PV domU.
    /// The command's low 6 bits are the sub-op, the rest Xen's continuation start extent.
    static func memoryOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        guard let memory = vcpu.domain.memory else { throw .ENOSYS }
        let command = args[0]
        let startExtent = command >> MemoryOp.extentShift
        let arg = args[1]
        guard let op = MemoryOp(rawValue: command & MemoryOp.commandMask) else { throw .ENOSYS }
        switch op {
        case .increaseReservation, .decreaseReservation, .populatePhysmap:
            return try reservation(vcpu, memory, op: op, startExtent: startExtent, args: args)
        default:
            break
        }
        guard startExtent == 0 else { throw .EINVAL }
        switch op {
        case .maximumRAMPage:
            return .value(memory.machine.maximumRAMPage)
        case .currentReservation, .maximumReservation, .maximumGPFN:
            let target = DomainID(try vcpu.readGuest(UInt16.self, at: arg))
            let r = try memory.reservation(of: target)
            switch op {
            case .currentReservation: return .value(r.current)
            case .maximumReservation: return .value(r.maximum)
            default: return .value(UInt64(max(memory.populatedFrameCount, 1) - 1))
            }
        case .machphysMapping:
            try vcpu.copyToGuest(MachphysMapping.pv64.bytes, at: arg)
            return .success
        case .machphysMFNList:
            // {u32 max_extents @0, handle extent_start @8, u32 nr_extents @16}: the first MFN
            // of each 2 MiB piece of the M2P table.
            let request = try vcpu.readGuestStruct(arg, size: 24)
            let frames = memory.machine.machineToPhysFrames
            let chunks = stride(from: 0, to: frames.count, by: 512).map { frames[$0] }
            let n = min(UInt64(request.u32(0)), UInt64(chunks.count))
            for i in 0..<Int(n) {
                try vcpu.writeGuest(chunks[i].rawValue, at: request.u64(8) &+ UInt64(i) * 8)
            }
            try vcpu.writeGuest(UInt32(n), at: arg &+ 16)
            return .success
        case .memoryMap:
            // {u32 nr_entries @0 (capacity in, count out), handle buffer @8}
            let request = try vcpu.readGuestStruct(arg, size: 16)
            let map = memory.memoryMap
            guard !map.isEmpty else { throw .ENOSYS }
            let n = min(Int(request.u32(0)), map.count)
            for i in 0..<n {
                try vcpu.copyToGuest(map[i].bytes, at: request.u64(8) &+ UInt64(i * E820Entry.size))
            }
            try vcpu.writeGuest(UInt32(n), at: arg)
            return .success
        case .setMemoryMap:
            // {u16 domid @0, xen_memory_map map @8}: a domain may set its own map.
            let request = try vcpu.readGuestStruct(arg, size: 24)
            let target = DomainID(request.u16(0))
            guard target == .selfDomain || target == vcpu.domain.id else {
                throw memory.machine.domainExists(target) ? .EPERM : .ESRCH
            }
            let count = Int(request.u32(8))
            guard count <= E820Entry.maximumEntries else { throw .EINVAL }
            var entries: [E820Entry] = []
            for i in 0..<count {
                let e = try vcpu.readGuestStruct(request.u64(16) &+ UInt64(i * E820Entry.size), size: E820Entry.size)
                entries.append(E820Entry(address: e.u64(0), length: e.u64(8), type: e.u32(16)))
            }
            try memory.setMemoryMap(entries)
            return .success
        case .machineMemoryMap:
            throw .EPERM
        case .getVNUMAInfo:
            // Xen: no vNUMA topology configured for the domain.
            throw .EOPNOTSUPP
        default:
            throw .ENOSYS
        }
    }

    /// increase_reservation, decrease_reservation, populate_physmap: returns the number of
    /// extents done (Xen does not report which extent failed, only how far it got).
    private static func reservation(
        _ vcpu: PVVCPU, _ memory: DomainMemory, op: MemoryOp, startExtent: UInt64, args: HypercallArguments
    ) throws(XenError) -> HypercallOutcome {
        let bytes = try vcpu.copyFromGuest(args[1], count: MemoryReservation.size)
        guard let r = MemoryReservation(bytes: bytes) else { throw .EFAULT }
        guard let plan = memory.planReservation(r, operation: op, startExtent: startExtent) else {
            return .value(startExtent)
        }
        var actions = MMUActions()
        defer { vcpu.apply(vcpu.mmuContext, actions) }
        var i = plan.firstExtent
        while i < plan.extentCount {
            if i - plan.firstExtent >= extentsPerInvocation {
                var next = args
                next[0] = op.rawValue | (i << MemoryOp.extentShift)
                return .preempted(next)
            }
            let slot = r.extentStart &+ i &* 8
            do {
                switch op {
                case .increaseReservation:
                    let mfn = try memory.increaseReservation(plan: plan)
                    if r.extentStart != 0 { try vcpu.writeGuest(mfn.rawValue, at: slot) }
                case .decreaseReservation:
                    let frame = try vcpu.readGuest(UInt64.self, at: slot)
                    try memory.decreaseReservation(extent: frame, plan: plan, actions: &actions)
                default:
                    let gpfn = try vcpu.readGuest(UInt64.self, at: slot)
                    let mfn = try memory.populatePhysmap(gfn: GuestFrame(gpfn), plan: plan)
                    try vcpu.writeGuest(mfn.rawValue, at: slot)
                }
            } catch {
                break
            }
            i += 1
        }
        return .value(i)
    }
}
