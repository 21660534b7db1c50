/* The baseline for the benchmarks: a plain UDP relay on the SFU's own socket code
 * (sfu/loop/udp.c: libuv recvmmsg in, sendmmsg flushed once per loop iteration) but with no
 * crypto and no RTP work, so the difference to the SFU's CPU time is what SRTP and the router
 * cost. Two modes:
 *
 *   udp_relay PORT [PORT]...  fans every datagram out to a fixed list of 127.0.0.1 ports
 *                             (fwd_bench; at most RELAY_MAX_DESTS destinations);
 *   udp_relay --rooms [IP]    forwards a datagram from a member of a room to every other
 *                             member of that room that receives (sfu-bench's "limit" target).
 *                             A socket joins with a datagram "LTJ" + flags byte (bit 0: it
 *                             receives) + 4-byte big-endian room number, leaves with "LTL";
 *                             each is answered "LTOK" (or "LTNO" when full or unknown).
 *
 * Prints "port N" on stdout once bound (127.0.0.1 or IP, ephemeral); on SIGTERM or SIGINT prints
 * "rx R tx T dropped D" on stdout and exits 0. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <uv.h>

#include "core/log.h"
#include "loop/udp.h"

#define RELAY_MAX_DESTS 64
/* --rooms: rooms and members. Members are found by source port (every member is on
 * 127.0.0.1), so the per-packet lookup is one array read. */
#define RELAY_MAX_ROOMS   1024
#define RELAY_ROOM_PEOPLE 32
#define RELAY_CTL_LEN     8 /* "LTJ" + flags + room */

struct relay_room {
    uint16_t ports[RELAY_ROOM_PEOPLE]; /* members, 0 = free */
    bool receives[RELAY_ROOM_PEOPLE];
};

struct relay {
    struct udp_port *port; /* owned */
    struct sockaddr_in dests[RELAY_MAX_DESTS];
    unsigned n_dests;
    bool rooms_mode;
    struct relay_room *rooms; /* RELAY_MAX_ROOMS, owned (--rooms) */
    uint32_t *room_of;        /* by source port: room number + 1, 0 = none; owned (--rooms) */
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

static void relay_reply(struct relay *r, const struct sockaddr *to, bool ok)
{
    udp_port_send(r->port, (const uint8_t *)(ok ? "LTOK" : "LTNO"), 4, to);
}

/* A join or leave: the members of a room change (never on the packet path). */
static void relay_rooms_control(struct relay *r, const uint8_t *buf, size_t len,
                                const struct sockaddr_in *from)
{
    uint16_t port = ntohs(from->sin_port);
    if (len != RELAY_CTL_LEN) {
        relay_reply(r, (const struct sockaddr *)from, false);
        return;
    }
    uint32_t room =
        (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
    if (room >= RELAY_MAX_ROOMS) {
        relay_reply(r, (const struct sockaddr *)from, false);
        return;
    }
    /* A port still listed in another room (its leave was lost, the port reused) leaves it. */
    uint32_t was = r->room_of[port];
    if (buf[2] == 'J' && was && was - 1 != room) {
        struct relay_room *old = &r->rooms[was - 1];
        for (int i = 0; i < RELAY_ROOM_PEOPLE; i++)
            if (old->ports[i] == port)
                old->ports[i] = 0;
    }
    struct relay_room *rm = &r->rooms[room];
    int slot = -1;
    for (int i = 0; i < RELAY_ROOM_PEOPLE; i++) {
        if (rm->ports[i] == port)
            slot = i;
        else if (slot < 0 && rm->ports[i] == 0 && buf[2] == 'J')
            slot = i;
    }
    if (slot < 0) {
        relay_reply(r, (const struct sockaddr *)from, buf[2] == 'L');
        return;
    }
    if (buf[2] == 'J') {
        rm->ports[slot] = port;
        rm->receives[slot] = buf[3] & 1;
        r->room_of[port] = room + 1;
    } else {
        rm->ports[slot] = 0;
        r->room_of[port] = 0;
    }
    relay_reply(r, (const struct sockaddr *)from, true);
}

/* One copy per other receiving member of the sender's room, as the SFU sends one copy per
 * consumer. */
static void relay_rooms_on_recv(void *arg, uint8_t *buf, size_t len, const struct sockaddr *from)
{
    struct relay *r = arg;
    const struct sockaddr_in *src = (const struct sockaddr_in *)from;
    if (from->sa_family != AF_INET || len > UDP_SLOT_CAP)
        return;
    if (len >= 4 && buf[0] == 'L' && buf[1] == 'T' && (buf[2] == 'J' || buf[2] == 'L')) {
        relay_rooms_control(r, buf, len, src);
        return;
    }
    uint16_t sport = ntohs(src->sin_port);
    uint32_t room = r->room_of[sport];
    if (!room)
        return;
    const struct relay_room *rm = &r->rooms[room - 1];
    struct sockaddr_in to = *src;
    for (int i = 0; i < RELAY_ROOM_PEOPLE; i++) {
        if (!rm->ports[i] || !rm->receives[i] || rm->ports[i] == sport)
            continue;
        uint8_t *slot = udp_port_slot(r->port);
        if (!slot)
            continue;
        memcpy(slot, buf, len);
        to.sin_port = htons(rm->ports[i]);
        udp_port_commit(r->port, len, (const struct sockaddr *)&to);
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

    const char *ip = "127.0.0.1";
    if ((argc == 2 || argc == 3) && strcmp(argv[1], "--rooms") == 0) {
        if (argc == 3)
            ip = argv[2];
        r.rooms_mode = true;
        r.rooms = calloc(RELAY_MAX_ROOMS, sizeof(*r.rooms));
        r.room_of = calloc(65536, sizeof(*r.room_of));
        if (!r.rooms || !r.room_of) {
            fprintf(stderr, "udp_relay: out of memory\n");
            return 1;
        }
    } else if (argc < 2 || argc - 1 > RELAY_MAX_DESTS) {
        fprintf(stderr,
                "usage: %s PORT [PORT]... (1 to %d destinations on 127.0.0.1)\n"
                "       %s --rooms [IP]\n",
                argv[0], RELAY_MAX_DESTS, argv[0]);
        return 2;
    }
    for (int i = 1; !r.rooms_mode && i < argc; i++) {
        uint16_t port;
        if (relay_parse_port(argv[i], &port) < 0) {
            fprintf(stderr, "udp_relay: bad port '%s'\n", argv[i]);
            return 2;
        }
        uv_ip4_addr("127.0.0.1", port, &r.dests[r.n_dests++]);
    }
    signal(SIGPIPE, SIG_IGN);
    log_level_set(LOG_WARN);
    if ((rc = udp_port_new(&r.port, loop, ip, 0, r.rooms_mode ? relay_rooms_on_recv : relay_on_recv,
                           &r)) < 0) {
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
    free(r.rooms);
    free(r.room_of);
    return 0;
}
