import Foundation
import GuestMemory
import X86
import XenABI
import XenControl

/// The event-channel ping-pong benchmark: vCPU 0 sends on an IPI port to vCPU 1 and polls
/// for the reply; vCPU 1 sleeps in SCHEDOP_block, takes the upcall, acknowledges the port in
/// its event callback, sends the reply and returns with the iret hypercall. One round trip
/// = send → wake → bounce → callback → send → poll wake. Each vCPU runs on its own thread.
///
/// Identity-mapped layout: code 0x400000 (vCPU 0), 0x401000 (vCPU 1), 0x402000 (callback);
/// stacks below 0x510000 and 0x520000; data 0x600000; shared_info 0x700000.
public enum EventRoundTripBenchmark {
    public struct Result: Sendable {
        public var roundTrips: Int
        public var seconds: Double
        public var nanosecondsPerRoundTrip: Double { seconds * 1e9 / Double(max(roundTrips, 1)) }
        /// How the domain ended (poweroff when every round trip completed).
        public var shutdown: ShutdownReason?
    }

    static let sharedInfo: UInt64 = 0x70_0000
    static let data: UInt64 = 0x60_0000

    /// Runs `roundTrips` round trips on engines from `engines` and reports the time taken.
    public static func run(roundTrips: Int, engines: any VirtualCPUFactory) throws -> Result {
        let (domain, _) = try makeDomain(roundTrips: roundTrips, engines: engines)
        let start = DispatchTime.now().uptimeNanoseconds
        let runner = DomainRunner(domain: domain)
        runner.start()
        runner.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(roundTrips: roundTrips, seconds: seconds, shutdown: domain.shutdownState?.reason)
    }

    /// For `kite-bench`: nanoseconds per send→upcall→reply round trip.
    public static func eventRoundTripBenchmark(roundTrips: Int = 10_000, engines: any VirtualCPUFactory) throws -> Double {
        try run(roundTrips: roundTrips, engines: engines).nanosecondsPerRoundTrip
    }

    /// The two-vCPU domain, ready to run; also returns its IPI ports (to vCPU 1, to vCPU 0).
    static func makeDomain(roundTrips: Int, engines: any VirtualCPUFactory) throws -> (Domain, (UInt32, UInt32)) {
        let memory = try PhysicalMemory(bytes: 16 << 20)
        let sharedFrame = MachineFrame(sharedInfo >> 12)
        memory.zero(sharedFrame)
        for v in 0..<2 { memory.store(UInt8(1), at: MachineAddress(sharedInfo + UInt64(64 * v + 1))) }
        let domain = Domain(id: DomainID(1), machine: memory, sharedInfoFrame: sharedFrame) { _ in }
        var frame: UInt64 = 0x100
        var tables = try PageTableBuilder(memory: memory) {
            defer { frame += 1 }
            return MachineFrame(frame)
        }
        let rw = PTE.writable | PTE.user
        try tables.mapRange(linear: 0x40_0000, length: 0x3000, to: MachineFrame(0x400), flags: PTE.user)
        try tables.mapRange(linear: 0x50_0000, length: 0x20000, to: MachineFrame(0x500), flags: rw)
        try tables.mapRange(linear: data, length: 0x1000, to: MachineFrame(data >> 12), flags: rw)
        try tables.map(linear: sharedInfo, to: sharedFrame, flags: rw)
        for _ in 0..<2 {
            domain.addVCPU(engine: engines.makeVirtualCPU(memory: memory, translation: IdentityTranslation(memory: memory)))
        }
        let toVCPU1 = try domain.bindIPI(vcpu: 1)
        let toVCPU0 = try domain.bindIPI(vcpu: 0)

        // Arguments: send structs, the poll struct and its port list.
        memory.store(toVCPU1, at: MachineAddress(data))
        memory.store(toVCPU0, at: MachineAddress(data + 8))
        memory.store(data + 0x40, at: MachineAddress(data + 0x10))
        memory.store(UInt32(1), at: MachineAddress(data + 0x18))
        memory.store(UInt64(0), at: MachineAddress(data + 0x20))
        memory.store(toVCPU0, at: MachineAddress(data + 0x40))

        memory.write(pingCode(roundTrips: roundTrips, reply: toVCPU0), at: MachineAddress(0x40_0000))
        memory.write(pongCode(), at: MachineAddress(0x40_1000))
        memory.write(callbackCode(request: toVCPU1), at: MachineAddress(0x40_2000))
        domain.vcpus[0].setBootState(rip: 0x40_0000, rsp: 0x51_0000, startInfo: 0, pageTable: tables.root)
        domain.vcpus[1].setBootState(rip: 0x40_1000, rsp: 0x52_0000, startInfo: 0, pageTable: tables.root)
        for v in domain.vcpus { v.publishTimeInfo() }
        return (domain, (toVCPU1, toVCPU0))
    }

    /// The shared_info word and bit of `port` in evtchn_pending.
    static func pendingBit(_ port: UInt32) -> (UInt32, UInt8) {
        (UInt32(sharedInfo) + UInt32(SharedInfoLayout.eventChannelPending) + port / 64 * 8, UInt8(port % 64))
    }

    /// vCPU 0: `roundTrips` times send, then poll until the reply port is pending.
    static func pingCode(roundTrips: Int, reply: UInt32) -> [UInt8] {
        var c = GuestCode()
        c.movImm(15, UInt64(roundTrips))
        let loop = c.here
        c.hypercall(.eventChannelOp, UInt64(EventChannelOp.send.rawValue), data)
        let poll = c.here
        c.hypercall(.schedOp, SchedOp.poll.rawValue, data + 0x10)
        let (word, bit) = pendingBit(reply)
        c.lockBitTestAndReset(at: word, bit: bit)
        c.jump(to: poll, condition: GuestCode.conditionNotCarry)
        c.decR15()
        c.jump(to: loop, condition: GuestCode.conditionNotZero)
        c.shutdown(UInt64(ShutdownReason.poweroff.rawValue))
        return c.bytes
    }

    /// vCPU 1: register the event callback, then block forever.
    static func pongCode() -> [UInt8] {
        var c = GuestCode()
        c.hypercall(.setCallbacks, 0x40_2000, 0, 0)
        let loop = c.here
        c.hypercall(.schedOp, SchedOp.block.rawValue, 0)
        c.jump(to: loop)
        return c.bytes
    }

    /// vCPU 1's event callback: acknowledge (upcall_pending, selector, the port), reply,
    /// return through iret with events re-enabled.
    static func callbackCode(request: UInt32) -> [UInt8] {
        var c = GuestCode()
        c.popRCXR11()
        c.saveRCXR11()
        let info = UInt32(sharedInfo) + UInt32(VCPUInfoLayout.size)
        c.storeByte(0, at: info + UInt32(VCPUInfoLayout.upcallPending))
        c.storeQword(0, at: info + UInt32(VCPUInfoLayout.pendingSelector))
        let (word, bit) = pendingBit(request)
        c.lockBitTestAndReset(at: word, bit: bit)
        c.hypercall(.eventChannelOp, UInt64(EventChannelOp.send.rawValue), data + 8)
        c.iretFromEvent()
        return c.bytes
    }
}
