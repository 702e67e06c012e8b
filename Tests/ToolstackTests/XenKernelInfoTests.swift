import Testing
@testable import Toolstack
import XenABI

/// Xen notes → kernel information, with libelf's defaults and checks.
@Suite struct XenKernelInfoTests {
    private func info(_ elf: TestELF) throws -> XenKernelInfo {
        try XenKernelInfo.parse(ElfImage(bytes: elf.bytes))
    }

    private func withNotes(_ notes: [TestELF.Note], base: TestELF = .linuxLike()) -> TestELF {
        var elf = base
        elf.notes = notes
        return elf
    }

    @Test func readsTheNotesOfALinuxLikeKernel() throws {
        let i = try info(.linuxLike(hypercallPage: 0xFFFF_FFFF_8100_2000))
        #expect(i.source == .noteSegments)
        #expect(i.entry == 0xFFFF_FFFF_8100_1000)  // ENTRY, not e_entry
        #expect(i.virtBase == 0xFFFF_FFFF_8000_0000)
        #expect(i.paddrOffset == 0)
        #expect(i.hypercallPage == 0xFFFF_FFFF_8100_2000)
        #expect(i.initP2M == 0x80_0000_0000)
        #expect(i.modStartPFN)
        #expect(i.suspendCancel)
        #expect(i.hvStartLow == 0xFFFF_8000_0000_0000)
        #expect(i.phys32Entry == 0x100_0850)
        #expect(i.l1MFNValid == [1, 1])
        #expect(i.xenVersion == "xen-3.0")
        #expect(i.guestOS == "linux")
        #expect(i.guestVersion == "2.6")
        #expect(i.loader == "generic")
        #expect(i.paeMode == "yes")
        #expect(i.requiredFeatures == XenFeatureSet([.writablePageTables]))
        #expect(i.supportedFeaturesNote == XenFeatureSet(rawValue: 0x8801))
        #expect(i.supportedFeatures == XenFeatureSet(rawValue: 0x8801 | 0x11))
        #expect(i.kernelStart == 0xFFFF_FFFF_8100_0000)
        #expect(i.kernelEnd == 0xFFFF_FFFF_8300_0000)
        #expect(i.guestType == "xen-3.0-x86_64")
    }

    @Test func readsAGrubLikeKernel() throws {
        let i = try info(.grubLike())
        #expect(i.entry == 0 && i.virtBase == 0 && i.kernelStart == 0 && i.kernelEnd == 0x2_1000)
        #expect(i.hypercallPage == nil && i.initP2M == nil && !i.modStartPFN)
    }

    @Test func appliesLibelfDefaults() throws {
        // No VIRT_BASE, no PADDR_OFFSET, no ENTRY: base 0, offset 0, e_entry.
        var elf = TestELF.grubLike()
        elf.entry = 0x40
        elf.notes = [TestELF.string(.guestOS, "GRUB"), TestELF.string(.loader, "generic"),
                     TestELF.string(.xenVersion, "xen-3.0")]
        let i = try info(elf)
        #expect(i.virtBase == 0 && i.paddrOffset == 0 && i.entry == 0x40)
        // PADDR_OFFSET shifts the physical addresses into VIRT_BASE.
        var shifted = TestELF.linuxLike()
        shifted.segments[0].physicalAddress = 0xFFFF_FFFF_8100_0000
        shifted.notes.removeAll { $0.type == XenElfNote.paddrOffset.rawValue }
        shifted.notes.append(TestELF.number(.paddrOffset, 0xFFFF_FFFF_8000_0000))
        #expect(try info(shifted).kernelStart == 0xFFFF_FFFF_8100_0000)
    }

    @Test func fallsBackToNoteSections() throws {
        var elf = TestELF.linuxLike()
        elf.notesInSectionOnly = true
        #expect(try info(elf).source == .noteSections)
        #expect(try info(elf).entry == 0xFFFF_FFFF_8100_1000)
    }

    @Test func acceptsATrivialLegacyGuestSection() throws {
        var elf = TestELF.grubLike()
        elf.notes = []
        elf.entry = 0xC000_0100
        elf.segments[0].physicalAddress = 0xC000_0000  // legacy: paddr offset defaults to VIRT_BASE
        elf.sections = [TestELF.Section(
            name: "__xen_guest", type: 1,
            data: Array("GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,HYPERCALL_PAGE=0x2,FEATURES=writable_page_tables".utf8) + [0])]
        let i = try info(elf)
        #expect(i.source == .legacyGuestInfo)
        #expect(i.virtBase == 0xC000_0000 && i.paddrOffset == 0xC000_0000)
        #expect(i.kernelStart == 0xC000_0000)
        #expect(i.hypercallPage == 0xC000_2000)
        #expect(i.entry == 0xC000_0100)  // e_entry: the section has no VIRT_ENTRY
    }

    @Test func refusesALegacyGuestSectionThatIsNotTrivial() {
        var elf = TestELF.grubLike()
        elf.notes = []
        elf.sections = [TestELF.Section(name: "__xen_guest", type: 1,
                                        data: Array("GUEST_OS=linux,XEN_VER=xen-3.0,SOMETHING=1".utf8) + [0])]
        #expect(throws: BuilderError.unsupportedLegacyGuestInfo("unknown key \"SOMETHING\"")) { try info(elf) }
        elf.sections[0].data = Array("GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0777x".utf8) + [0]
        #expect(throws: BuilderError.self) { try info(elf) }
        elf.sections[0].data = Array("GUEST_OS=linux,XEN_VER=xen-3.0,BSD_SYMTAB".utf8) + [0]
        #expect(throws: BuilderError.bsdSymtabUnsupported) { try info(elf) }
    }

