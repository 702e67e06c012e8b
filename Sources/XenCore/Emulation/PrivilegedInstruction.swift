import X86

/// The privileged instructions Xen emulates for a PV guest after they raise #GP at CPL 3,
/// decoded from the bytes at RIP. Xen: emul-priv-op.c's whitelist — in/out/ins/outs, clts,
/// wbinvd, mov to/from CR and DR, rdmsr, wrmsr, rdtsc(p), cpuid, xsetbv, cli/sti.
/// Anything else decodes to nil and the #GP is bounced to the guest.
enum PrivilegedInstruction: Equatable {
    /// IN with an immediate port (`port`) or DX (`port` nil); size 1, 2 or 4.
    case portIn(port: UInt8?, size: UInt8)
    case portOut(port: UInt8?, size: UInt8)
    case insString(size: UInt8, rep: Bool, addressSize: UInt8)
    case outsString(size: UInt8, rep: Bool, addressSize: UInt8)
    case clts
    case wbinvd
    /// MOV from CRn (`toRegister` true) or to CRn; `gpr` is the full register index.
    case moveControlRegister(cr: UInt8, gpr: UInt8, toRegister: Bool)
    case moveDebugRegister(dr: UInt8, gpr: UInt8, toRegister: Bool)
    case rdmsr
    case wrmsr
    case xsetbv
    case cli
    case sti

    /// Decodes `bytes` (up to 15 from RIP). Returns the instruction and its length.
    static func decode(_ bytes: [UInt8]) -> (PrivilegedInstruction, length: Int)? {
        var i = 0
        var operandSizeOverride = false
        var addressSizeOverride = false
        var rep = false
        var rex: UInt8 = 0
        // Legacy prefixes, then an optional REX immediately before the opcode.
        prefixLoop: while i < bytes.count && i < 14 {
            switch bytes[i] {
            case 0x66: operandSizeOverride = true
            case 0x67: addressSizeOverride = true
            case 0xF3, 0xF2: rep = true
            case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0xF0: break
            default: break prefixLoop
            }
            rex = 0
            i += 1
        }
        if i < bytes.count, bytes[i] & 0xF0 == 0x40 {
            rex = bytes[i]
            i += 1
        }
        guard i < bytes.count else { return nil }
        let wide: UInt8 = operandSizeOverride ? 2 : 4
        let addressSize: UInt8 = addressSizeOverride ? 4 : 8
        let opcode = bytes[i]
        i += 1
        switch opcode {
        case 0xE4: return i < bytes.count ? (.portIn(port: bytes[i], size: 1), i + 1) : nil
        case 0xE5: return i < bytes.count ? (.portIn(port: bytes[i], size: wide), i + 1) : nil
        case 0xE6: return i < bytes.count ? (.portOut(port: bytes[i], size: 1), i + 1) : nil
        case 0xE7: return i < bytes.count ? (.portOut(port: bytes[i], size: wide), i + 1) : nil
        case 0xEC: return (.portIn(port: nil, size: 1), i)
        case 0xED: return (.portIn(port: nil, size: wide), i)
        case 0xEE: return (.portOut(port: nil, size: 1), i)
        case 0xEF: return (.portOut(port: nil, size: wide), i)
        case 0x6C: return (.insString(size: 1, rep: rep, addressSize: addressSize), i)
        case 0x6D: return (.insString(size: wide, rep: rep, addressSize: addressSize), i)
        case 0x6E: return (.outsString(size: 1, rep: rep, addressSize: addressSize), i)
        case 0x6F: return (.outsString(size: wide, rep: rep, addressSize: addressSize), i)
        case 0xFA: return (.cli, i)
        case 0xFB: return (.sti, i)
        case 0x0F: break
        default: return nil
        }
        guard i < bytes.count else { return nil }
        let second = bytes[i]
        i += 1
        switch second {
        case 0x06: return (.clts, i)
        case 0x09: return (.wbinvd, i)
        case 0x30: return (.wrmsr, i)
        case 0x32: return (.rdmsr, i)
        case 0x01:
            return i < bytes.count && bytes[i] == 0xD1 ? (.xsetbv, i + 1) : nil
        case 0x20, 0x21, 0x22, 0x23:
            // MOV CR/DR always uses the register form; ModRM.mod is ignored.
            guard i < bytes.count else { return nil }
            let modrm = bytes[i]
            let gpr = (modrm & 7) | ((rex & 1) << 3)
            let special = ((modrm >> 3) & 7) | ((rex & 4) << 1)
            let toRegister = second == 0x20 || second == 0x21
            if second == 0x20 || second == 0x22 {
                return (.moveControlRegister(cr: special, gpr: gpr, toRegister: toRegister), i + 1)
            }
            return (.moveDebugRegister(dr: special, gpr: gpr, toRegister: toRegister), i + 1)
        default:
            return nil
        }
    }
}
