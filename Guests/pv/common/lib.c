/* Freestanding string routines and a small vsnprintf: %d %i %u %x %X %p %s %c %%, with
   the length modifiers l / ll / z, a field width and the flags '0', '-' and '#'. */
#include "ktf.h"

#include <stdarg.h>

/* REP STOSB / REP MOVSB: one instruction for the whole run, which Kite's CPU (like
   current hardware) does in bulk; byte loops cost several interpreted instructions a byte. */
void *memset(void *dst, int c, size_t n) {
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        return memcpy(dst, src, n);
    } else {
        while (n--) d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

size_t strnlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n]) n++;
    return n;
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return (uint8_t)*a - (uint8_t)*b;
}

int strncmp(const char *a, const char *b, size_t n) {
    for (; n; n--, a++, b++) {
        if (*a != *b) return (uint8_t)*a - (uint8_t)*b;
        if (!*a) return 0;
    }
    return 0;
}

const char *strstr(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack; haystack++)
        if (strncmp(haystack, needle, n) == 0) return haystack;
    return n == 0 ? haystack : NULL;
}

/* ---- vsnprintf ---- */

struct outbuf {
    char *buf;
    size_t size;
    size_t len; /* characters produced, even past size */
};

static void out_char(struct outbuf *o, char c) {
    if (o->len + 1 < o->size) o->buf[o->len] = c;
    o->len++;
}

static void out_number(struct outbuf *o, uint64_t v, unsigned base, bool upper, bool negative,
                       int width, bool zero_pad, bool left, const char *prefix) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v != 0);
    int extra = (negative ? 1 : 0) + (int)strlen(prefix);
    int pad = width - n - extra;
    if (!left && !zero_pad)
        for (; pad > 0; pad--) out_char(o, ' ');
    if (negative) out_char(o, '-');
    for (const char *p = prefix; *p; p++) out_char(o, *p);
    if (!left && zero_pad)
        for (; pad > 0; pad--) out_char(o, '0');
    while (n) out_char(o, tmp[--n]);
    if (left)
        for (; pad > 0; pad--) out_char(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    struct outbuf o = { buf, size, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_char(&o, *fmt);
            continue;
        }
        fmt++;
        bool zero_pad = false, left = false, alt = false;
        for (;; fmt++) {
            if (*fmt == '0') zero_pad = true;
            else if (*fmt == '-') left = true;
            else if (*fmt == '#') alt = true;
            else break;
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l' || *fmt == 'z') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, long) : va_arg(ap, int);
            out_number(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false, v < 0, width,
                       zero_pad, left, "");
            break;
        }
        case 'u': {
            uint64_t v = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            out_number(&o, v, 10, false, false, width, zero_pad, left, "");
            break;
        }
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            out_number(&o, v, 16, *fmt == 'X', false, width, zero_pad, left, alt ? "0x" : "");
            break;
        }
        case 'p': {
            uint64_t v = (uint64_t)(uintptr_t)va_arg(ap, void *);
            out_number(&o, v, 16, false, false, width ? width : 18, true, false, "0x");
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            int n = (int)strlen(s);
            if (!left)
                for (int pad = width - n; pad > 0; pad--) out_char(&o, ' ');
            while (*s) out_char(&o, *s++);
            if (left)
                for (int pad = width - n; pad > 0; pad--) out_char(&o, ' ');
            break;
        }
        case 'c':
            out_char(&o, (char)va_arg(ap, int));
            break;
        case '%':
            out_char(&o, '%');
            break;
        case '\0':
            fmt--;
            break;
        default:
            out_char(&o, '%');
            out_char(&o, *fmt);
            break;
        }
    }
    if (size) buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void vprintk(const char *fmt, va_list ap) {
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n > (int)sizeof(buf) - 1) n = sizeof(buf) - 1;
    console_write(buf, (size_t)n);
}

void printk(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

const char *xen_errno_name(long rc) {
    switch (-rc) {
    case 0: return "0";
    case XEN_EPERM: return "-EPERM";
    case XEN_ENOENT: return "-ENOENT";
    case XEN_ESRCH: return "-ESRCH";
    case XEN_EINTR: return "-EINTR";
    case XEN_EIO: return "-EIO";
    case XEN_ENXIO: return "-ENXIO";
    case XEN_E2BIG: return "-E2BIG";
    case XEN_EBADF: return "-EBADF";
    case XEN_EAGAIN: return "-EAGAIN";
    case XEN_ENOMEM: return "-ENOMEM";
    case XEN_EACCES: return "-EACCES";
    case XEN_EFAULT: return "-EFAULT";
    case XEN_EBUSY: return "-EBUSY";
    case XEN_EEXIST: return "-EEXIST";
    case XEN_EXDEV: return "-EXDEV";
    case XEN_ENODEV: return "-ENODEV";
    case XEN_EINVAL: return "-EINVAL";
    case XEN_ENOSPC: return "-ENOSPC";
    case XEN_ERANGE: return "-ERANGE";
    case XEN_ENOSYS: return "-ENOSYS";
    case XEN_ENODATA: return "-ENODATA";
    case XEN_ETIME: return "-ETIME";
    case XEN_EOPNOTSUPP: return "-EOPNOTSUPP";
    default: return rc < 0 ? "-E?" : "+";
    }
}
