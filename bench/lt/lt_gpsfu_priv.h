/* What the two halves of the gpsfu target share: the control thread's (lt_gpsfu.c: servers,
 * rooms, joining and leaving) and the service thread's (lt_gpsfu_msg.c: the server's messages,
 * keep-alives, the peers' callbacks). Private to the target. */
#ifndef BENCH_LT_GPSFU_PRIV_H
#define BENCH_LT_GPSFU_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "lt.h"
#include "lt_proc.h"
#include "lt_gpsfu_sdp.h"
#include "lt_ws.h"
#include "peer.h"

#define LT_GPSFU_PING_MS     20000 /* PROTOCOL.md: the server closes a socket silent for 60 s */
#define LT_GPSFU_ID_LEN      72
#define LT_GPSFU_STREAMS_MAX 48 /* signalling's SDP_MAX_MEDIA */
#define LT_GPSFU_CODES_MAX   8

struct lt_target {
    char dir[PATH_MAX]; /* the private data folder */
    char key[65];       /* the API key */
    char base[64];      /* "http://127.0.0.1:PORT" */
    char host[32];      /* "127.0.0.1:PORT" */
    int port;
    struct lt_proc sfu, sig;          /* running while pid != 0 */
    struct lt_ws *ws;                 /* owned */
    char media_ip[PEER_IP_LEN];       /* the SFU's and the peers' (lt_target_cfg.media_ip) */
    struct lt_peer_loops *peer_loops; /* borrowed: lt_target_cfg.peer_loops */
    bool curl_init;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct lt_room *rooms; /* owned; under mu (the service thread walks them for pings) */
};

struct lt_room {
    struct lt_target *t; /* borrowed */
    struct lt_room *next;
    unsigned index, capacity;
    char id[40];
    char **tokens; /* owned; [0] is the host's */
    unsigned n_tokens;
    unsigned next_token;      /* the next patient or guest link */
    bool host_used;           /* the host link was given to someone */
    unsigned n_joined;        /* people numbered so far, for messages */
    struct lt_person *people; /* borrowed (each person_leave frees its own); under t->mu */
};

struct stream_from {
    char pid[LT_GPSFU_ID_LEN]; /* whose media an m-section of the receiving connection carries */
};

struct lt_person {
    struct lt_room *r; /* borrowed */
    struct lt_person *next;
    unsigned num; /* 1, 2, ... in its room */
    struct lt_role role;
    struct lt_rx_cbs rx;
    void *rx_arg; /* borrowed */
    unsigned n_pub;
    uint32_t ssrc[LT_TRACKS];
    char token[1024];
    char cname[17];
    struct lt_ws_conn *conn;            /* lt_ws's; set before any message, released in leave */
    struct peer *send_peer, *recv_peer; /* owned */
    struct peer_loop *loop;             /* both peers' (lt_peer_loop_pick), or NULL */
    struct lt_gpsfu_sdp_transport recv_local;
    atomic_int next_msg_id;
    atomic_llong last_sent_ms;
    atomic_int join_msg_id, offer_msg_id; /* written before the message goes */
    char *offer_text; /* owned: the sending offer, kept to send again after busy */

    /* Under t->mu. */
    bool open, closed, joined, admitted, ready, leaving;
    char closed_why[96];
    char ended[32];
    char id[LT_GPSFU_ID_LEN];
    bool retry_join, retry_offer;
    int send_state; /* 0 nothing offered, 1 offered, 2 answer applied, -1 failed */
    char send_err[200];
    bool recv_usable; /* recv_peer and recv_local are set: offers may be answered */
    bool recv_busy;   /* one thread is answering an offer */
    char *recv_offer; /* owned: the latest offer not answered yet */
    unsigned recv_offer_version;
    struct stream_from *recv_offer_streams; /* owned */
    size_t recv_offer_n;
    bool recv_remote_set;
    char recv_ufrag[PEER_ICE_TEXT_LEN];
    bool restart_logged;
    unsigned recv_answers;
    struct stream_from answered[LT_GPSFU_STREAMS_MAX]; /* the streams of the last answered offer */
    size_t n_answered;
    char recv_err[200];
    char codes[LT_GPSFU_CODES_MAX][24]; /* error codes logged already */
    size_t n_codes;
    char fatal[200];                  /* an error that ends the join */
    struct stream_from *admitted_ids; /* owned: whom this host admitted */
    size_t n_admitted, cap_admitted;
};
/* CLOCK_MONOTONIC in ms. */
int64_t lt_gpsfu__now_ms(void);

/* Sends msg (taken) on p's socket with a fresh id, stored first in *id_out when not NULL (the
 * reply may come before this returns). Returns the id or a negative errno. Any thread: it takes
 * no lock of the target's. */
int lt_gpsfu__send_id(struct lt_person *p, json_t *msg, atomic_int *id_out);

/* Answers the receiving connection's latest offer, and any that comes meanwhile, once p's
 * receiving peer is usable. Any thread without t->mu held; one at a time per person. */
void lt_gpsfu__recv_offers_answer(struct lt_person *p);

/* The socket callbacks of a person (arg: the person), the keep-alive tick (arg: the target),
 * the peers' callbacks (arg: the person) and the bench's send function (tx: the person). */
extern const struct lt_ws_conn_cbs lt_gpsfu__ws_cbs;
void lt_gpsfu__ws_tick(void *arg);
void lt_gpsfu__peer_cbs(struct peer_cbs *cbs, bool recv);
int lt_gpsfu__send_rtp(void *tx, const uint8_t *rtp, size_t len);

#endif
