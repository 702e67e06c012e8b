/* KiteXTF: a small Xen-Test-Framework-style kit for 64-bit PV guest kernels.
   One behaviour per kernel: a test defines `test_title` and `test_main()`, reports with
   xtf_success / xtf_skip / xtf_error / xtf_failure (or the check_* helpers), and the kit
   prints exactly one `Test result: <STATUS>` line and powers the domain off. */
#ifndef KTF_H
#define KTF_H

#include <stdarg.h>

#include "layout.h"
#include "xen.h"
#include "hypercall.h"

#define __noreturn __attribute__((noreturn))
#define __aligned(n) __attribute__((aligned(n)))
#define __page_aligned_bss __attribute__((aligned(4096), section(".bss.page_aligned")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define barrier() __asm__ volatile("" ::: "memory")
#define mb() __asm__ volatile("mfence" ::: "memory")
#define rmb() barrier()
#define wmb() barrier()
#define ACCESS_ONCE(x) (*(volatile __typeof__(x) *)&(x))

/* ---- lib.c ---- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
const char *strstr(const char *haystack, const char *needle);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(__printf__, 3, 4)));
void vprintk(const char *fmt, va_list ap);
void printk(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
#define printf printk
const char *xen_errno_name(long rc);

/* ---- console.c ---- */
void console_write(const char *buf, size_t len);
void console_flush(void); /* waits (bounded) until the PV console ring is drained */
extern int console_use_ring; /* 1 once console_io refused (-EPERM on a non-debug Xen) */

/* ---- setup.c: start of day ---- */
extern struct start_info *start_info;
extern struct shared_info *shared_info; /* NULL until mapped */
extern char shared_info_page[4096];
extern char cpu_stacks[KTF_MAX_CPUS * KTF_STACK_BLOCK];
extern char user_stack[8192];

/* A test that sets this to true gets only the console (no shared_info, no traps). */
extern const bool test_minimal_setup __attribute__((weak));
extern const char test_title[];
void test_main(void);

/* Maps shared_info at shared_info_page (done by the kit unless test_minimal_setup). */
long map_shared_info(void);

static inline unsigned int smp_processor_id(void) {
    unsigned long sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    unsigned long base = (unsigned long)cpu_stacks;
    if (sp < base || sp >= base + sizeof(cpu_stacks)) return 0;
    return (unsigned int)((sp - base) / KTF_STACK_BLOCK);
}
static inline void *cpu_main_stack_top(unsigned int cpu) {
    return &cpu_stacks[(cpu + 1) * KTF_STACK_BLOCK];
}
static inline void *cpu_trap_stack_top(unsigned int cpu) {
    return &cpu_stacks[cpu * KTF_STACK_BLOCK + KTF_STACK_BLOCK / 2];
}

/* ---- Memory helpers: virt_base is 0, so a pseudo-physical frame's VA is pfn << 12 ---- */
static inline const unsigned long *p2m(void) { return (const unsigned long *)start_info->mfn_list; }
static inline unsigned long m2p(unsigned long mfn) {
    return ((const volatile unsigned long *)MACH2PHYS_VIRT_START)[mfn];
}
static inline unsigned long virt_to_pfn(const void *va) { return (unsigned long)va >> PAGE_SHIFT; }
static inline unsigned long pfn_to_mfn(unsigned long pfn) { return p2m()[pfn]; }
static inline unsigned long virt_to_mfn(const void *va) { return pfn_to_mfn(virt_to_pfn(va)); }
static inline uint64_t virt_to_maddr(const void *va) {
    return ((uint64_t)virt_to_mfn(va) << PAGE_SHIFT) | ((unsigned long)va & (PAGE_SIZE - 1));
}
static inline void *pfn_to_virt(unsigned long pfn) { return (void *)(pfn << PAGE_SHIFT); }
static inline void *mfn_to_virt(unsigned long mfn) { return pfn_to_virt(m2p(mfn)); }

/* Page-table walk of the current (kernel) tables through their read-only mappings.
   Returns the L1 entry for va, or 0 if an upper level is not present; *level_out gets
   the level where the walk stopped (1 = reached the L1 entry). */
