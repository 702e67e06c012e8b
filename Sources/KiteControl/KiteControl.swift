/// The control API between the `kite` CLI and the `kited` daemon: requests, replies and
/// their JSON framing on a Unix socket (docs/control-api.md).
public enum KiteControl {
    /// Kite's version, as `kite version` and `info` report it.
    public static let version = "0.1.0-dev"
}
