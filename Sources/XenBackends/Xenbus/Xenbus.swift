// Xenbus/: the furniture split-device backends (vbd, vif, secondary consoles) stand on —
// what Linux's drivers/xen/xenbus is to blkback and netback, and libxl's device code is to
// the toolstack.
//
//   XenStoreClient          an in-process dom0 client of the XenStoreDaemon's store: read,
//                           write, mkdir, rm, directory, permissions, transactions (with an
//                           EAGAIN-retrying helper) and watches whose handlers run on the
//                           client's queue, never under the store's lock.
//   XenbusDeviceAddress     (guest, type, devid) → libxl's backend, frontend, libxl and
//                           error paths and permissions; XenbusDeviceKeys, XenbusKey.
//   XenbusLayout            writes / removes a device's directories as libxl does.
//   XenbusBackendMachine    the backend state machine as a value returning actions
//                           (blkback's frontend_changed; XenbusBackendPolicy for netback).
//   XenbusFrontend          checked reads of the frontend's keys (ring-ref, event-channel…).
//   XenbusBackendDevice     the protocol a concrete backend implements: connect / disconnect.
//   XenbusBackend           the host half tying them together on a serial queue.
//
// A backend in five lines (see Console/SecondaryConsole.swift for a complete one):
//
//   final class MyDevice: XenbusBackendDevice {
//       func connect(_ f: XenbusFrontend) throws(XenbusError) -> [XenbusKey] {
//           let ring = try f.grantReference("ring-ref")       // refuses junk: ENOENT/ERANGE
//           let port = try f.eventChannel("event-channel")
//           …map `ring` (GrantMapper), bind `port` (EventChannelAccess)…
//           return ["feature-x=1"]                             // written before Connected
//       }
//       func disconnect() { …unmap, unbind; idempotent… }
//   }
//   let client = XenStoreClient(daemon: store)                 // one can serve every backend
//   let vbd = XenbusBackend(address: XenbusDeviceAddress(frontend: domid, type: "vbd", devid: 51712),
//                           keys: XenbusDeviceKeys(backend: ["params=…", "mode=w"],
//                                                  frontend: ["virtual-device=51712", "device-type=disk"]),
//                           device: MyDevice(), client: client, policy: .blkback)
//   try vbd.start()          // layout written, backend InitWait, frontend watched
//   …the guest runs; connect/disconnect are called on vbd.queue as the frontend moves…
//   vbd.fail(XenbusError(.EIO, "ring broke"))                  // a fatal error found later
//   vbd.teardown()           // before the domain is destroyed: disconnect, directories gone
