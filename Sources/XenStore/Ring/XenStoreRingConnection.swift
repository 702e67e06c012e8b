import XenABI

/// The transport state of one guest's store ring: the partly received request, the queued
/// output, and whether the stream is broken. Pair it with the `XenStoreRingInterface` of the
/// guest's page and call `XenStoreServer.service(_:ring:)` whenever the guest's store event
/// channel fires (and after routing actions to it from other connections).
///
/// States: serving → broken (oversized message or bad ring index; the page's `error` field
/// says which, the server ignores the connection from then on). `reset` (re-INTRODUCE)
/// empties the queues but, as in xenstored, does not revive a broken connection.
public struct XenStoreRingConnection: Sendable {
    public let connection: XenStoreConnectionID
    public let domain: DomainID
    public private(set) var outbox = XenStoreOutbox()
    private var assembler = XenStoreMessageAssembler()
    public private(set) var failure: XenStoreStreamError?
    /// Requests read while this many replies wait are deferred (unprivileged guests only).
    public var outstandingLimit: Int

    public init(connection: XenStoreConnectionID, domain: DomainID,
                outstandingLimit: Int = XenStoreQuotas().outstandingRequests) {
        self.connection = connection
        self.domain = domain
        self.outstandingLimit = outstandingLimit
    }

    public var isBroken: Bool { failure != nil }

    /// Queues a reply or event addressed to this connection.
    public mutating func deliver(_ action: XenStoreAction) {
        guard failure == nil, action.connection == connection else { return }
        outbox.enqueue(action)
    }

    /// Reads ring bytes until one request is complete. Returns nil when no complete request
    /// is available, the outstanding-reply limit is reached, or the stream broke (`failure`).
    /// Xen `handle_input` gated by `domain_can_read`. `consumed` reports whether bytes were
    /// taken (the guest may then be notified).
    public mutating func nextRequest(from ring: XenStoreRingInterface, consumed: inout Bool) -> XenStoreMessage? {
        guard failure == nil else { return nil }
        if domain != .controlDomain && outbox.pendingReplies >= outstandingLimit { return nil }
        while true {
            let wanted = assembler.bytesWanted
            guard wanted > 0 else { return nil }
            let bytes: [UInt8]
            switch ring.readRequests(maximum: wanted) {
            case .failure(let error):
                fail(error, ring)
                return nil
            case .success(let read):
                bytes = read
            }
            guard !bytes.isEmpty else { return nil }
            consumed = true
            do throws(XenStoreStreamError) {
                if let message = try assembler.append(bytes) { return message }
            } catch {
                fail(error, ring)
                return nil
            }
        }
    }

    /// Writes queued output into the response ring as far as it fits. Returns whether any
    /// byte was written (notify the guest). Xen `handle_output`.
    public mutating func flush(to ring: XenStoreRingInterface) -> Bool {
        guard failure == nil else { return false }
        var broken: XenStoreStreamError?
        let written = outbox.drain { bytes in
            switch ring.writeResponses(bytes) {
            case .success(let count): return count
            case .failure(let error):
                broken = error
                return 0
            }
        }
        if let broken { fail(broken, ring) }
        return written > 0
    }

    /// Empties queues and the partial request and zeroes the page's indexes (INTRODUCE of an
    /// already introduced domain, or first attachment).
    public mutating func reset(_ ring: XenStoreRingInterface, features: UInt32 = XenStoreServerFeature.error) {
        outbox.removeAll()
        assembler.reset()
        ring.attach(features: features)
        if let failure { ring.markBroken(failure.ringErrorCode) }
    }

    private mutating func fail(_ error: XenStoreStreamError, _ ring: XenStoreRingInterface) {
        failure = error
        outbox.removeAll()
        ring.markBroken(error.ringErrorCode)
    }
}

/// What one service pass did.
public struct XenStoreRingServiceResult: Sendable {
    /// Effects for other connections and the owner (events to route, domains to attach…).
    public var actions: [XenStoreAction] = []
    /// Bytes were consumed or produced: send an event on the guest's store port.
    public var notifyGuest = false
    /// The stream broke during this pass; the server already ignores the connection.
    public var failure: XenStoreStreamError?
    /// Stopped at `maximumRequests` with input left: service the ring again soon.
    public var morePending = false
}

extension XenStoreServer {
    /// Serves one guest ring: writes pending output, then handles complete requests one at a
    /// time (re-checking the outstanding limit after each), queueing what is addressed to this
    /// connection and returning the rest. At most `maximumRequests` are handled per call so a
    /// guest that keeps producing cannot starve the others.
    public mutating func service(_ link: inout XenStoreRingConnection, ring: XenStoreRingInterface,
                                 maximumRequests: Int = 64) -> XenStoreRingServiceResult {
        var result = XenStoreRingServiceResult()
        if let failure = link.failure {
            // Broken by a flush outside `service`: make sure the server stops serving it too.
            if isServing(link.connection) {
                ignoreConnection(link.connection)
                result.failure = failure
            }
            return result
        }
        guard isServing(link.connection) else { return result }
        if link.flush(to: ring) { result.notifyGuest = true }
        var consumed = false
        var handled = 0
        while handled < maximumRequests, let request = link.nextRequest(from: ring, consumed: &consumed) {
            handled += 1
            for action in handle(request, from: link.connection) {
                if action.connection == link.connection {
                    link.deliver(action)
                } else {
                    result.actions.append(action)
                }
            }
            if link.flush(to: ring) { result.notifyGuest = true }
            // A request may have released this very domain.
            guard isServing(link.connection) else { break }
        }
        if consumed { result.notifyGuest = true }
        if handled == maximumRequests, isServing(link.connection), ring.pendingRequestBytes > 0 {
            result.morePending = true
        }
        if let failure = link.failure {
            ignoreConnection(link.connection)
            result.failure = failure
        }
        return result
    }
}
