import Synchronization
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
    public func requestExit() {
        exitRequested.store(true, ordering: .relaxed)
    }

    public func run(budget: Int) -> VCPUExit {
        var remaining = budget
        while remaining > 0 {
            if exitRequested.load(ordering: .relaxed) {
                exitRequested.store(false, ordering: .relaxed)
                return .budgetExhausted
            }
            do throws(CPUEvent) {
                if !pendingEvents.isEmpty { try deliverPendingEvent() }
                guard decoder.mode == .long64 else { return .unsupportedMode(decoder.mode) }
                let epoch = codeWatch.markEpoch
                if epoch != seenCodeEpoch {
                    // Another vCPU started treating some frame as code: drop cached writable
                    // mappings so stores to it take the path that invalidates its blocks.
                    tlb.flushWrites()
                    seenCodeEpoch = epoch
                }
                if flagsBase & Self.TF != 0 || breakpoints.armed {
                    try runSingleStep(&remaining)
                } else if !pendingEvents.isEmpty && retiredInstructions < interruptShadowEnd {
                    // An interrupt waits only for the shadow: run exactly up to its end.
                    var slice = min(remaining, Int(clamping: interruptShadowEnd &- retiredInstructions))
                    let before = slice
                    defer { remaining -= before - slice }
                    try runBlocks(&slice)
                } else {
                    try runBlocks(&remaining)
                }
            } catch {
                switch error {
                case .exit(let exit):
                    // The hypervisor completes an intercepted instruction: a shadow ends with it.
                    if exit.completesInstruction && interruptShadowEnd != 0 { interruptShadowEnd = 0 }
                    return exit
                case .fault(let e):
                    if let exit = raise(e) { return exit }
                }
            }
        }
        return .budgetExhausted
    }

    /// Stops the current block after the instruction being executed: a store hit a frame
    /// holding decoded code (the block may be stale), or a conditional branch inside the
    /// block was taken.
    @inline(__always) func endBlock() { blockEnd = 0 }

    /// Retires `n` instructions. A shadow STI or MOV SS just opened (they end their blocks, so
    /// they are the last of the `n`) now lasts exactly one more instruction.
    @inline(__always)
    func retireInstructions(_ n: Int) {
        retire(n)
        if interruptShadowEnd == Self.shadowOpening { interruptShadowEnd = retiredInstructions &+ 1 }
    }

    /// Runs the block at RIP and then, while each block ends normally, the blocks it chains
    /// to, until the budget is spent or something needs the outer loop.
    @inline(__always)
    func runBlocks(_ remaining: inout Int) throws(CPUEvent) {
        guard var block = try lookupBlock(&remaining) else { return }
        while true {
            // Blocks hold at least one instruction and `remaining` is positive here.
            guard let base = block.pointee.first else { return }
            blockEnd = UInt(bitPattern: base + min(Int(block.pointee.count), remaining))
            var p = base
            do throws(CPUEvent) {
                repeat {
                    try execute(UnsafePointer(p))
                    p += 1
                } while UInt(bitPattern: p) < blockEnd
            } catch {
                let done = Self.count(from: base, to: p)
                retireInstructions(done)
                remaining &-= done
                throw error
            }
            let done = Self.count(from: base, to: p)
            retireInstructions(done)
            remaining &-= done
            // A block cut short by the budget leaves `remaining` at zero. POPF, IRET and
            // SYSRET end their blocks: TF can only have become set there.
            guard remaining > 0, pendingEvents.isEmpty, flagsBase & Self.TF == 0,
                !exitRequested.load(ordering: .relaxed)
            else { return }
            // Follow a remembered link if it is still valid, else look up and remember.
            if let next = linkedSuccessor(of: block) {
                block = next
                continue
            }
            // Breakpoints armed inside the chain (MOV DR flushed the TLB, so no link held):
            // the run loop steps from here.
            if breakpoints.armed { return }
            guard let next = try lookupBlock(&remaining) else { return }
            let link = BlockLink(rip: rip, generation: tlb.generation, target: next)
            if block.pointee.nextLink == 0 { block.pointee.links.0 = link } else { block.pointee.links.1 = link }
            block.pointee.nextLink ^= 1
            block = next
        }
    }

    /// Instructions between two arena pointers (`p >= base`), without a signed division.
    @inline(__always)
    static func count(from base: UnsafeMutablePointer<DecodedInstruction>, to p: UnsafeMutablePointer<DecodedInstruction>) -> Int {
        Int(bitPattern: (UInt(bitPattern: p) &- UInt(bitPattern: base)) / UInt(MemoryLayout<DecodedInstruction>.stride))
    }

    @inline(__always)
    func linkedSuccessor(of block: UnsafeMutablePointer<DecodedBlock>) -> UnsafeMutablePointer<DecodedBlock>? {
        let generation = tlb.generation
        let target: UnsafeMutablePointer<DecodedBlock>?
        if block.pointee.links.0.rip == rip && block.pointee.links.0.generation == generation {
            target = block.pointee.links.0.target
        } else if block.pointee.links.1.rip == rip && block.pointee.links.1.generation == generation {
            target = block.pointee.links.1.target
        } else {
            return nil
        }
        // Another vCPU may have written the code since.
        guard let target, target.pointee.version == codeWatch.version(target.pointee.frame) else { return nil }
        return target
    }

    /// Finds (decoding if needed) the block at RIP. Returns nil after executing an
    /// instruction that straddles a page boundary uncached.
    func lookupBlock(_ remaining: inout Int) throws(CPUEvent) -> UnsafeMutablePointer<DecodedBlock>? {
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
        if block.pointee.key != key || block.pointee.version != codeWatch.version(frame) {
            if try !decodeBlock(into: block, key: key, host: host, frame: frame) {
                remaining -= 1
                try execute(UnsafePointer(blocks.scratch))
                retireInstructions(1)
                return nil
            }
        }
        return block
    }

    /// Decodes the block at RIP into `block`. Returns false (with the instruction decoded into
    /// `blocks.scratch`) when the first instruction crosses into the next page.
    func decodeBlock(into block: UnsafeMutablePointer<DecodedBlock>, key: UInt64, host: UnsafeMutableRawPointer, frame: UInt64) throws(CPUEvent) -> Bool {
        let start = blocks.reserve()
        let version = codeWatch.markCode(frame)
        // This vCPU may hold a writable mapping of the frame that just became code.
        tlb.flushWrites(frame: frame)
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
            // A conditional branch continues the block (a side exit when taken).
            if d.flags.contains(.endsBlock) && !d.isConditionalJump || d.op == .invalid { break }
        }
        blocks.commit(count: count)
        block.pointee = DecodedBlock(key: key, first: blocks.arena + start, count: Int32(count), version: version, frame: frame)
        // The slot may have held another block (or the arena was flushed): links to it die.
        tlb.bumpGeneration()
        return true
    }
}
