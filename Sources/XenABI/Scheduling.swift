/// Xen: SCHEDOP_* (public/sched.h)
public enum SchedOp: UInt64, Sendable {
    case yield = 0
    case block = 1
    case shutdown = 2
    case poll = 3
    case remoteShutdown = 4
    case shutdownCode = 5
    case watchdog = 6
    case pinOverride = 7
}

/// Xen: CONSOLEIO_* (public/xen.h)
public enum ConsoleIO {
    public static let write: UInt64 = 0
    public static let read: UInt64 = 1
}

/// Xen: XENVER_* (public/version.h)
public enum XenVersionOp: UInt64, Sendable {
    case version = 0
    case extraversion = 1
    case compileInfo = 2
    case capabilities = 3
    case changeset = 4
    case platformParameters = 5
    case getFeatures = 6
    case pagesize = 7
    case guestHandle = 8
    case commandline = 9
    case buildID = 10
}
