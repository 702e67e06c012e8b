import Testing
import XenABI
import XenBackends

/// vdev names as docs/misc/vbd-interface.txt encodes them, frontend keys as blkback reads
/// them, backend keys as blkback writes them.
@Suite struct BlockConfigurationTests {
    static let encodings: [(String, UInt32)] = [
        ("xvda", 51712), ("xvdb", 51728), ("xvda1", 51713), ("xvdp15", 0xCAFF),
        ("xvdq", 0x1000_1000), ("xvda16", 0x1000_0010), ("xvdtq37", 0x1002_1825),
        ("xvdz", 0x1000_1900), ("xvdp", 0xCAF0), ("xvdaa", 0x1000_1A00),
        ("d0", 51712), ("d0p0", 51712), ("d1p2", 51730), ("d536p37", 0x1002_1825),
        ("sda", 2048), ("sdb3", 0x0813), ("hda", 768), ("hdb1", 0x0341),
        ("hdc2", 0x1602), ("hdd", 0x1640),
        ("51712", 51712), ("0xca00", 51712), ("0145000", 51712),
    ]

    @Test(arguments: encodings)
    func namesEncode(_ name: String, _ number: UInt32) {
        #expect(BlockVirtualDevice(name)?.number == number)
        #expect(BlockVirtualDevice(name)?.name == name)
    }

    @Test(arguments: ["", "xvd", "xvdA", "xvda01", "xvda256", "sdq", "sda16", "hde", "hda64", "d", "dx", "d1p",
                      "d1p01", "vda", "0x", "08", "0x1ffffffff", "99999999999", "xvd-a", "xvda 1"])
    func badNamesAreRefused(_ name: String) {
        #expect(BlockVirtualDevice(name) == nil)
    }

    @Test func configurationDerivesInfoAndMode() throws {
        let disk = try BlockDeviceConfiguration(path: "/x.img", vdev: "xvda")
        #expect(disk.info == [])
        #expect(!disk.isReadOnly)
        let ro = try BlockDeviceConfiguration(path: "/x.img", vdev: "xvdb", readOnly: true)
        #expect(ro.info == .readOnly)
        let cd = try BlockDeviceConfiguration(path: "/x.iso", vdev: "xvdc", deviceType: .cdrom)
        #expect(cd.isReadOnly)
        #expect(cd.info == [.cdrom, .removable, .readOnly])
        #expect(throws: BlockConfigurationError.virtualDevice("vda")) { try BlockDeviceConfiguration(path: "/x", vdev: "vda") }
        let keys = Dictionary(uniqueKeysWithValues: BlockXenStoreKeys.toolstackBackend(ro))
        #expect(keys["mode"] == "r" && keys["dev"] == "xvdb" && keys["device-type"] == "disk" && keys["params"] == "/x.img")
        let front = Dictionary(uniqueKeysWithValues: BlockXenStoreKeys.toolstackFrontend(disk))
        #expect(front["virtual-device"] == "51712")
    }

    @Test func backendKeysAreBlkbacks() {
        let all = Dictionary(uniqueKeysWithValues: BlockXenStoreKeys.backendFeatures(
            sectors: 2048, info: [], features: BlockFeatures(flush: true, discard: true, maxIndirectSegments: 256),
            maxRingPageOrder: 4))
        #expect(all["sectors"] == "2048")
        #expect(all["info"] == "0")
        #expect(all["sector-size"] == "512")
        #expect(all["physical-sector-size"] == "512")
        #expect(all["feature-flush-cache"] == "1")
        #expect(all["feature-barrier"] == "1")
        #expect(all["feature-discard"] == "1")
        #expect(all["discard-granularity"] == "4096")
        #expect(all["discard-alignment"] == "0")
        #expect(all["discard-secure"] == "0")
        #expect(all["feature-max-indirect-segments"] == "256")
        #expect(all["max-ring-page-order"] == "4")
        #expect(all["feature-persistent"] == nil)
        let readOnly = Dictionary(uniqueKeysWithValues: BlockXenStoreKeys.backendFeatures(
            sectors: 8, info: .readOnly, features: BlockFeatures(flush: false, discard: false, maxIndirectSegments: 0),
            maxRingPageOrder: 0))
        #expect(readOnly["info"] == "4")
        #expect(readOnly["feature-flush-cache"] == nil && readOnly["feature-barrier"] == nil)
        #expect(readOnly["feature-discard"] == nil && readOnly["feature-max-indirect-segments"] == nil)
    }

    private func transport(_ keys: [String: String], maxOrder: Int = 4) -> Result<BlockFrontendTransport, BlockTransportError> {
        BlockFrontendTransport.read(maxRingPageOrder: maxOrder) { keys[$0] }
    }

    @Test func frontendKeysSinglePageAndMultiPage() throws {
        #expect(try transport(["ring-ref": "8", "event-channel": "5"]).get()
            == BlockFrontendTransport(ringReferences: [GrantReference(8)], eventChannel: EventChannelPort(5)))
        let multi = try? transport(["ring-page-order": "2", "ring-ref0": "8", "ring-ref1": "9", "ring-ref2": "10",
                                    "ring-ref3": "11", "event-channel": "7", "protocol": "x86_64-abi"]).get()
        #expect(multi?.ringReferences == [8, 9, 10, 11].map { GrantReference($0) })
        #expect(multi?.eventChannel == EventChannelPort(7))
        #expect(try transport(["ring-ref": "8", "event-channel": "5", "multi-queue-num-queues": "1"]).get().ringReferences.count == 1)
    }

    @Test func badFrontendKeysAreRefusedByName() {
        #expect(transport(["event-channel": "5"]) == .failure(.missing("ring-ref")))
        #expect(transport(["ring-ref": "8"]) == .failure(.missing("event-channel")))
        #expect(transport(["ring-ref": "-1", "event-channel": "5"]) == .failure(.badValue("ring-ref", "-1")))
        #expect(transport(["ring-ref": "8", "event-channel": "0"]) == .failure(.badValue("event-channel", "0")))
        #expect(transport(["ring-ref": "8", "event-channel": "99999999999"]) == .failure(.badValue("event-channel", "99999999999")))
        #expect(transport(["ring-page-order": "5", "event-channel": "5"], maxOrder: 4) == .failure(.ringTooLarge(order: 5, maximum: 4)))
        #expect(transport(["ring-page-order": "1", "ring-ref0": "8", "event-channel": "5"]) == .failure(.missing("ring-ref1")))
        #expect(transport(["ring-ref": "8", "event-channel": "5", "protocol": "x86_32-abi"]) == .failure(.unsupportedProtocol("x86_32-abi")))
        #expect(transport(["ring-ref": "8", "event-channel": "5", "multi-queue-num-queues": "2"])
            == .failure(.badValue("multi-queue-num-queues", "2")))
        #expect(BlockTransportError.unsupportedProtocol("x").errno == .ENOSYS)
    }
}
