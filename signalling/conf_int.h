/* Internals shared by conf.c (browsers, admission, roster, chat) and conf_media.c (the SFU's
 * rooms, transports, producers and consumers, and SDP negotiation). Not for other modules. */
#ifndef SIG_CONF_INT_H
#define SIG_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "conf.h"
#include "core/hmap.h"
#include "core/list.h"
#include "sdp.h"
#include "store.h"

#define CONF_MAX_PRODUCERS                                                                         \
    4 /* a browser's sending tracks: microphone, camera, and room to grow                          \
       */
#define CONF_LABEL_MAX 32
/* How long a participant whose socket dropped is kept for their browser to resume. A phone
 * moving between networks, or signalling restarting, is back within seconds. */
#define CONF_RESUME_MS      20000
#define CONF_RESUME_KEY_LEN 32 /* hex digits: 128 random bits */

enum conf_room_sfu {
    CONF_SFU_NONE,     /* no room on the SFU yet */
    CONF_SFU_CREATING, /* CreateRoom sent */
    CONF_SFU_READY,
};

/* One live consultation. */
struct conf_room {
    struct list node; /* in hub->rooms */
    struct hmap_node by_uid;
    uint64_t uid;
    struct conf_hub *hub; /* borrowed */
    char consultation_id[STORE_ID_MAX + 1];
    char room_id[STORE_ID_MAX + 1];
    char kind[STORE_WORD_MAX + 1];
    char message[STORE_MESSAGE_MAX + 1];
    enum conf_room_sfu sfu;
    bool claiming;       /* in a ClaimRooms not answered yet */
    struct list members; /* struct conf_conn.member_node, joined browsers */
};

/* The SFU's side of one transport, kept to write it into SDP. */
struct conf_tinfo {
    uint64_t id; /* 0: none */
    char ufrag[SDP_UFRAG_LEN];
    char pwd[SDP_PWD_LEN];
    char fingerprint[SDP_FP_LEN];
    struct {
        char foundation[33];
        uint32_t priority;
        char ip[64];
        uint16_t port;
    } cands[SDP_MAX_CANDS];
    size_t n_cands;
    bool connected; /* ConnectTransport sent with the browser's fingerprint */
};

struct conf_producer {
    uint64_t id;
    struct sdp_media media; /* as the browser offered it: codec, MID, SSRCs */
};

/* One m-section of the receiving connection. */
struct conf_slot {
    uint64_t consumer_id; /* 0: inactive (free for reuse by the same kind) */
    uint64_t producer_id;
    bool pending; /* ConsumeRequest in flight */
    bool resumed; /* the consumer is made paused, and resumed once the browser has answered an
                   * offer naming it: what came before would be dropped by the browser, the
                   * first keyframe with it */
    char from[STORE_ID_MAX + 1]; /* whose media it carries */
    struct sdp_codec codec;      /* what was asked for, for sdp_media_from_consumed */
};

struct conf_probe; /* conf_probe.c */

/* The latest report a browser made of its own connection (PROTOCOL.md `quality`), which hosts
 * see in their roster. level 0: none yet. */
struct conf_quality {
    int level; /* enum wsmsg_level */
    double loss;
    uint32_t rtt;
    uint64_t at_ms; /* when it was taken (clock_mono_ms), for the rate limit */
    int sent_level; /* what the hosts were last sent, and when */
    uint64_t sent_ms;
};

/* One browser connection, and once joined, one participant in a room. */
struct conf_conn {
    struct hmap_node by_uid;
    uint64_t uid;
    struct conf_hub *hub; /* borrowed */
    void *handle;         /* borrowed: the server's connection */
    char session[STORE_ID_MAX + 1];
    bool closing; /* close asked of the server: send nothing more */
    /* Its socket is gone but the participant stays, media flowing, for CONF_RESUME_MS: a
     * browser that reconnects (a network change, a signalling restart) resumes it with the
     * peer connections it has. handle is NULL and closing true meanwhile. */
    bool detached;
    uint64_t detached_ms;
    /* Sent in joined; a resume must present it, so that only the page holding the peer
     * connections of this join can take it over (another tab or device joins afresh). */
    char resume_key[CONF_RESUME_KEY_LEN + 1];
    /* Before joining, the connection test (conf_probe.c). */
    struct conf_probe *probe; /* borrowed (the hub's); NULL when none is running */
    unsigned probes;          /* made on this socket, for the limit */
    struct conf_quality quality;
    /* A token bucket on the browser's messages: a page in a loop must not flood the others
     * (every change fans out to everyone in the room). */
    double tokens;
    uint64_t tokens_ms;

    /* Joined: */
    struct conf_room *room; /* borrowed; NULL before join and after leaving */
    struct list member_node;
    char id[STORE_ID_MAX + 1]; /* participant id (the link's jti) */
    char role[STORE_WORD_MAX + 1];
    char label[CONF_LABEL_MAX];
    bool admitted;
    bool audio, video;
    int64_t since;
    bool joined_sent;
    int setup_pending; /* CreateTransport answers still to come */

