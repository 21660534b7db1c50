/* The janus target: Debian's Janus with its VideoRoom plugin, driven over its HTTP API the way
 * janus.js drives it. Each person has a publisher handle (join, publish with our offer) and one
 * multistream subscriber handle (Janus offers, we answer), each with its own bench peer. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "lt_janus_priv.h"
#include "lt_rtcp.h"

#define START_TIMEOUT_MS 20000
#define PT_OPUS          111
#define PT_VP8           96
#define PT_VP8_SCREEN    98 /* its own PT: Janus tells the two video sections apart without MID */

struct feed_set {
    uint64_t *v; /* owned */
    size_t n, cap;
};

struct lt_target {
    struct jn_proc proc;
    struct jn_api *api;    /* owned */
    uint64_t admin_handle; /* rooms are created and destroyed through it */
    unsigned next_person;
    struct lt_peer_loops *peer_loops; /* borrowed: lt_target_cfg.peer_loops */
};

struct lt_room {
    struct lt_target *t; /* borrowed */
    uint64_t id;
    unsigned capacity;
    struct lt_person *people; /* borrowed: person_leave unlinks and frees each */
};

struct lt_person {
    struct lt_room *room;   /* borrowed */
    struct lt_person *next; /* in room->people */
    char name[32];

    /* Publishing (control thread only). */
    uint64_t pub_handle;
    uint64_t feed;          /* Janus's publisher id; 0 when publishing nothing */
    struct peer *pub_peer;  /* owned */
    struct peer_loop *loop; /* the person's two peers' (lt_peer_loop_pick), or NULL */
    struct lt_pub_track tracks[LT_TRACKS];

    /* Subscribing. */
    bool subscribe;
    struct lt_rx_cbs rx;
    void *rx_arg;          /* borrowed */
    uint64_t sub_handle;   /* written before the handle's first request, then only read */
    struct peer *sub_peer; /* owned; created before the handle */
    struct jn_sdp_local sub_local;
    struct feed_set want; /* control thread only: every other publisher in the room */

    pthread_mutex_t mu; /* guards what the long-poll thread writes, below */
    pthread_cond_t cv;
    struct feed_set offered; /* feeds in the last offer we answered */
    struct feed_set have;    /* feeds Janus confirmed (started) or that needed no renegotiation */
    char start_txn[JN_TXN_LEN];
    bool remote_set;
    bool pub_up, sub_up;   /* Janus's webrtcup for each handle */
    char fail[LT_ERR_LEN]; /* first error the long-poll thread saw, or "" */
};

static int left_ms(uint64_t deadline)
{
    uint64_t now = lt_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* --- feed sets ------------------------------------------------------------------------------- */

static bool feed_set_has(const struct feed_set *s, uint64_t f)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == f)
            return true;
    return false;
}

static int feed_set_add(struct feed_set *s, uint64_t f)
{
    if (feed_set_has(s, f))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        uint64_t *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = f;
    return 0;
}

static void feed_set_del(struct feed_set *s, uint64_t f)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == f) {
            s->v[i] = s->v[--s->n];
            return;
        }
}

static bool feed_set_covers(const struct feed_set *big, const struct feed_set *small)
{
    for (size_t i = 0; i < small->n; i++)
        if (!feed_set_has(big, small->v[i]))
            return false;
    return true;
}

/* Replaces dst's contents with src's (dst keeps its buffer when large enough). */
static int feed_set_copy(struct feed_set *dst, const struct feed_set *src)
{
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        if (feed_set_add(dst, src->v[i]) < 0)
            return -ENOMEM;
    return 0;
}

/* The publishers a subscription's "streams" list carries, live streams only: Janus keeps the
 * m-section of a publisher that left, without a feed. */
