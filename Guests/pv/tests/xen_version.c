/* xen_version: every XENVER_* sub-op a domU may use (public/version.h), checked against
   do_xen_version in xen/common/kernel.c and the XSM dummy policy (xsm_xen_version):
   - version returns major << 16 | minor and ignores its argument;
   - string sub-ops copy exactly their fixed-size, zero-padded buffer;
   - platform_parameters gives HYPERVISOR_VIRT_START (0xffff800000000000);
   - get_features submap 0 has the PV bits, any other submap is -EINVAL;
   - pagesize with a NULL argument is 4096, with a non-NULL one -EINVAL;
   - commandline is XSM_PRIV: a domU gets the "<denied>" string (9 bytes copied);
   - an unknown sub-op is -ENOSYS; unwritable/unmapped/non-canonical buffers -EFAULT. */
#include "ktf.h"

const char test_title[] = "xen_version: all sub-ops, unknown and bad pointers";

#define CANARY 0xa5

/* A buffer for a sub-op's output followed by canary bytes that must stay untouched. */
static uint8_t buf[1024 + 64] __aligned(16);

static void fill(void) { memset(buf, CANARY, sizeof(buf)); }

static unsigned int canary_damage(size_t from) {
    unsigned int n = 0;
    for (size_t i = from; i < sizeof(buf); i++)
        if (buf[i] != CANARY) n++;
    return n;
}

/* A fixed-size string field: NUL-terminated inside, zero-padded after the NUL. */
static void check_string_field(const char *name, const char *s, size_t size) {
    size_t n = strnlen(s, size);
    if (!check(n < size, "%s: not NUL-terminated within %zu bytes", name, size)) return;
    unsigned int junk = 0;
    for (size_t i = n; i < size; i++)
        if (s[i] != 0) junk++;
    check(junk == 0, "%s: %u non-zero bytes after the terminator (Xen zero-pads)", name, junk);
}

static bool has_token(const char *list, const char *token) {
    size_t n = strlen(token);
    for (const char *p = list; (p = strstr(p, token)) != NULL; p++) {
        bool start = p == list || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ';
        if (start && end) return true;
    }
    return false;
}

static void test_version(void) {
    long v = hypercall_xen_version(XENVER_version, NULL);
    printk("XENVER_version: %ld.%ld\n", v >> 16, v & 0xffff);
    check(v > 0, "XENVER_version returned %ld", v);
    check((v >> 16) >= 3, "XENVER_version major %ld < 3 (the guest ABI is xen-3.0)", v >> 16);
    /* The argument is ignored: a junk pointer must not matter. */
    check_eq("XENVER_version with a junk pointer", hypercall_xen_version(XENVER_version, (void *)0xdeadbeef), v);
}

static void test_strings(void) {
    long rc;

    fill();
    rc = hypercall_xen_version(XENVER_extraversion, buf);
    check_rc("XENVER_extraversion", rc, 0);
    check_string_field("extraversion", (char *)buf, 16);
    check_eq("extraversion: bytes written past 16", canary_damage(16), 0);
    printk("extraversion: \"%s\"\n", (char *)buf);

    fill();
    rc = hypercall_xen_version(XENVER_compile_info, buf);
    check_rc("XENVER_compile_info", rc, 0);
    struct xen_compile_info *ci = (struct xen_compile_info *)buf;
    check_string_field("compile_info.compiler", ci->compiler, sizeof(ci->compiler));
    check_string_field("compile_info.compile_by", ci->compile_by, sizeof(ci->compile_by));
    check_string_field("compile_info.compile_domain", ci->compile_domain, sizeof(ci->compile_domain));
    check_string_field("compile_info.compile_date", ci->compile_date, sizeof(ci->compile_date));
    check_eq("compile_info: bytes written past 144", canary_damage(sizeof(*ci)), 0);
    printk("compile_info: \"%s\" by \"%s\" @ \"%s\" on \"%s\"\n", ci->compiler, ci->compile_by,
           ci->compile_domain, ci->compile_date);

    fill();
    rc = hypercall_xen_version(XENVER_capabilities, buf);
    check_rc("XENVER_capabilities", rc, 0);
    check_string_field("capabilities", (char *)buf, 1024);
    check_eq("capabilities: bytes written past 1024", canary_damage(1024), 0);
    printk("capabilities: \"%s\"\n", (char *)buf);
    check(has_token((char *)buf, "xen-3.0-x86_64"),
          "capabilities \"%s\" lacks the token xen-3.0-x86_64", (char *)buf);

    fill();
    rc = hypercall_xen_version(XENVER_changeset, buf);
    check_rc("XENVER_changeset", rc, 0);
    check_string_field("changeset", (char *)buf, 64);
    check_eq("changeset: bytes written past 64", canary_damage(64), 0);
    printk("changeset: \"%s\"\n", (char *)buf);

    /* XSM_PRIV for a domU: do_xen_version copies xen_deny() = "<denied>" and its NUL. */
    fill();
    rc = hypercall_xen_version(XENVER_commandline, buf);
    check_rc("XENVER_commandline", rc, 0);
    if (check(strnlen((char *)buf, 1024) < 1024, "commandline: not NUL-terminated")) {
        printk("commandline: \"%s\"\n", (char *)buf);
        check(strcmp((char *)buf, "<denied>") == 0,
              "commandline: a domU must get \"<denied>\", got \"%s\"", (char *)buf);
        check_eq("commandline: bytes written past \"<denied>\"", canary_damage(9), 0);
    }
}

