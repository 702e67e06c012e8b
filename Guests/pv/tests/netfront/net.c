/* Ethernet, ARP (RFC 826), IPv4 (RFC 791), ICMP echo (RFC 792), UDP (RFC 768) and a DHCP
   client (RFC 2131): just enough to talk to another domain and to slirp. */
#include "netfront.h"

struct net_config net;
unsigned int icmp_echo_requests_answered, icmp_echo_replies_seen;
uint16_t icmp_last_reply_seq;
struct udp_sink udp_sink;

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint8_t frame_out[1600];

struct arp_entry { ip4_t ip; uint8_t mac[6]; bool valid; };
static struct arp_entry arp_cache[8];
static unsigned int arp_next;

/* The Internet checksum (RFC 1071) of data, plus `sum` (a partial sum in network order).
   Summed four bytes at a time in the CPU's order and swapped once at the end (the
   ones'-complement sum does not depend on byte order, RFC 1071 §2B): a quarter of the
   instructions of a byte-pair loop, which matters on an interpreted CPU. */
uint16_t net_checksum(const void *data, size_t len, uint32_t sum) {
    const uint8_t *p = data;
    uint64_t acc = 0;
    for (; len >= 4; p += 4, len -= 4) {
        uint32_t w;
        __builtin_memcpy(&w, p, 4);
        acc += w;
    }
    if (len >= 2) {
        uint16_t w;
        __builtin_memcpy(&w, p, 2);
        acc += w;
        p += 2;
        len -= 2;
    }
    if (len) acc += p[0]; /* the odd byte is the high byte of a big-endian word */
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    uint32_t total = (uint32_t)(((acc & 0xff) << 8) | (acc >> 8)) + sum;
    while (total >> 16) total = (total & 0xffff) + (total >> 16);
    return (uint16_t)~total;
}

static uint32_t pseudo_sum(const ip4_t src, const ip4_t dst, uint8_t proto, size_t len) {
    return (uint32_t)(src[0] << 8 | src[1]) + (uint32_t)(src[2] << 8 | src[3]) + (uint32_t)(dst[0] << 8 | dst[1]) +
           (uint32_t)(dst[2] << 8 | dst[3]) + proto + (uint32_t)len;
}

bool net_parse_ip(const char *text, ip4_t out) {
    unsigned int part = 0, value = 0, digits = 0;
    for (const char *p = text;; p++) {
        if (*p >= '0' && *p <= '9') {
            value = value * 10 + (unsigned)(*p - '0');
            if (++digits > 3 || value > 255) return false;
        } else if ((*p == '.' || *p == '\0') && digits) {
            if (part > 3) return false;
            out[part++] = (uint8_t)value;
            value = digits = 0;
            if (*p == '\0') return part == 4;
        } else {
            return false;
        }
    }
}

static void arp_learn(const uint8_t *ip, const uint8_t *mac) {
    for (unsigned int i = 0; i < ARRAY_SIZE(arp_cache); i++) {
        if (arp_cache[i].valid && ip_eq(arp_cache[i].ip, ip)) {
            memcpy(arp_cache[i].mac, mac, 6);
            return;
        }
    }
    struct arp_entry *e = &arp_cache[arp_next++ % ARRAY_SIZE(arp_cache)];
    memcpy(e->ip, ip, 4);
    memcpy(e->mac, mac, 6);
    e->valid = true;
}

static bool arp_lookup(const uint8_t *ip, uint8_t mac[6]) {
    for (unsigned int i = 0; i < ARRAY_SIZE(arp_cache); i++) {
        if (arp_cache[i].valid && ip_eq(arp_cache[i].ip, ip)) {
            memcpy(mac, arp_cache[i].mac, 6);
            return true;
        }
    }
    return false;
}

static long send_ethernet(const uint8_t dst[6], uint16_t type, const void *payload, size_t len) {
    if (len + 14 > sizeof(frame_out)) return -XEN_E2BIG;
    memcpy(frame_out, dst, 6);
    memcpy(frame_out + 6, netfront_mac, 6);
    put16(frame_out + 12, type);
    memcpy(frame_out + 14, payload, len);
    size_t total = len + 14 < 60 ? 60 : len + 14;  /* pad to Ethernet's minimum */
    if (len + 14 < 60) memset(frame_out + 14 + len, 0, 60 - 14 - len);
    return netfront_send(frame_out, total);
}

static void send_arp(uint16_t op, const uint8_t tha[6], const uint8_t *tpa, const uint8_t dst[6]) {
    uint8_t p[28];
    put16(p, 1);
    put16(p + 2, 0x0800);
    p[4] = 6;
    p[5] = 4;
    put16(p + 6, op);
    memcpy(p + 8, netfront_mac, 6);
    memcpy(p + 14, net.ip, 4);
    memcpy(p + 18, tha, 6);
    memcpy(p + 24, tpa, 4);
    send_ethernet(dst, 0x0806, p, sizeof(p));
}

