import Synchronization
import XenABI

/// The backend's view of one netif shared ring page (`io/ring.h`'s back ring), accessed the
/// way a hostile guest requires: indexes are loaded once per use and checked by the caller
/// (`NetDevice`), every slot offset is masked into the page, requests are copied out
/// before they are looked at, and fences sit where ring.h puts its barriers.
///
/// The frontend runs on other threads. `requestProducer` is followed by a fence (rmb:
/// requests are read after the index); responses are written before `publishResponses`
/// publishes them (wmb), and the notification check follows a full fence (mb).
public struct NetRing: @unchecked Sendable {
    public enum Kind: Sendable { case transmit, receive }

    /// Start of the mapped, writable 4 KiB ring page.
    public let base: UnsafeMutableRawPointer
    public let kind: Kind

    public init(_ base: UnsafeMutableRawPointer, kind: Kind) {
        self.base = base
        self.kind = kind
    }

    /// Xen: RING_SIZE — 256 for both netif rings on one page.
    public var size: UInt32 {
        UInt32(kind == .transmit ? NetRingLayout.transmitRingSize : NetRingLayout.receiveRingSize)
    }

    private func load(_ offset: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    private func store(_ offset: Int, _ value: UInt32) { base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    /// Xen: sring->req_prod, read once then fenced so no slot is read before it.
    public func requestProducer() -> UInt32 {
        let value = load(NetRingLayout.requestProducerOffset)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return value
    }

    /// Xen: sring->rsp_prod
    public var responseProducer: UInt32 { load(NetRingLayout.responseProducerOffset) }
    /// Xen: sring->req_event
    public var requestEvent: UInt32 { load(NetRingLayout.requestEventOffset) }

    /// The slot holding index `index` (masked).
    func slot(_ index: UInt32) -> UnsafeMutableRawPointer {
        base + (kind == .transmit ? NetRingLayout.transmitSlotOffset(index) : NetRingLayout.receiveSlotOffset(index))
    }

    /// Copies the transmit request at `index`. Xen: RING_COPY_REQUEST
    public func transmitRequest(_ index: UInt32) -> NetTransmitRequest { NetTransmitRequest(loadingFrom: slot(index)) }
    /// Copies the extra-info slot at `index` (either ring).
    public func extraInfo(_ index: UInt32) -> NetExtraInfo { NetExtraInfo(loadingFrom: slot(index)) }
    /// Copies the receive request at `index`.
    public func receiveRequest(_ index: UInt32) -> NetReceiveRequest { NetReceiveRequest(loadingFrom: slot(index)) }

    /// Writes a response into slot `index` (not yet visible: see `publishResponses`).
    public func setTransmitResponse(_ index: UInt32, _ response: NetTransmitResponse) { response.store(to: slot(index)) }
    public func setReceiveResponse(_ index: UInt32, _ response: NetReceiveResponse) { response.store(to: slot(index)) }
    public func setExtraInfo(_ index: UInt32, _ extra: NetExtraInfo) { extra.store(to: slot(index)) }

    /// Makes responses up to `producer` visible and says whether the frontend asked to be
    /// notified of them. Xen: RING_PUSH_RESPONSES_AND_CHECK_NOTIFY — `(new − rsp_event) <
    /// (new − old)`, unsigned.
    public func publishResponses(_ producer: UInt32) -> Bool {
        let old = responseProducer
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        store(NetRingLayout.responseProducerOffset, producer)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let event = load(NetRingLayout.responseEventOffset)
        return producer &- event < producer &- old
    }

    /// Asks to be notified when req_prod passes `index`. Xen: sring->req_event = index.
    public func setRequestEvent(_ index: UInt32) {
        store(NetRingLayout.requestEventOffset, index)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Re-arms the request notification after a pass that found no more work and says
    /// whether requests arrived meanwhile. Xen: RING_FINAL_CHECK_FOR_REQUESTS.
    public func finalCheckForRequests(consumer: UInt32) -> Bool {
        if requestProducer() != consumer { return true }
        setRequestEvent(consumer &+ 1)
        return requestProducer() != consumer
    }
}
