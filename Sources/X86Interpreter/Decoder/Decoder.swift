import X86

/// Why an instruction could not be decoded.
enum DecodeFailure: Error, Equatable {
    /// The bytes needed lie on a page that cannot be fetched; the caller's fetch raised this.
    case fetch(X86Exception)
    /// More than 15 bytes (#GP(0)).
    case tooLong
}

/// A source of instruction bytes. `fetch(i)` returns byte `i` of the instruction, or throws
/// the exception that fetching it raises (so only bytes the instruction really needs fault).
protocol InstructionByteSource {
    mutating func fetch(_ offset: Int) throws(DecodeFailure) -> UInt8
}

/// Decodes x86 instructions into `DecodedInstruction`s, driven by `OpcodeTables`.
/// Parameterised by CPU mode for default operand and address sizes and REX; the executor
/// currently implements 64-bit mode only.
struct Decoder {
    let tables: OpcodeTables
    let mode: CPUMode

    init(mode: CPUMode, tables: OpcodeTables = .shared) {
        self.mode = mode
        self.tables = tables
    }

    /// Decodes one instruction. An undefined encoding yields `op == .invalid` (#UD when run)
    /// with the length decoded so far.
    func decode<S: InstructionByteSource>(_ src: inout S) throws(DecodeFailure) -> DecodedInstruction {
        var d = DecodedInstruction()
        var pos = 0
        func next() throws(DecodeFailure) -> UInt8 {
            guard pos < 15 else { throw .tooLong }
            let b = try src.fetch(pos)
            pos += 1
            return b
        }
        let is64 = mode == .long64
        let defaultBig = is64 || mode == .protected32 || mode == .compatibility
        var opsizePrefix = false
        var addrsizePrefix = false
        var lock = false
        var lastRep: UInt8 = 0
        var rex: UInt8 = 0
        var segment: UInt8 = DecodedInstruction.noRegister
        var byte = try next()
        // Legacy prefixes, then at most one REX immediately before the opcode.
        prefixLoop: while true {
            switch byte {
            case 0x66: opsizePrefix = true
            case 0x67: addrsizePrefix = true
            case 0xF0: lock = true
            case 0xF2, 0xF3: lastRep = byte
            case 0x26, 0x2E, 0x36, 0x3E: if !is64 { segment = [0x26: 0, 0x2E: 1, 0x36: 2, 0x3E: 3][byte] ?? 0 }
            case 0x64: segment = UInt8(SegmentRegister.fs.rawValue)
            case 0x65: segment = UInt8(SegmentRegister.gs.rawValue)
            case 0x40...0x4F where is64:
                rex = byte
                byte = try next()
                if (0x40...0x4F).contains(byte) { continue prefixLoop }
                if [0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65].contains(byte) {
                    rex = 0  // a REX followed by a legacy prefix is ignored
                    continue prefixLoop
                }
                break prefixLoop
            default: break prefixLoop
            }
            byte = try next()
        }
        let rexW = rex & 8 != 0
        let rexR: UInt8 = rex & 4 != 0 ? 8 : 0
        let rexX: UInt8 = rex & 2 != 0 ? 8 : 0
        let rexB: UInt8 = rex & 1 != 0 ? 8 : 0

        var twoByte = false
        var entry: OpcodeEntry
        let opcode: UInt8
        if byte == 0x0F {
            twoByte = true
            opcode = try next()
            if opcode == 0x38 || opcode == 0x3A {
                try decodeThreeByte(&d, map: opcode, next: next, rex: rex, opsize: opsizePrefix, rep: lastRep)
                d.segment = segment
                d.addressSize = is64 ? (addrsizePrefix ? 4 : 8) : (addrsizePrefix != defaultBig ? 4 : 2)
                d.length = UInt8(pos)
                return d
            }
            entry = tables.twoByte[Int(opcode)]
        } else {
            opcode = byte
            entry = tables.oneByte[Int(opcode)]
        }
        if entry.invalidIn64 && is64 { entry.op = .invalid }

        // Mandatory-prefix refinements in the two-byte map.
        if twoByte {
            switch opcode {
            case 0xB8: if lastRep != 0xF3 { entry.op = .invalid }
            case 0xBC where lastRep == 0xF3: entry.op = .tzcnt
            case 0xBD where lastRep == 0xF3: entry.op = .lzcnt
            default: break
            }
        }
        if opcode == 0x90 && !twoByte && rexB == 0 {
            entry.op = lastRep == 0xF3 ? .pause : .nop
        }

        // Operand size.
        switch entry.size {
        case .byte: d.size = 1
        case .word: d.size = 2
        case .force64: d.size = is64 ? 8 : 4
        case .default64:
            // In 64-bit mode REX.W wins over 0x66 (then the size is 64).
            d.size = is64 ? (opsizePrefix && !rexW ? 2 : 8) : (opsizePrefix != defaultBig ? 4 : 2)
        case .v:
            d.size = rexW ? 8 : (opsizePrefix != defaultBig ? 4 : 2)
        }
        d.addressSize = is64 ? (addrsizePrefix ? 4 : 8) : (addrsizePrefix != defaultBig ? 4 : 2)
        d.segment = segment
        d.flags = entry.flags
        if opsizePrefix { d.flags.insert(.operandSizePrefix) }
        if rexW { d.flags.insert(.rexW) }
        if lastRep == 0xF3 { d.flags.insert(.rep) }
        if lastRep == 0xF2 { d.flags.insert(.repne) }
        d.op = entry.op
        d.sub = entry.sub
        // A REP string instruction may stop after part of its iterations with RIP still at
        // itself (see `executeString`), so nothing may follow it in a decoded block.
        if lastRep != 0 {
            switch entry.op {
            case .movs, .cmps, .stos, .lods, .scas, .ins, .outs: d.flags.insert(.endsBlock)
            default: break
            }
        }

        // Opcode-register forms (50+r, 58+r, 90+r, B0+r, B8+r, 0F C8+r) use REX.B.
        let opcodeRegister = (entry.sub & 7) | rexB
        if !entry.modrm {
            switch entry.op {
            case .push, .pop, .bswap, .xchg:
                d.rm = opcodeRegister
            case .mov where !twoByte && opcode >= 0xB0:
                d.rm = byteRegister(opcodeRegister, size: d.size, rex: rex)
            default:
                break
            }
            if d.op == .nop || d.op == .pause { d.rm = 0 }
        }

        // ModRM, SIB and displacement.
        var modrmByte: UInt8 = 0
        if entry.modrm {
            modrmByte = try next()
            let mod = modrmByte >> 6
            let regField = (modrmByte >> 3) & 7
            let rmField = modrmByte & 7
            d.reg = byteRegister(regField | rexR, size: d.size, rex: rex)
            // MOV to/from CRn and DRn ignore ModRM.mod: the operand is always a register and
            // no SIB or displacement follows (SDM vol. 2, "MOV—Move to/from Control Registers").
            let registerOnly = entry.op == .movToCR || entry.op == .movFromCR || entry.op == .movToDR || entry.op == .movFromDR
            if mod == 3 || registerOnly {
                d.rm = byteRegister(rmField | rexB, size: d.size, rex: rex)
            } else {
                d.flags.insert(.memory)
                try decodeMemory(&d, mod: mod, rm: rmField, rexB: rexB, rexX: rexX, next: next)
            }
            if entry.group != .none {
                resolveGroup(&d, group: entry.group, opcode: opcode, modrm: modrmByte, rep: lastRep, rexW: rexW, is64: is64, opsizePrefix: opsizePrefix)
            }
        }
        rejectInvalidForms(&d, opcode: opcode, twoByte: twoByte, modrm: modrmByte, opsizePrefix: opsizePrefix, rep: lastRep)
        if d.op == .x87 { decodeX87(&d, opcode: opcode, modrm: modrmByte) }
        if d.op == .sse {
            let prefix: SSEPrefix = lastRep == 0xF3 ? .f3 : (lastRep == 0xF2 ? .f2 : (opsizePrefix ? .p66 : .none))
            decodeSSE(&d, opcode: opcode, modrm: modrmByte, prefix: prefix, rexW: rexW)
        }

        // Forms whose G/E register fields are not byte registers even for byte operations.
        if d.op == .movExtend || d.op == .movsxd {
            d.reg = ((modrmByte >> 3) & 7) | rexR
            if !d.flags.contains(.memory) { d.rm = byteRegister((modrmByte & 7) | rexB, size: d.sub == 1 ? 1 : 2, rex: rex) }
        }
        if d.op == .movExtend && d.size == 1 { d.size = 4 }

        // Immediates.
        switch entry.immediate {
        case .none: break
        case .byteSigned: d.immediate = UInt64(bitPattern: Int64(Int8(bitPattern: try next())))
        case .byteUnsigned: d.immediate = UInt64(try next())
        case .word: d.immediate = try readLE(2, next)
        case .z:
            d.immediate = d.size == 2
                ? UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: try readLE(2, next))))
                : UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: try readLE(4, next))))
        case .v: d.immediate = try readLE(Int(d.size), next)
        case .enter:
            d.immediate = try readLE(2, next)
            d.displacement = UInt64(try next())
        case .rel8: d.immediate = UInt64(bitPattern: Int64(Int8(bitPattern: try next())))
        case .rel32:
            d.immediate = d.size == 2 && !is64
                ? UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: try readLE(2, next))))
                : UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: try readLE(4, next))))
        case .offset:
            d.flags.insert(.memory)
            d.displacement = try readLE(Int(d.addressSize), next)
            d.reg = 0  // the accumulator
        }
        // Group-3 TEST (F6/F7 /0 and /1) carries an immediate the table entry cannot know of.
        if entry.group == .group3 && (d.reg & 7) <= 1 && d.op == .test {
            d.flags.insert(.sourceImmediate)
            d.immediate = d.size == 1
                ? UInt64(bitPattern: Int64(Int8(bitPattern: try next())))
                : (d.size == 2
                    ? UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: try readLE(2, next))))
                    : UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: try readLE(4, next)))))
        }

        // LOCK is legal only on the read-modify-write memory forms.
        if lock {
            let lockableGroup = d.op == .alu && d.sub != AluKind.cmp.rawValue || d.op == .incDec
                || d.op == .not || d.op == .neg || (d.op == .bitTest && d.sub != 0) || d.op == .cmpxchgDouble
            if !(d.flags.contains(.memory) && (entry.lockable || (entry.group != .none && lockableGroup))) || d.op == .mov {
                d.op = .invalid
            } else {
                d.flags.insert(.lock)
            }
        }
        d.length = UInt8(pos)
        specialize(&d)
        return d
    }

    /// Encodings whose opcode exists but whose ModRM or prefixes make them undefined (#UD).
    private func rejectInvalidForms(_ d: inout DecodedInstruction, opcode: UInt8, twoByte: Bool, modrm: UInt8, opsizePrefix: Bool, rep: UInt8) {
        let isMemory = d.flags.contains(.memory)
        let regField = (modrm >> 3) & 7
        switch (twoByte, opcode) {
        case (false, 0x8C):
            if regField > 5 { d.op = .invalid }  // no segment registers 6 and 7
        case (false, 0x8E):
            if regField > 5 || regField == 1 { d.op = .invalid }  // nor loading CS
        case (false, 0x8D):
            if !isMemory { d.op = .invalid }  // LEA needs a memory operand
        case (true, 0xC3):
            if !isMemory || opsizePrefix || rep != 0 { d.op = .invalid }  // MOVNTI: memory only, no 66/F2/F3
        case (true, 0x0D):
            if !isMemory { d.op = .invalid }  // PREFETCHW: memory only
        default:
            break
        }
    }

    /// Maps a register number to the byte-register encoding: without REX, 4-7 mean AH-BH.
    @inline(__always)
    private func byteRegister(_ r: UInt8, size: UInt8, rex: UInt8) -> UInt8 {
        (size == 1 && rex == 0 && r >= 4 && r < 8) ? r + 12 : r
    }

    private func readLE(_ count: Int, _ next: () throws(DecodeFailure) -> UInt8) throws(DecodeFailure) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<count { v |= UInt64(try next()) << (8 * UInt64(i)) }
        return v
    }

    private func decodeMemory(
        _ d: inout DecodedInstruction, mod: UInt8, rm: UInt8, rexB: UInt8, rexX: UInt8,
        next: () throws(DecodeFailure) -> UInt8
    ) throws(DecodeFailure) {
        if d.addressSize == 2 {
            // 16-bit addressing (outside 64-bit mode): BX+SI ... forms.
            let bases: [(UInt8, UInt8)] = [(3, 6), (3, 7), (5, 6), (5, 7), (6, 0xFF), (7, 0xFF), (5, 0xFF), (3, 0xFF)]
            d.base = bases[Int(rm)].0
            d.index = bases[Int(rm)].1
            if mod == 0 && rm == 6 {
                d.base = DecodedInstruction.noRegister
                d.displacement = try readLE(2, next)
            }
        } else if rm == 4 {
            let sib = try next()
            d.scale = sib >> 6
            let idx = ((sib >> 3) & 7) | rexX
            d.index = idx == 4 ? DecodedInstruction.noRegister : idx
            let b = sib & 7
            if b == 5 && mod == 0 {
                d.base = DecodedInstruction.noRegister
                d.displacement = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: try readLE(4, next))))
            } else {
                d.base = b | rexB
            }
        } else if rm == 5 && mod == 0 {
            d.base = mode == .long64 ? DecodedInstruction.ripBase : DecodedInstruction.noRegister
            d.displacement = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: try readLE(4, next))))
        } else {
            d.base = rm | rexB
        }
        if mod == 1 {
            d.displacement = UInt64(bitPattern: Int64(Int8(bitPattern: try next())))
        } else if mod == 2 {
            d.displacement = d.addressSize == 2
                ? UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: try readLE(2, next))))
                : UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: try readLE(4, next))))
        }
    }

    /// The 0F 38 and 0F 3A maps: only MOVBE is implemented; the rest (SSE4, AES, SHA) is #UD
    /// on this CPU, but its length is still decoded so that #UD reports the right bytes.
    private func decodeThreeByte(
        _ d: inout DecodedInstruction, map: UInt8, next: () throws(DecodeFailure) -> UInt8, rex: UInt8,
        opsize: Bool, rep: UInt8
    ) throws(DecodeFailure) {
        let opcode = try next()
        let modrm = try next()
        let mod = modrm >> 6
        d.op = .invalid
        if mod != 3 {
            d.flags.insert(.memory)
            try decodeMemory(&d, mod: mod, rm: modrm & 7, rexB: rex & 1 != 0 ? 8 : 0, rexX: rex & 2 != 0 ? 8 : 0, next: next)
        }
        if map == 0x3A { _ = try next() }
        if map == 0x38 && (opcode == 0xF0 || opcode == 0xF1) && mod != 3 && rep == 0 {
            d.op = .movbe
            d.size = rex & 8 != 0 ? 8 : (opsize ? 2 : 4)
            d.reg = ((modrm >> 3) & 7) | (rex & 4 != 0 ? 8 : 0)
            if opcode == 0xF0 { d.flags.insert(.regIsDestination) }
        }
    }
}
