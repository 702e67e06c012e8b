/* hello: the smallest PV kernel. Prints a banner and the start_info page the domain
   builder handed over in rsi (public/xen.h struct start_info, xen-abi.md §2.1, §2.5) and
   checks the basics. Runs with the minimal setup: console and shutdown only. */
#include "ktf.h"

const char test_title[] = "hello: banner and start_info";
const bool test_minimal_setup = true;

/* The loader must zero bss (p_memsz > p_filesz, xen-abi.md §1.5). */
static volatile uint8_t bss_canary[2 * 4096];

static void print_string_field(const char *name, const char *s, size_t max) {
    char buf[80];
    size_t n = strnlen(s, max);
    if (n > sizeof(buf) - 1) n = sizeof(buf) - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    printk("  %-14s \"%s\"%s\n", name, buf, strnlen(s, max) > n ? "..." : "");
}

/* The 64-bit PV hypercall page (xen-abi.md §2.8): slot i is
   push %rcx; push %r11; mov $i,%eax; syscall; pop %r11; pop %rcx; ret
   and slot 23 (iret) is push %rcx; push %r11; push %rax; mov $23,%eax; syscall. */
static void check_hypercall_page(void) {
    const uint8_t *page = (const uint8_t *)hypercall_page;
    unsigned int bad = 0;
    for (unsigned int i = 0; i < 128; i++) {
        const uint8_t *p = page + i * 32;
        uint8_t want[14];
        size_t n;
        if (i == __HYPERVISOR_iret) {
            const uint8_t w[] = { 0x51, 0x41, 0x53, 0x50, 0xb8, i, 0, 0, 0, 0x0f, 0x05 };
            memcpy(want, w, sizeof(w));
            n = sizeof(w);
        } else {
            const uint8_t w[] = { 0x51, 0x41, 0x53, 0xb8, i, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3 };
            memcpy(want, w, sizeof(w));
            n = sizeof(w);
        }
        if (memcmp(p, want, n) != 0) {
            if (bad++ < 4)
                xtf_failure("Fail: hypercall page slot %u: expected %02x %02x %02x %02x %02x, "
                            "got %02x %02x %02x %02x %02x\n",
                            i, want[0], want[1], want[2], want[3], want[4], p[0], p[1], p[2], p[3],
                            p[4]);
        }
    }
    if (bad) xtf_failure("Fail: %u of 128 hypercall page slots differ from Xen's stubs\n", bad);
}

void test_main(void) {
    const struct start_info *si = start_info;

    printk("Hello from a KiteXTF 64-bit PV kernel\n");
    printk("start_info at %p:\n", (const void *)si);
    print_string_field("magic", si->magic, sizeof(si->magic));
    printk("  %-14s %lu (%lu MiB)\n", "nr_pages", si->nr_pages, si->nr_pages >> 8);
    printk("  %-14s %#lx\n", "shared_info", si->shared_info);
    printk("  %-14s %#x\n", "flags", si->flags);
    printk("  %-14s %#lx\n", "store_mfn", si->store_mfn);
    printk("  %-14s %u\n", "store_evtchn", si->store_evtchn);
    printk("  %-14s %#lx\n", "console.mfn", si->console.domU.mfn);
    printk("  %-14s %u\n", "console.evtchn", si->console.domU.evtchn);
    printk("  %-14s %#lx\n", "pt_base", si->pt_base);
    printk("  %-14s %lu\n", "nr_pt_frames", si->nr_pt_frames);
    printk("  %-14s %#lx\n", "mfn_list", si->mfn_list);
    printk("  %-14s %#lx\n", "mod_start", si->mod_start);
    printk("  %-14s %lu\n", "mod_len", si->mod_len);
    print_string_field("cmd_line", (const char *)si->cmd_line, sizeof(si->cmd_line));
    printk("  %-14s %lu\n", "first_p2m_pfn", si->first_p2m_pfn);
    printk("  %-14s %lu\n", "nr_p2m_frames", si->nr_p2m_frames);

    /* The builder writes the guest type ("xen-3.0-x86_64" for a 64-bit ELF) as magic. */
    check(strnlen(si->magic, sizeof(si->magic)) < sizeof(si->magic),
          "start_info.magic is not NUL-terminated");
    check(strcmp(si->magic, "xen-3.0-x86_64") == 0,
          "start_info.magic: expected \"xen-3.0-x86_64\"");
    check(si->nr_pages > 0, "start_info.nr_pages is 0");
    check(((unsigned long)si & (PAGE_SIZE - 1)) == 0, "start_info %p is not page aligned",
          (const void *)si);
    check((unsigned long)si < (si->nr_pages << PAGE_SHIFT),
          "start_info %p lies outside the domain's %lu pages", (const void *)si, si->nr_pages);
    check(strnlen((const char *)si->cmd_line, sizeof(si->cmd_line)) < sizeof(si->cmd_line),
          "start_info.cmd_line is not NUL-terminated");
    check((si->flags & (SIF_PRIVILEGED | SIF_INITDOMAIN)) == 0,
          "a domU must not be privileged: flags %#x", si->flags);

    unsigned int nonzero = 0;
    for (size_t i = 0; i < sizeof(bss_canary); i++)
        if (bss_canary[i]) nonzero++;
    check(nonzero == 0, "%u bytes of .bss were not zeroed by the loader", nonzero);

    check_hypercall_page();
}
