import Testing
import XenABI
@testable import XenStore

@Suite struct PathTests {
    private func canon(_ path: String, domain: UInt32 = 3, special: Bool = false,
                       limit: Int? = nil) -> String? {
        try? XenStorePath.canonicalize(Array(path.utf8)[...], implicitDomain: domain, allowSpecial: special,
                                       pathLimit: limit).path
    }

    @Test func absoluteAndRelativePaths() {
        #expect(canon("/") == "/")
        #expect(canon("/a/b-c_D9") == "/a/b-c_D9")
        #expect(canon("device/vif") == "/local/domain/3/device/vif")
        #expect(canon("x", domain: 0) == "/local/domain/0/x")
    }

    @Test func invalidPathsAreRefused() {
        for bad in ["", "/a/", "/a//b", "//", "/a b", "/a.b", "/ä", "device/", "/a\tb"] {
            #expect(canon(bad) == nil, "\(bad) should be invalid")
        }
        #expect((try? XenStorePath.canonicalize(nil, implicitDomain: 0, allowSpecial: true, pathLimit: nil)) == nil)
    }

    @Test func specialPathsOnlyWhereAllowed() {
        #expect(canon("@releaseDomain") == nil)
        #expect(canon("@releaseDomain", special: true) == "@releaseDomain")
        #expect(canon("@anything/x", special: true) == "@anything/x")
        #expect(canon("/a@b") == "/a@b")
    }

    @Test func unprivilegedLengthCountsAfterTheDomainPrefix() {
        let long = String(repeating: "a", count: 2048)
        #expect(canon(long, limit: 2048) == "/local/domain/3/" + long)
        #expect(canon(long + "b", limit: 2048) == nil)
        #expect(canon("/" + String(repeating: "a", count: 2047), limit: 2048) != nil)
        #expect(canon("/" + String(repeating: "a", count: 2048), limit: 2048) == nil)
        #expect(canon("/" + String(repeating: "a", count: 3000), limit: nil) != nil)
    }

    @Test func localDomainPrefixFollowsSscanf() {
        #expect(XenStorePath.localDomainPrefixLength("/local/domain/7/x") == 16)
        #expect(XenStorePath.localDomainPrefixLength("/local/domain/12345/x") == 20)
        #expect(XenStorePath.localDomainPrefixLength("/local/domain/123456/x") == 0)
        #expect(XenStorePath.localDomainPrefixLength("/local/domain/x/y") == 0)
        #expect(XenStorePath.localDomainPrefixLength("/local/domain/7") == 0)
    }

    @Test func parentsBasenamesAndChildren() {
        #expect(XenStorePath.parent(of: "/a/b/c") == "/a/b")
        #expect(XenStorePath.parent(of: "/a") == "/")
        #expect(XenStorePath.parent(of: "/") == "/")
        #expect(XenStorePath.parent(of: "@releaseDomain") == "/")
        #expect(XenStorePath.parent(of: "@x/y") == "@x")
        #expect(XenStorePath.baseName(of: "/a/b") == "b")
        #expect(XenStorePath.child("a", of: "/") == "/a")
        #expect(XenStorePath.child("b", of: "/a") == "/a/b")
        #expect(XenStorePath.isChild("/a/b", of: "/a"))
        #expect(XenStorePath.isChild("/a", of: "/a"))
        #expect(!XenStorePath.isChild("/ab", of: "/a"))
        #expect(XenStorePath.isChild("@x", of: "/"))
        #expect(!XenStorePath.isChild("/a", of: "/a/b"))
    }

    @Test func permissionStringsParseLikeStrtol() throws {
        func parse(_ s: String) -> String? { try? XenStorePermission.parse(Array(s.utf8)[...]).description }
        #expect(parse("r5") == "r5")
        #expect(parse("b0") == "b0")
        #expect(parse("n0x10") == "n16")
        #expect(parse("w010") == "w8")
        #expect(parse("r-1") == "r-1")
        #expect(parse("r") == nil)
        #expect(parse("x1") == nil)
        #expect(parse("r1a") == nil)
        #expect(parse("r08") == nil)
        #expect(parse("") == nil)
        #expect(parse("r99999999999999999999") == "r-1")
        #expect(try XenStorePermission.parse(Array("r70000".utf8)[...]).domain == nil)
    }

    @Test func accessResolution() {
        let perms = XenStorePermissions([
            XenStorePermission(access: .read, rawDomain: 1),
            XenStorePermission(access: .write, rawDomain: 2),
            XenStorePermission(access: [.read, .write], rawDomain: 3, ignored: true),
        ])
        func access(_ domain: UInt32, privileged: Bool = false, target: UInt32? = nil) -> XenStoreAccess {
            perms.access(for: XenStoreCaller(domainRaw: domain, privileged: privileged, targetRaw: target))
        }
        #expect(access(1) == .all)          // owner
        #expect(access(0, privileged: true) == .all)
        #expect(access(2) == .write)        // explicit entry
        #expect(access(3) == .read)         // ignored entry: default applies
        #expect(access(4) == .read)         // default
        #expect(access(5, target: 1) == .all)
        #expect(access(5, target: 2) == .write)
    }
}
