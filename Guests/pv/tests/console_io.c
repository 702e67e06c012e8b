/* console_io: hostile arguments to HYPERVISOR_console_io (xen/drivers/char/console.c,
   do_console_io / guest_console_write):
   - cmd and count are `unsigned int`: the upper halves of rdi/rsi are ignored;
   - CONSOLEIO_write copies the buffer in chunks of up to 127 bytes with copy_from_guest
     and fails the whole call with -EFAULT at the first chunk it cannot read, so a 2 GiB
     count over a small buffer ending at an unmapped page is -EFAULT, not a crash;
   - count 0 writes nothing and succeeds, whatever the pointer;
   - CONSOLEIO_read with count > INT_MAX is -E2BIG; an unknown cmd is -ENOSYS.
   Real Xen refuses console_io to a domU unless built with CONFIG_VERBOSE_DEBUG
   (xsm_console_io): then the whole test is a SKIP. Even then only CONSOLEIO_write is
   allowed, so read and unknown commands may also be -EPERM (the XSM check comes first). */
#include "ktf.h"

const char test_title[] = "console_io: hostile counts, pointers and commands";

/* Two adjacent pages; the second is unmapped so the first ends at a hole. */
static char pages[2][4096] __page_aligned_bss;

static long cio(unsigned long cmd, unsigned long count, const void *buf) {
    return _hypercall3(__HYPERVISOR_console_io, cmd, count, buf);
}

void test_main(void) {
    /* The kit's own output already went through console_io; -EPERM switched it to the
       PV console ring. */
    if (console_use_ring) {
        xtf_skip("Skip: console_io is not permitted for this domU (-EPERM)\n");
        return;
    }

    static const char hello[] = "console_io: a plain write\n";
    check_rc("plain write", cio(CONSOLEIO_write, sizeof(hello) - 1, hello), 0);

    check_rc("count 0, valid buffer", cio(CONSOLEIO_write, 0, hello), 0);
    check_rc("count 0, NULL buffer", cio(CONSOLEIO_write, 0, NULL), 0);
    check_rc("count 0, non-canonical buffer", cio(CONSOLEIO_write, 0, (void *)0x8000000000000000UL), 0);

    /* Several 127-byte chunks. */
    static char long_line[400];
    memset(long_line, '=', sizeof(long_line));
    memcpy(long_line, "console_io: a 400-byte line ", 28);
    long_line[sizeof(long_line) - 1] = '\n';
    check_rc("400-byte write", cio(CONSOLEIO_write, sizeof(long_line), long_line), 0);

    /* Upper halves of the 32-bit arguments are not part of the value. */
    static const char trunc[] = "console_io: count 0x100000000+37 is 37\n";
    check_rc("count with bit 32 set", cio(CONSOLEIO_write, (1UL << 32) | (sizeof(trunc) - 1), trunc), 0);
    static const char trunc2[] = "console_io: cmd 0x100000000 is CONSOLEIO_write\n";
    check_rc("cmd with bit 32 set", cio((1UL << 32) | CONSOLEIO_write, sizeof(trunc2) - 1, trunc2), 0);

    /* Pointers Xen may not read. */
    check_rc("write from an unmapped buffer", cio(CONSOLEIO_write, 5, (void *)0x00007ff000000000UL), -XEN_EFAULT);
    check_rc("write from a non-canonical buffer", cio(CONSOLEIO_write, 5, (void *)0x8000000000000000UL), -XEN_EFAULT);
    check_rc("write from Xen's area", cio(CONSOLEIO_write, 5, (void *)HYPERVISOR_VIRT_START), -XEN_EFAULT);
    check_rc("write from the top of the address space", cio(CONSOLEIO_write, 16, (void *)0xfffffffffffffff8UL), -XEN_EFAULT);

    /* A small valid buffer at the end of a page followed by an unmapped page. */
    long rc = hypercall_update_va_mapping((unsigned long)pages[1], 0, UVMF_INVLPG);
    if (rc) {
        xtf_error("Error: cannot unmap a page: %s\n", xen_errno_name(rc));
    } else {
        check_ex("reading the unmapped page", probe_read(pages[1]), EXINFO_SYM(PF, 0));
        char *tail = &pages[0][4096 - 5];
        memcpy(tail, "tail\n", 5);
        check_rc("5 bytes right before the hole", cio(CONSOLEIO_write, 5, tail), 0);
        check_rc("2 GiB count over a 5-byte buffer", cio(CONSOLEIO_write, 0x80000000UL, tail), -XEN_EFAULT);
        check_rc("4 GiB - 1 count over a 5-byte buffer", cio(CONSOLEIO_write, 0xffffffffUL, tail), -XEN_EFAULT);
        check_rc("a write straddling into the hole", cio(CONSOLEIO_write, 64, tail), -XEN_EFAULT);

        uint64_t pte = ((uint64_t)virt_to_mfn(pages[1]) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW |
                       _PAGE_ACCESSED | _PAGE_DIRTY;
        check_rc("remap the page", hypercall_update_va_mapping((unsigned long)pages[1], pte, UVMF_INVLPG), 0);
    }

    /* CONSOLEIO_read: the result is a count, so count must fit in an int. */
    char in[16];
    rc = cio(CONSOLEIO_read, sizeof(in), in);
    check((rc >= 0 && rc <= (long)sizeof(in)) || rc == -XEN_EPERM,
          "CONSOLEIO_read of 16 bytes returned %ld", rc);
    check_rc2("CONSOLEIO_read with count 0", cio(CONSOLEIO_read, 0, in), 0, -XEN_EPERM);
    check_rc2("CONSOLEIO_read with count > INT_MAX", cio(CONSOLEIO_read, 0x80000000UL, in),
              -XEN_E2BIG, -XEN_EPERM);

    check_rc2("unknown cmd 2", cio(2, 5, "junk\n"), -XEN_ENOSYS, -XEN_EPERM);
    check_rc2("unknown cmd 0xffffffff", cio(0xffffffffUL, 5, "junk\n"), -XEN_ENOSYS, -XEN_EPERM);

    static const char alive[] = "console_io: still alive\n";
    check_rc("write after the hostile calls", cio(CONSOLEIO_write, sizeof(alive) - 1, alive), 0);
}
