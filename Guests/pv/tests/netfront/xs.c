/* The netfront's xenstore calls, on the kit's client (common/xenstore.c): errors as
   -errno, numbers parsed, a node awaited. */
#include "netfront.h"

/* One request outside transactions; returns the reply's payload length (in xs_reply), or
   -errno (XS_ERROR names mapped). */
static long talk(uint32_t type, const char *a, size_t alen, const char *b, size_t blen) {
    long type_or_failure = xs_request(0, type, a, alen, b, blen);
    if (type_or_failure < 0) return -XEN_EIO;
    if (type_or_failure == XS_ERROR) {
        if (strcmp(xs_reply, "ENOENT") == 0) return -XEN_ENOENT;
        if (strcmp(xs_reply, "EACCES") == 0) return -XEN_EACCES;
        return -XEN_EINVAL;
    }
    return (long)xs_reply_hdr.len;
}

long xs_read(const char *path, char *out, size_t size) {
    long n = talk(XS_READ, path, strlen(path) + 1, NULL, 0);
    if (n < 0) return n;
    size_t copy = (size_t)n < size - 1 ? (size_t)n : size - 1;
    memcpy(out, xs_reply, copy);
    out[copy] = '\0';
    return n;
}

long xs_write(const char *path, const char *value) {
    long n = talk(XS_WRITE, path, strlen(path) + 1, value, strlen(value));
    return n < 0 ? n : 0;
}

bool xs_read_ulong(const char *path, unsigned long *out) {
    char buf[32];
    if (xs_read(path, buf, sizeof(buf)) <= 0) return false;
    unsigned long v = 0;
    for (const char *p = buf; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    *out = v;
    return true;
}

bool xs_wait_value(const char *path, unsigned long want, uint64_t timeout_ns) {
    uint64_t deadline = xen_system_time() + timeout_ns;
    unsigned long v;
    do {
        if (xs_read_ulong(path, &v) && v == want) return true;
        hypercall_yield();
    } while (xen_system_time() < deadline);
    return false;
}