static void arp_input(const uint8_t *p, size_t len) {
    if (len < 28 || get16(p) != 1 || get16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4) return;
    uint16_t op = get16(p + 6);
    if (net.configured && ip_eq(p + 24, net.ip)) {
        arp_learn(p + 14, p + 8);
        if (op == 1) send_arp(2, p + 8, p + 14, p + 8);
    } else if (op == 2) {
        arp_learn(p + 14, p + 8);
    }
}

long arp_resolve(const ip4_t ip, uint8_t mac[6], uint64_t timeout_ns) {
    uint64_t deadline = xen_system_time() + timeout_ns;
    static const uint8_t zero[6];
    while (!arp_lookup(ip, mac)) {
        if (xen_system_time() > deadline) return -XEN_ETIME;
        send_arp(1, zero, ip, broadcast);
        uint64_t retry = xen_system_time() + MS(200);
        while (!arp_lookup(ip, mac) && xen_system_time() < retry) {
            if (!netfront_poll(net_input)) netfront_wait(MS(5));
        }
    }
    return 0;
}

long net_send_ipv4(const uint8_t mac[6], const ip4_t dst, uint8_t proto, const void *payload, size_t len) {
    static uint8_t packet[1500];
    static uint16_t ident = 1;
    if (len + 20 > sizeof(packet)) return -XEN_E2BIG;
    packet[0] = 0x45;
    packet[1] = 0;
    put16(packet + 2, (uint16_t)(len + 20));
    put16(packet + 4, ident++);
    put16(packet + 6, 0x4000);  /* don't fragment */
    packet[8] = 64;
    packet[9] = proto;
    put16(packet + 10, 0);
    memcpy(packet + 12, net.ip, 4);
    memcpy(packet + 16, dst, 4);
    put16(packet + 10, net_checksum(packet, 20, 0));
    memcpy(packet + 20, payload, len);
    return send_ethernet(mac, 0x0800, packet, len + 20);
}

long icmp_send_echo(const uint8_t mac[6], const ip4_t dst, uint16_t id, uint16_t seq, size_t payload) {
    uint8_t m[8 + 256];
    if (payload > 256) payload = 256;
    m[0] = 8;
    m[1] = 0;
    put16(m + 2, 0);
    put16(m + 4, id);
    put16(m + 6, seq);
    for (size_t i = 0; i < payload; i++) m[8 + i] = (uint8_t)(i ^ seq);
    put16(m + 2, net_checksum(m, 8 + payload, 0));
    return net_send_ipv4(mac, dst, 1, m, 8 + payload);
}

static void icmp_input(const uint8_t *src_mac, const uint8_t *src, const uint8_t *m, size_t len) {
    if (len < 8 || net_checksum(m, len, 0) != 0) return;
    if (m[0] == 8) {  /* echo request: the same message back as a reply */
        static uint8_t reply[1480];
        if (len > sizeof(reply)) return;
        memcpy(reply, m, len);
        reply[0] = 0;
        put16(reply + 2, 0);
        put16(reply + 2, net_checksum(reply, len, 0));
        if (net_send_ipv4(src_mac, src, 1, reply, len) == 0) icmp_echo_requests_answered++;
    } else if (m[0] == 0) {
        size_t payload = len - 8;
        uint16_t seq = get16(m + 6);
        for (size_t i = 0; i < payload; i++)
            if (m[8 + i] != (uint8_t)(i ^ seq)) return;  /* corrupted on the way */
        icmp_echo_replies_seen++;
        icmp_last_reply_seq = seq;
    }
}

long udp_send(const uint8_t mac[6], const ip4_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len) {
    static uint8_t d[1480];
    if (len + 8 > sizeof(d)) return -XEN_E2BIG;
    put16(d, sport);
    put16(d + 2, dport);
    put16(d + 4, (uint16_t)(len + 8));
    put16(d + 6, 0);
    memcpy(d + 8, data, len);
    uint16_t sum = net_checksum(d, len + 8, pseudo_sum(net.ip, dst, 17, len + 8));
    put16(d + 6, sum ? sum : 0xffff);
    return net_send_ipv4(mac, dst, 17, d, len + 8);
}

/* ---- DHCP ---- */
static uint32_t dhcp_xid;
static int dhcp_state;  /* 0 idle, 1 offered, 2 acknowledged */
static ip4_t dhcp_offer, dhcp_server;

static void dhcp_input(const uint8_t *b, size_t len) {
    if (len < 240 || b[0] != 2 || get32(b + 4) != dhcp_xid || get32(b + 236) != 0x63825363) return;
    int type = 0;
    ip4_t router = { 0 }, dns = { 0 }, server = { 0 };
    for (size_t i = 240; i + 1 < len && b[i] != 255;) {
        if (b[i] == 0) { i++; continue; }
        size_t n = b[i + 1];
        if (i + 2 + n > len) break;
        if (b[i] == 53 && n == 1) type = b[i + 2];
        if (b[i] == 3 && n >= 4) memcpy(router, b + i + 2, 4);
        if (b[i] == 6 && n >= 4) memcpy(dns, b + i + 2, 4);
        if (b[i] == 54 && n >= 4) memcpy(server, b + i + 2, 4);
        i += 2 + n;
    }
    if (type == 2 && dhcp_state == 0) {
        memcpy(dhcp_offer, b + 16, 4);
        memcpy(dhcp_server, server, 4);
        dhcp_state = 1;
    } else if (type == 5 && dhcp_state == 1) {
        memcpy(net.ip, b + 16, 4);
        memcpy(net.gateway, router, 4);
        memcpy(net.dns, dns, 4);
        net.configured = true;
        dhcp_state = 2;
    }
}

