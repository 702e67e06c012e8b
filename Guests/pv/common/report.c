/* The XTF-style verdict: the worst status reported wins (SUCCESS < SKIP < ERROR <
   FAILURE); xtf_exit prints exactly one `Test result: <STATUS>` line and powers off. */
#include "ktf.h"

static enum test_status status = STATUS_RUNNING;
static const char *const status_names[] = { "RUNNING", "SUCCESS", "SKIP", "ERROR", "FAILURE" };
static volatile int exiting;

static void report(enum test_status s, const char *fmt, va_list ap) {
    if (s > status) status = s;
    if (fmt && *fmt) vprintk(fmt, ap);
}

#define REPORT(name, st)                  \
    void name(const char *fmt, ...) {     \
        va_list ap;                       \
        va_start(ap, fmt);                \
        report(st, fmt, ap);              \
        va_end(ap);                       \
    }
REPORT(xtf_success, STATUS_SUCCESS)
REPORT(xtf_skip, STATUS_SKIP)
REPORT(xtf_error, STATUS_ERROR)
REPORT(xtf_failure, STATUS_FAILURE)

enum test_status xtf_status(void) { return status; }

__noreturn void ktf_shutdown(unsigned int reason) {
    console_flush();
    struct sched_shutdown s = { .reason = reason };
    if (!hypercall_page_ready()) _raw_hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &s);
    for (;;) {
        hypercall_shutdown(reason);
        /* Still here: the shutdown hypercall failed. Try to crash, then spin. */
        hypercall_shutdown(SHUTDOWN_crash);
        hypercall_yield();
    }
}

__noreturn void xtf_exit(void) {
    if (__atomic_exchange_n(&exiting, 1, __ATOMIC_SEQ_CST)) {
        ktf_shutdown(SHUTDOWN_crash); /* a second exit (from another vCPU or a fault) */
    }
    if (status == STATUS_RUNNING) status = STATUS_SUCCESS;
    printk("Test result: %s\n", status_names[status]);
    ktf_shutdown(SHUTDOWN_poweroff);
}

__noreturn void panic(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printk("Panic: ");
    vprintk(fmt, ap);
    va_end(ap);
    if (status < STATUS_ERROR) status = STATUS_ERROR;
    xtf_exit();
}

const char *ktf_basename(const char *path) {
    const char *b = path;
    for (; *path; path++)
        if (*path == '/') b = path + 1;
    return b;
}

bool ktf_check(const char *file, int line, bool ok, const char *fmt, ...) {
    if (ok) return true;
    va_list ap;
    va_start(ap, fmt);
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xtf_failure("Fail: %s:%d: %s\n", ktf_basename(file), line, msg);
    return false;
}

bool ktf_check_eq(const char *file, int line, const char *what, uint64_t got, uint64_t want) {
    if (got == want) return true;
    xtf_failure("Fail: %s:%d: %s: expected %#lx (%ld), got %#lx (%ld)\n", ktf_basename(file), line,
                what, want, (long)want, got, (long)got);
    return false;
}

bool ktf_check_rc(const char *file, int line, const char *what, long got, long want) {
    if (got == want) return true;
    xtf_failure("Fail: %s:%d: %s: expected %s (%ld), got %s (%ld)\n", ktf_basename(file), line, what,
                xen_errno_name(want), want, xen_errno_name(got), got);
    return false;
}

bool ktf_check_rc2(const char *file, int line, const char *what, long got, long want1, long want2) {
    if (got == want1 || got == want2) return true;
    xtf_failure("Fail: %s:%d: %s: expected %s (%ld) or %s (%ld), got %s (%ld)\n", ktf_basename(file),
                line, what, xen_errno_name(want1), want1, xen_errno_name(want2), want2,
                xen_errno_name(got), got);
    return false;
}
