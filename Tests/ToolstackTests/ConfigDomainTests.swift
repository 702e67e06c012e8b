import Foundation
import Testing

@testable import Toolstack

/// xl.cfg keys with their xl meanings and defaults, overrides from the command line,
/// warnings for what Kite ignores, and every error naming file, line and key.
@Suite struct ConfigDomainTests {
    func parse(_ text: String, overrides: [String] = []) throws -> XLDomainConfig.Parsed {
        try XLDomainConfig.parse(text, source: "guest.cfg", overrides: overrides)
    }

    func error(_ text: String, overrides: [String] = []) -> String? {
        let e = #expect(throws: XLConfigError.self) { try XLDomainConfig.parse(text, source: "guest.cfg", overrides: overrides) }
        return e?.description
    }

    static let full = """
        # A guest with everything
        name = "web"
        type = "pv"
        kernel = "/boot/vmlinuz"
        ramdisk = "/boot/initrd.img"
        cmdline = "console=hvc0 root=/dev/xvda1"
        memory = 256
        maxmem = 512
        vcpus = 2
        maxvcpus = 4
        uuid = "6F2C3A1E-0B7D-4C89-9E1A-2B3C4D5E6F70"
        disk = [ '/srv/web.img,raw,xvda,rw',
                 '/srv/cd.iso,,xvdc,cdrom', ]
        vif = [ 'mac=00:16:3e:00:00:01,bridge=lan', '' ]
        on_poweroff = "preserve"
        on_reboot = "rename-restart"
        on_crash = "restart"
        on_watchdog = "preserve"
        """

    @Test func everyKeyWithItsXlMeaning() throws {
        let p = try parse(Self.full)
        #expect(p.warnings.isEmpty)
        let c = p.config
        #expect(c.name == "web" && c.type == .pv)
        #expect(c.kernel == "/boot/vmlinuz" && c.ramdisk == "/boot/initrd.img")
        #expect(c.commandLine == "console=hvc0 root=/dev/xvda1")
        #expect(c.memoryMiB == 256 && c.maxMemoryMiB == 512 && c.vcpus == 2 && c.maxVCPUs == 4)
        #expect(c.uuid == "6f2c3a1e-0b7d-4c89-9e1a-2b3c4d5e6f70")
        #expect(c.disks.map(\.vdev.name) == ["xvda", "xvdc"])
        #expect(c.disks[1].deviceType == .cdrom && c.disks[1].isReadOnly)
        #expect(c.vifs.count == 2 && c.vifs[0].switchName == "lan" && c.vifs[1].isUserMode)
        #expect(c.onPoweroff == .preserve && c.onReboot == .renameRestart && c.onCrash == .restart && c.onWatchdog == .preserve)
    }

    @Test func xlDefaults() throws {
        let c = try parse("name='a'\nkernel='k'").config
        #expect(c == XLDomainConfig(name: "a", kernel: "k"))
        #expect(c.memoryMiB == 32 && c.maxMemoryMiB == 32 && c.vcpus == 1 && c.maxVCPUs == 1)
        #expect(c.onPoweroff == .destroy && c.onReboot == .restart && c.onCrash == .destroy && c.onWatchdog == .destroy)
        #expect(c.commandLine == "" && c.disks.isEmpty && c.vifs.isEmpty && c.uuid == nil && c.ramdisk == nil)
        // maxmem and maxvcpus follow memory and vcpus; numbers may be quoted or hex.
        let d = try parse("name='a'\nkernel='k'\nmemory='0x40'\nvcpus=\"3\"").config
        #expect(d.memoryMiB == 64 && d.maxMemoryMiB == 64 && d.vcpus == 3 && d.maxVCPUs == 3)
        #expect(try parse("name='a'\nkernel='k'\nbuilder='generic'").config.type == .pv)
    }

    @Test func rootAndExtraMakeTheCommandLineUnlessCmdlineIsSet() throws {
        #expect(try parse("name='a'\nkernel='k'\nroot='/dev/xvda1 ro'\nextra='console=hvc0'").config.commandLine == "root=/dev/xvda1 ro console=hvc0")
        #expect(try parse("name='a'\nkernel='k'\nextra='quiet'").config.commandLine == "quiet")
        #expect(try parse("name='a'\nkernel='k'\nroot='/dev/xvda'").config.commandLine == "root=/dev/xvda")
        let p = try parse("name='a'\nkernel='k'\nroot='/dev/xvda'\ncmdline='single'")
        #expect(p.config.commandLine == "single")
        #expect(p.warnings.map(\.description) == ["guest.cfg:4: cmdline: cmdline is set: root and extra are ignored (as in xl)"])
    }

