import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

/// A deterministic generator (xorshift64*), so failures reproduce.
struct MMURandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Hostile guests: garbage tables and random hypercall arguments never trap and never leave
/// the frame table inconsistent.
@Suite struct HostileMMUTests {
    @Test(arguments: [1, 2, 3])
    func pinningGarbageAtEveryLevel(seed: Int) throws {
        let fx = try MMUFixture()
        var rng = MMURandom(state: 0x9E37_79B9_7F4A_7C15 &* UInt64(seed))
        var frames: [UInt64] = []
        for _ in 0..<24 { frames.append(try fx.frame()) }
        for round in 0..<40 {
            let table = frames[rng.below(frames.count)]
            for slot in 0..<512 {
                var e = rng.next()
                switch rng.below(4) {
                case 0: e = makePTE(frames[rng.below(frames.count)], e & 0xFFF)  // one of ours, random flags
                case 1: e = makePTE(frames[rng.below(frames.count)], PTEBits.p | (e & PTEBits.rw))
                case 2: e &= ~PTEBits.p
                default: break  // anything at all
                }
                fx.write(table, slot, e)
            }
            let level = 1 + round % 4
            if xenErrno({ try fx.pin(table, level: level) }) == nil {
                try fx.ext(.unpinTable, table)
            }
            fx.expectConsistent()
        }
    }

    @Test(arguments: [7, 8])
    func randomHypercallsKeepTheFrameTableConsistent(seed: Int) throws {
        let fx = try MMUFixture(megabytes: 32, maxPages: 1024)
        var rng = MMURandom(state: 0xD1B5_4A32_D192_ED03 &* UInt64(seed))
        let trees = [try fx.buildTree(pages: 4), try fx.buildTree(pages: 4, va: 0x7F_0000_0000)]
        try fx.activate(trees[0])
        var frames = trees.flatMap { $0.all }
        for _ in 0..<16 { frames.append(try fx.frame()) }
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let foreign = try fx.frame(other)
        func frame() -> UInt64 {
            switch rng.below(10) {
            case 0: foreign
            case 1: rng.next()
            case 2: fx.machine.frameCount + UInt64(rng.below(4))
            default: frames[rng.below(frames.count)]
            }
        }
        func flags() -> UInt64 { [PTEBits.p, PTEBits.prw, PTEBits.prw | PTEBits.us, 0, PTEBits.p | PTEBits.pse, PTEBits.p | PTEBits.g, rng.next() & 0xFFF][rng.below(7)] }
        var succeeded = 0
        for step in 0..<3000 {
            let before = fx.context
            defer { if step % 500 == 499 { fx.expectConsistent() } }
            switch rng.below(8) {
            case 0, 1, 2:
                let ptr = (frame() << 12) + UInt64(rng.below(512)) * 8 + UInt64([0, 0, 2, 1, 5][rng.below(5)])
                if xenErrno({ try fx.update(ptr, makePTE(frame(), flags())) }) == nil { succeeded += 1 }
            case 3:
                let cmd = MMUExtCommand.allCases[rng.below(MMUExtCommand.allCases.count)]
                let bitmap: VCPUBitmap? = rng.below(2) == 0 ? VCPUBitmap(words: [rng.next()]) : nil
                if xenErrno({ try fx.ext(cmd, frame(), [frame(), rng.next(), 8][rng.below(3)], bitmap: bitmap) }) == nil {
                    succeeded += 1
                }
            case 4:
                let va = [trees[0].va, trees[1].va, rng.next(), 0xFFFF_8000_0000_0000][rng.below(4)]
                    + UInt64(rng.below(8)) * 4096
                if xenErrno({ try fx.uvm(va, makePTE(frame(), flags()), flags: rng.next() & 7) }) == nil { succeeded += 1 }
            case 5:
                let address = MachineAddress((frame() << 12) + UInt64(rng.below(512)) * 8)
                _ = xenErrno {
                    _ = try fx.tables.emulatedL1Write(at: address, value: makePTE(frame(), flags()),
                                                      expected: rng.below(2) == 0 ? nil : rng.next(),
                                                      domain: fx.id, actions: &fx.actions)
                }
            case 6:
                _ = xenErrno { try fx.dom.decreaseReservation(extent: frame(), order: UInt32(rng.below(2)), actions: &fx.actions) }
            default:
                if let f = try? fx.dom.populatePhysmap(gfn: GuestFrame(0x5000 + rng.next() % 64), order: 0) {
                    frames.append(f.rawValue)
                }
            }
            // Whatever happened, the context still names tables it holds references on.
            if fx.context != before, let k = fx.context.kernelBase {
                #expect(fx.tables.mayLoadAsBase(k, for: fx.id))
            }
        }
        #expect(succeeded > 300, "too few operations did anything: \(succeeded)")
        fx.expectConsistent()
        let report = fx.dom.release(vcpuBases: [fx.context.kernelBase, fx.context.userBase].compactMap { $0 })
        #expect(report.remainingFrames.isEmpty)
        #expect(fx.machine.audit().isEmpty)
    }
}
