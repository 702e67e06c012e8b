/* netfront: a guest's network through Xen's netif rings, end to end. The kernel command
   line picks what it does (key=value words):

     mode=echo  ip=10.0.3.2 [count=4]             answer ARP and ICMP echo until `count`
                                                   requests were answered
     mode=ping  ip=10.0.3.1 peer=10.0.3.2 [count=4] ARP the peer, send `count` echo
                                                   requests, check every reply
     mode=tcp   port=P [host=10.0.2.2] [ip=...]   DHCP (unless ip=), connect to host:P,
                                                   send a line, expect it echoed, close
     mode=blast ip=.. peer=.. [bytes=N] [port=9]  send N bytes of UDP datagrams, then END
     mode=sink  ip=.. [port=9]                    count datagrams until END; prints
                                                   "NETBENCH bytes=<n> ns=<t> datagrams=<d>"
     [vif=0] [timeout=60] (seconds)

   With no vif (device/vif/<vif> missing) the verdict is SKIP. The echo/ping pair runs as
   two domains on one virtual switch; tcp runs on the user-mode network with a line-echo
   server listening on the host's 127.0.0.1:P (the guest's 10.0.2.2:P). */
#include "netfront.h"

const char test_title[] = "netfront: netif rings, ARP/IPv4/ICMP/UDP/TCP through a vif";

static char cmdline[MAX_GUEST_CMDLINE + 1];

/* The value of `key=` on the command line (NULL when absent), copied to a small buffer. */
static const char *arg(const char *key) {
    static char value[8][64];
    static unsigned int next;
    size_t klen = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ') p++;
        const char *word = p;
        while (*p && *p != ' ') p++;
        if ((size_t)(p - word) > klen && strncmp(word, key, klen) == 0 && word[klen] == '=') {
            char *out = value[next++ % 8];
            size_t n = (size_t)(p - word) - klen - 1;
            if (n >= 64) n = 63;
            memcpy(out, word + klen + 1, n);
            out[n] = '\0';
            return out;
        }
    }
    return NULL;
}

static unsigned long arg_ulong(const char *key, unsigned long fallback) {
    const char *v = arg(key);
    if (!v || !*v) return fallback;
    unsigned long n = 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9') return fallback;
        n = n * 10 + (unsigned long)(*v - '0');
    }
    return n;
}

static bool arg_ip(const char *key, const char *fallback, ip4_t out) {
    const char *v = arg(key);
    return net_parse_ip(v ? v : fallback, out);
}

static uint64_t timeout_ns;
static unsigned int wanted;

static bool answered_enough(void) { return icmp_echo_requests_answered >= wanted; }
static bool reply_arrived(void) { return icmp_echo_replies_seen >= wanted; }
static bool never(void) { return false; }
static bool sink_ended(void) { return udp_sink.ended; }

static void run_echo(void) {
    wanted = (unsigned int)arg_ulong("count", 4);
    if (!net_run_until(answered_enough, timeout_ns)) {
        xtf_failure("echo: answered %u of %u echo requests before the timeout\n", icmp_echo_requests_answered, wanted);
        return;
    }
    net_run_until(never, MS(1500));  /* answer the pinger's retries a little longer */
    printk("echo: answered %u echo requests\n", icmp_echo_requests_answered);
}

static void run_ping(void) {
    ip4_t peer;
    uint8_t mac[6];
    unsigned int count = (unsigned int)arg_ulong("count", 4);
    if (!arg_ip("peer", "10.0.3.2", peer)) {
        xtf_error("ping: bad peer=\n");
        return;
    }
    if (arp_resolve(peer, mac, timeout_ns)) {
        xtf_failure("ping: no ARP reply from %u.%u.%u.%u\n", peer[0], peer[1], peer[2], peer[3]);
        return;
    }
    printk("ping: %u.%u.%u.%u is at %02x:%02x:%02x:%02x:%02x:%02x\n", peer[0], peer[1], peer[2], peer[3], mac[0],
           mac[1], mac[2], mac[3], mac[4], mac[5]);
    for (unsigned int seq = 1; seq <= count; seq++) {
        wanted = icmp_echo_replies_seen + 1;
        uint64_t start = xen_system_time();
        bool ok = false;
        for (int attempt = 0; attempt < 5 && !ok; attempt++) {
            icmp_send_echo(mac, peer, 0x4b54, (uint16_t)seq, 56 + (seq * 40) % 200);
            ok = net_run_until(reply_arrived, MS(1000)) && icmp_last_reply_seq == seq;
        }
        if (!ok) {
            xtf_failure("ping: no reply to echo request %u\n", seq);
            return;
        }
        printk("ping: reply %u from %u.%u.%u.%u in %lu us\n", seq, peer[0], peer[1], peer[2], peer[3],
               (unsigned long)((xen_system_time() - start) / 1000));
    }
}

