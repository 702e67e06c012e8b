/// A Xen errno as a guest sees it: handlers throw it, the hypercall returns `-rawValue` in
/// rax. Values are Xen's own (`public/errno.h`), not the host's.
public enum XenError: Int64, Error, Sendable, CaseIterable {
    case EPERM = 1
    case ENOENT = 2
    case ESRCH = 3
    case EINTR = 4
    case EIO = 5
    case ENXIO = 6
    case E2BIG = 7
    case ENOEXEC = 8
    case EBADF = 9
    case ECHILD = 10
    case EAGAIN = 11
    case ENOMEM = 12
    case EACCES = 13
    case EFAULT = 14
    case EBUSY = 16
    case EEXIST = 17
    case EXDEV = 18
    case ENODEV = 19
    case ENOTDIR = 20
    case EISDIR = 21
    case EINVAL = 22
    case ENFILE = 23
    case EMFILE = 24
    case ENOSPC = 28
    case EROFS = 30
    case EMLINK = 31
    case EDOM = 33
    case ERANGE = 34
    case EDEADLK = 35
    case ENAMETOOLONG = 36
    case ENOLCK = 37
    case ENOSYS = 38
    case ENOTEMPTY = 39
    case ENODATA = 61
    case ETIME = 62
    case EBADMSG = 74
    case EOVERFLOW = 75
    case EILSEQ = 84
    case ENOTSOCK = 88
    case EMSGSIZE = 90
    case EOPNOTSUPP = 95
    case EADDRINUSE = 98
    case EADDRNOTAVAIL = 99
    case ENOBUFS = 105
    case EISCONN = 106
    case ENOTCONN = 107
    case ETIMEDOUT = 110
    case ECONNREFUSED = 111

    /// The value a hypercall leaves in rax: the negated errno as a 64-bit two's complement.
    public var returnValue: UInt64 { UInt64(bitPattern: -rawValue) }
}
