/* The baseline for the forwarding benchmark: a plain UDP relay that fans every datagram it
 * receives out to a fixed list of 127.0.0.1 ports, on the SFU's own socket code (sfu/loop/udp.c:
 * libuv recvmmsg in, sendmmsg flushed once per loop iteration) but with no crypto and no RTP
 * work, so the difference to the SFU's CPU time is what SRTP and the router cost.
 *
 * Usage: udp_relay PORT [PORT]...   (at most RELAY_MAX_DESTS destinations)
 * Prints "port N" on stdout once bound (127.0.0.1, ephemeral); on SIGTERM or SIGINT prints
 * "rx R tx T dropped D" on stdout and exits 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <uv.h>

#include "core/log.h"
#include "loop/udp.h"

#define RELAY_MAX_DESTS 64

struct relay {
    struct udp_port *port; /* owned */
    struct sockaddr_in dests[RELAY_MAX_DESTS];
    unsigned n_dests;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    struct udp_stats final;
};

/* One copy per destination into the send slots, as the SFU writes one protected copy per
 * consumer; a full queue drops that copy (udp_port counts it). */
static void relay_on_recv(void *arg, uint8_t *buf, size_t len, const struct sockaddr *from)
{
    struct relay *r = arg;
    (void)from;
    if (len > UDP_SLOT_CAP)
        return;
    for (unsigned i = 0; i < r->n_dests; i++) {
        uint8_t *slot = udp_port_slot(r->port);
        if (!slot)
            continue;
        memcpy(slot, buf, len);
        udp_port_commit(r->port, len, (const struct sockaddr *)&r->dests[i]);
    }
}

static void relay_on_signal(uv_signal_t *h, int signum)
{
    struct relay *r = h->data;
    (void)signum;
    udp_port_flush(r->port);
    udp_port_stats_get(r->port, &r->final);
    uv_signal_stop(&r->sigterm);
    uv_signal_stop(&r->sigint);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    uv_close((uv_handle_t *)&r->sigint, NULL);
    udp_port_close(r->port, NULL, NULL);
    r->port = NULL;
}

static int relay_parse_port(const char *s, uint16_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    static struct relay r;
    uv_loop_t *loop = uv_default_loop();
    int rc;

    if (argc < 2 || argc - 1 > RELAY_MAX_DESTS) {
        fprintf(stderr, "usage: %s PORT [PORT]... (1 to %d destinations on 127.0.0.1)\n", argv[0],
                RELAY_MAX_DESTS);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        uint16_t port;
        if (relay_parse_port(argv[i], &port) < 0) {
            fprintf(stderr, "udp_relay: bad port '%s'\n", argv[i]);
            return 2;
        }
        uv_ip4_addr("127.0.0.1", port, &r.dests[r.n_dests++]);
    }
    signal(SIGPIPE, SIG_IGN);
    log_level_set(LOG_WARN);
    if ((rc = udp_port_new(&r.port, loop, "127.0.0.1", 0, relay_on_recv, &r)) < 0) {
        fprintf(stderr, "udp_relay: bind: %s\n", strerror(-rc));
        return 1;
    }
    uv_signal_init(loop, &r.sigterm);
    uv_signal_init(loop, &r.sigint);
    r.sigterm.data = &r;
    r.sigint.data = &r;
    uv_signal_start(&r.sigterm, relay_on_signal, SIGTERM);
    uv_signal_start(&r.sigint, relay_on_signal, SIGINT);
    printf("port %u\n", udp_port_local_port(r.port));
    fflush(stdout);

    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    printf("rx %llu tx %llu dropped %llu\n", (unsigned long long)r.final.rx_packets,
           (unsigned long long)r.final.tx_packets, (unsigned long long)r.final.tx_dropped);
    fflush(stdout);
    return 0;
}
