/* The load tester's (sfu-bench) shared vocabulary: what a simulated person does in a room, and
 * the interface every server under test (a "target") offers the bench. Three targets implement
 * it: gpsfu (our SFU, joined through signalling's WebSocket as a browser joins), janus (Debian's
 * Janus with its VideoRoom plugin) and limit (a plain UDP relay: the machine's ceiling).
 *
 * Media is the bench's job, not the target's: a target negotiates, connects and hands back how to
 * send each published track (SSRC, payload type, a send function) and delivers what its
 * subscribers receive to the bench's callbacks. The bench stamps every packet it sends with a
 * trailer (lt_stamp.h) so that receivers measure delay and loss per packet.
 *
 * Threading: a target's functions are called from the bench's control thread, one at a time. The
 * send function of a joined person may be called from one other thread (the bench's sender) while
 * the control thread works; it is never called after person_leave has begun. Receive callbacks
 * come from the target's own threads, concurrently for different people. */
#ifndef BENCH_LT_H
#define BENCH_LT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LT_ERR_LEN 256

enum lt_track {
    LT_AUDIO = 0,  /* Opus, 48 kHz */
    LT_VIDEO = 1,  /* VP8, the camera */
    LT_SCREEN = 2, /* VP8, a screen share: a second video track from the same person */
    LT_TRACKS = 3,
};

/* What one simulated person does in a room. */
struct lt_role {
    bool host;               /* the clinician: joins first, admits the others (gpsfu) */
    bool publish[LT_TRACKS]; /* the tracks they send */
    bool subscribe;          /* they receive every other person's tracks in the room */
};

/* One published track as the target negotiated it: what the bench puts in the RTP header. */
struct lt_pub_track {
    bool on;
    uint32_t ssrc;
    uint8_t pt;
};

/* Sends one RTP packet (header and payload, unprotected) for the person: the target protects
 * and sends it (peer_send_rtp for the WebRTC targets). Returns 0 or a negative errno. */
typedef int (*lt_send_fn)(void *tx, const uint8_t *rtp, size_t len);

/* A joined person's media as the bench uses it. Valid until person_leave. */
struct lt_person_media {
    lt_send_fn send; /* NULL when the person publishes nothing */
    void *tx;
    struct lt_pub_track tracks[LT_TRACKS];
};

/* What the bench is told about a person. Called on the target's threads. */
struct lt_rx_cbs {
    /* A decrypted RTP packet (header and payload); buf is borrowed for the call only. */
    void (*on_rtp)(void *arg, const uint8_t *buf, size_t len);
    /* The server asked for a keyframe of one of the person's published video tracks (RTCP PLI
     * or FIR, lt_rtcp.h), as it does when someone starts receiving it: a browser's encoder
     * makes one at once. May be NULL. */
    void (*on_key_request)(void *arg, enum lt_track track);
};

struct peer_loop;

/* The threads the simulated peers of the gpsfu and janus targets run on (bench/peer/peer.h):
 * one per bench CPU, each shared by many peers, as the limit target's one reader thread serves
 * all its sockets. Peers are spread over them in turn. */
#define LT_PEER_LOOPS_MAX 16
struct lt_peer_loops {
    struct peer_loop *loop[LT_PEER_LOOPS_MAX];
    unsigned n;
    atomic_uint next;
};

/* The loop for the next peer, or NULL (the peer then makes a thread of its own). */
static inline struct peer_loop *lt_peer_loop_pick(struct lt_peer_loops *l)
{
    return l && l->n ? l->loop[atomic_fetch_add(&l->next, 1) % l->n] : NULL;
}

struct lt_target_cfg {
    const char *build_dir; /* where sfu/sfu, signalling/signalling and bench/udp_relay are */
    const char *cpus;      /* taskset CPU list for the server processes, or NULL (not pinned) */
    unsigned workers;      /* SFU workers / Janus event loops; 0: the target's own default */
    const char *work_dir;  /* a private folder the target may write (configs, databases, logs) */
    bool verbose;          /* the servers' own logs on stderr */
    /* The address media servers and simulated peers use for media; NULL: 127.0.0.1. Janus
     * ignores loopback interfaces when it gathers ICE candidates, so the janus target needs an
     * address of another interface: sfu-bench makes one in a private network namespace
     * (lt_netns.h), where traffic cannot leave the machine. */
    const char *media_ip;
    struct lt_peer_loops *peer_loops; /* borrowed; may be NULL */
};

struct lt_target;
struct lt_room;
struct lt_person;

struct lt_target_ops {
    const char *name; /* "gpsfu", "janus", "limit" */
    /* Starts the server processes on 127.0.0.1 and waits until they are ready. */
    int (*start)(struct lt_target **out, const struct lt_target_cfg *cfg, char *err, size_t errlen);
    /* The media server's pid: the process whose CPU time and RSS the bench reads from /proc. */
    pid_t (*server_pid)(const struct lt_target *t);
    /* Opens room number index (0, 1, ...) for up to capacity people. */
    int (*room_open)(struct lt_target *t, unsigned index, unsigned capacity, struct lt_room **out,
                     char *err, size_t errlen);
    /* Joins one person and waits (at most timeout_ms) until their connections are up and the
     * target lets their media through (for gpsfu: admitted by the room's host, who must have
     * joined before). rx and rx_arg receive what they are sent, from then on until
     * person_leave returns. Fills *media. */
    int (*person_join)(struct lt_room *r, const struct lt_role *role, const struct lt_rx_cbs *rx,
                       void *rx_arg, int timeout_ms, struct lt_person **out,
                       struct lt_person_media *media, char *err, size_t errlen);
    /* The person leaves (as pressing Leave would) and is freed. Accepts NULL. */
    void (*person_leave)(struct lt_person *p);
    /* Closes the room (everyone in it must have left) and frees it. Accepts NULL. */
    void (*room_close)(struct lt_room *r);
    /* Stops the servers (SIGTERM, then SIGKILL after 5 s) and frees the target. Accepts NULL. */
    void (*stop)(struct lt_target *t);
};

extern const struct lt_target_ops lt_target_gpsfu;
extern const struct lt_target_ops lt_target_janus;
extern const struct lt_target_ops lt_target_limit;

#endif
