import XenABI
import XenControl
import XenStore

/// The daemon's work under its lock: serving a ring, routing the actions the server
/// produced, attaching and detaching rings; and the effects performed after the lock.
extension XenStoreDaemon {
    /// One pass over `domain`'s ring, on the daemon's queue. Xen: handle_input/handle_output
    /// for a domain connection whose event channel fired.
    func service(_ domain: DomainID) {
        var effects = Effects()
        state.withLock { s in
            guard var a = s.attachments[domain] else { return }
            let result = s.server.service(&a.link, ring: a.ring)
            s.attachments[domain] = a
            if result.notifyGuest {
                a.mapping.noteWrite(offset: 0, length: XenStoreRingLayout.size)
                if let port = a.localPort { effects.notify.append(port) }
            }
            if result.morePending { effects.signals.append(a.signal) }
            if let failure = result.failure {
                a.mapping.noteWrite(offset: 0, length: XenStoreRingLayout.size)
                effects.logs.append("xenstore: the ring of \(domain) broke (\(failure)); it is no longer served")
            }
            route(result.actions, in: &s, &effects)
        }
        perform(effects)
    }

    /// Delivers replies and events to their connections and performs domain effects.
    /// Rings that received output are flushed at once (the rest waits in their outbox
    /// until the guest makes room and notifies).
    func route(_ actions: [XenStoreAction], in s: inout State, _ effects: inout Effects) {
        var touched: [DomainID] = []
        for action in actions {
            switch action {
            case .reply, .watchEvent:
                guard let connection = action.connection else { continue }
                if let domain = s.domainOfConnection[connection], var a = s.attachments[domain] {
                    a.link.deliver(action)
                    s.attachments[domain] = a
                    if !touched.contains(domain) { touched.append(domain) }
                } else if let mailbox = s.locals[connection] {
                    if let message = action.message { mailbox.enqueue(message) }
                    if !effects.wakes.contains(where: { $0 === mailbox }) { effects.wakes.append(mailbox) }
                } else {
                    effects.local.append(action)
                }
            case .attachDomain(let attachment):
                attach(attachment, in: &s, &effects)
            case .detachDomain(let domain, _):
                detach(domain, in: &s, &effects)
            case .log(let text):
                effects.logs.append(text)
            }
        }
        for domain in touched {
            guard var a = s.attachments[domain] else { continue }
            let wrote = a.link.flush(to: a.ring)
            s.attachments[domain] = a
            if wrote {
                a.mapping.noteWrite(offset: 0, length: XenStoreRingLayout.size)
                if let port = a.localPort { effects.notify.append(port) }
            }
            // A flush that broke the stream: the next pass tells the server.
            if a.link.isBroken { effects.signals.append(a.signal) }
        }
    }

    /// Maps the guest's store page, binds its port and resets the ring; for a
    /// re-introduction rebinds a changed port and resets. Xen: introduce_domain,
    /// new_domain (map GNTTAB_RESERVED_XENSTORE, bind the event channel), domain_conn_reset.
    func attach(_ request: XenStoreDomainAttachment, in s: inout State, _ effects: inout Effects) {
        let domain = request.domain
        if var existing = s.attachments[domain] {
            if existing.remotePort != request.port || existing.localPort == nil {
                if let old = existing.localPort { try? events.close(old) }
                existing.localPort = nil
                let signal = existing.signal
                do {
                    existing.localPort = try events.bindInterdomain(remoteDomain: domain, remotePort: request.port) { _ in
                        signal.signal()
                    }
                    existing.remotePort = request.port
                } catch {
                    effects.attachFailures[domain] = .bind(domain, request.port, error)
                }
            }
            existing.link.reset(existing.ring)
            existing.mapping.noteWrite(offset: 0, length: XenStoreRingLayout.size)
            s.attachments[domain] = existing
            return
        }
        let mapping: GrantMapping
        do {
            mapping = try grants.map(domain: domain, ref: GrantTableLimits.xenstoreReference, readOnly: false)
        } catch {
            effects.attachFailures[domain] = .map(domain, error)
            s.server.ignoreConnection(request.connection)
            return
        }
        let signal = BackendSignal(queue: queue) { [weak self] in self?.service(domain) }
        let local: EventChannelPort
        do {
            local = try events.bindInterdomain(remoteDomain: domain, remotePort: request.port) { _ in signal.signal() }
        } catch {
            try? grants.unmap(mapping)
            effects.attachFailures[domain] = .bind(domain, request.port, error)
            s.server.ignoreConnection(request.connection)
            return
        }
        var link = XenStoreRingConnection(connection: request.connection, domain: domain)
        let ring = XenStoreRingInterface(mapping.page)
        link.reset(ring)
        mapping.noteWrite(offset: 0, length: XenStoreRingLayout.size)
        s.attachments[domain] = Attachment(
            domain: domain, connection: request.connection, link: link, mapping: mapping, localPort: local,
            remotePort: request.port, signal: signal)
        s.domainOfConnection[request.connection] = domain
        // Requests the guest queued before the attachment are served on the first pass.
        effects.signals.append(signal)
    }

    /// Forgets `domain`'s ring; its port and page are released after the lock.
    func detach(_ domain: DomainID, in s: inout State, _ effects: inout Effects) {
        guard let a = s.attachments.removeValue(forKey: domain) else { return }
        s.domainOfConnection[a.connection] = nil
        effects.disconnect.append((a.mapping, a.localPort))
    }

    /// The effects collected under the lock: ports closed and pages unmapped first (no
    /// pass can reach them any more), then notifications, logs, local deliveries, mailbox
    /// wake-ups, passes.
    func perform(_ effects: Effects) {
        for (mapping, port) in effects.disconnect {
            if let port { try? events.close(port) }
            try? grants.unmap(mapping)
        }
        for port in effects.notify { try? events.notify(port) }
        for text in effects.logs { log(text) }
        if let localDelivery {
            for action in effects.local { localDelivery(action) }
        }
        for mailbox in effects.wakes { mailbox.wake() }
        for signal in effects.signals { signal.signal() }
    }
}
