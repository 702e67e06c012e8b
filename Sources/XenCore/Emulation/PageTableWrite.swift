/// A guest store into one of its own (read-only mapped) L1 page-table pages, decoded from the
/// instruction bytes. Xen's ptwr emulation runs x86_emulate on it; Kite decodes exactly the
/// write forms guests use on page-table entries: MOV, XCHG, CMPXCHG and the locked logic and
/// bit operations (Linux: set_pte, ptep_get_and_clear, ptep_set_wrprotect,
/// ptep_test_and_clear_young, pte_update via cmpxchg).
struct PageTableWrite: Equatable {
    enum Operation: Equatable {
        /// MOV r/m, r or MOV r/m, imm.
        case store
        case exchange
        case compareExchange
        case or, and, xor
        /// BTS / BTR / BTC: the operand is the bit number.
        case bitSet, bitReset, bitComplement
    }

    var operation: Operation
    /// 1, 2, 4 or 8 bytes.
    var size: Int
    /// The source: a register (full index 0–15, or AH..BH as 20..23) or an immediate.
    enum Source: Equatable {
        case register(Int)
        case immediate(UInt64)
    }
    var source: Source
    var length: Int

    /// Decodes the instruction; nil for anything else (the #PF then reaches the guest).
    static func decode(_ b: [UInt8]) -> PageTableWrite? {
        var i = 0
        var operandSize = 4
        var rex: UInt8 = 0
        while i < b.count && i < 14 {
            switch b[i] {
            case 0x66: operandSize = 2
            case 0xF0, 0x2E, 0x3E, 0x26, 0x36, 0x64, 0x65: break
            default:
                if b[i] & 0xF0 == 0x40 {
                    rex = b[i]
                    i += 1
                }
                return decodeOpcode(b, at: i, operandSize: rex & 8 != 0 ? 8 : operandSize, rex: rex)
            }
            i += 1
        }
        return nil
    }

    private static func decodeOpcode(_ b: [UInt8], at start: Int, operandSize: Int, rex: UInt8) -> PageTableWrite? {
        guard start < b.count else { return nil }
        var i = start
        let op = b[i]
        i += 1
        var twoByte: UInt8? = nil
        if op == 0x0F {
            guard i < b.count else { return nil }
            twoByte = b[i]
            i += 1
        }
        guard let modrm = ModRM(b, at: i, rex: rex) else { return nil }
        // Only memory operands: the register form cannot fault on a page table.
        guard modrm.mod != 3 else { return nil }
        i += modrm.length
        func immediate(_ n: Int, signExtendTo size: Int) -> UInt64? {
            guard i + n <= b.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[i + k]) << (8 * UInt64(k)) }
            i += n
            if n < 8 && v & (1 << (UInt64(n) * 8 - 1)) != 0 { v |= ~0 << (UInt64(n) * 8) }
            return size == 8 ? v : v & ((1 << (UInt64(size) * 8)) - 1)
        }
        func register(_ size: Int) -> Source {
            // Without REX, byte registers 4–7 are AH, CH, DH, BH.
            if size == 1 && rex == 0 && (4...7).contains(modrm.reg) { return .register(16 + modrm.reg) }
            return .register(modrm.reg)
        }
        let logic: [Int: Operation] = [1: .or, 4: .and, 6: .xor]
        if let second = twoByte {
            switch second {
            case 0xB1: return PageTableWrite(operation: .compareExchange, size: operandSize, source: register(operandSize), length: i)
            case 0xB0: return PageTableWrite(operation: .compareExchange, size: 1, source: register(1), length: i)
            case 0xAB: return PageTableWrite(operation: .bitSet, size: operandSize, source: register(operandSize), length: i)
            case 0xB3: return PageTableWrite(operation: .bitReset, size: operandSize, source: register(operandSize), length: i)
            case 0xBB: return PageTableWrite(operation: .bitComplement, size: operandSize, source: register(operandSize), length: i)
            case 0xBA:
                let ops: [Int: Operation] = [5: .bitSet, 6: .bitReset, 7: .bitComplement]
                guard let o = ops[modrm.reg & 7], let v = immediate(1, signExtendTo: 1) else { return nil }
                return PageTableWrite(operation: o, size: operandSize, source: .immediate(v & 0xFF), length: i)
            default: return nil
            }
        }
        switch op {
        case 0x88: return PageTableWrite(operation: .store, size: 1, source: register(1), length: i)
        case 0x89: return PageTableWrite(operation: .store, size: operandSize, source: register(operandSize), length: i)
        case 0x86: return PageTableWrite(operation: .exchange, size: 1, source: register(1), length: i)
        case 0x87: return PageTableWrite(operation: .exchange, size: operandSize, source: register(operandSize), length: i)
        case 0x08: return PageTableWrite(operation: .or, size: 1, source: register(1), length: i)
        case 0x09: return PageTableWrite(operation: .or, size: operandSize, source: register(operandSize), length: i)
        case 0x20: return PageTableWrite(operation: .and, size: 1, source: register(1), length: i)
        case 0x21: return PageTableWrite(operation: .and, size: operandSize, source: register(operandSize), length: i)
        case 0x30: return PageTableWrite(operation: .xor, size: 1, source: register(1), length: i)
        case 0x31: return PageTableWrite(operation: .xor, size: operandSize, source: register(operandSize), length: i)
        case 0xC6, 0xC7:
            guard modrm.reg & 7 == 0 else { return nil }
            let size = op == 0xC6 ? 1 : operandSize
            guard let v = immediate(min(size, 4), signExtendTo: size) else { return nil }
            return PageTableWrite(operation: .store, size: size, source: .immediate(v), length: i)
        case 0x80, 0x81, 0x83:
            guard let o = logic[modrm.reg & 7] else { return nil }
            let size = op == 0x80 ? 1 : operandSize
            let n = op == 0x81 ? min(size, 4) : 1
            guard let v = immediate(n, signExtendTo: size) else { return nil }
            return PageTableWrite(operation: o, size: size, source: .immediate(v), length: i)
        default:
            return nil
        }
    }
}

/// The length-relevant parts of a ModRM byte and what follows it (SIB, displacement).
struct ModRM {
    var mod: Int
    /// ModRM.reg with REX.R applied.
    var reg: Int
    var length: Int

    init?(_ b: [UInt8], at i: Int, rex: UInt8) {
        guard i < b.count else { return nil }
        let m = b[i]
        mod = Int(m >> 6)
        reg = Int((m >> 3) & 7) | (rex & 4 != 0 ? 8 : 0)
        let rm = Int(m & 7)
        var n = 1
        if mod != 3 && rm == 4 {
            guard i + 1 < b.count else { return nil }
            let sib = b[i + 1]
            n += 1
            if mod == 0 && sib & 7 == 5 { n += 4 }
        }
        switch mod {
        case 0 where rm == 5: n += 4  // RIP-relative
        case 1: n += 1
        case 2: n += 4
        default: break
        }
        guard i + n <= b.count else { return nil }
        length = n
    }
}