static long dhcp_send(int type) {
    uint8_t b[300];
    memset(b, 0, sizeof(b));
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    put32(b + 4, dhcp_xid);
    put16(b + 10, 0x8000);  /* broadcast replies: we have no address yet */
    memcpy(b + 28, netfront_mac, 6);
    put32(b + 236, 0x63825363);
    size_t i = 240;
    b[i++] = 53; b[i++] = 1; b[i++] = (uint8_t)type;
    if (type == 3) {
        b[i++] = 50; b[i++] = 4; memcpy(b + i, dhcp_offer, 4); i += 4;
        b[i++] = 54; b[i++] = 4; memcpy(b + i, dhcp_server, 4); i += 4;
    }
    b[i++] = 55; b[i++] = 3; b[i++] = 1; b[i++] = 3; b[i++] = 6;
    b[i++] = 255;
    static const ip4_t any = { 0, 0, 0, 0 }, all = { 255, 255, 255, 255 };
    memcpy(net.ip, any, 4);
    return udp_send(broadcast, all, 68, 67, b, i);
}

static bool dhcp_offered(void) { return dhcp_state >= 1; }
static bool dhcp_acked(void) { return dhcp_state >= 2; }

long dhcp_configure(uint64_t timeout_ns) {
    uint64_t deadline = xen_system_time() + timeout_ns;
    dhcp_xid = 0x4b495445 ^ (uint32_t)xen_system_time();
    dhcp_state = 0;
    while (!dhcp_acked()) {
        if (xen_system_time() > deadline) return -XEN_ETIME;
        dhcp_send(dhcp_state == 0 ? 1 : 3);  /* DISCOVER, then REQUEST */
        net_run_until(dhcp_state == 0 ? dhcp_offered : dhcp_acked, MS(1000));
    }
    return 0;
}

/* ---- IPv4 input ---- */
static void ipv4_input(const uint8_t *src_mac, const uint8_t *p, size_t len) {
    if (len < 20 || (p[0] >> 4) != 4) return;
    size_t ihl = (size_t)(p[0] & 15) * 4, total = get16(p + 2);
    if (ihl < 20 || total < ihl || total > len || net_checksum(p, ihl, 0) != 0) return;
    if ((get16(p + 6) & 0x3fff) != 0) return;  /* fragments: not for us */
    bool for_us = net.configured && ip_eq(p + 16, net.ip);
    bool broadcast_ip = p[16] == 255 && p[17] == 255 && p[18] == 255 && p[19] == 255;
    const uint8_t *payload = p + ihl;
    size_t n = total - ihl;
    switch (p[9]) {
    case 1:
        if (for_us) icmp_input(src_mac, p + 12, payload, n);
        break;
    case 6:
        if (for_us) tcp_input(p + 12, payload, n);
        break;
    case 17: {
        if (n < 8 || get16(payload + 4) > n || get16(payload + 4) < 8) return;
        size_t ulen = get16(payload + 4);
        uint16_t sum = get16(payload + 6);
        if (sum && net_checksum(payload, ulen, pseudo_sum(p + 12, p + 16, 17, ulen)) != 0) return;
        uint16_t dport = get16(payload + 2);
        if (dport == 68 && (broadcast_ip || for_us || !net.configured)) {
            dhcp_input(payload + 8, ulen - 8);
        } else if (for_us && udp_sink.port && dport == udp_sink.port) {
            uint64_t now = xen_system_time();
            if (ulen - 8 >= 3 && memcmp(payload + 8, "END", 3) == 0) {
                udp_sink.ended = true;
            } else {
                if (!udp_sink.datagrams) udp_sink.first_ns = now;
                udp_sink.last_ns = now;
                udp_sink.datagrams++;
                udp_sink.bytes += ulen - 8;
            }
        }
        break;
    }
    }
}

void net_input(const uint8_t *f, size_t len) {
    if (len < 14) return;
    uint16_t type = get16(f + 12);
    if (type == 0x0806) arp_input(f + 14, len - 14);
    else if (type == 0x0800) ipv4_input(f + 6, f + 14, len - 14);
}

bool net_run_until(bool (*done)(void), uint64_t timeout_ns) {
    uint64_t deadline = xen_system_time() + timeout_ns;
    while (!done()) {
        if (xen_system_time() > deadline) return false;
        if (!netfront_poll(net_input)) netfront_wait(MS(10));
    }
    return true;
}