uint64_t pt_walk(unsigned long va, int *level_out, uint64_t *pte_maddr_out);

/* ---- report.c: XTF-style verdict ---- */
enum test_status { STATUS_RUNNING, STATUS_SUCCESS, STATUS_SKIP, STATUS_ERROR, STATUS_FAILURE };
void xtf_success(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
void xtf_skip(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
void xtf_error(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
void xtf_failure(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
enum test_status xtf_status(void);
/* Prints the verdict line and powers off. */
__noreturn void xtf_exit(void);
/* Prints a reason, records ERROR, prints the verdict and powers off. */
__noreturn void panic(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
/* Shuts the domain down with the reason; never returns. */
__noreturn void ktf_shutdown(unsigned int reason);

/* Checks: each failing check prints what was expected and what it got. */
const char *ktf_basename(const char *path);
bool ktf_check_eq(const char *file, int line, const char *what, uint64_t got, uint64_t want);
bool ktf_check_rc(const char *file, int line, const char *what, long got, long want);
bool ktf_check(const char *file, int line, bool ok, const char *fmt, ...)
    __attribute__((format(__printf__, 4, 5)));
#define check(cond, ...) ktf_check(__FILE__, __LINE__, (cond), __VA_ARGS__)
#define check_eq(what, got, want) \
    ktf_check_eq(__FILE__, __LINE__, (what), (uint64_t)(got), (uint64_t)(want))
/* want is a Xen errno constant as a hypercall returns it, e.g. -XEN_EFAULT, or 0 */
#define check_rc(what, got, want) ktf_check_rc(__FILE__, __LINE__, (what), (long)(got), (long)(want))
/* Either of two answers is correct (e.g. a privileged vs an XSM-refused domain). */
bool ktf_check_rc2(const char *file, int line, const char *what, long got, long want1, long want2);
#define check_rc2(what, got, want1, want2) \
    ktf_check_rc2(__FILE__, __LINE__, (what), (long)(got), (long)(want1), (long)(want2))

/* ---- traps.c / entry.S: exceptions ---- */

/* The frame every entry stub builds (what Xen bounced, after popping rcx/r11 and
   pushing a dummy error code where the vector has none). */
struct cpu_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
    uint32_t error_code;
    uint32_t entry_vector;
    uint64_t rip;
    uint64_t cs;      /* bits 32-39: saved evtchn_upcall_mask */
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

/* exinfo: what a probe saw. 0 = no exception. */
typedef uint64_t exinfo_t;
#define EXINFO_VALID (1UL << 63)
#define EXINFO(vec, ec) (EXINFO_VALID | ((uint64_t)(vec) << 32) | (uint32_t)(ec))
#define EXINFO_SYM(vec, ec) EXINFO(X86_EXC_##vec, ec)
#define exinfo_vec(e) ((unsigned int)(((e) >> 32) & 0xff))
#define exinfo_ec(e) ((uint32_t)(e))
bool ktf_check_ex(const char *file, int line, const char *what, exinfo_t got, exinfo_t want);
#define check_ex(what, got, want) ktf_check_ex(__FILE__, __LINE__, (what), (got), (want))
/* Formats an exinfo as "#PF[0003]" or "none". */
const char *exinfo_str(exinfo_t e, char buf[24]);

/* Exception-table entry: if `fault` raises an exception the handler stores the exinfo in
   rax and resumes at `fixup` (with EFLAGS.TF cleared, ending any single-stepping). For trap-like exceptions (int3, icebp, int n) the saved rip
   is the address after the instruction, so use that address as `fault`. */
#define _ASM_EXTABLE(fault, fixup) \
    ".pushsection .ex_table, \"a\"\n\t.balign 8\n\t.quad " #fault ", " #fixup "\n\t.popsection\n\t"

/* Details of the most recent exception (any vCPU), for rip/cs/cr2 checks. */
struct fault_record {
    unsigned int count;
    unsigned int vector;
    uint32_t error_code;
    uint64_t rip, cs, rflags, rsp, ss, cr2;
    uint8_t mask_in_handler; /* vcpu_info.evtchn_upcall_mask while the handler ran */
};
extern volatile struct fault_record last_fault;

/* A test may claim exceptions first: return true if handled (regs may be edited). */
extern bool (*exception_hook)(struct cpu_regs *regs);

/* 8-byte read; *val is 0 if it faulted. */
static inline exinfo_t probe_read_val(const volatile void *p, unsigned long *val) {
    exinfo_t ex = 0;
    unsigned long tmp = 0;
    __asm__ volatile("1: mov (%[p]), %[tmp]\n2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [tmp] "+r"(tmp) : [p] "r"(p) : "memory");
    *val = tmp;
    return ex;
}
static inline exinfo_t probe_read(const volatile void *p) {
    unsigned long val;
    return probe_read_val(p, &val);
}
static inline exinfo_t probe_write(volatile void *p, unsigned long val) {
    exinfo_t ex = 0;
    __asm__ volatile("1: mov %[v], (%[p])\n2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex) : [p] "r"(p), [v] "r"(val) : "memory");
    return ex;
}

void traps_init(void);
extern const struct trap_info ktf_trap_table[];

/* User mode (entry.S): runs fn(arg) at guest user privilege on user_stack and returns
   its result. Needs a user page table (the kit registers the kernel L4 as the user L4). */
unsigned long exec_user(unsigned long (*fn)(unsigned long), unsigned long arg);
/* Called by entry_syscall for a user-mode `syscall`; default returns rax unchanged. */
extern void (*syscall_hook)(struct cpu_regs *regs);

/* Set to 1 to return from exceptions/events with a raw `syscall` iret instead of the
   hypercall page's iret slot. */
extern volatile uint8_t ktf_raw_iret;

/* entry.S symbols */
void entry_upcall(void);
void entry_failsafe(void);
void entry_syscall(void);
void hypercall_iret(void);

/* ---- events.c ---- */
typedef void (*evtchn_handler_t)(evtchn_port_t port, struct cpu_regs *regs);
long evtchn_init(void);  /* registers the event + failsafe callbacks */
long evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port);
long evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port);
long evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port);
long evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port);
long evtchn_send(evtchn_port_t port);
long evtchn_unmask(evtchn_port_t port);
long evtchn_close(evtchn_port_t port);
long evtchn_status(evtchn_port_t port, struct evtchn_status *out);
void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn);
void evtchn_mask_port(evtchn_port_t port);    /* guest-side bit in shared_info */
void evtchn_clear_port(evtchn_port_t port);   /* clear the pending bit */
bool evtchn_is_pending(evtchn_port_t port);
bool evtchn_is_masked(evtchn_port_t port);

/* Upcall bookkeeping, per vCPU */
struct upcall_stats {
    unsigned int count;
    uint8_t pending_at_entry;   /* vcpu_info.evtchn_upcall_pending seen at entry */
    uint8_t mask_at_entry;      /* vcpu_info.evtchn_upcall_mask seen at entry (Xen sets 1) */
    uint64_t sel_at_entry;      /* evtchn_pending_sel before the handler cleared it */
    uint64_t saved_cs;          /* the bounce frame's cs word (mask in bits 32-39) */
    uint64_t rflags;
};
extern volatile struct upcall_stats upcall_stats[KTF_MAX_CPUS];
extern volatile unsigned int evtchn_fired[256]; /* per-port delivery count (ports < 256) */

static inline struct vcpu_info *this_vcpu_info(void) {
    return &shared_info->vcpu_info[smp_processor_id()];
}
/* Virtual interrupt flag: 1 = events masked. */
static inline void local_events_disable(void) {
    this_vcpu_info()->evtchn_upcall_mask = 1;
    barrier();
}
/* Unmasks events and, if one is already pending, makes a cheap hypercall so Xen
   delivers it (Xen checks for events on every return to the guest). */
void local_events_enable(void);

/* ---- time.c ---- */
uint64_t rdtsc(void);
uint64_t xen_system_time(void); /* ns, from this vCPU's vcpu_time_info */

/* ---- atomics ---- */
static inline uint64_t xchg64(volatile uint64_t *p, uint64_t v) {
    __asm__ volatile("xchg %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}
static inline void atomic_inc32(volatile unsigned int *p) {
    __asm__ volatile("lock incl %0" : "+m"(*p) : : "memory");
}
static inline void set_bit64(unsigned int nr, volatile uint64_t *words) {
    __asm__ volatile("lock btsq %1, %0" : "+m"(words[nr / 64]) : "Ir"((uint64_t)(nr % 64)) : "memory");
}
static inline void clear_bit64(unsigned int nr, volatile uint64_t *words) {
    __asm__ volatile("lock btrq %1, %0" : "+m"(words[nr / 64]) : "Ir"((uint64_t)(nr % 64)) : "memory");
}
static inline bool test_bit64(unsigned int nr, const volatile uint64_t *words) {
    return (words[nr / 64] >> (nr % 64)) & 1;
}

/* ---- xenstore client over the domain's store ring (common/xenstore.c; io/xs_wire.h) ---- */
#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_TRANSACTION_START 6
#define XS_TRANSACTION_END 7
#define XS_GET_DOMAIN_PATH 10
#define XS_WRITE 11
#define XS_RM 13
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XENSTORE_RING_SIZE 1024
#define XENSTORE_PAYLOAD_MAX 4096

struct xsd_sockmsg {
    uint32_t type, req_id, tx_id, len;
};
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];
    char rsp[XENSTORE_RING_SIZE];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
    uint32_t evtchn_port;
};

/* The ring page start_info names. */
volatile struct xenstore_domain_interface *xs_ring(void);
/* Copies bytes into the request ring, waiting while it is full (or its indexes are
   inconsistent); notifies the store port after each batch when `notify`. False after 10 s
   without room. */
bool xs_ring_put(const void *data, size_t len, bool notify);
/* Copies bytes out of the response ring; false after 10 s without any. */
bool xs_ring_get(void *data, size_t len);
/* One request (payload = a then b) in transaction `tx`, and its reply: the header in
   xs_reply_hdr, the payload NUL-terminated in xs_reply. Watch events met on the way go to
   xs_watch_hook (if set) with their path. Returns the reply type, -1 when nothing came,
   -2 for a malformed reply or one that answers another request. */
long xs_request(uint32_t tx, uint32_t type, const void *a, size_t alen, const void *b, size_t blen);
extern struct xsd_sockmsg xs_reply_hdr;
extern char xs_reply[XENSTORE_PAYLOAD_MAX + 1];
extern void (*xs_watch_hook)(const char *path);

/* ---- grant table v1, granting side (common/gnttab.c; public/grant_table.h) ---- */
typedef uint32_t grant_ref_t;
#define GNTTABOP_setup_table 2
#define GTF_permit_access 1
#define GTF_readonly (1 << 2)
#define GTF_reading (1 << 3)
#define GTF_writing (1 << 4)
#define GNTTAB_NR_RESERVED_ENTRIES 8

struct gnttab_setup_table {
    domid_t dom;
    uint32_t nr_frames;
    int16_t status;
    xen_pfn_t *frame_list;
};
KTF_CHECK_OFFSET(struct gnttab_setup_table, nr_frames, 4);
KTF_CHECK_OFFSET(struct gnttab_setup_table, status, 8);
KTF_CHECK_OFFSET(struct gnttab_setup_table, frame_list, 16);

struct grant_entry_v1 {
    uint16_t flags;
    domid_t domid;
    uint32_t frame;
};
KTF_CHECK_SIZE(struct grant_entry_v1, 8);

/* Maps the table's first frame (once); 0 or a Xen errno / GNTST code (negative). */
long gnttab_init(void);
/* Grants `domid` access to the frame behind `va` (a page); returns the reference.
   Panics when the frame's entries are used up. */
grant_ref_t gnttab_grant_page(domid_t domid, const void *va, bool readonly);
/* Ends access; false while the grantee still has it mapped (GTF_reading/GTF_writing). */
bool gnttab_end_access(grant_ref_t ref);
/* The entry's flags as Xen left them. */
uint16_t gnttab_flags(grant_ref_t ref);

#endif
