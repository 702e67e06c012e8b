/* Console, exit and the few libc routines a freestanding guest needs. */
#include "kite.h"

void putchar(char c) { outb(KITE_PORT_CONSOLE, (uint8_t)c); }

void puts(const char *s) {
    while (*s) putchar(*s++);
}

void put_u64(uint64_t v) {
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    puts(&buf[i]);
}

void put_hex(uint64_t v, int digits) {
    static const char hex[] = "0123456789abcdef";
    puts("0x");
    for (int i = digits - 1; i >= 0; i--) putchar(hex[(v >> (4 * i)) & 15]);
}

void put_kv(const char *key, uint64_t v) {
    puts(key);
    puts(": ");
    put_u64(v);
    putchar('\n');
}

void kite_exit(uint32_t code) {
    outl(KITE_PORT_EXIT, code);
    for (;;) __asm__ volatile("hlt");
}

int kite_report(int failures) {
    puts(failures == 0 ? "Test result: SUCCESS\n" : "Test result: FAILURE\n");
    return failures == 0 ? 0 : 1;
}

void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) *d++ = *s++;
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