    @Test func unknownAndUnsupportedKeysAreWarnedNotFatal() throws {
        let p = try parse("name='a'\nkernel='k'\ncolour='blue'\ncpus='0-3'\nvif=['bridge=br0,model=e1000']\ndisk='/img,,xvda'")
        #expect(p.warnings.map(\.description) == [
            "guest.cfg:6: disk: expected a list [ '...' ]; taking the single string as a list of one",
            "guest.cfg:5: vif: vif model=e1000 selects an emulated NIC of HVM guests; a PV guest gets a PV NIC (ignored)",
            "guest.cfg:3: colour: unknown key (ignored)",
            "guest.cfg:4: cpus: not supported by Kite yet (ignored)",
        ])
        #expect(p.config.disks.count == 1)
    }

    @Test func overridesWinOverTheFile() throws {
        let p = try parse(Self.full, overrides: ["memory=128", "name=db", "vif=['bridge=slirp']", "extra+=' x'", "on_crash = \"destroy\"", "vcpus=1;maxvcpus=1"])
        #expect(p.config.memoryMiB == 128 && p.config.maxMemoryMiB == 512)
        #expect(p.config.name == "db")
        #expect(p.config.vifs == [XLVifSpec(bridge: "slirp")])
        #expect(p.config.onCrash == .destroy)
        #expect(p.config.vcpus == 1 && p.config.maxVCPUs == 1)
        // extra is ignored next to cmdline, with a warning from the file's cmdline.
        #expect(p.warnings.count == 1)
    }

    @Test func overrideErrorsNameTheCommandLine() {
        #expect(error(Self.full, overrides: ["memory=lots"]) == "command line: memory: expected a number of MiB, found \"lots\"")
        #expect(error(Self.full, overrides: ["justaword"]) == "command line: `justaword' is not key=value")
        #expect(error(Self.full, overrides: ["a b=c"]) == "command line: `a b=c' is not key=value")
        #expect(error(Self.full, overrides: ["type=hvm"]) == "command line: type: HVM guests are not yet supported by Kite (type = \"pv\")")
    }

    @Test func disksAndVifsReportTheirOwnLine() {
        let text = "name='a'\nkernel='k'\ndisk = [ '/a,,xvda',\n  '/b,,xvdb',\n  '/c,,floppy' ]"
        #expect(error(text) == "guest.cfg:5: disk: vdev floppy is not a Xen virtual disk name (xvda, xvdb1, sda, hdc, d0p1 or a number) in `/c,,floppy'")
        #expect(error("name='a'\nkernel='k'\ndisk = [ '/a,,xvda',\n  '/b,,d0' ]") == "guest.cfg:4: disk: vdev d0 is used by two disks (the first on line 3)")
        #expect(error("name='a'\nkernel='k'\nvif = [ '',\n 'mac=zz' ]") == "guest.cfg:4: vif: mac zz is not six hexadecimal pairs (00:16:3e:xx:xx:xx) in `mac=zz'")
        #expect(error("name='a'\nkernel='k'\nvif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3E:00:00:01' ]") == "guest.cfg:3: vif: mac 00:16:3e:00:00:01 is given to two vifs")
        #expect(error("name='a'\nkernel='k'\nvif = [ '', 'devid=0' ]") == "guest.cfg:3: vif: devid 0 is used by two vifs")
        #expect(error("name='a'\nkernel='k'\ndisk = [ '/a,,xvda', 3 ]") == "guest.cfg:3: disk: every entry must be a string in quotes, found 3")
        #expect(error("name='a'\nkernel='k'\nvif = 3") == "guest.cfg:3: vif: expected a list of strings [ '...', '...' ], found a number")
    }

    /// Every value error: file, line and key, then what is wrong.
    @Test(arguments: [
        ("kernel='k'", "guest.cfg: name: missing: every domain needs a name (name = \"...\")"),
        ("name='a'", "guest.cfg: kernel: missing: Kite boots a PV guest from its kernel file (kernel = \"...\")"),
        ("name='a'\nkernel=''", "guest.cfg:2: kernel: the kernel path is empty"),
        ("name='a'\nkernel='k'\nramdisk=''", "guest.cfg:3: ramdisk: the ramdisk path is empty"),
        ("name='a'\nkernel='k'\ntype='pvh'", "guest.cfg:3: type: PVH guests are not yet supported by Kite (type = \"pv\")"),
        ("name='a'\nkernel='k'\ntype='hvm'", "guest.cfg:3: type: HVM guests are not yet supported by Kite (type = \"pv\")"),
        ("name='a'\nkernel='k'\nbuilder='hvm'", "guest.cfg:3: builder: HVM guests are not yet supported by Kite (type = \"pv\")"),
        ("name='a'\nkernel='k'\ntype='xen'", "guest.cfg:3: type: unknown guest type \"xen\" (pv, pvh or hvm)"),
        ("name='a'\nkernel='k'\nbuilder='linux'", "guest.cfg:3: builder: unknown builder \"linux\" (generic or hvm; prefer type=)"),
        ("name='a'\nbootloader='pygrub'", "guest.cfg:2: bootloader: not yet supported by Kite: boot a PV kernel directly with kernel = \"...\""),
        ("name='a'\nfirmware='pvgrub64'", "guest.cfg:2: firmware: not yet supported by Kite: boot a PV kernel directly with kernel = \"...\""),
        ("name='123'\nkernel='k'", "guest.cfg:1: name: a domain name cannot be all digits (it would read as a domain id)"),
        ("name='a/b'\nkernel='k'", "guest.cfg:1: name: a domain name has only letters, digits, '-', '_' and '.', not \"/\""),
        ("name=''\nkernel='k'", "guest.cfg:1: name: a domain name cannot be empty"),
        ("name=['a']\nkernel='k'", "guest.cfg:1: name: expected a string in quotes, found a list"),
        ("name='a'\nkernel='k'\nmemory='lots'", "guest.cfg:3: memory: expected a number of MiB, found \"lots\""),
        ("name='a'\nkernel='k'\nmemory=2", "guest.cfg:3: memory: 2 is out of range: 4 to 1048576 MiB"),
        ("name='a'\nkernel='k'\nmemory=[]", "guest.cfg:3: memory: expected a number of MiB, found a list"),
        ("name='a'\nkernel='k'\nmemory=256\nmaxmem=128", "guest.cfg:4: maxmem: maxmem (128 MiB) must be at least memory (256 MiB)"),
        ("name='a'\nkernel='k'\nvcpus=0", "guest.cfg:3: vcpus: 0 is out of range: 1 to 32 vCPUs"),
        ("name='a'\nkernel='k'\nvcpus=33", "guest.cfg:3: vcpus: 33 is out of range: 1 to 32 vCPUs"),
        ("name='a'\nkernel='k'\nvcpus=4\nmaxvcpus=2", "guest.cfg:4: maxvcpus: maxvcpus (2) must be at least vcpus (4)"),
        ("name='a'\nkernel='k'\nuuid='not-a-uuid'", "guest.cfg:3: uuid: \"not-a-uuid\" is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        ("name='a'\nkernel='k'\non_poweroff='halt'", "guest.cfg:3: on_poweroff: unknown action \"halt\" (destroy, restart, preserve or rename-restart)"),
        ("name='a'\nkernel='k'\non_crash='coredump-destroy'", "guest.cfg:3: on_crash: coredump-destroy is not yet supported by Kite (use destroy, restart, preserve or rename-restart)"),
        ("name='a'\nkernel='k'\non_reboot='soft-reset'", "guest.cfg:3: on_reboot: soft-reset applies to on_soft_reset only"),
        ("name='a'\nkernel='k'\ncmdline='\(String(repeating: "x", count: 1024))'", "guest.cfg:3: cmdline: the kernel command line has 1024 bytes; Xen's limit is 1023"),
        ("name='a'\nkernel='k'\nmemory = 64\nmemory += 64", "guest.cfg:4: memory: += needs a value of the same kind as before (a list to a list, a string to a string)"),
    ])
    func valueErrors(text: String, message: String) {
        #expect(error(text) == message)
    }
}

/// The bundled example configuration parses cleanly.
@Suite struct ConfigExampleTests {
    @Test func theDemoConfigParsesWithoutWarnings() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/pv-demo.cfg").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let p = try XLDomainConfig.parse(text, source: path)
        #expect(p.warnings.isEmpty)
        #expect(p.config.name == "pv-demo" && p.config.kernel == "Guests/build/pv-demo.elf" && p.config.memoryMiB == 16)
        #expect(p.config.onPoweroff == .preserve)
    }
}
