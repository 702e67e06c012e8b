/// The state of one end of a split device (frontend or backend), written by that end as a
/// decimal string to the `state` node of its xenstore directory. States say nothing about
/// the device's own layers, only how far the two ends got in their handshake.
/// Xen: `enum xenbus_state` (public/io/xenbus.h).
///
/// The usual handshake (xen-abi.md §7.4): toolstack writes both ends Initialising → backend
/// InitWait (features published) → frontend Initialised (rings and port published; netfront
/// goes straight to Connected) → backend Connected → frontend Connected. Teardown: one end
/// Closing → the other Closing/Closed → Closed. A frontend going from Closed back to
/// Initialising asks the backend for a fresh connection.
public enum XenbusState: UInt32, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Xen: XenbusStateUnknown — also what a missing or unreadable `state` node means.
    case unknown = 0
    /// Xen: XenbusStateInitialising
    case initialising = 1
    /// Xen: XenbusStateInitWait — finished early initialisation, waiting for the peer's
    /// details (or hotplug scripts).
    case initWait = 2
    /// Xen: XenbusStateInitialised — details published, waiting for the peer to connect.
    case initialised = 3
    /// Xen: XenbusStateConnected
    case connected = 4
    /// Xen: XenbusStateClosing — closing because of an error or an unplug.
    case closing = 5
    /// Xen: XenbusStateClosed
    case closed = 6
    /// Xen: XenbusStateReconfiguring — the device is being reconfigured.
    case reconfiguring = 7
    /// Xen: XenbusStateReconfigured
    case reconfigured = 8

    /// The value written to a `state` node ("4").
    public var xenstoreValue: String { String(rawValue) }

    /// Linux's `xenbus_strstate` names.
    public var description: String {
        switch self {
        case .unknown: "Unknown"
        case .initialising: "Initialising"
        case .initWait: "InitWait"
        case .initialised: "Initialised"
        case .connected: "Connected"
        case .closing: "Closing"
        case .closed: "Closed"
        case .reconfiguring: "Reconfiguring"
        case .reconfigured: "Reconfigured"
        }
    }
}
