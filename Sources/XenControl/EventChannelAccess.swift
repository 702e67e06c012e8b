import XenABI

/// The event-channel half of dom0's interface: how a backend connects to a port a guest
/// offered to domain 0, hears the guest's notifications and notifies it back.
/// Xen: libxenevtchn (xenevtchn_bind_interdomain, xenevtchn_notify, xenevtchn_unbind).
///
/// Where libxenevtchn hands pending ports to a file descriptor, Kite calls the handler given
/// at bind time, on the notifying vCPU's thread with no lock held. A handler must be quick
/// and must not block: it hands the work to the backend's own queue.
public protocol EventChannelAccess: Sendable {
    /// Connects a new local port to `remotePort` of `remoteDomain`, which the guest (or the
    /// toolstack for it) left unbound for domain 0; the handler is called once at once (the
    /// new port starts pending, as in Xen). Xen: EVTCHNOP_bind_interdomain from domain 0.
    func bindInterdomain(
        remoteDomain: DomainID, remotePort: EventChannelPort, handler: @escaping @Sendable (EventChannelPort) -> Void
    ) throws(XenError) -> EventChannelPort

    /// Raises the guest's end of the channel. Xen: EVTCHNOP_send from domain 0.
    func notify(_ port: EventChannelPort) throws(XenError)

    /// Closes the local port; the guest's end becomes unbound again (for domain 0).
    /// Xen: EVTCHNOP_close from domain 0.
    func close(_ port: EventChannelPort) throws(XenError)
}
