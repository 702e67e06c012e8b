import GuestMemory
import X86
import XenABI

/// Xen's writable page tables (VMASST_TYPE_writable_pagetables, xen-abi §5.7): a guest
/// kernel store that faults on its own read-only L1 page is decoded, merged into the whole
/// 8-byte entry, validated like MMU_NORMAL_PT_UPDATE and performed; if anything refuses, the
/// original #PF reaches the guest. Xen: ptwr_do_page_fault / ptwr_emulated_update.
extension PVVCPU {
    func emulatePageTableWrite(address: UInt64, errorCode: UInt32) -> Bool {
        let wanted = PageFaultErrorCode.present.rawValue | PageFaultErrorCode.write.rawValue
        let refused = PageFaultErrorCode.reservedBit.rawValue | PageFaultErrorCode.instructionFetch.rawValue
        guard pv.kernelMode, errorCode & (wanted | refused) == wanted,
            domain.isAssistEnabled(VMAssist.writablePagetables),
            let tables = pageTables, let base = pv.kernelBase,
            let l1Entry = tables.l1EntryAddress(for: address, base: base),
            let pte = domain.machine.load(UInt64.self, at: l1Entry), pte & PTE.present != 0
        else { return false }
        let rip = engine.state.rip
        var bytes: [UInt8] = []
        for n in stride(from: 15, through: 1, by: -1) {
            if let b = try? copyFromGuest(rip, count: n) {
                bytes = b
                break
            }
        }
        guard let write = PageTableWrite.decode(bytes), address & UInt64(write.size - 1) == 0 else { return false }
        let target = MachineAddress((pte & 0x000F_FFFF_FFFF_F000) | (address & 0xFFF))
        let entryAddress = MachineAddress(target.rawValue & ~7)
        let shift = UInt64(target.rawValue & 7) * 8
        let mask: UInt64 = write.size == 8 ? ~0 : ((1 << (UInt64(write.size) * 8)) - 1)
        var s = engine.state
        let sourceValue: UInt64
        switch write.source {
        case .immediate(let v): sourceValue = v & mask
        case .register(let r) where r >= 16:
            sourceValue = (s.gprs.values[r - 16] >> 8) & 0xFF
        case .register(let r): sourceValue = s.gprs.values[r] & mask
        }
        var actions = MMUActions()
        for _ in 0..<8 {
            guard let entry = domain.machine.load(UInt64.self, at: entryAddress) else { return false }
            let old = (entry >> shift) & mask
            var new = old
            var compareFailed = false
            switch write.operation {
            case .store, .exchange: new = sourceValue
            case .or: new = old | sourceValue
            case .and: new = old & sourceValue
            case .xor: new = old ^ sourceValue
            case .bitSet, .bitReset, .bitComplement:
                let bit = sourceValue & UInt64(write.size * 8 - 1)
                switch write.operation {
                case .bitSet: new = old | (1 << bit)
                case .bitReset: new = old & ~(1 << bit)
                default: new = old ^ (1 << bit)
                }
            case .compareExchange:
                compareFailed = old != s.gprs[.rax] & mask
                new = compareFailed ? old : sourceValue
            }
            let merged = (entry & ~(mask << shift)) | (new << shift)
            let result: PVPageTables.L1WriteResult
            if compareFailed {
                result = .written(previous: entry)
            } else {
                do {
                    result = try tables.emulatedL1Write(at: entryAddress, value: merged, expected: entry, domain: domain.id, actions: &actions)
                } catch {
                    return false
                }
            }
            if case .compareFailed = result { continue }  // raced with another vCPU: redo
            finishPageTableWrite(write, old: old, new: new, mask: mask, compareFailed: compareFailed, state: &s)
            engine.state = s
            apply(mmuContext, actions)
            return true
        }
        return false
    }

    /// Register and flag results of the emulated instruction; RIP moves past it.
    private func finishPageTableWrite(_ write: PageTableWrite, old: UInt64, new: UInt64, mask: UInt64, compareFailed: Bool, state s: inout CPUState) {
        let status = RFlags.status.rawValue
        var flags = s.rflags.rawValue & ~status
        func setRegister(_ value: UInt64) {
            guard case .register(let r) = write.source else { return }
            if r >= 16 {
                s.gprs.values[r - 16] = (s.gprs.values[r - 16] & ~0xFF00) | ((value & 0xFF) << 8)
            } else if write.size == 4 {
                s.gprs.values[r] = value & 0xFFFF_FFFF
            } else {
                s.gprs.values[r] = (s.gprs.values[r] & ~mask) | (value & mask)
            }
        }
        func logicFlags(_ v: UInt64) {
            let signBit: UInt64 = 1 << (UInt64(write.size) * 8 - 1)
            if v & mask == 0 { flags |= RFlags.zero.rawValue }
            if v & signBit != 0 { flags |= RFlags.sign.rawValue }
            if (v & 0xFF).nonzeroBitCount % 2 == 0 { flags |= RFlags.parity.rawValue }
        }
        switch write.operation {
        case .store:
            flags = s.rflags.rawValue
        case .exchange:
            setRegister(old)
            flags = s.rflags.rawValue
        case .or, .and, .xor:
            logicFlags(new)
        case .bitSet, .bitReset, .bitComplement:
            flags = s.rflags.rawValue & ~RFlags.carry.rawValue
            let bit = write.source.immediateOrRegister(s) & UInt64(write.size * 8 - 1)
            if old & (1 << bit) != 0 { flags |= RFlags.carry.rawValue }
        case .compareExchange:
            // Flags of CMP accumulator, destination.
            let a = s.gprs[.rax] & mask
            let diff = (a &- old) & mask
            logicFlags(diff)
            if a < old { flags |= RFlags.carry.rawValue }
            let signBit: UInt64 = 1 << (UInt64(write.size) * 8 - 1)
            if (a ^ old) & (a ^ diff) & signBit != 0 { flags |= RFlags.overflow.rawValue }
            if (a ^ old ^ diff) & 0x10 != 0 { flags |= RFlags.auxCarry.rawValue }
            if compareFailed {
                if write.size == 4 { s.gprs[.rax] = old } else { s.gprs[.rax] = (s.gprs[.rax] & ~mask) | old }
            }
        }
        s.rflags = RFlags(rawValue: flags)
        s.rip &+= UInt64(write.length)
    }
}

extension PageTableWrite.Source {
    func immediateOrRegister(_ s: CPUState) -> UInt64 {
        switch self {
        case .immediate(let v): return v
        case .register(let r) where r >= 16: return (s.gprs.values[r - 16] >> 8) & 0xFF
        case .register(let r): return s.gprs.values[r]
        }
    }
}
