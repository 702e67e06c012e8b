/* Kite's demo guest: prints a banner, runs a few small computations whose answers are
   known, prints them and exits with 0 when every answer is right. It exercises the engine
   the way ordinary compiled C does: loops, calls, recursion, arrays, 64-bit multiply and
   divide, shifts, string instructions, CPUID and port I/O. */
#include "kite.h"

static int failures;

static void check(const char *what, uint64_t got, uint64_t want) {
    put_kv(what, got);
    if (got != want) {
        puts("  MISMATCH, expected ");
        put_u64(want);
        putchar('\n');
        failures++;
    }
}

static void banner(void) {
    uint32_t regs[12];
    char vendor[13];
    uint32_t a, b, c, d;
    cpuid(0, &a, &b, &c, &d);
    memcpy(vendor + 0, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = 0;
    for (uint32_t i = 0; i < 3; i++)
        cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    puts("Kite bare-metal demo guest\n");
    puts("cpu: ");
    puts(vendor);
    puts(" / ");
    puts((const char *)regs); /* 48 bytes, NUL-padded by the CPU */
    putchar('\n');
}

/* Sieve of Eratosthenes: the count of primes below `limit`. */
#define SIEVE_LIMIT 10000
static uint8_t composite[SIEVE_LIMIT];

static uint64_t sieve_count(void) {
    uint64_t count = 0;
    for (uint64_t i = 2; i < SIEVE_LIMIT; i++) {
        if (composite[i]) continue;
        count++;
        for (uint64_t j = i * i; j < SIEVE_LIMIT; j += i) composite[j] = 1;
    }
    return count;
}

/* The same count by trial division: divides a lot, so it exercises DIV. */
static uint64_t trial_division_count(uint64_t limit) {
    uint64_t count = 0;
    for (uint64_t n = 2; n < limit; n++) {
        int prime = 1;
        for (uint64_t d = 2; d * d <= n; d++)
            if (n % d == 0) { prime = 0; break; }
        count += prime;
    }
    return count;
}

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it) with a 256-entry table. */
static uint32_t crc_table[256];

static void crc32_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--) c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint64_t fib_iterative(int n) {
    uint64_t a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

/* Deliberately exponential: about 250,000 calls for n = 25. */
static __attribute__((noinline)) uint64_t fib_recursive(int n) {
    return n < 2 ? (uint64_t)n : fib_recursive(n - 1) + fib_recursive(n - 2);
}

/* xorshift64: a reproducible stream of pseudo-random numbers. */
static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

#define SORT_COUNT 2000
static uint64_t values[SORT_COUNT];

static void quicksort(uint64_t *v, int64_t lo, int64_t hi) {
    while (lo < hi) {
        uint64_t pivot = v[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                uint64_t t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        /* Recurse into the smaller half to bound the stack. */
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
}

/* Sorts pseudo-random numbers; returns 1 when the result is ordered and a permutation
   (same sum and xor) of the input. */
static uint64_t sort_check(void) {
    uint64_t seed = 0x9E3779B97F4A7C15ull, sum = 0, x = 0;
    for (int i = 0; i < SORT_COUNT; i++) {
        values[i] = xorshift(&seed) % 1000000;
        sum += values[i];
        x ^= values[i];
    }
    quicksort(values, 0, SORT_COUNT - 1);
    uint64_t sum2 = 0, x2 = 0, ordered = 1;
    for (int i = 0; i < SORT_COUNT; i++) {
        sum2 += values[i];
        x2 ^= values[i];
        if (i > 0 && values[i - 1] > values[i]) ordered = 0;
    }
    return ordered && sum == sum2 && x == x2;
}

/* Greatest common divisor summed over a grid: many 64-bit divisions. */
static uint64_t gcd_sum(void) {
    uint64_t total = 0;
    for (uint64_t a = 1; a <= 60; a++)
        for (uint64_t b = 1; b <= 60; b++) {
            uint64_t x = a * 1000003, y = b * 999983;
            while (y) {
                uint64_t t = x % y;
                x = y;
                y = t;
            }
            total += x;
        }
    return total;
}

int kmain(uint64_t memory_bytes) {
    banner();
    put_kv("memory (MiB)", memory_bytes >> 20);

    check("primes below 10000 (sieve)", sieve_count(), 1229);
    check("primes below 10000 (trial division)", trial_division_count(10000), 1229);

    crc32_init();
    static const char check_string[] = "123456789";
    uint32_t crc = crc32((const uint8_t *)check_string, 9);
    puts("crc32(\"123456789\"): ");
    put_hex(crc, 8);
    putchar('\n');
    if (crc != 0xCBF43926u) { puts("  MISMATCH, expected 0xcbf43926\n"); failures++; }

    check("fib(90)", fib_iterative(90), 2880067194370816120ull);
    check("fib(25), recursively", fib_recursive(25), 75025);
    check("sorted 2000 numbers correctly", sort_check(), 1);
    check("sum of gcd(a*1000003, b*999983), a,b in 1...60", gcd_sum(), 10160);

    return kite_report(failures);
}
