import Testing
import XenABI
import XenBackends

/// The backend state machine as a value, and how frontend `state` values are read.
@Suite struct XenbusMachineTests {
    @Test(arguments: [
        ("4", XenbusFrontendState.state(.connected)), (" 3", .state(.initialised)), ("\t6\n", .state(.closed)),
        ("5abc", .state(.closing)), ("", .state(.unknown)), ("abc", .state(.unknown)), ("+4", .state(.unknown)),
        ("-", .state(.unknown)), ("0", .state(.unknown)), ("9", .outOfRange(9)), ("-3", .outOfRange(-3)),
        ("4294967297", .outOfRange(4_294_967_297)), ("99999999999999999999999", .outOfRange(Int64.max)),
    ] as [(String, XenbusFrontendState)])
    func frontendStatesAreReadLikeTheKernelsScanf(text: String, expected: XenbusFrontendState) {
        #expect(XenbusFrontendState(parsing: Array(text.utf8)) == expected)
    }

    @Test func aMissingNodeIsUnknown() {
        #expect(XenbusFrontendState(parsing: nil) == .state(.unknown))
    }

    @Test func statesAreWrittenAsDecimalWithLinuxsNames() {
        #expect(XenbusState.allCases.map(\.xenstoreValue) == ["0", "1", "2", "3", "4", "5", "6", "7", "8"])
        #expect(XenbusState.initWait.description == "InitWait")
        #expect(XenbusState.reconfigured.rawValue == 8)
    }

    @Test func blkbacksHandshakeAsActions() {
        var m = XenbusBackendMachine(policy: .blkback)
        #expect(m.start() == [.switchState(.initWait)])
        #expect(m.start() == [])
        #expect(m.frontendChanged(.state(.initialising), online: true) == [])
        #expect(m.frontendChanged(.state(.initialised), online: true) == [.connect])
        #expect(m.connected() == [.switchState(.connected)])
        #expect(m.isConnected)
        #expect(m.frontendChanged(.state(.connected), online: true) == [])
        #expect(m.frontendChanged(.state(.closing), online: true) == [.switchState(.closing)])
        #expect(m.frontendChanged(.state(.closed), online: true) == [.disconnect, .switchState(.closed)])
        #expect(m.frontendChanged(.state(.initialising), online: true) == [.switchState(.initWait)])
        #expect(m.frontendChanged(.state(.initialised), online: true) == [.connect])
        #expect(m.connectFailed(.ERANGE, "bad ring-ref") == [.disconnect, .fatal(.ERANGE, "bad ring-ref"), .switchState(.closing)])
        #expect(!m.isConnected)
        #expect(m.frontendChanged(.state(.closed), online: false) == [.switchState(.closed), .unregister])
        #expect(m.isUnregistered)
        #expect(m.frontendChanged(.state(.initialising), online: true) == [])
    }

    @Test func netbackRestartsFromConnected() {
        var m = XenbusBackendMachine(policy: .netback)
        _ = m.start()
        #expect(m.frontendChanged(.state(.initialised), online: true) == [])
        #expect(m.frontendChanged(.state(.connected), online: true) == [.connect])
        _ = m.connected()
        #expect(m.frontendChanged(.state(.initialising), online: true)
            == [.disconnect, .switchState(.closing), .switchState(.closed), .switchState(.initWait)])
    }

    @Test func theToolstackRemovingAndTheStateNodeVanishing() {
        var m = XenbusBackendMachine()
        _ = m.start()
        #expect(m.removalRequested() == [.switchState(.closing)])
        var gone = XenbusBackendMachine()
        _ = gone.start()
        _ = gone.frontendChanged(.state(.initialised), online: true)
        _ = gone.connected()
        #expect(gone.stateNodeGone() == [.disconnect, .unregister])
        #expect(gone.unregister() == [])
        #expect(gone.deviceFailed(.EIO, "late") == [])
    }

    @Test func aFatalErrorWhileClosingDoesNotSwitchAgain() {
        var m = XenbusBackendMachine()
        _ = m.start()
        _ = m.frontendChanged(.state(.closing), online: true)
        #expect(m.frontendChanged(.outOfRange(42), online: true) == [.fatal(.EINVAL, "saw state 42 at frontend")])
        #expect(m.frontendChanged(.state(.initWait), online: true) == [.fatal(.EINVAL, "saw state 2 at frontend")])
    }
}
