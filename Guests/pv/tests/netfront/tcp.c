/* A minimal TCP client (RFC 793): one connection, one segment in flight, retransmission
   on a fixed timer, in-order data only (anything else is answered with an ACK). */
#include "netfront.h"

enum { TCP_CLOSED, TCP_SYN_SENT, TCP_ESTABLISHED, TCP_RESET };
#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_FIN 0x01
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define RETRANSMIT MS(300)

static struct {
    int state;
    ip4_t dst;
    uint8_t mac[6];
    uint16_t sport, dport;
    uint32_t iss, snd_una, snd_nxt, rcv_nxt;
    bool fin_received;
    uint8_t rx[2048];
    size_t rx_len;
} t;

static long send_segment(uint32_t seq, uint8_t flags, const void *data, size_t len) {
    static uint8_t s[20 + 1400];
    if (len > 1400) return -XEN_E2BIG;
    put16(s, t.sport);
    put16(s + 2, t.dport);
    put32(s + 4, seq);
    put32(s + 8, (flags & TCP_ACK) ? t.rcv_nxt : 0);
    s[12] = 5 << 4;
    s[13] = flags;
    put16(s + 14, 8192);
    put16(s + 16, 0);
    put16(s + 18, 0);
    if (len) memcpy(s + 20, data, len);
    uint32_t pseudo = (uint32_t)(net.ip[0] << 8 | net.ip[1]) + (uint32_t)(net.ip[2] << 8 | net.ip[3]) +
                      (uint32_t)(t.dst[0] << 8 | t.dst[1]) + (uint32_t)(t.dst[2] << 8 | t.dst[3]) + 6 +
                      (uint32_t)(20 + len);
    put16(s + 16, net_checksum(s, 20 + len, pseudo));
    return net_send_ipv4(t.mac, t.dst, 6, s, 20 + len);
}

static const uint8_t *find_newline(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n') return p + i;
    return NULL;
}

static bool before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

void tcp_input(const uint8_t *src, const uint8_t *seg, size_t len) {
    if (t.state == TCP_CLOSED || len < 20 || !ip_eq(src, t.dst)) return;
    uint32_t pseudo = (uint32_t)(src[0] << 8 | src[1]) + (uint32_t)(src[2] << 8 | src[3]) +
                      (uint32_t)(net.ip[0] << 8 | net.ip[1]) + (uint32_t)(net.ip[2] << 8 | net.ip[3]) + 6 +
                      (uint32_t)len;
    if (net_checksum(seg, len, pseudo) != 0) return;
    if (get16(seg) != t.dport || get16(seg + 2) != t.sport) return;
    size_t offset = (size_t)(seg[12] >> 4) * 4;
    if (offset < 20 || offset > len) return;
    uint8_t flags = seg[13];
    uint32_t seq = get32(seg + 4), ack = get32(seg + 8);
    const uint8_t *data = seg + offset;
    size_t n = len - offset;
    if (flags & TCP_RST) {
        t.state = TCP_RESET;
        return;
    }
    if (t.state == TCP_SYN_SENT) {
        if ((flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && ack == t.iss + 1) {
            t.snd_una = ack;
            t.rcv_nxt = seq + 1;
            t.state = TCP_ESTABLISHED;
            send_segment(t.snd_nxt, TCP_ACK, NULL, 0);
        }
        return;
    }
    if ((flags & TCP_ACK) && before(t.snd_una, ack) && !before(t.snd_nxt, ack)) t.snd_una = ack;
    bool in_order = seq == t.rcv_nxt;
    if (in_order && n) {
        size_t room = sizeof(t.rx) - t.rx_len;
        size_t take = n < room ? n : room;
        memcpy(t.rx + t.rx_len, data, take);
        t.rx_len += take;
        t.rcv_nxt += (uint32_t)take;
    }
    if ((flags & TCP_FIN) && seq + (uint32_t)n == t.rcv_nxt && !t.fin_received) {
        t.fin_received = true;
        t.rcv_nxt++;
    }
    if (n || (flags & TCP_FIN) || !in_order) send_segment(t.snd_nxt, TCP_ACK, NULL, 0);
}

static bool established(void) { return t.state != TCP_SYN_SENT; }
static bool all_acked(void) { return t.state != TCP_ESTABLISHED || t.snd_una == t.snd_nxt; }
static bool line_or_fin(void) {
    return t.state != TCP_ESTABLISHED || t.fin_received || find_newline(t.rx, t.rx_len) != NULL;
}

long tcp_connect(const uint8_t mac[6], const ip4_t dst, uint16_t port, uint64_t timeout_ns) {
    memset(&t, 0, sizeof(t));
    memcpy(t.mac, mac, 6);
    memcpy(t.dst, dst, 4);
    t.dport = port;
    t.sport = (uint16_t)(40000 + (xen_system_time() / 1000) % 20000);
    t.iss = (uint32_t)(xen_system_time() * 2654435761u);
    t.snd_una = t.iss;
    t.snd_nxt = t.iss + 1;
    t.state = TCP_SYN_SENT;
    uint64_t deadline = xen_system_time() + timeout_ns;
    while (t.state == TCP_SYN_SENT) {
        if (xen_system_time() > deadline) return -XEN_ETIME;
        send_segment(t.iss, TCP_SYN, NULL, 0);
        net_run_until(established, RETRANSMIT);
    }
    return t.state == TCP_ESTABLISHED ? 0 : -XEN_EIO;
}

long tcp_send(const void *data, size_t len, uint64_t timeout_ns) {
    if (t.state != TCP_ESTABLISHED) return -XEN_EIO;
    uint32_t seq = t.snd_nxt;
    t.snd_nxt += (uint32_t)len;
    uint64_t deadline = xen_system_time() + timeout_ns;
    while (t.state == TCP_ESTABLISHED && t.snd_una != t.snd_nxt) {
        if (xen_system_time() > deadline) return -XEN_ETIME;
        send_segment(seq, TCP_ACK | TCP_PSH, data, len);
        net_run_until(all_acked, RETRANSMIT);
    }
    return t.state == TCP_ESTABLISHED ? 0 : -XEN_EIO;
}

long tcp_receive_line(char *out, size_t size, uint64_t timeout_ns) {
    if (!net_run_until(line_or_fin, timeout_ns)) return -XEN_ETIME;
    const uint8_t *nl = find_newline(t.rx, t.rx_len);
    size_t n = nl ? (size_t)(nl - t.rx) + 1 : t.rx_len;
    if (n >= size) n = size - 1;
    memcpy(out, t.rx, n);
    out[n] = '\0';
    memmove(t.rx, t.rx + n, t.rx_len - n);
    t.rx_len -= n;
    return (long)n;
}

static bool fin_done(void) { return t.state != TCP_ESTABLISHED || (t.snd_una == t.snd_nxt && t.fin_received); }

long tcp_close(uint64_t timeout_ns) {
    if (t.state != TCP_ESTABLISHED) return -XEN_EIO;
    uint32_t seq = t.snd_nxt;
    t.snd_nxt++;
    uint64_t deadline = xen_system_time() + timeout_ns;
    while (!fin_done()) {
        if (xen_system_time() > deadline) return -XEN_ETIME;
        send_segment(seq, TCP_FIN | TCP_ACK, NULL, 0);
        net_run_until(fin_done, RETRANSMIT);
    }
    long rc = t.state == TCP_ESTABLISHED ? 0 : -XEN_EIO;
    t.state = TCP_CLOSED;
    return rc;
}
