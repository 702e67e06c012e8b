// XenBackends: what dom0's daemons are to Xen — the split-driver backends and xenstored's
// host half — reaching guests only through XenControl (grant maps, event channels).
//
// Every backend folder holds the same kinds of files, so reading one teaches all:
//   <Name>RingLayout   the shared page as Xen's public header defines it (offsets, sizes).
//   <Name>Ring         hostile-safe access to a mapped page: indexes read once, checked,
//                      bytes copied out before use, barriers where Xen puts them.
//   <Name>Device       the device logic as a value type, independent of threads and of
//                      the hypervisor: service(ring) → what to do (notify, deliver, broke).
//   <Name>Backend      the host half: maps the grant, binds the event channel, runs the
//                      device on its own serial queue when the guest notifies, tears down.
//
// Pieces:
//   Common/    BackendSignal: coalesces a port's notifications into passes on a queue
//              (handlers run on the guest's vCPU thread and must not block).
//   Console/   the PV console (io/console.h): guest output to a sink through a bounded
//              buffer, keyboard input with flow control — xenconsoled's job.
//   XenStore/  XenStoreDaemon: one XenStoreServer behind a lock, guests' rings attached on
//              INTRODUCE (reserved grant GNTTAB_RESERVED_XENSTORE + the store port),
//              serviced on notification, replies and watch events routed between rings.
//
//   Xenbus/    XenStoreClient (in-process dom0 connection with watches and transactions)
//              and XenbusBackend: libxl's device layout and the backend state machine every
//              device room shares; devices implement XenbusBackendDevice.
//   Block/     blkback (io/blkif.h): raw, read-only and copy-on-write images, flush,
//              discard, indirect descriptors.
//   Net/       netback (io/netif.h) over grant copy, VirtualSwitch, UserNetwork (libslirp),
//              NetworkHub (a host's networks).
//   XenStore/  also the host tools' Unix socket (XenStoreSocketServer).
//
// Not yet: save/restore of backend state, GSO and multi-queue for net, persistent grants.
