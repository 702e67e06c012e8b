/// The control API between the `kite` CLI and the `kited` daemon: requests, replies and
/// their JSON framing on a Unix socket (docs/control-api.md).
public enum KiteControl {}
