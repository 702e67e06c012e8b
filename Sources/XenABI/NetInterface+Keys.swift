/// The xenstore keys of a vif (io/netif.h comments, Linux's xen-netback/xenbus.c and
/// xen-netfront.c). Backend directory: /local/domain/<backend>/backend/vif/<domid>/<handle>;
/// frontend directory: /local/domain/<domid>/device/vif/<handle>.
public enum NetInterfaceKeys {
    // Written by the toolstack into both directories.
    /// "aa:bb:cc:dd:ee:ff"
    public static let mac = "mac"
    /// The vif's index (the directory name).
    public static let handle = "handle"
    public static let mtu = "mtu"
    public static let bridge = "bridge"
    public static let script = "script"
    public static let type = "type"

    // Written by the backend (netback_probe).
    /// Must be 1: netfront refuses a backend without it.
    public static let featureRxCopy = "feature-rx-copy"
    /// Always 0: page flipping is not supported.
    public static let featureRxFlip = "feature-rx-flip"
    /// Backend accepts multi-slot transmit packets.
    public static let featureSG = "feature-sg"
    public static let featureGSOTCPv4 = "feature-gso-tcpv4"
    public static let featureGSOTCPv6 = "feature-gso-tcpv6"
    public static let featureIPv6ChecksumOffload = "feature-ipv6-csum-offload"
    public static let featureMulticastControl = "feature-multicast-control"
    public static let featureDynamicMulticastControl = "feature-dynamic-multicast-control"
    public static let featureSplitEventChannels = "feature-split-event-channels"
    public static let multiQueueMaxQueues = "multi-queue-max-queues"
    public static let featureControlRing = "feature-ctrl-ring"
    public static let featureXDPHeadroom = "feature-xdp-headroom"
    public static let hotplugStatus = "hotplug-status"

    // Written by the frontend (talk_to_netback).
    public static let transmitRingReference = "tx-ring-ref"
    public static let receiveRingReference = "rx-ring-ref"
    /// One port for both rings.
    public static let eventChannel = "event-channel"
    /// Split event channels (feature-split-event-channels).
    public static let eventChannelTransmit = "event-channel-tx"
    public static let eventChannelReceive = "event-channel-rx"
    /// Must be 1: Kite only copies.
    public static let requestRxCopy = "request-rx-copy"
    /// The frontend notifies after posting receive buffers.
    public static let featureRxNotify = "feature-rx-notify"
    /// The frontend turns transmit checksum offload off for IPv4 (absent: on).
    public static let featureNoChecksumOffload = "feature-no-csum-offload"
    public static let requestMulticastControl = "request-multicast-control"
    public static let multiQueueNumQueues = "multi-queue-num-queues"
    public static let xdpHeadroom = "xdp-headroom"
}
