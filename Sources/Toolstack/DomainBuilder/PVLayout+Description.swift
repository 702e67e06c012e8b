/// Human-readable summaries for `kite run` to print, in the spirit of Xen's builder log.
extension PVLayout: CustomStringConvertible {
    public var description: String {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        func line(_ name: String, _ segment: Segment) -> String {
            let pad = String(repeating: " ", count: max(0, 13 - name.count))
            return "  \(name)\(pad)pfn \(hex(segment.pfn))+\(hex(segment.pages))  va \(hex(segment.virtualStart))"
        }
        func page(_ name: String, _ pfn: UInt64) -> String {
            let pad = String(repeating: " ", count: max(0, 13 - name.count))
            return "  \(name)\(pad)pfn \(hex(pfn))  va \(hex(virtualAddress(ofPFN: pfn)))"
        }
        var lines = ["PV64 layout: \(totalPages) pages, virt_base \(hex(virtBase))"]
        lines.append(line("kernel", kernel))
        if let ramdisk { lines.append(line(ramdiskMapped ? "ramdisk" : "ramdisk (pfn)", ramdisk)) }
        lines.append(line(initP2M == nil ? "p2m" : "p2m+tables", p2m))
        lines.append(page("start_info", startInfoPFN))
        lines.append(page("xenstore", xenstorePFN))
        lines.append(page("console", consolePFN))
        lines.append(line("page tables", pageTables))
        lines.append(page("boot stack", bootStackPFN))
        if let hypercallPagePFN { lines.append(page("hypercalls", hypercallPagePFN)) }
        lines.append("  virt_pgtab_end \(hex(virtPgtabEnd)), \(pageTableFrameCount) page-table frames, \(allocatedPages) pages allocated")
        return lines.joined(separator: "\n")
    }
}

extension XenKernelInfo: CustomStringConvertible {
    public var description: String {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        let name = guestVersion.isEmpty ? guestOS : "\(guestOS) \(guestVersion)"
        var parts = ["\(name) (\(xenVersion), loader \(loader))",
                     "entry \(hex(entry))", "virt_base \(hex(virtBase))",
                     "kernel [\(hex(kernelStart)), \(hex(kernelEnd)))"]
        if let hypercallPage { parts.append("hypercall page \(hex(hypercallPage))") }
        if let initP2M { parts.append("INIT_P2M \(hex(initP2M))") }
        if modStartPFN { parts.append("MOD_START_PFN") }
        if !requiredFeatures.isEmpty { parts.append("requires \(requiredFeatures)") }
        return parts.joined(separator: ", ")
    }
}
