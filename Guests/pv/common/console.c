/* Console output. The kit writes with HYPERVISOR_console_io(CONSOLEIO_write). Real Xen
   only lets a domU do that when built with CONFIG_VERBOSE_DEBUG (XSM dummy policy,
   xsm_console_io); otherwise it answers -EPERM and the kit falls back, for good, to the
   domain's PV console ring (start_info.console.domU, io/console.h) as XTF does. */
#include "ktf.h"

int console_use_ring;

static struct xencons_interface *console_ring(void) {
    /* The builder maps the console page inside the initial mapping; virt_base is 0. */
    unsigned long mfn = start_info->console.domU.mfn;
    return (struct xencons_interface *)mfn_to_virt(mfn);
}

static void ring_write(const char *buf, size_t len) {
    struct xencons_interface *r = console_ring();
    evtchn_port_t port = start_info->console.domU.evtchn;
    while (len) {
        uint32_t cons = ACCESS_ONCE(r->out_cons);
        uint32_t prod = r->out_prod;
        uint32_t space = sizeof(r->out) - (prod - cons);
        if (space == 0) {
            struct evtchn_send s = { .port = port };
            hypercall_event_channel_op(EVTCHNOP_send, &s);
            hypercall_yield();
            continue;
        }
        while (space && len) {
            r->out[prod++ & (sizeof(r->out) - 1)] = *buf++;
            space--;
            len--;
        }
        wmb();
        r->out_prod = prod;
        struct evtchn_send s = { .port = port };
        hypercall_event_channel_op(EVTCHNOP_send, &s);
    }
}

void console_write(const char *buf, size_t len) {
    if (len == 0) return;
    if (!console_use_ring) {
        /* Without a hypercall page (a loader bug) still get the message out, raw. */
        long rc = hypercall_page_ready()
                      ? hypercall_console_io(CONSOLEIO_write, (unsigned int)len, buf)
                      : _raw_hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, len, buf);
        if (rc != -XEN_EPERM) return;
        console_use_ring = 1;
    }
    ring_write(buf, len);
}

void console_flush(void) {
    if (!console_use_ring) return;
    /* Give the console backend a chance to drain the ring before the domain dies. */
    struct xencons_interface *r = console_ring();
    for (unsigned long i = 0; i < 100000 && ACCESS_ONCE(r->out_cons) != ACCESS_ONCE(r->out_prod); i++)
        hypercall_yield();
}
