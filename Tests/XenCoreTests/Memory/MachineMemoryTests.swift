import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct MachineMemoryTests {
    @Test func frameZeroAndTheM2PBelongToKite() throws {
        let ram = try PhysicalMemory(bytes: 16 << 20)  // 4096 frames: M2P 8 frames + 3 tables
        let machine = try MachineMemory(memory: ram)
        #expect(machine.frameState(MachineFrame(0))?.owner == .xen)
        let m2p = machine.machineToPhysFrames
        #expect(m2p == (1...8).map { MachineFrame(UInt64($0)) })
        for f in m2p { #expect(machine.frameState(f)?.owner == .xen) }
        #expect(machine.freeFrameCount == 4096 - 1 - 8 - 1 - 1 - 1)
        #expect(machine.maximumRAMPage == 4096)
        #expect(machine.machineToPhys(MachineFrame(100)) == MachineToPhys.invalidEntry)
        #expect(machine.machineToPhys(MachineFrame(1 << 40)) == MachineToPhys.invalidEntry)
        #expect(machine.frameState(MachineFrame(4096)) == nil)
        #expect(machine.audit().isEmpty)
    }

    @Test func theM2PIsMappedReadOnlyAndUserReadable() throws {
        let ram = try PhysicalMemory(bytes: 16 << 20)
        let machine = try MachineMemory(memory: ram)
        let l4e = machine.machineToPhysL4Entry
        #expect(l4e & (PTEBits.p | PTEBits.us) == PTEBits.p | PTEBits.us)
        #expect(l4e & PTEBits.rw == 0)
        // Walk L3 → L2 → L1 → the first M2P frame.
        let l3 = (l4e >> 12) & 0xFF_FFFF_FFFF
        let l3e = ram.load(UInt64.self, at: MachineAddress(l3 << 12))!
        let l2e = ram.load(UInt64.self, at: MachineAddress(l3e & 0x000F_FFFF_FFFF_F000))!
        let l1e = ram.load(UInt64.self, at: MachineAddress(l2e & 0x000F_FFFF_FFFF_F000))!
        for e in [l3e, l2e, l1e] {
            #expect(e & (PTEBits.p | PTEBits.us) == PTEBits.p | PTEBits.us)
            #expect(e & PTEBits.rw == 0)
        }
        #expect((l1e & 0x000F_FFFF_FFFF_F000) >> 12 == 1)
        #expect(l1e & PTEBits.nx != 0)
    }

    @Test func tooSmallAMachineIsRefused() throws {
        let ram = try PhysicalMemory(bytes: 64 << 12)
        #expect(throws: MachineMemoryError.self) { try MachineMemory(memory: ram) }
    }

    @Test func kiteFramesAreNotMappable() throws {
        let fx = try MMUFixture()
        let k = try fx.machine.allocateKiteFrame()
        #expect(fx.state(k.rawValue).owner == .xen)
        let l1 = try fx.frame()
        fx.write(l1, 0, makePTE(k.rawValue, PTEBits.p))
        #expect(xenErrno { try fx.pin(l1, level: 1) } == .EBUSY)
        fx.write(l1, 0, makePTE(1, PTEBits.p))  // an M2P frame
        #expect(xenErrno { try fx.pin(l1, level: 1) } == .EBUSY)
        fx.write(l1, 0, makePTE(0, PTEBits.p))  // frame 0
        #expect(xenErrno { try fx.pin(l1, level: 1) } == .EBUSY)
        let before = fx.machine.freeFrameCount
        fx.machine.freeKiteFrame(k)
        #expect(fx.machine.freeFrameCount == before + 1)
        fx.machine.freeKiteFrame(MachineFrame(1))  // the M2P is not freeable
        #expect(fx.state(1).owner == .xen)
        fx.expectConsistent()
    }

    @Test func duplicateAndReservedDomainsAreRefused() throws {
        let fx = try MMUFixture()
        #expect(throws: MachineMemoryError.domainExists(fx.id)) {
            try DomainMemory(machine: fx.machine, domain: fx.id, maximumPages: 1)
        }
        #expect(throws: MachineMemoryError.invalidDomain(.xen)) {
            try DomainMemory(machine: fx.machine, domain: .xen, maximumPages: 1)
        }
        #expect(fx.machine.domainExists(fx.id))
        #expect(!fx.machine.domainExists(DomainID(9)))
    }

    @Test func allocatorHandsOutAlignedRunsBelowALimit() {
        var a = FrameAllocator(frameCount: 4096)
        for f in UInt64(3)..<4096 { a.release(f) }
        let big = a.allocate(order: 9, below: 4096)
        #expect(big.map { $0 % 512 } == 0)
        let small = a.allocate(order: 0, below: 8)
        #expect(small.map { $0 < 8 } == true)
        #expect(a.allocate(order: 12, below: 4096) == nil)  // frames 0-2 are used
        #expect(a.allocate(order: 21, below: 4096) == nil)
        #expect(a.allocate(order: 0, below: 3) == nil)
        var total: UInt64 = 0
        while a.allocate(order: 0, below: 4096) != nil { total += 1 }
        #expect(total == 4096 - 3 - 512 - 1)
        #expect(a.freeCount == 0)
    }
}
