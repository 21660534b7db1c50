/* A worker thread: its own uv loop, its own UDP port, packet pool and ICE-lite agent, and the
 * rooms placed on it. The control thread talks to it only through messages (a locked inbox
 * woken by uv_async; the lock is on the control path, never the packet path) and it answers
 * through the uplink the control thread supplied. */
#ifndef SFU_WORKER_H
#define SFU_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "core/hmap.h"
#include "core/list.h"
#include "core/log.h"
#include "sfu.pb-c.h"

struct sfu_config;
struct dtls_ctx;
struct pkt_pool;
struct udp_port;
struct ice_lite;

#define ROOM_ID_MAX 64

/* Control thread -> worker. */
enum wmsg_kind {
    WMSG_REQUEST,    /* env: a request for a room of this worker (or create_room) */
    WMSG_LIST_ROOMS, /* answer with a UMSG_LIST_PART for pending_id */
    WMSG_CLOSE_ROOM, /* the grace period ran out: close room_id, no response */
    WMSG_STOP,       /* close everything and end the loop */
};

struct wmsg {
    struct list node;
    enum wmsg_kind kind;
    uint64_t conn_id;
    uint64_t pending_id;
    uint64_t room_gen;  /* WMSG_REQUEST create_room: the directory's generation of the room */
    Sfu__Envelope *env; /* owned */
    char room_id[ROOM_ID_MAX + 1];
};

/* Worker -> control thread. */
enum umsg_kind {
    UMSG_RESPONSE,    /* frame for conn_id */
    UMSG_EVENT,       /* frame for whoever owns room_id now */
    UMSG_LIST_PART,   /* frame: a packed ListRoomsResponse, this worker's part of pending_id */
    UMSG_ROOM_CLOSED, /* room_id (room_gen) could not be made, or is gone, on this worker */
};

struct umsg {
    struct list node;
    enum umsg_kind kind;
    uint32_t worker;
    uint64_t conn_id;
    uint64_t pending_id;
    uint64_t room_gen; /* events: the generation of the room that sent them */
    char room_id[ROOM_ID_MAX + 1];
    uint8_t *frame; /* owned: the length-prefixed Envelope (or bare ListRoomsResponse) */
    size_t len;
};

struct worker_uplink {
    void (*post)(void *arg, struct umsg *m); /* takes ownership of m; any thread */
    void *arg;
};

struct worker_counters {
    uint64_t rx_stun;
    uint64_t rx_dtls;
    uint64_t rx_srtp;    /* RTP or RTCP (first byte 128..191) */
    uint64_t rx_srtcp;   /* of those, RTCP that reached a transport */
    uint64_t rx_unknown; /* first byte in no RFC 7983 range */
    uint64_t rx_no_transport;
    uint64_t stun_refused; /* bad integrity, unknown ufrag, malformed */
    uint64_t srtp_failed;  /* unprotect failures */
    uint64_t pool_empty;
};

struct worker {
    uint32_t index;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t inbox_async;
    uv_mutex_t inbox_lock;
    struct list inbox;            /* of struct wmsg, under inbox_lock */
    uv_timer_t tick;              /* 20 ms: NACKs, RTCP, consent, TWCC feedback */
    const struct sfu_config *cfg; /* borrowed */
    struct dtls_ctx *dtls;        /* borrowed */
    struct worker_uplink uplink;
    struct udp_port *udp;  /* owned */
    struct pkt_pool *pool; /* owned */
    struct ice_lite *ice;  /* owned */
    struct hmap rooms;     /* struct room by id */
    struct hmap by_ufrag;  /* struct transport by local ufrag */
    struct hmap by_addr;   /* struct transport by selected remote address */
    uint64_t next_id;
    uint64_t last_stats_ms;
    uint16_t port;
    struct worker_counters counters;
    struct log_ratelimit rl_media; /* media-path complaints of this worker */
    bool stopping;
    bool started;
    struct wmsg *stop_msg; /* owned: posted by worker_stop */
};

/* Sets up the worker (socket bound, pool made) without starting its thread.
 * Returns 0 or a negative errno (-EADDRINUSE when the port is taken). */
int worker_init(struct worker *w, uint32_t index, const struct sfu_config *cfg,
                struct dtls_ctx *dtls, const struct worker_uplink *uplink);
int worker_start(struct worker *w);
/* Posts m (ownership passes); any thread. */
void worker_post(struct worker *w, struct wmsg *m);
/* Asks the worker to stop, joins its thread and frees what it owns. Also frees a worker that
 * was initialised but whose start failed. */
void worker_stop(struct worker *w);

/* A new id for a transport, producer or consumer: unique in the process, since the worker's
 * index sits in the top bits. */
uint64_t worker_id_next(struct worker *w);

/* Worker-side helpers for the router: pack env (borrowed) and send it up. */
void worker_send_response(struct worker *w, uint64_t conn_id, const Sfu__Envelope *env);
void worker_send_event(struct worker *w, const char *room_id, uint64_t room_gen,
                       const Sfu__Envelope *env);
/* Tells the control thread that room_id (room_gen) is not on this worker (any more). */
void worker_send_room_closed(struct worker *w, const char *room_id, uint64_t room_gen);

#endif