static void test_platform_and_features(void) {
    long rc;

    fill();
    rc = hypercall_xen_version(XENVER_platform_parameters, buf);
    check_rc("XENVER_platform_parameters", rc, 0);
    struct xen_platform_parameters *pp = (struct xen_platform_parameters *)buf;
    check_eq("platform_parameters.virt_start", pp->virt_start, HYPERVISOR_VIRT_START);
    check_eq("platform_parameters: bytes written past 8", canary_damage(8), 0);

    struct xen_feature_info fi = { .submap_idx = 0, .submap = 0xdeadbeef };
    rc = hypercall_xen_version(XENVER_get_features, &fi);
    check_rc("XENVER_get_features(0)", rc, 0);
    check_eq("get_features: submap_idx preserved", fi.submap_idx, 0);
    printk("features submap 0: %#x\n", fi.submap);
    /* kernel.c: every PV domain gets preserve_ad, highmem_assist, gnttab_map_avail_bits
       and memory_op_vnode_supported (13); a non-translated domU never gets
       writable_page_tables, auto_translated_physmap, the HVM bits or dom0. */
    const uint32_t must = (1u << XENFEAT_mmu_pt_update_preserve_ad) |
                          (1u << XENFEAT_highmem_assist) | (1u << XENFEAT_gnttab_map_avail_bits) |
                          (1u << 13);
    const uint32_t must_not = (1u << XENFEAT_writable_page_tables) |
                              (1u << XENFEAT_auto_translated_physmap) |
                              (1u << XENFEAT_supervisor_mode_kernel) |
                              (1u << XENFEAT_hvm_callback_vector) | (1u << 9) |
                              (1u << XENFEAT_dom0);
    check_eq("get_features: required PV bits", fi.submap & must, must);
    check_eq("get_features: forbidden bits for a PV domU", fi.submap & must_not, 0);

    fi.submap_idx = 1; /* XENFEAT_NR_SUBMAPS is 1 */
    check_rc("XENVER_get_features(1)", hypercall_xen_version(XENVER_get_features, &fi), -XEN_EINVAL);

    check_eq("XENVER_pagesize", hypercall_xen_version(XENVER_pagesize, NULL), 4096);
    check_rc("XENVER_pagesize with a non-NULL argument",
             hypercall_xen_version(XENVER_pagesize, buf), -XEN_EINVAL);

    fill();
    rc = hypercall_xen_version(XENVER_guest_handle, buf);
    check_rc("XENVER_guest_handle", rc, 0);
    check_eq("guest_handle: bytes written past 16", canary_damage(16), 0);
    printk("guest_handle: ");
    for (int i = 0; i < 16; i++) printk("%02x%s", buf[i], i == 3 || i == 5 || i == 7 || i == 9 ? "-" : "");
    printk("\n");
}

/* A zeroed page of ours, remapped read-only: Xen may read it but must not write it. */
static uint8_t ro_page[4096] __page_aligned_bss;

static void test_errors(void) {
    check_rc("unknown sub-op 1000", hypercall_xen_version(1000, buf), -XEN_ENOSYS);
    check_rc("unknown sub-op -1", hypercall_xen_version(-1, buf), -XEN_ENOSYS);

    uint64_t ro_pte = ((uint64_t)virt_to_mfn(ro_page) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_ACCESSED;
    long rc = hypercall_update_va_mapping((unsigned long)ro_page, ro_pte, UVMF_INVLPG);
    if (rc) {
        xtf_error("Error: cannot remap a page read-only: %s\n", xen_errno_name(rc));
        return;
    }

    /* Buffers Xen must refuse to write: */
    void *unmapped = (void *)0x00007ff000000000UL;       /* lower half, nothing mapped */
    void *noncanonical = (void *)0x8000000000000000UL;
    void *xen_area = (void *)HYPERVISOR_VIRT_START;      /* the read-only M2P */
    void *readonly = ro_page;
    void *const bad[] = { unmapped, noncanonical, xen_area, readonly };
    const char *const names[] = { "unmapped", "non-canonical", "Xen's M2P area", "read-only page" };
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        char what[64];
        snprintf(what, sizeof(what), "extraversion into %s %p", names[i], bad[i]);
        check_rc(what, hypercall_xen_version(XENVER_extraversion, bad[i]), -XEN_EFAULT);
        snprintf(what, sizeof(what), "capabilities into %s %p", names[i], bad[i]);
        check_rc(what, hypercall_xen_version(XENVER_capabilities, bad[i]), -XEN_EFAULT);
        snprintf(what, sizeof(what), "platform_parameters into %s %p", names[i], bad[i]);
        check_rc(what, hypercall_xen_version(XENVER_platform_parameters, bad[i]), -XEN_EFAULT);
    }
    /* get_features reads its argument first. */
    check_rc("get_features from an unmapped pointer",
             hypercall_xen_version(XENVER_get_features, unmapped), -XEN_EFAULT);
    check_rc("get_features from a non-canonical pointer",
             hypercall_xen_version(XENVER_get_features, noncanonical), -XEN_EFAULT);
    /* ... and writes it back: a read-only page (submap_idx 0 reads fine) must not be
       written. */
    check_rc("get_features into a read-only page",
             hypercall_xen_version(XENVER_get_features, readonly), -XEN_EFAULT);
}

void test_main(void) {
    test_version();
    test_strings();
    test_platform_and_features();
    test_errors();
}
