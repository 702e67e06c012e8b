// XenStore: the xenstored logic of Kite, independent of threads, sockets and event channels.
//
// Pieces, bottom to top:
//   Wire/     XenStoreMessage (xsd_sockmsg + payload), XenStoreMessageAssembler (byte stream →
//             messages, refusing len > 4096).
//   Store/    paths, permissions, nodes, quotas, transactions: the data model.
//   Server/   XenStoreServer: `handle(message, from:) -> [XenStoreAction]` for every request
//             type, plus the host's lifecycle calls (domainCreated/Shutdown/Destroyed).
//   Ring/     XenStoreRingInterface (a guest's page, hostile-index safe), XenStoreOutbox,
//             XenStoreRingConnection and `XenStoreServer.service(_:ring:)`.
//   Toolstack/ a typed client API over the control connection and the libxl domain layout.
//
// Wiring a guest (what the owner does):
//   1. toolstack: `server.writeDomainLayout(layout)`, then INTRODUCE (wire request from dom0 or
//      `server.introduceDomain(domid, port:, frame:)`).
//   2. on `.attachDomain(a)`: map the guest's store page (grant GNTTAB_RESERVED_XENSTORE or the
//      frame), bind `a.port`, create `XenStoreRingConnection(connection: a.connection,
//      domain: a.domain)` and call `link.reset(ring)` (zeroes indexes, sets server_features,
//      answers XENSTORE_RECONNECT). For a re-introduction reuse the link and call `reset` again.
//   3. whenever the guest's store port fires: `let r = server.service(&link, ring: ring)`;
//      notify the port if `r.notifyGuest`; route `r.actions`: replies/events to the link or
//      socket of their connection (`link.deliver(action)` then `service` again to flush),
//      attach/detach to step 2/4, `.log` to the log.
//   4. on `.detachDomain`: unbind, unmap, drop the link.
//   The hypervisor side reports `domainCreated`, `domainShutdown` and `domainDestroyed`.
