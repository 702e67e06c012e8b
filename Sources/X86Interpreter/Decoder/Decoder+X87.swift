extension Decoder {
    /// Refines an x87 escape (D8-DF): `sub` = (opcode & 7) << 3 | ModRM.reg, `rm` = ST(i) for
    /// register forms (REX.B does not extend it), `immediate` = the 11-bit FOP. Encodings the
    /// SDM leaves undefined become #UD (SDM vol. 2, appendix A.4, tables ).
    func decodeX87(_ d: inout DecodedInstruction, opcode: UInt8, modrm: UInt8) {
        let group = opcode & 7
        let reg = (modrm >> 3) & 7
        let rm = modrm & 7
        d.sub = group << 3 | reg
        d.immediate = UInt64(group) << 8 | UInt64(modrm)
        if d.flags.contains(.memory) {
            let undefined = (group == 1 && reg == 1) || (group == 3 && (reg == 4 || reg == 6)) || (group == 5 && reg == 5)
            if undefined { d.op = .invalid }
            return
        }
        d.rm = rm
        let valid: Bool
        switch group {
        case 1:
            switch reg {
            case 2: valid = rm == 0  // FNOP
            case 4: valid = rm <= 1 || rm == 4 || rm == 5  // FCHS FABS FTST FXAM
            case 5: valid = rm != 7  // the constants
            default: valid = true
            }
        case 2: valid = reg <= 3 || (reg == 5 && rm == 1)  // FCMOVcc, FUCOMPP
        case 3: valid = reg <= 3 || reg == 5 || reg == 6 || (reg == 4 && rm <= 4)
        case 5: valid = reg <= 5
        case 6: valid = reg != 3 || rm == 1  // FCOMPP
        case 7: valid = reg <= 3 || reg == 5 || reg == 6 || (reg == 4 && rm == 0)  // FNSTSW AX
        default: valid = true
        }
        if !valid { d.op = .invalid }
    }
}
