import XenABI

/// Domain management: INTRODUCE, RELEASE, RESUME, SET_TARGET, GET_DOMAIN_PATH,
/// IS_DOMAIN_INTRODUCED (tools/xenstored/domain.c) and the lifecycle notifications the
/// hypervisor side delivers (what VIRQ_DOM_EXC + getdomaininfo tell xenstored).
///
/// Domain states in the store: unknown → known (`domainCreated`, or first INTRODUCE) →
/// introduced (INTRODUCE: a ring connection exists) → shut down (@releaseDomain fired once;
/// RESUME re-arms it) → gone (RELEASE or `domainDestroyed`: connection closed, the nodes the
/// domain owns removed, @releaseDomain fired).
extension XenStoreServer {
    // MARK: - Host notifications

    /// The hypervisor created `domain`: permission entries naming it become valid from now on.
    /// Call before writing nodes that grant it access.
    public mutating func domainCreated(_ domain: DomainID) {
        if domains[domain.rawValue] == nil { domains[domain.rawValue] = Domain(generation: generation) }
    }

    /// The domain shut down (crash, poweroff, …): fires @releaseDomain once.
    public mutating func domainShutdown(_ domain: DomainID) -> [XenStoreAction] {
        actions = []
        if let record = domains[domain.rawValue], record.introduced, !record.shutdown {
            domains[domain.rawValue]?.shutdown = true
            fireSpecialWatches(Self.releaseDomainPath)
        }
        return takeActions()
    }

    /// The domain is dying or dead: as xenstored's check_domains, closes its connection,
    /// removes the nodes it owns (firing watches) and fires @releaseDomain if it had been
    /// introduced.
    public mutating func domainDestroyed(_ domain: DomainID) -> [XenStoreAction] {
        actions = []
        if domain != .controlDomain { forgetDomain(domain) }
        return takeActions()
    }

    /// INTRODUCE without the wire: attaches `domain`'s ring. Returns the new connection (or
    /// the existing one for a re-introduction) and the effects, or the errno the request
    /// would have been answered with.
    public mutating func introduceDomain(_ domain: DomainID, port: EventChannelPort,
                                         frame: UInt64) -> Result<(XenStoreConnectionID, [XenStoreAction]), XenError> {
        actions = []
        do throws(XenError) {
            let connection = try introduce(UInt32(domain.rawValue), port: port.rawValue, frame: frame)
            return .success((connection, takeActions()))
        } catch {
            actions = []
            return .failure(error)
        }
    }

    mutating func takeActions() -> [XenStoreAction] {
        let result = actions
        actions = []
        return result
    }

    // MARK: - Requests

    /// `domid\0mfn\0port\0`.
    mutating func doIntroduce(_ request: Request) throws(XenError) {
        let strings = XenStorePayload.strings(request.message.payload)
        guard strings.count >= 3 else { throw .EINVAL }
        let domid = XenStorePayload.atou(strings[0])
        let frame = XenStorePayload.strtoull(strings[1])
        let port = XenStorePayload.atou(strings[2])
        _ = try introduce(domid, port: port, frame: frame)
        sendAcknowledgement(request)
    }

    /// Xen `introduce_domain` + `domain_conn_reset`. Domain 0 is Kite itself and has no ring,
    /// so it cannot be introduced; reserved ids are refused.
    private mutating func introduce(_ domid: UInt32, port: UInt32, frame: UInt64) throws(XenError) -> XenStoreConnectionID {
        guard port != 0 else { throw .EINVAL }
        guard domid != 0, domid < UInt32(DomainID.firstReserved.rawValue) else { throw .EINVAL }
        let domain = DomainID(UInt16(domid))
        var record = domains[domain.rawValue] ?? Domain(generation: generation)
        if record.introduced, let existing = record.connection {
            // xenstored's domain_conn_reset; an ignored connection stays ignored.
            dropWatchesAndTransactions(of: existing)
            record.port = EventChannelPort(port)
            domains[domain.rawValue] = record
            actions.append(.attachDomain(XenStoreDomainAttachment(
                domain: domain, connection: existing, port: EventChannelPort(port), frame: frame,
                isReintroduction: true)))
            return existing
        }
        let connection = allocateConnectionID()
        connections[connection] = Connection(domain: domain, isDomainRing: true)
        record.introduced = true
        record.shutdown = false
        record.connection = connection
        record.port = EventChannelPort(port)
        domains[domain.rawValue] = record
        actions.append(.attachDomain(XenStoreDomainAttachment(
            domain: domain, connection: connection, port: EventChannelPort(port), frame: frame,
            isReintroduction: false)))
        fireSpecialWatches(Self.introduceDomainPath)
        return connection
    }