    struct conf_tinfo send_t, recv_t;
    struct conf_producer prod[CONF_MAX_PRODUCERS];
    size_t n_prod;
    char send_ufrag[SDP_UFRAG_LEN]; /* the browser's, in the sending offer last answered */
    struct sdp_publish *offer;      /* owned: the sending offer being answered, NULL when none */
    int64_t offer_re;               /* the offer message's id, -1 when none */
    int produce_pending;
    int produce_failed;

    /* Owned, SDP_MAX_MEDIA each, made at join (a socket that never joins costs little). */
    struct sdp_media *recv_media; /* contiguous, as sdp_offer_build wants */
    struct conf_slot *slots;
    size_t n_slots;
    int consume_pending;
    unsigned recv_version;
    bool offer_out; /* a receiving offer awaits its answer */
    /* What that offer said (owned, offered_n sections): slots change while it is out (someone
     * else admitted, someone leaving), and the answer answers the offer, not the slots. */
    struct sdp_media *offered;
    size_t offered_n;
    bool dirty; /* something changed while it was out: offer again after the answer */
};

struct conf_hub {
    struct conf_hub_params p;
    uv_timer_t sweep; /* ends the participants not resumed in time */
    bool sweeping;
    struct list rooms;
    struct hmap rooms_by_uid;
    struct hmap conns_by_uid;
    size_t n_conns;
    uint64_t next_uid;
    bool stopping;            /* conf_hub_stop: no more SFU calls */
    bool synced;              /* the SFU's rooms were listed once: joins are taken */
    struct log_ratelimit *rl; /* owned */
    struct list probes;       /* struct conf_probe, owned (conf_probe.c) */
    size_t n_probes;
};

/* One SFU request in flight, found again by its answer (conf__on_sfu_answer). */
enum conf_op_kind {
    OP_CREATE_ROOM,
    OP_CREATE_SEND,
    OP_CREATE_RECV,
    OP_PRODUCE,
    OP_CONSUME,
    OP_STATS,
    OP_CONNECT, /* index: 0 sending, 1 receiving transport */
    OP_CLAIM,
    OP_RESTART, /* RestartIce; index: 0 sending, 1 receiving transport */
    OP_OTHER,   /* nothing to do with the answer but log a refusal */
};

struct conf_op {
    struct conf_hub *hub;
    enum conf_op_kind kind;
    uint64_t uid; /* the room (OP_CREATE_ROOM) or the connection */
    size_t index; /* OP_PRODUCE: the offer's section; OP_CONSUME: the slot */
    char room_id[STORE_ID_MAX + 1];
    const char *what;             /* for logs */
    struct conf_stats_req *stats; /* OP_STATS: owned; freed with the op */
};

/* conf.c */
int64_t conf__now(const struct conf_hub *h);
/* Sends a JSON object to the browser (the reference is stolen). */
void conf__send(struct conf_conn *c, json_t *msg);
void conf__send_error(struct conf_conn *c, const char *code, const char *message, int64_t re);
void conf__roster_broadcast(struct conf_room *r);
struct conf_conn *conf__conn_find(struct conf_hub *h, uint64_t uid);
struct conf_room *conf__room_find(struct conf_hub *h, uint64_t uid);
/* Every browser of the room must reconnect (the SFU lost the room): close them, free it. */
void conf__room_lost(struct conf_room *r);
/* A member's transports are ready: send joined and, if admitted, start receiving. */
void conf__member_ready(struct conf_conn *c);

/* The browser resumed c on a new socket: consumes what it misses and offers its receiving
 * connection again (what was out before the drop may never have arrived). */
void conf__media_resumed(struct conf_conn *c);
/* Whether o takes part in media changes: joined, and with a socket or detached (a detached
 * participant's consumers are made at once; its offer waits for the resume). */
static inline bool conf__media_live(const struct conf_conn *o)
{
    return o->joined_sent && (!o->closing || o->detached);
}
/* The browser asks for new ICE credentials on its receiving connection. */
void conf__on_restart_ice(struct conf_conn *c, int64_t re);

/* A room for cons, not yet on the SFU. NULL on -ENOMEM. */
struct conf_room *conf__room_new(struct conf_hub *h, const struct store_consultation *cons);
/* Takes r out of the hub and frees it (its members are gone or freed by the caller). */
void conf__room_free(struct conf_room *r);
/* c->label from its role and place among the consultation's participants ("Guest 2"). */
void conf__member_label(struct conf_hub *h, const char *consultation_id, struct conf_conn *c);

/* conf_persist.c: what a signalling process started after this one needs to carry on. */
/* c's media state as a blob (*out the caller's to free). -ENOMEM. */
int conf__snapshot_write(const struct conf_conn *c, uint8_t **out, size_t *out_len);
/* Fills c's media state from a blob (c->recv_media and c->slots allocated, SDP_MAX_MEDIA each).
 * -EINVAL when it is not one this build wrote; every string read ends within its field. */
