import GuestMemory
import X86

/// Reads instruction bytes from a host page, faulting (#PF on fetch) only if the
/// instruction really extends into an unfetchable next page.
struct PageByteSource: InstructionByteSource {
    let page: UnsafeMutableRawPointer
    let offset: Int
    /// Set by the decoder run when a byte beyond the page was needed.
    var crossed = false
    let nextPage: (Int) throws(DecodeFailure) -> UnsafeMutableRawPointer

    mutating func fetch(_ i: Int) throws(DecodeFailure) -> UInt8 {
        let at = offset + i
        if at < 4096 { return page.load(fromByteOffset: at, as: UInt8.self) }
        crossed = true
        return try nextPage(at).load(fromByteOffset: at - 4096, as: UInt8.self)
    }
}

extension Interpreter {
    public func run(budget: Int) -> VCPUExit {
        var remaining = budget
        while remaining > 0 {
            do {
                if !pendingEvents.isEmpty { try deliverPendingEvent() }
                guard decoder.mode == .long64 else { return .unsupportedMode(decoder.mode) }
                try runBlock(&remaining)
            } catch {
                switch error {
                case .exit(let exit): return exit
                case .fault(let e):
                    if let exit = raise(e) { return exit }
                }
            }
        }
        return .budgetExhausted
    }

    /// Runs (decoding if needed) the block at RIP, at most `remaining` instructions.
    @inline(__always)
    func runBlock(_ remaining: inout Int) throws(CPUEvent) {
        let epoch = memory.codeWatch.markEpoch
        if epoch != seenCodeEpoch {
            tlb.flushWrites()
            seenCodeEpoch = epoch
        }
        let e = tlb.fetch + SoftTLB.slot(rip)
        let host: UnsafeMutableRawPointer
        let frame: UInt64
        if e.pointee.tag == (rip & ~0xFFF) | userTag, let h = e.pointee.host {
            host = h
            frame = e.pointee.frame
        } else {
            let t = try fill(rip, access: .execute, user: cpl == 3)
            host = t.host
            frame = t.frame
        }
        let key = (frame << 12) | (rip & 0xFFF)
        let block = blocks.slot(for: key)
        if block.pointee.key != key || block.pointee.version != memory.codeWatch.version(frame) {
            if try !decodeBlock(into: block, key: key, host: host, frame: frame) {
                // The instruction at RIP straddles a page boundary: run it uncached.
                remaining -= 1
                try execute(UnsafePointer(blocks.scratch))
                retire(1)
                return
            }
        }
        let n = min(Int(block.pointee.count), remaining)
        let base = blocks.arena + Int(block.pointee.start)
        codeWritten = false
        var i = 0
        do throws(CPUEvent) {
            while i < n {
                let p = UnsafePointer(base + i)
                try execute(p)
                i += 1
                if codeWritten { break }
            }
        } catch {
            retire(i)
            remaining -= i
            throw error
        }
        retire(i)
        remaining -= i
    }

    /// Decodes the block at RIP into `block`. Returns false (with the instruction decoded into
    /// `blocks.scratch`) when the first instruction crosses into the next page.
    func decodeBlock(into block: UnsafeMutablePointer<DecodedBlock>, key: UInt64, host: UnsafeMutableRawPointer, frame: UInt64) throws(CPUEvent) -> Bool {
        let start = blocks.reserve()
        let version = memory.codeWatch.markCode(frame)
        if seenCodeEpoch != memory.codeWatch.markEpoch {
            tlb.flushWrites(frame: frame)
        }
        var offset = Int(rip & 0xFFF)
        var count = 0
        let pageRIP = rip & ~0xFFF
        let user = cpl == 3
        while count < BlockCache.maxBlockLength && offset < 4096 {
            var src = PageByteSource(page: host, offset: offset, nextPage: { [unowned self] _ throws(DecodeFailure) -> UnsafeMutableRawPointer in
                do throws(CPUEvent) {
                    return try self.fill(pageRIP &+ 4096, access: .execute, user: user).host
                } catch {
                    switch error {
                    case .fault(let f): throw .fetch(f)
                    case .exit: throw .fetch(.generalProtection(0))
                    }
                }
            })
            let d: DecodedInstruction
            do throws(DecodeFailure) {
                d = try decoder.decode(&src)
            } catch {
                if count > 0 { break }  // let the faulting instruction start its own block
                switch error {
                case .fetch(let f): throw .fault(f)
                case .tooLong: throw .fault(.generalProtection(0))
                }
            }
            if src.crossed {
                if count > 0 { break }
                blocks.scratch.pointee = d
                return false
            }
            blocks.arena[start + count] = d
            count += 1
            offset += Int(d.length)
            if d.flags.contains(.endsBlock) || d.op == .invalid { break }
        }
        blocks.commit(count: count)
        block.pointee = DecodedBlock(key: key, start: Int32(start), count: Int32(count), frame: frame, version: version)
        return true
    }
}