static void feed_set_from_streams(struct feed_set *s, json_t *streams)
{
    s->n = 0;
    for (size_t i = 0; i < json_array_size(streams); i++) {
        json_t *st = json_array_get(streams, i);
        json_t *feed = json_object_get(st, "feed_id");
        if (!json_is_integer(feed) || json_is_false(json_object_get(st, "active")))
            continue;
        feed_set_add(s, (uint64_t)json_integer_value(feed));
    }
}

/* --- events from Janus (the long-poll thread) ------------------------------------------------ */

static void person_fail(struct lt_person *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void person_fail(struct lt_person *p, const char *fmt, ...)
{
    pthread_mutex_lock(&p->mu);
    if (!p->fail[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->fail, sizeof(p->fail), fmt, ap);
        va_end(ap);
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* A handle's media going up ("webrtcup": *up is set) or down ("hangup": the person fails);
 * true when msg was one of them. who names the handle in the failure. */
static bool handle_media_event(struct lt_person *p, json_t *msg, const char *kind, bool *up,
                               const char *who)
{
    if (strcmp(kind, "webrtcup") == 0) {
        pthread_mutex_lock(&p->mu);
        *up = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return true;
    }
    if (strcmp(kind, "hangup") == 0) {
        person_fail(p, "Janus hung up the %s (%s)", who,
                    jn_str_or(json_string_value(json_object_get(msg, "reason")), "no reason"));
        return true;
    }
    return false;
}

static void pub_on_event(void *arg, json_t *msg)
{
    struct lt_person *p = arg;
    const char *kind = json_string_value(json_object_get(msg, "janus"));
    if (kind)
        handle_media_event(p, msg, kind, &p->pub_up, "publisher");
    /* The room's "publishers" events need nothing here: every join goes through the control
     * thread, which subscribes the others itself (person_join). */
}

/* Answers an offer Janus made on the subscriber handle: the first one sets up the peer, later
 * ones (people arriving or leaving) only renegotiate the same transport. */
static void sub_answer(struct lt_person *p, const char *offer, json_t *streams)
{
    char err[LT_ERR_LEN];
    char *answer = NULL;
    if (jn_sdp_answer(offer, &p->sub_local, &answer, err, sizeof(err)) < 0) {
        person_fail(p, "subscriber answer: %s", err);
        return;
    }
    pthread_mutex_lock(&p->mu);
    feed_set_from_streams(&p->offered, streams);
    pthread_mutex_unlock(&p->mu);

    char txn[JN_TXN_LEN];
    json_t *jsep = json_pack("{s:s,s:s}", "type", "answer", "sdp", answer);
    g_free(answer);
    int rc = jn_api_send(p->room->t->api, true, p->sub_handle,
                         json_pack("{s:s}", "request", "start"), jsep, txn, err, sizeof(err));
    if (rc < 0) {
        person_fail(p, "subscriber start: %s", err);
        return;
    }
    pthread_mutex_lock(&p->mu);
    snprintf(p->start_txn, sizeof(p->start_txn), "%s", txn);
    bool first = !p->remote_set;
    p->remote_set = true;
    pthread_mutex_unlock(&p->mu);
    if (!first)
        return;

    /* After Janus has our answer, so our checks find it knowing our credentials. */
    struct jn_sdp_remote rem;
    if (jn_sdp_remote_parse(offer, &rem, err, sizeof(err)) < 0) {
        person_fail(p, "subscriber offer: %s", err);
        return;
    }
    rc = peer_set_remote(p->sub_peer, rem.ufrag, rem.pwd, rem.cands, rem.ncands, rem.fingerprint);
    if (rc < 0)
        person_fail(p, "subscriber peer_set_remote: %s", strerror(-rc));
}

static void sub_on_event(void *arg, json_t *msg)
{
    struct lt_person *p = arg;
    const char *kind = json_string_value(json_object_get(msg, "janus"));
    if (!kind || handle_media_event(p, msg, kind, &p->sub_up, "subscriber"))
        return;
    if (strcmp(kind, "event") != 0)
        return;
    json_t *data = jn_msg_data(msg);
    if (json_object_get(data, "error_code")) {
        person_fail(p, "subscriber: videoroom error %" JSON_INTEGER_FORMAT ": %s",
                    json_integer_value(json_object_get(data, "error_code")),
                    jn_str_or(json_string_value(json_object_get(data, "error")), "?"));
        return;
    }
    const char *vr = json_string_value(json_object_get(data, "videoroom"));
    json_t *jsep = json_object_get(msg, "jsep");
    const char *type = json_string_value(json_object_get(jsep, "type"));
    const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
    if (type && sdp && strcmp(type, "offer") == 0) {
        sub_answer(p, sdp, json_object_get(data, "streams"));
        return;
    }
    if (vr && strcmp(vr, "updated") == 0 && json_object_get(data, "streams")) {
        /* A change that needed no new offer. */
        pthread_mutex_lock(&p->mu);
        feed_set_from_streams(&p->have, json_object_get(data, "streams"));
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    const char *started = json_string_value(json_object_get(data, "started"));
    const char *txn = json_string_value(json_object_get(msg, "transaction"));
    if (started && strcmp(started, "ok") == 0) {
        pthread_mutex_lock(&p->mu);
        if (!txn || strcmp(txn, p->start_txn) == 0)
            feed_set_copy(&p->have, &p->offered);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* --- people ---------------------------------------------------------------------------------- */

static int pub_send(void *tx, const uint8_t *rtp, size_t len)
{
    return peer_send_rtp(tx, rtp, len);
}

/* The publisher peer's RTCP: Janus's keyframe requests (a new subscriber), passed up. */
static void pub_on_rtcp(void *arg, const uint8_t *buf, size_t len)
{
    struct lt_person *p = arg;
    uint32_t ssrc[LT_TRACKS];
    bool on[LT_TRACKS];
    for (int k = 0; k < LT_TRACKS; k++) {
        ssrc[k] = p->tracks[k].ssrc;
        on[k] = p->tracks[k].on;
    }
    lt_rtcp_key_dispatch(buf, len, ssrc, on, &p->rx, p->rx_arg);
}

static uint32_t ssrc_new(const struct lt_pub_track *tracks)
{
    for (;;) {
        uint32_t s = g_random_int();
        bool used = s == 0;
        for (int t = 0; t < LT_TRACKS; t++)
            used |= tracks[t].on && tracks[t].ssrc == s;
        if (!used)
            return s;
    }
}

/* Joins as a publisher, publishes our offer and starts the peer on Janus's answer. */
static int pub_start(struct lt_person *p, const struct lt_role *role, uint64_t deadline, char *err,
                     size_t errlen)
{
    struct lt_target *t = p->room->t;
    static const uint8_t pts[LT_TRACKS] = {PT_OPUS, PT_VP8, PT_VP8_SCREEN};
    char e[LT_ERR_LEN];
    json_t *ev = NULL;
    char *offer = NULL;
    int rc;

    struct peer_cfg pc;
    peer_cfg_init(&pc);
    pc.local_ip = t->proc.media_ip;
    if (!p->loop) /* one loop per person, as lt_gpsfu.c */
        p->loop = lt_peer_loop_pick(t->peer_loops);
    pc.loop = p->loop;
    pc.controlling = true;
    pc.dtls_server = false;
    struct peer_cbs cbs = {.on_rtcp = pub_on_rtcp};
    rc = peer_new(&p->pub_peer, &pc, &cbs, p);
    if (rc < 0) {
        lt_errf(err, errlen, "publisher peer_new: %s", strerror(-rc));
        return rc;
    }
    for (int k = 0; k < LT_TRACKS; k++) {
        if (!role->publish[k])
            continue;
        p->tracks[k].ssrc = ssrc_new(p->tracks);
        p->tracks[k].pt = pts[k];
        p->tracks[k].on = true;
    }

    rc = jn_api_attach(t->api, pub_on_event, p, &p->pub_handle, e, sizeof(e));
    if (rc < 0) {
        lt_errf(err, errlen, "publisher attach: %s", e);
        return rc;
    }
    rc = jn_api_call(t->api, p->pub_handle,
                     json_pack("{s:s,s:s,s:I,s:s}", "request", "join", "ptype", "publisher", "room",
                               (json_int_t)p->room->id, "display", p->name),
                     NULL, left_ms(deadline), &ev, e, sizeof(e));
    if (rc < 0) {
        lt_errf(err, errlen, "publisher join: %s", e);
        return rc;
    }
    p->feed = (uint64_t)json_integer_value(json_object_get(jn_msg_data(ev), "id"));
    json_decref(ev);
    ev = NULL;
    if (p->feed == 0) {
        lt_errf(err, errlen, "publisher join: no publisher id in Janus's answer");
        return -EPROTO;
    }

    struct jn_sdp_local l;
    if (jn_sdp_local_from_peer(&l, p->pub_peer) < 0) {
        lt_errf(err, errlen, "publisher peer has no candidates");
        return -EIO;
    }
    jn_sdp_offer(&l, p->tracks, p->name, &offer);
    json_t *jsep = json_pack("{s:s,s:s,s:b}", "type", "offer", "sdp", offer, "trickle", 0);
    g_free(offer);
    rc = jn_api_call(t->api, p->pub_handle, json_pack("{s:s}", "request", "publish"), jsep,
                     left_ms(deadline), &ev, e, sizeof(e));
    if (rc < 0) {
        lt_errf(err, errlen, "publish: %s", e);
        return rc;
    }
    const char *answer = json_string_value(json_object_get(json_object_get(ev, "jsep"), "sdp"));
    struct jn_sdp_remote rem;
    if (getenv("LT_JANUS_SDP")) /* for debugging a negotiation by hand */
        fprintf(stderr, "--- publisher offer/answer\n%s\n", answer ? answer : "(none)");
    if (!answer) {
        lt_errf(err, errlen, "publish: Janus's answer has no SDP");
        rc = -EPROTO;
    } else if ((rc = jn_sdp_remote_parse(answer, &rem, e, sizeof(e))) < 0) {
        lt_errf(err, errlen, "publish answer: %s", e);
    } else if ((rc = peer_set_remote(p->pub_peer, rem.ufrag, rem.pwd, rem.cands, rem.ncands,
                                     rem.fingerprint)) < 0) {
        lt_errf(err, errlen, "publisher peer_set_remote: %s", strerror(-rc));
    }
    json_decref(ev);
    return rc;
}

/* Waits until the publisher's PeerConnection is up on both sides. */
static int pub_wait(struct lt_person *p, uint64_t deadline, char *err, size_t errlen)
{
    int rc = peer_wait_state(p->pub_peer, PEER_STATE_CONNECTED, left_ms(deadline));
    if (rc < 0) {
        lt_errf(err, errlen, "publisher connect (ICE/DTLS): %s",
                rc == -ETIMEDOUT ? "timed out" : "failed");
        return rc;
    }
    struct timespec dl = {.tv_sec = (time_t)(deadline / 1000),
                          .tv_nsec = (long)(deadline % 1000) * 1000000};
    pthread_mutex_lock(&p->mu);
    while (!p->pub_up && !p->fail[0] && rc == 0)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT && !p->pub_up)
            rc = -ETIMEDOUT;
    if (p->fail[0])
        rc = -EPROTO;
    if (rc < 0)
        lt_errf(err, errlen, "publisher webrtcup: %s", p->fail[0] ? p->fail : "timed out");
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Asks Janus for the feeds in add on p's subscription: the first time by joining as a
 * subscriber (Janus then offers), later by "subscribe" (Janus re-offers, or folds the request
 * into a renegotiation in progress). The answers come from sub_on_event. */
static int sub_request(struct lt_person *p, const struct feed_set *add, char *err, size_t errlen)
{
    struct lt_target *t = p->room->t;
    char e[LT_ERR_LEN];
    int rc;
    json_t *streams = json_array();
    for (size_t i = 0; i < add->n; i++)
        json_array_append_new(streams, json_pack("{s:I}", "feed", (json_int_t)add->v[i]));

    if (p->sub_handle) {
        rc = jn_api_send(t->api, false, p->sub_handle,
                         json_pack("{s:s,s:o}", "request", "subscribe", "streams", streams), NULL,
                         NULL, e, sizeof(e));
        if (rc < 0)
            lt_errf(err, errlen, "subscriber %s subscribe: %s", p->name, e);
        return rc;
    }

    struct peer_cfg pc;
    peer_cfg_init(&pc);
    pc.local_ip = t->proc.media_ip;
    if (!p->loop) /* one loop per person, as lt_gpsfu.c */
        p->loop = lt_peer_loop_pick(t->peer_loops);
    pc.loop = p->loop;
    pc.controlling = JN_ICE_LITE; /* Janus offers; lite Janus never controls */
    pc.dtls_server = false;       /* our answer says a=setup:active */
    struct peer_cbs cbs = {.on_rtp = p->rx.on_rtp};
    rc = peer_new(&p->sub_peer, &pc, &cbs, p->rx_arg);
    if (rc < 0) {
        json_decref(streams);
        lt_errf(err, errlen, "subscriber %s peer_new: %s", p->name, strerror(-rc));
        return rc;
    }
    if (jn_sdp_local_from_peer(&p->sub_local, p->sub_peer) < 0) {
        json_decref(streams);
        lt_errf(err, errlen, "subscriber %s peer has no candidates", p->name);
        return -EIO;
    }
    rc = jn_api_attach(t->api, sub_on_event, p, &p->sub_handle, e, sizeof(e));
    if (rc < 0) {
        json_decref(streams);
        lt_errf(err, errlen, "subscriber %s attach: %s", p->name, e);
        return rc;
    }
    rc = jn_api_send(t->api, false, p->sub_handle,
                     json_pack("{s:s,s:s,s:I,s:o}", "request", "join", "ptype", "subscriber",
                               "room", (json_int_t)p->room->id, "streams", streams),
                     NULL, NULL, e, sizeof(e));
    if (rc < 0)
        lt_errf(err, errlen, "subscriber %s join: %s", p->name, e);
    return rc;
}

/* Waits until p's subscription holds every feed it wants and its PeerConnection is up. */
static int sub_wait(struct lt_person *p, uint64_t deadline, char *err, size_t errlen)
{
    if (p->want.n == 0)
        return 0;
    struct timespec dl = {.tv_sec = (time_t)(deadline / 1000),
                          .tv_nsec = (long)(deadline % 1000) * 1000000};
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        bool done = p->remote_set && p->sub_up && feed_set_covers(&p->have, &p->want);
        if (done || p->fail[0] || rc < 0)
            break;
        if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
            rc = -ETIMEDOUT;
    }
    if (p->fail[0]) {
        lt_errf(err, errlen, "subscriber %s: %s", p->name, p->fail);
        rc = -EPROTO;
    } else if (rc < 0) {
        lt_errf(err, errlen, "subscriber %s: %s", p->name,
                !p->remote_set ? "no offer from Janus"
                : !p->sub_up   ? "no webrtcup (ICE/DTLS with Janus)"
                               : "Janus did not confirm every publisher in the subscription");
    }
    pthread_mutex_unlock(&p->mu);
    if (rc == 0) {
        rc = peer_wait_state(p->sub_peer, PEER_STATE_CONNECTED, left_ms(deadline));
        if (rc < 0)
            lt_errf(err, errlen, "subscriber %s connect (ICE/DTLS): %s", p->name,
                    rc == -ETIMEDOUT ? "timed out" : "failed");
    }
    return rc;
}

static void person_free(struct lt_person *p)
{
    struct lt_target *t = p->room->t;
    char e[LT_ERR_LEN];
    /* Leave as janus.js does on hang-up: "leave", then the handle goes. Detaching waits for a
     * callback in progress, so nothing touches p afterwards. */
    if (p->sub_handle) {
        jn_api_send(t->api, false, p->sub_handle, json_pack("{s:s}", "request", "leave"), NULL,
                    NULL, e, sizeof(e));
        jn_api_detach(t->api, p->sub_handle);
    }
    if (p->pub_handle) {
        jn_api_send(t->api, false, p->pub_handle, json_pack("{s:s}", "request", "leave"), NULL,
                    NULL, e, sizeof(e));
        jn_api_detach(t->api, p->pub_handle);
    }
    peer_free(p->sub_peer);
    peer_free(p->pub_peer);
    free(p->want.v);
    free(p->offered.v);
    free(p->have.v);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Takes p out of its room: nobody wants its feed any more (Janus re-offers to them). */
static void person_unlink(struct lt_person *p)
{
    struct lt_person **pp = &p->room->people;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    if (p->feed)
        for (struct lt_person *q = p->room->people; q; q = q->next)
            feed_set_del(&q->want, p->feed);
}

static int janus_person_join(struct lt_room *r, const struct lt_role *role,
                             const struct lt_rx_cbs *rx, void *rx_arg, int timeout_ms,
                             struct lt_person **out, struct lt_person_media *media, char *err,
                             size_t errlen)
{
    uint64_t deadline = lt_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    struct lt_person *p = calloc(1, sizeof(*p));
    char e[LT_ERR_LEN] = "";
    int rc = 0;
    if (!p) {
        lt_errf(err, errlen, "janus: out of memory");
        return -ENOMEM;
    }
    p->room = r;
    snprintf(p->name, sizeof(p->name), "lt-%u", ++r->t->next_person);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->subscribe = role->subscribe && rx && rx->on_rtp;
    if (rx)
        p->rx = *rx;
    p->rx_arg = rx_arg;

    bool publishes = false;
    for (int k = 0; k < LT_TRACKS; k++)
        publishes |= role->publish[k];
    if (publishes) {
        rc = pub_start(p, role, deadline, e, sizeof(e));
        if (rc == 0)
            rc = pub_wait(p, deadline, e, sizeof(e));
        if (rc < 0)
            goto fail;
    }

    /* Janus offers a publisher's feed once its PeerConnection is up (webrtcup, just waited
     * for), so the subscriptions start now: ours to everyone present, everyone's to us. */
    p->next = r->people;
    r->people = p;
    if (p->subscribe) {
        for (struct lt_person *q = r->people; q; q = q->next)
            if (q != p && q->feed && feed_set_add(&p->want, q->feed) < 0)
                rc = -ENOMEM;
        if (rc == 0 && p->want.n > 0)
            rc = sub_request(p, &p->want, e, sizeof(e));
        if (rc < 0)
            goto fail;
    }
    if (p->feed) {
        struct feed_set one = {.v = &p->feed, .n = 1, .cap = 1};
        for (struct lt_person *q = r->people; q; q = q->next) {
            if (q == p || !q->subscribe)
                continue;
            if (feed_set_add(&q->want, p->feed) < 0) {
                rc = -ENOMEM;
                goto fail;
            }
            /* A subscriber without a handle had nobody to receive until now: it joins with
             * everything it wants, which is just us. */
            rc = sub_request(q, q->sub_handle ? &one : &q->want, e, sizeof(e));
            if (rc < 0)
                goto fail;
        }
    }
    for (struct lt_person *q = r->people; q; q = q->next) {
        if (!q->subscribe || (q != p && !feed_set_has(&q->want, p->feed)))
            continue;
        rc = sub_wait(q, deadline, e, sizeof(e));
        if (rc < 0)
            goto fail;
    }

    memset(media, 0, sizeof(*media));
    if (publishes) {
        media->send = pub_send;
        media->tx = p->pub_peer;
        memcpy(media->tracks, p->tracks, sizeof(media->tracks));
    }
    *out = p;
    return 0;
fail:
    lt_errf(err, errlen, "janus: %s joining room %" PRIu64 ": %s", p->name, r->id, e);
    person_unlink(p);
    person_free(p);
    return rc < 0 ? rc : -EIO;
}

static void janus_person_leave(struct lt_person *p)
{
    if (!p)
        return;
    person_unlink(p);
    person_free(p);
}

/* --- rooms and the target -------------------------------------------------------------------- */

static int janus_room_open(struct lt_target *t, unsigned index, unsigned capacity,
                           struct lt_room **out, char *err, size_t errlen)
{
    struct lt_room *r = calloc(1, sizeof(*r));
    if (!r) {
        lt_errf(err, errlen, "janus: out of memory");
        return -ENOMEM;
    }
    r->t = t;
    r->id = 1000 + index;
    r->capacity = capacity;
    /* The bench's load, not a limit of the room: no bitrate cap (0), no periodic keyframe
     * requests, no recording, and none of the RTP header extensions our SFU does not use
     * either, so Janus does not rewrite them per packet. */
    json_t *body =
        json_pack("{s:s,s:I,s:b,s:i,s:i,s:i,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "request",
                  "create", "room", (json_int_t)r->id, "permanent", 0, "publishers", (int)capacity,
                  "bitrate", 0, "fir_freq", 0, "audiocodec", "opus", "videocodec", "vp8", "record",
                  0, "notify_joining", 0, "audiolevel_ext", 0, "audiolevel_event", 0,
                  "videoorient_ext", 0, "playoutdelay_ext", 0, "transport_wide_cc_ext", 0);
    json_t *data = NULL;
    char e[LT_ERR_LEN];
    int rc = jn_api_sync(t->api, t->admin_handle, body, &data, e, sizeof(e));
    if (rc < 0) {
        lt_errf(err, errlen, "janus: creating room %" PRIu64 ": %s", r->id, e);
        free(r);
        return rc;
    }
    json_decref(data);
    *out = r;
    return 0;
}

static void janus_room_close(struct lt_room *r)
{
    if (!r)
        return;
    json_t *data = NULL;
    char e[LT_ERR_LEN];
    if (jn_api_sync(r->t->api, r->t->admin_handle,
                    json_pack("{s:s,s:I}", "request", "destroy", "room", (json_int_t)r->id), &data,
                    e, sizeof(e)) == 0)
        json_decref(data);
    free(r);
}

static int janus_start(struct lt_target **out, const struct lt_target_cfg *cfg, char *err,
                       size_t errlen)
{
    struct lt_target *t = calloc(1, sizeof(*t));
    if (!t) {
        lt_errf(err, errlen, "janus: out of memory");
        return -ENOMEM;
    }
    t->peer_loops = cfg->peer_loops;
    int rc = jn_proc_start(&t->proc, cfg, START_TIMEOUT_MS, err, errlen);
    if (rc < 0) {
        free(t);
        return rc;
    }
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u/janus", t->proc.http_port);
    rc = jn_api_new(&t->api, base, err, errlen);
    if (rc == 0)
        rc = jn_api_attach(t->api, NULL, NULL, &t->admin_handle, err, errlen);
    if (rc < 0) {
        jn_api_free(t->api);
        jn_proc_stop(&t->proc);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static pid_t janus_server_pid(const struct lt_target *t)
{
    return t->proc.proc.pid;
}

static void janus_stop(struct lt_target *t)
{
    if (!t)
        return;
    jn_api_free(t->api);
    jn_proc_stop(&t->proc);
    free(t);
}

const struct lt_target_ops lt_target_janus = {
    .name = "janus",
    .start = janus_start,
    .server_pid = janus_server_pid,
    .room_open = janus_room_open,
    .person_join = janus_person_join,
    .person_leave = janus_person_leave,
    .room_close = janus_room_close,
    .stop = janus_stop,
};