int conf__snapshot_read(struct conf_conn *c, const void *state, size_t len);
/* Writes c's media state to the store (a store failure is logged: the call goes on). */
void conf__persist(struct conf_conn *c);
/* c left for good: its media state is forgotten (not while the service is stopping: the next
 * process resumes from it). */
void conf__persist_forget(struct conf_conn *c);
/* An SFU room nobody in this process knows, kept for us after a restart: made again with its
 * participants as they were written, each detached until their browser resumes. Returns the
 * room, or NULL when there is nothing live to carry on (the caller closes it on the SFU). */
struct conf_room *conf__room_restore(struct conf_hub *h, const Sfu__RoomInfo *ri);
/* Forgets the media states of rooms this process did not take over (the SFU lost them, their
 * consultation ended meanwhile, another build wrote them): at the first listing of the SFU's
 * rooms, after the restores. */
void conf__persist_prune(struct conf_hub *h);

/* conf_media.c */
void conf__room_sfu_create(struct conf_room *r);
void conf__room_sfu_close(struct conf_room *r);
void conf__member_setup(struct conf_conn *c);
void conf__member_teardown(struct conf_conn *c);
void conf__on_offer(struct conf_conn *c, const char *sdp, size_t len, int64_t re);
void conf__on_answer(struct conf_conn *c, const char *sdp, size_t len, uint32_t version,
                     int64_t re);
/* c was admitted (or joined admitted): it consumes every admitted member, and they it. */
void conf__media_admit(struct conf_conn *c);
/* Connects c's receiving connection before there is anything to receive (one inactive
 * section), so that ICE and DTLS are done when someone is admitted: then the first frame is one
 * consume and one renegotiation away. Does nothing when it already has sections. */
void conf__recv_prepare(struct conf_conn *c);
/* Offers c's receiving connection anew (now, or after the outstanding answer or consumes). */
void conf__renegotiate(struct conf_conn *c);
/* Sends env to the SFU; its answer goes to the handler of kind with uid and index (the
 * participant or room is found again by uid: it may be gone). Returns 0, -ECANCELED (the hub is
 * stopping), -ENOTCONN (no link up) or -ENOMEM; no answer comes then. */
int conf__call(struct conf_hub *h, Sfu__Envelope *env, enum conf_op_kind kind, uint64_t uid,
               size_t index, const char *room_id, const char *what);
void conf__on_sfu_answer(void *arg, int status, const Sfu__Envelope *resp);
/* The SFU's reason in an Error answer, or "no answer". */
const char *conf__sfu_error(const Sfu__Envelope *resp);
/* Close requests whose answers matter to nobody (a refusal other than NOT_FOUND is logged). */
void conf__close_transport(struct conf_hub *h, const char *room_id, uint64_t tid);
void conf__close_consumer(struct conf_hub *h, const char *room_id, uint64_t id);
void conf__close_producer(struct conf_hub *h, const char *room_id, uint64_t id);
void conf__close_room(struct conf_hub *h, const char *room_id);

/* conf_sfu.c */
void conf__claimed(struct conf_hub *h, int status, const Sfu__Envelope *resp);
/* Answers a stats request (o->stats, freed here). */
void conf__stats_answered(struct conf_hub *h, struct conf_op *o, int status,
                          const Sfu__Envelope *resp);
void conf__media_event(struct conf_hub *h, const Sfu__Envelope *ev);
/* After the control link came back: closes on the SFU what no participant holds any more
 * (closes sent while the link was down were lost), forgets what the SFU no longer has, and
 * makes the consumers that are missing. */
void conf__room_reconcile(struct conf_room *r, const Sfu__RoomInfo *ri);
/* Whether the SFU lists transport id in the room. */
bool conf__transport_listed(const Sfu__RoomInfo *ri, uint64_t id);
/* The joined message's ice_servers for participant id: TURN credentials made for them, or []. */
json_t *conf__ice_servers(const struct conf_hub *h, const char *participant_id);

/* conf_probe.c: the pre-call connection test. */
/* A probe message (before join): checks the link without using it, and gives the socket a
 * short-lived transport in an SFU room of its own, answering the browser's offer. */
void conf__on_probe(struct conf_conn *c, const char *token, const char *sdp, size_t sdp_len,
                    int64_t re);
/* Ends c's probe, if it has one (c joins, or its socket goes): its SFU room is closed. */
void conf__probe_end(struct conf_conn *c);
/* The hub is stopping: every probe ends (their timers are closed; the SFU is asked nothing). */
void conf__probes_stop(struct conf_hub *h);

/* conf_quality.c: connection quality as each browser sees it, shown to hosts. */
void conf__on_quality(struct conf_conn *c, int level, double loss, uint32_t rtt);
/* Adds "quality" to m's roster entry when m has reported one (rosters for hosts only). */
void conf__quality_put(json_t *entry, const struct conf_conn *m);
/* conf.c: sends the roster again to the room's hosts only (what only they see changed). */
void conf__roster_send_hosts(struct conf_room *r);

#endif