    @Test func refusesAPlainELF() {
        #expect(throws: BuilderError.notAXenKernel("it has no Xen ELF notes and no __xen_guest section")) {
            try info(withNotes([]))
        }
        // Notes owned by someone else do not count.
        var gnu = TestELF.Note(type: 3, descriptor: [1, 2, 3, 4])
        gnu.name = "GNU"
        #expect(throws: BuilderError.self) { try info(withNotes([gnu])) }
    }

    @Test func checksLoaderGuestOSAndVersion() {
        let base = TestELF.linuxNotes(entry: 0xFFFF_FFFF_8100_1000)
        let noLinux = base.filter { $0.type != XenElfNote.guestOS.rawValue && $0.type != XenElfNote.loader.rawValue }
        #expect(throws: BuilderError.unsupportedLoader(loader: "", guestOS: "")) { try info(withNotes(noLinux)) }
        #expect(throws: BuilderError.unsupportedLoader(loader: "special", guestOS: "NetBSD")) {
            try info(withNotes(noLinux + [TestELF.string(.loader, "special"), TestELF.string(.guestOS, "NetBSD")]))
        }
        // Later notes override earlier ones, as in libelf.
        #expect(throws: BuilderError.unsupportedXenVersion("xen-2.0")) {
            try info(withNotes(base + [TestELF.string(.xenVersion, "xen-2.0")]))
        }
    }

    @Test func parsesFeatureStrings() throws {
        let parsed = try XenKernelInfo.parseFeatures("!writable_page_tables|pae_pgdir_above_4gb|no_such_thing||dom0")
        #expect(parsed.supported == XenFeatureSet([.writablePageTables, .paePgdirAbove4GB, .dom0]))
        #expect(parsed.required == XenFeatureSet([.writablePageTables]))
        #expect(throws: BuilderError.unknownRequiredFeature("no_such_thing")) {
            try XenKernelInfo.parseFeatures("pae_pgdir_above_4gb|!no_such_thing")
        }
    }

    @Test func refusesRequiredFeaturesKiteLacks() {
        let base = TestELF.linuxNotes(entry: 0xFFFF_FFFF_8100_1000)
        for (name, feature) in [("dom0", XenFeature.dom0), ("auto_translated_physmap", .autoTranslatedPhysmap),
                                ("supervisor_mode_kernel", .supervisorModeKernel)] {
            #expect(throws: BuilderError.requiredFeatureUnavailable(feature.description)) {
                try info(withNotes(base + [TestELF.string(.features, "!\(name)")]))
            }
        }
        #expect(throws: BuilderError.bsdSymtabUnsupported) {
            try info(withNotes(base + [TestELF.string(.bsdSymtab, "yes")]))
        }
    }

    @Test func refusesBadNoteValues() throws {
        let base = TestELF.linuxNotes(entry: 0xFFFF_FFFF_8100_1000)
        #expect(throws: BuilderError.badNumericNote(note: "ENTRY", size: 3)) {
            try info(withNotes(base + [TestELF.Note(type: 1, descriptor: [1, 2, 3])]))
        }
        // A string without NUL ends with its descriptor (Linux's FEATURES note has none).
        #expect(try info(withNotes(base + [TestELF.Note(type: 10, descriptor: Array("!writable_page_tables".utf8))]))
            .requiredFeatures == XenFeatureSet([.writablePageTables]))
        #expect(throws: BuilderError.badNumericNote(note: "SUPPORTED_FEATURES", size: 2)) {
            try info(withNotes(base + [TestELF.Note(type: 17, descriptor: [1, 0])]))
        }
    }

    @Test func checksAddresses() {
        let base = TestELF.linuxNotes(entry: 0xFFFF_FFFF_8100_1000)
        #expect(throws: BuilderError.self) {  // entry beyond the kernel
            try info(withNotes(base + [TestELF.number(.entry, 0xFFFF_FFFF_9000_0000)]))
        }
        #expect(throws: BuilderError.self) {  // entry below it
            try info(withNotes(base + [TestELF.number(.entry, 0xFFFF_FFFF_8000_0000)]))
        }
        #expect(throws: BuilderError.self) {  // VIRT_BASE above the kernel
            try info(withNotes(base + [TestELF.number(.virtBase, 0xFFFF_FFFF_9000_0000)]))
        }
        #expect(throws: BuilderError.p2mInsideKernel(p2mBase: 0xFFFF_FFFF_8200_0000, kernelStart: 0xFFFF_FFFF_8100_0000,
                                                     kernelEnd: 0xFFFF_FFFF_8300_0000)) {
            try info(withNotes(base + [TestELF.number(.initP2M, 0xFFFF_FFFF_8200_0000)]))
        }
        let noBase = base.filter { $0.type != XenElfNote.virtBase.rawValue }
        #expect(throws: BuilderError.paddrOffsetWithoutVirtBase) { try info(withNotes(noBase)) }
        var empty = TestELF.linuxLike()
        empty.segments = []
        #expect(throws: BuilderError.noLoadableSegments) { try info(empty) }
    }
}