static void run_tcp(void) {
    unsigned long port = arg_ulong("port", 0);
    ip4_t host;
    uint8_t mac[6];
    if (!port || port > 65535 || !arg_ip("host", "10.0.2.2", host)) {
        xtf_error("tcp: needs port=<1-65535> (and host=<ip>)\n");
        return;
    }
    if (!net.configured) {
        long rc = dhcp_configure(timeout_ns);
        if (rc) {
            xtf_failure("tcp: no DHCP lease (%ld)\n", rc);
            return;
        }
        printk("tcp: DHCP lease %u.%u.%u.%u, gateway %u.%u.%u.%u, dns %u.%u.%u.%u\n", net.ip[0], net.ip[1], net.ip[2],
               net.ip[3], net.gateway[0], net.gateway[1], net.gateway[2], net.gateway[3], net.dns[0], net.dns[1],
               net.dns[2], net.dns[3]);
    }
    if (arp_resolve(host, mac, MS(10000))) {
        xtf_failure("tcp: no ARP reply from %u.%u.%u.%u\n", host[0], host[1], host[2], host[3]);
        return;
    }
    long rc = tcp_connect(mac, host, (uint16_t)port, MS(10000));
    if (rc) {
        xtf_failure("tcp: connect to %u.%u.%u.%u:%lu failed (%ld)\n", host[0], host[1], host[2], host[3], port, rc);
        return;
    }
    char line[96], reply[128];
    unsigned long domid = 0;
    xs_read_ulong("domid", &domid);
    snprintf(line, sizeof(line), "hello from kite netfront in domain %lu\n", domid);
    rc = tcp_send(line, strlen(line), MS(10000));
    if (rc) {
        xtf_failure("tcp: send failed (%ld)\n", rc);
        return;
    }
    rc = tcp_receive_line(reply, sizeof(reply), MS(10000));
    if (rc <= 0) {
        xtf_failure("tcp: no reply line (%ld)\n", rc);
        return;
    }
    bool same = strcmp(reply, line) == 0;
    line[strlen(line) - 1] = '\0';
    size_t got = strnlen(reply, sizeof(reply));
    if (got && reply[got - 1] == '\n') reply[got - 1] = '\0';
    printk("tcp: sent \"%s\", got \"%s\"\n", line, reply);
    check(same, "tcp: the reply is not the line sent");
    rc = tcp_close(MS(5000));
    check(rc == 0, "tcp: close failed (%ld)", rc);
}

static void run_blast(void) {
    ip4_t peer;
    uint8_t mac[6];
    static uint8_t datagram[1472];
    unsigned long bytes = arg_ulong("bytes", 8UL << 20), sent = 0;
    uint16_t port = (uint16_t)arg_ulong("port", 9);
    if (!arg_ip("peer", "10.0.3.2", peer) || arp_resolve(peer, mac, timeout_ns)) {
        xtf_failure("blast: peer unreachable\n");
        return;
    }
    for (size_t i = 0; i < sizeof(datagram); i++) datagram[i] = (uint8_t)i;
    uint64_t start = xen_system_time();
    while (sent < bytes) {
        if (udp_send(mac, peer, port, port, datagram, sizeof(datagram))) {
            xtf_failure("blast: send failed after %lu bytes\n", sent);
            return;
        }
        sent += sizeof(datagram);
        netfront_poll(net_input);
    }
    uint64_t ns = xen_system_time() - start;
    for (int i = 0; i < 5; i++) {
        udp_send(mac, peer, port, port, "END", 3);
        net_run_until(never, MS(100));
    }
    printk("blast: sent %lu bytes in %lu us\n", sent, (unsigned long)(ns / 1000));
}

static void run_sink(void) {
    udp_sink.port = (uint16_t)arg_ulong("port", 9);
    if (!net_run_until(sink_ended, timeout_ns)) {
        xtf_failure("sink: no END after %lu bytes\n", udp_sink.bytes);
        return;
    }
    printk("NETBENCH bytes=%lu ns=%lu datagrams=%lu\n", udp_sink.bytes,
           (unsigned long)(udp_sink.last_ns - udp_sink.first_ns), udp_sink.datagrams);
    check(udp_sink.bytes > 0, "sink: nothing received");
}

void test_main(void) {
    size_t n = strnlen((const char *)start_info->cmd_line, MAX_GUEST_CMDLINE);
    memcpy(cmdline, (const char *)start_info->cmd_line, n);
    cmdline[n] = '\0';
    const char *mode = arg("mode");
    timeout_ns = MS(arg_ulong("timeout", 60) * 1000);
    unsigned int devid = (unsigned int)arg_ulong("vif", 0);
    if (!mode) mode = "tcp";

    long rc = netfront_connect(devid);
    if (rc == -XEN_ENOENT) {
        xtf_skip("no vif %u in xenstore (run with a vif and mode=...)\n", devid);
        return;
    }
    if (rc) {
        xtf_failure("netfront: connecting vif %u failed: %ld\n", devid, rc);
        return;
    }
    if (strcmp(mode, "tcp") != 0 || arg("ip")) {
        const char *fallback = strcmp(mode, "echo") == 0 || strcmp(mode, "sink") == 0 ? "10.0.3.2" : "10.0.3.1";
        if (!arg_ip("ip", fallback, net.ip)) {
            xtf_error("bad ip=\n");
            return;
        }
        net.configured = true;
    }
    if (strcmp(mode, "echo") == 0) run_echo();
    else if (strcmp(mode, "ping") == 0) run_ping();
    else if (strcmp(mode, "tcp") == 0) run_tcp();
    else if (strcmp(mode, "blast") == 0) run_blast();
    else if (strcmp(mode, "sink") == 0) run_sink();
    else xtf_error("unknown mode=%s\n", mode);
    printk("netfront: tx %lu packets %lu bytes %lu errors, rx %lu packets %lu bytes %lu errors\n",
           netfront_stats.tx_packets, netfront_stats.tx_bytes, netfront_stats.tx_errors, netfront_stats.rx_packets,
           netfront_stats.rx_bytes, netfront_stats.rx_errors);
    netfront_close();
}
