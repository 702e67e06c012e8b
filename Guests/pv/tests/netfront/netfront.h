/* netfront: a minimal Xen network frontend and IPv4 stack for KiteXTF test kernels.
   Everything comes from Xen's public headers (io/netif.h, io/ring.h, grant_table.h,
   io/xs_wire.h) and the RFCs (ARP 826, IPv4 791, ICMP 792, UDP 768, TCP 793, DHCP 2131),
   as Linux's xen-netfront uses the rings; correct for real Xen. */
#ifndef NETFRONT_H
#define NETFRONT_H

#include "ktf.h"


/* ---- xenstore client (xs.c): polled, one request at a time ---- */
long xs_read(const char *path, char *out, size_t size); /* length, or -errno */
long xs_write(const char *path, const char *value);      /* 0 or -errno */
bool xs_read_ulong(const char *path, unsigned long *out);
/* Polls `path` until it reads `want` (a decimal state) or `timeout_ns` passes. */
bool xs_wait_value(const char *path, unsigned long want, uint64_t timeout_ns);

/* ---- io/netif.h + io/ring.h ---- */
#define NET_RING_SIZE 256
#define NETTXF_csum_blank (1U << 0)
#define NETTXF_data_validated (1U << 1)
#define NETTXF_more_data (1U << 2)
#define NETTXF_extra_info (1U << 3)
#define NETRXF_data_validated (1U << 0)
#define NETRXF_csum_blank (1U << 1)
#define NETRXF_more_data (1U << 2)
#define NETRXF_extra_info (1U << 3)
struct netif_tx_request { grant_ref_t gref; uint16_t offset, flags, id, size; };
struct netif_tx_response { uint16_t id; int16_t status; };
struct netif_rx_request { uint16_t id, pad; grant_ref_t gref; };
struct netif_rx_response { uint16_t id, offset, flags; int16_t status; };
union netif_tx_entry { struct netif_tx_request req; struct netif_tx_response rsp; };
union netif_rx_entry { struct netif_rx_request req; struct netif_rx_response rsp; };
struct sring_header {
    uint32_t req_prod, req_event, rsp_prod, rsp_event;
    uint8_t pvt[4];
    uint8_t pad[44];
};
struct netif_tx_sring { struct sring_header h; union netif_tx_entry ring[NET_RING_SIZE]; };
struct netif_rx_sring { struct sring_header h; union netif_rx_entry ring[NET_RING_SIZE]; };
KTF_CHECK_SIZE(union netif_tx_entry, 12);
KTF_CHECK_SIZE(union netif_rx_entry, 8);
KTF_CHECK_OFFSET(struct netif_tx_sring, ring, 64);
_Static_assert(sizeof(struct netif_tx_sring) <= 4096, "tx ring fits a page");

/* ---- the frontend (netif.c) ---- */
struct netfront_stats {
    unsigned long tx_packets, tx_bytes, tx_errors, rx_packets, rx_bytes, rx_errors;
};
extern uint8_t netfront_mac[6];
extern struct netfront_stats netfront_stats;
/* Connects device/vif/<devid>: -ENOENT when the domain has no such vif. */
long netfront_connect(unsigned int devid);
/* Queues one frame (≤ 4096 bytes); waits for a free transmit buffer. */
long netfront_send(const void *frame, size_t len);
typedef void (*netfront_rx_fn)(const uint8_t *frame, size_t len);
/* Reclaims transmit buffers and hands received frames to `rx`; returns frames received. */
unsigned int netfront_poll(netfront_rx_fn rx);
/* Sleeps until the backend notifies or `ns` passes. */
void netfront_wait(uint64_t ns);
/* Closing → Closed as netfront does on removal. */
void netfront_close(void);

/* ---- IPv4 (net.c) ---- */
typedef uint8_t ip4_t[4];
struct net_config {
    ip4_t ip, gateway, dns;
    bool configured;
};
extern struct net_config net;
uint16_t net_checksum(const void *data, size_t len, uint32_t initial);
void net_input(const uint8_t *frame, size_t len);
/* Runs the frontend until `done()` or the timeout; true if done. */
bool net_run_until(bool (*done)(void), uint64_t timeout_ns);
bool net_parse_ip(const char *text, ip4_t out);
long arp_resolve(const ip4_t ip, uint8_t mac[6], uint64_t timeout_ns);
long net_send_ipv4(const uint8_t mac[6], const ip4_t dst, uint8_t proto, const void *payload, size_t len);
long dhcp_configure(uint64_t timeout_ns);

/* ICMP echo: the stack answers echo requests; replies are counted here. */
extern unsigned int icmp_echo_requests_answered;
extern unsigned int icmp_echo_replies_seen;
extern uint16_t icmp_last_reply_seq;
long icmp_send_echo(const uint8_t mac[6], const ip4_t dst, uint16_t id, uint16_t seq, size_t payload);

/* UDP: the last datagram for `udp_port` is kept (netbench sink). */
struct udp_sink {
    uint16_t port;
    unsigned long datagrams, bytes;
    uint64_t first_ns, last_ns;
    bool ended;
};
extern struct udp_sink udp_sink;
long udp_send(const uint8_t mac[6], const ip4_t dst, uint16_t sport, uint16_t dport, const void *data, size_t len);

/* TCP (tcp.c): one client connection at a time. */
long tcp_connect(const uint8_t mac[6], const ip4_t dst, uint16_t port, uint64_t timeout_ns);
long tcp_send(const void *data, size_t len, uint64_t timeout_ns);
long tcp_receive_line(char *out, size_t size, uint64_t timeout_ns);
long tcp_close(uint64_t timeout_ns);
void tcp_input(const uint8_t *src_ip, const uint8_t *segment, size_t len);

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static inline void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline bool ip_eq(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, 4) == 0; }

#define MS(n) ((uint64_t)(n) * 1000000ULL)

#endif
