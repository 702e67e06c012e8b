import Testing

@testable import Toolstack

/// xl.cfg(5) channels: both connections, the canonical form, every error, and the
/// configuration-level checks (two channels with one name or one socket).
@Suite struct ConfigChannelSpecTests {
    @Test func aPtyChannelIsTheDefault() throws {
        let c = try XLChannelSpec(parsing: "name=org.qemu.guest_agent.0")
        #expect(c == XLChannelSpec(name: "org.qemu.guest_agent.0", connection: .pty))
        #expect(try XLChannelSpec(parsing: c.canonical) == c)
        #expect(try XLChannelSpec(parsing: " backend=0 , connection=pty, name=log ,") == XLChannelSpec(name: "log"))
    }

    @Test func aSocketChannelNeedsAPath() throws {
        let c = try XLChannelSpec(parsing: "name=agent,connection=socket,path=/run/agent.sock")
        #expect(c.connection == .socket(path: "/run/agent.sock"))
        #expect(try XLChannelSpec(parsing: c.canonical) == c)
    }

    @Test(arguments: [
        ("connection=pty", "a channel needs name=NAME"),
        ("name=", "channel name `' must be"),
        ("name=a b", "channel name `a b' must be"),
        ("name=a/b", "channel name `a/b' must be"),
        ("name=a,name=b", "name respecified"),
        ("name=a,connection=socket", "connection=socket needs path=PATH"),
        ("name=a,path=/x", "path= is for connection=socket"),
        ("name=a,connection=tcp", "unknown connection tcp (pty or socket)"),
        ("name=a,backend=3", "backend 3: Kite serves every device"),
        ("name=a,devid=1", "unknown channel option devid"),
        ("name=a,junk", "expected key=value, found `junk'"),
    ])
    func errors(spec: String, message: String) {
        #expect(throws: XLSpecError.self) { try XLChannelSpec(parsing: spec) }
        do { _ = try XLChannelSpec(parsing: spec) } catch { #expect(error.message.hasPrefix(message), "\(error.message)") }
    }

    @Test func aLongSocketPathIsRefused() {
        let path = "/" + String(repeating: "s", count: 120)
        #expect(throws: XLSpecError.self) { try XLChannelSpec(parsing: "name=a,connection=socket,path=\(path)") }
    }

    @Test func aConfigurationCarriesItsChannelsInOrder() throws {
        let parsed = try XLDomainConfig.parse("""
            name = "g"
            kernel = "/k"
            channel = [ "name=one", "name=two,connection=socket,path=/tmp/two.sock" ]
            """, source: "g.cfg")
        #expect(parsed.config.channels.map(\.name) == ["one", "two"])
        #expect(parsed.warnings.isEmpty)
    }

    @Test func twoChannelsCannotShareANameOrASocket() {
        let base = "name = \"g\"\nkernel = \"/k\"\n"
        for (channels, message) in [
            ("[ 'name=a', 'name=a' ]", "channel name a is given to two channels"),
            ("[ 'name=a,connection=socket,path=/s', 'name=b,connection=socket,path=/s' ]", "socket /s is given to two channels"),
            ("[ 'name=a,connection=udp' ]", "unknown connection udp"),
        ] {
            do {
                _ = try XLDomainConfig.parse(base + "channel = \(channels)\n", source: "g.cfg")
                Issue.record("accepted \(channels)")
            } catch {
                #expect(error.description.contains("g.cfg:3: channel") && error.description.contains(message), "\(error.description)")
            }
        }
    }
}
