/* The freestanding runtime of Kite's bare-metal guests: port I/O, console output, exit.
   Guests are built with -mgeneral-regs-only: no floating point. */
#ifndef KITE_H
#define KITE_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef long int64_t;
typedef unsigned long size_t;

#define KITE_PORT_CONSOLE 0xE9
#define KITE_PORT_EXIT 0xF4

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

void putchar(char c);
void puts(const char *s);                 /* no newline added */
void put_u64(uint64_t v);                 /* decimal */
void put_hex(uint64_t v, int digits);     /* 0x-prefixed, zero-padded */
void put_kv(const char *key, uint64_t v); /* "key: v\n" */
__attribute__((noreturn)) void kite_exit(uint32_t code);

/* The compiler may emit calls to these for loops and struct copies. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Xen Test Framework style verdict: prints "Test result: SUCCESS" or "FAILURE". */
int kite_report(int failures);

#endif