    /// `domid\0`: disconnects the domain as if it had died.
    mutating func doRelease(_ request: Request) throws(XenError) {
        let domain = try connectedDomain(request)
        forgetDomain(domain)
        sendAcknowledgement(request)
    }

    /// `domid\0`: re-arms @releaseDomain for a domain that was shut down and resumed.
    mutating func doResume(_ request: Request) throws(XenError) {
        let domain = try connectedDomain(request)
        domains[domain.rawValue]?.shutdown = false
        sendAcknowledgement(request)
    }

    /// `domid\0target\0`: `domid` may henceforth act for `target` (a device-model stub domain).
    mutating func doSetTarget(_ request: Request) throws(XenError) {
        let strings = XenStorePayload.strings(request.message.payload)
        guard strings.count >= 2 else { throw .EINVAL }
        let domain = try findConnected(XenStorePayload.atou(strings[0]))
        let target = try findConnected(XenStorePayload.atou(strings[1]))
        guard let connection = domains[domain.rawValue]?.connection else { throw .EINVAL }
        connections[connection]?.target = target
        sendAcknowledgement(request)
    }

    /// `domid\0` → `/local/domain/<domid>\0` (any caller, any number).
    mutating func doGetDomainPath(_ request: Request) throws(XenError) {
        guard let arg = XenStorePayload.oneArgument(request.message.payload) else { throw .EINVAL }
        sendReply(Array(XenStorePath.domainPath(XenStorePayload.atou(arg)).utf8) + [0], request)
    }

    /// `domid\0` → "T\0" or "F\0". DOMID_SELF always answers T.
    mutating func doIsDomainIntroduced(_ request: Request) throws(XenError) {
        guard let arg = XenStorePayload.oneArgument(request.message.payload) else { throw .EINVAL }
        let domid = XenStorePayload.atou(arg)
        let introduced = domid == UInt32(DomainID.selfDomain.rawValue)
            || (domid <= 0xFFFF && domains[UInt16(domid)]?.introduced == true)
        sendReply(introduced ? [UInt8(ascii: "T"), 0] : [UInt8(ascii: "F"), 0], request)
    }

    /// Xen `onearg_domain`: dom0 is EINVAL, an unknown domain ENOENT.
    private func connectedDomain(_ request: Request) throws(XenError) -> DomainID {
        guard let arg = XenStorePayload.oneArgument(request.message.payload) else { throw .EINVAL }
        let domid = XenStorePayload.atou(arg)
        if domid == 0 { throw .EINVAL }
        return try findConnected(domid)
    }

    /// Xen `find_connected_domain`.
    private func findConnected(_ domid: UInt32) throws(XenError) -> DomainID {
        guard domid <= 0xFFFF, let record = domains[UInt16(domid)], record.introduced else { throw .ENOENT }
        guard record.connection != nil || domid == 0 else { throw .EINVAL }
        return DomainID(UInt16(domid))
    }

    /// Xen `destroy_conn` + `destroy_domain`: the connection goes first (so the domain's own
    /// watches see nothing of the cleanup), then the nodes it owns, then @releaseDomain.
    private mutating func forgetDomain(_ domain: DomainID) {
        guard let record = domains[domain.rawValue] else { return }
        if let connection = record.connection {
            dropWatchesAndTransactions(of: connection)
            connections[connection] = nil
            actions.append(.detachDomain(domain, connection))
        }
        removeNodesOwned(by: UInt32(domain.rawValue))
        domains[domain.rawValue] = nil
        if record.introduced { fireSpecialWatches(Self.releaseDomainPath) }
    }

    /// Xen `domain_tree_remove`: a pre-order walk from `/` removing every subtree whose root
    /// the domain owns, so a later domain with the same id inherits nothing.
    private mutating func removeNodesOwned(by owner: UInt32) {
        guard (nodeCounts[owner] ?? 0) > 0 else { return }
        let request = Request(connection: nil, caller: .internalCaller, implicitDomain: 0, transaction: nil,
                              message: XenStoreMessage(type: .invalid))
        var pending = ["/"]
        while let path = pending.popLast() {
            guard let node = nodes[path] else { continue }
            if node.permissions.ownerRaw == owner && path != "/" {
                try? removeNode(path, request)
                if (nodeCounts[owner] ?? 0) == 0 { return }
                continue
            }
            // Reverse so children are visited in list order.
            pending.append(contentsOf: node.children.reversed().map { XenStorePath.child($0, of: path) })
        }
    }
}
