import XenControl

/// Kite's own ports are what backends reach through XenControl's evtchn interface: the
/// requirements are exactly `HostEventChannels`' bind, notify and close.
extension HostEventChannels: EventChannelAccess {}
