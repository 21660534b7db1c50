/* The gpsfu target's service-thread half: what a person's browser does with the server's
 * messages (admitting, answering offers, applying the SFU's answer), keep-alive pings, and the
 * peers' callbacks. Person state is under t->mu; nothing here calls into a peer while holding it
 * (sending only takes lt_ws's own lock, so the keep-alive may). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lt_gpsfu_priv.h"
#include "lt_rtcp.h"

int64_t lt_gpsfu__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- messages to the server ----------------------------------------------------------------- */

int lt_gpsfu__send_id(struct lt_person *p, json_t *msg, atomic_int *id_out)
{
    int id = atomic_fetch_add(&p->next_msg_id, 1);
    char *text;
    int rc;
    if (!msg)
        return -ENOMEM;
    if (id_out)
        atomic_store(id_out, id);
    json_object_set_new(msg, "id", json_integer(id));
    text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text)
        return -ENOMEM;
    rc = lt_ws_send(p->conn, text, strlen(text));
    free(text);
    if (rc < 0)
        return rc;
    atomic_store(&p->last_sent_ms, lt_gpsfu__now_ms());
    return id;
}

static int person_send(struct lt_person *p, json_t *msg)
{
    return lt_gpsfu__send_id(p, msg, NULL);
}

/* --- what the service thread does with the server's messages ------------------------------- */

static void on_error_msg(struct lt_person *p, json_t *msg)
{
    struct lt_target *t = p->r->t;
    const char *code = json_string_value(json_object_get(msg, "code"));
    const char *text = json_string_value(json_object_get(msg, "message"));
    json_t *re = json_object_get(msg, "re");
    int re_id = json_is_integer(re) ? (int)json_integer_value(re) : -1;
    bool log = true;
    if (!code)
        code = "(no code)";
    if (!text)
        text = "";
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < p->n_codes; i++)
        log = log && strcmp(p->codes[i], code) != 0;
    if (log && p->n_codes < LT_GPSFU_CODES_MAX)
        snprintf(p->codes[p->n_codes++], sizeof(p->codes[0]), "%s", code);
    /* The two refusals a browser retries (PROTOCOL.md): the service has just started, or a
     * negotiation is under way. */
    if (strcmp(code, "unavailable") == 0 && re_id == atomic_load(&p->join_msg_id) && !p->joined)
        p->retry_join = true;
    else if (strcmp(code, "busy") == 0 && re_id == atomic_load(&p->offer_msg_id) && re_id > 0)
        p->retry_offer = true;
    else if (!p->ready && strcmp(code, "too_many") != 0)
        snprintf(p->fatal, sizeof(p->fatal), "the server answered error %s: %s", code, text);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (log)
        fprintf(stderr, "lt gpsfu: room %u person %u: server error %s: %s\n", p->r->index, p->num,
                code, text);
}

/* The host lets in whoever waits, once each. */
static void on_roster(struct lt_person *p, json_t *msg)
{
    struct lt_target *t = p->r->t;
    json_t *list = json_object_get(msg, "participants"), *e;
    size_t i;
    if (!p->role.host || !json_is_array(list))
        return;
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *state = json_string_value(json_object_get(e, "state"));
        bool seen = false;
        if (!id || !state || strcmp(state, "waiting") != 0 ||
            json_is_true(json_object_get(e, "self")))
            continue;
        pthread_mutex_lock(&t->mu);
        for (size_t k = 0; k < p->n_admitted; k++)
            seen = seen || strcmp(p->admitted_ids[k].pid, id) == 0;
        if (!seen && p->n_admitted == p->cap_admitted) {
            size_t cap = p->cap_admitted ? 2 * p->cap_admitted : 8;
            struct stream_from *a = realloc(p->admitted_ids, cap * sizeof(*a));
            if (a) {
                p->admitted_ids = a;
                p->cap_admitted = cap;
            }
        }
        if (!seen && p->n_admitted < p->cap_admitted)
            snprintf(p->admitted_ids[p->n_admitted++].pid, LT_GPSFU_ID_LEN, "%s", id);
        pthread_mutex_unlock(&t->mu);
        if (!seen)
            person_send(p, json_pack("{s:s, s:s}", "type", "admit", "participant", id));
    }
}

static void on_send_answer(struct lt_person *p, const char *sdp)
{
    struct lt_target *t = p->r->t;
    struct lt_gpsfu_sdp_transport remote;
    char err[200] = "";
    struct peer *sp;
    int rc;
    pthread_mutex_lock(&t->mu);
    sp = p->send_state == 1 ? p->send_peer : NULL;
    pthread_mutex_unlock(&t->mu);
    if (!sp)
        return; /* an answer to an offer sent again after busy: the first one counted */
    rc =
        lt_gpsfu_sdp_send_answer_read(sdp, strlen(sdp), p->role.publish, &remote, err, sizeof(err));
    if (rc == 0) {
        rc = peer_set_remote(sp, remote.ufrag, remote.pwd, remote.cands, remote.n_cands,
                             remote.fingerprint);
        if (rc < 0)
            snprintf(err, sizeof(err), "the send peer refused the SFU's answer: %s", strerror(-rc));
    }
    pthread_mutex_lock(&t->mu);
    p->send_state = rc == 0 ? 2 : -1;
    snprintf(p->send_err, sizeof(p->send_err), "%s", err);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Answers the latest offer on the receiving connection, and any that comes in meanwhile. Runs
 * on the service thread, or once on the control thread when the receiving peer is made; the
 * busy flag keeps it to one thread at a time. */
void lt_gpsfu__recv_offers_answer(struct lt_person *p)
{
    struct lt_target *t = p->r->t;
    for (;;) {
        struct lt_gpsfu_sdp_transport remote;
        struct stream_from *streams;
        char err[200] = "", *answer = NULL, *offer;
        unsigned version;
        size_t n;
        bool first;
        int rc;
        pthread_mutex_lock(&t->mu);
        if (!p->recv_usable || p->recv_busy || !p->recv_offer) {
            pthread_mutex_unlock(&t->mu);
            return;
        }
        offer = p->recv_offer;
        version = p->recv_offer_version;
        streams = p->recv_offer_streams;
        n = p->recv_offer_n;
        p->recv_offer = NULL;
        p->recv_offer_streams = NULL;
        p->recv_busy = true;
        first = !p->recv_remote_set;
        pthread_mutex_unlock(&t->mu);

        rc = lt_gpsfu_sdp_recv_answer(offer, strlen(offer), &p->recv_local, version, &remote,
                                      &answer, err, sizeof(err));
        if (rc == 0 && first) {
            /* Later offers keep this transport: the peer takes one remote description. */
            rc = peer_set_remote(p->recv_peer, remote.ufrag, remote.pwd, remote.cands,
                                 remote.n_cands, remote.fingerprint);
            if (rc < 0)
                snprintf(err, sizeof(err), "the receiving peer refused the SFU's offer: %s",
                         strerror(-rc));
        } else if (rc == 0 && strcmp(remote.ufrag, p->recv_ufrag) != 0 && !p->restart_logged) {
            /* Only restart_ice asks for new credentials, and we never send it. */
            p->restart_logged = true;
            fprintf(stderr,
                    "lt gpsfu: room %u person %u: the receiving offer changed ICE credentials; "
                    "the simulated peer cannot restart ICE and keeps the old ones\n",
                    p->r->index, p->num);
        }
        if (rc == 0)
            person_send(p, json_pack("{s:s, s:s, s:s, s:i}", "type", "answer", "pc", "recv", "sdp",
                                     answer, "version", (int)version));
        pthread_mutex_lock(&t->mu);
        p->recv_busy = false;
        if (rc == 0) {
            if (first)
                snprintf(p->recv_ufrag, sizeof(p->recv_ufrag), "%s", remote.ufrag);
            p->recv_remote_set = true;
            p->recv_answers++;
            p->n_answered = n < LT_GPSFU_STREAMS_MAX ? n : LT_GPSFU_STREAMS_MAX;
            if (p->n_answered)
                memcpy(p->answered, streams, p->n_answered * sizeof(*streams));
        } else if (!p->recv_err[0]) {
            snprintf(p->recv_err, sizeof(p->recv_err), "answering the receiving offer: %.160s",
                     err[0] ? err : strerror(-rc));
        }
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        free(answer);
        free(offer);
        free(streams);
    }
}

static void on_recv_offer(struct lt_person *p, json_t *msg)
{
    struct lt_target *t = p->r->t;
    const char *sdp = json_string_value(json_object_get(msg, "sdp"));
    json_t *version = json_object_get(msg, "version"), *list = json_object_get(msg, "streams"), *e;
    struct stream_from *streams;
    size_t n = json_is_array(list) ? json_array_size(list) : 0, i, k = 0;
    char *copy;
    if (!sdp || !json_is_integer(version))
        return;
    copy = strdup(sdp);
    streams = calloc(n ? n : 1, sizeof(*streams));
    if (!copy || !streams) {
        free(copy);
        free(streams);
        return;
    }
    json_array_foreach(list, i, e)
    {
        const char *pid = json_string_value(json_object_get(e, "participant"));
        if (pid)
            snprintf(streams[k++].pid, LT_GPSFU_ID_LEN, "%s", pid);
    }
    pthread_mutex_lock(&t->mu);
    /* One offer is outstanding at a time (PROTOCOL.md), so one kept is enough; a newer one
     * supersedes an unanswered older one in any case. */
    free(p->recv_offer);
    free(p->recv_offer_streams);
    p->recv_offer = copy;
    p->recv_offer_streams = streams;
    p->recv_offer_n = k;
    p->recv_offer_version = (unsigned)json_integer_value(version);
    pthread_mutex_unlock(&t->mu);
    lt_gpsfu__recv_offers_answer(p);
}

static void ws_on_text(void *arg, const char *text, size_t len)
{
    struct lt_person *p = arg;
    struct lt_target *t = p->r->t;
    json_t *msg = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *pc = json_string_value(json_object_get(msg, "pc"));
    if (!type) {
        json_decref(msg);
        return;
    }
    if (strcmp(type, "joined") == 0) {
        const char *id = json_string_value(json_object_get(msg, "participant"));
        const char *state = json_string_value(json_object_get(msg, "state"));
        pthread_mutex_lock(&t->mu);
        snprintf(p->id, sizeof(p->id), "%s", id ? id : "");
        p->joined = true;
        p->admitted = state && strcmp(state, "admitted") == 0;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    } else if (strcmp(type, "state") == 0) {
        const char *state = json_string_value(json_object_get(msg, "state"));
        pthread_mutex_lock(&t->mu);
        p->admitted = state && strcmp(state, "admitted") == 0;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    } else if (strcmp(type, "roster") == 0) {
        on_roster(p, msg);
    } else if (strcmp(type, "answer") == 0 && pc && strcmp(pc, "send") == 0) {
        const char *sdp = json_string_value(json_object_get(msg, "sdp"));
        if (sdp)
            on_send_answer(p, sdp);
    } else if (strcmp(type, "offer") == 0 && pc && strcmp(pc, "recv") == 0) {
        on_recv_offer(p, msg);
    } else if (strcmp(type, "error") == 0) {
        on_error_msg(p, msg);
    } else if (strcmp(type, "transport") == 0) {
        /* The SFU's view of a connection: one going down explains loss the report shows. */
        const char *state = json_string_value(json_object_get(msg, "state"));
        if (state && strcmp(state, "connected") != 0)
            fprintf(stderr, "lt gpsfu: room %u person %u: the SFU says their %s connection is %s\n",
                    p->r->index, p->num, pc ? pc : "?", state);
    } else if (strcmp(type, "ended") == 0) {
        const char *reason = json_string_value(json_object_get(msg, "reason"));
        pthread_mutex_lock(&t->mu);
        snprintf(p->ended, sizeof(p->ended), "%s", reason ? reason : "?");
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
    /* pong, chat, muted and anything newer: nothing to do. */
    json_decref(msg);
}

static void ws_on_open(void *arg)
{
    struct lt_person *p = arg;
    struct lt_target *t = p->r->t;
    pthread_mutex_lock(&t->mu);
    p->open = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void ws_on_close(void *arg, const char *why)
{
    struct lt_person *p = arg;
    struct lt_target *t = p->r->t;
    pthread_mutex_lock(&t->mu);
    p->closed = true;
    snprintf(p->closed_why, sizeof(p->closed_why), "%s", why);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Keep-alive (PROTOCOL.md: the client pings every 20 s). Holding t->mu keeps every person
 * listed alive; person_send takes no lock of ours. */
void lt_gpsfu__ws_tick(void *arg)
{
    struct lt_target *t = arg;
    int64_t now = lt_gpsfu__now_ms();
    pthread_mutex_lock(&t->mu);
    for (struct lt_room *r = t->rooms; r; r = r->next) {
        for (struct lt_person *p = r->people; p; p = p->next) {
            if (p->joined && !p->closed && !p->leaving &&
                now - atomic_load(&p->last_sent_ms) >= LT_GPSFU_PING_MS)
                person_send(p, json_pack("{s:s}", "type", "ping"));
        }
    }
    pthread_mutex_unlock(&t->mu);
}

/* --- peers ------------------------------------------------------------------------------------ */

static void peer_on_state(void *arg, enum peer_state st)
{
    struct lt_person *p = arg;
    struct lt_target *t = p->r->t;
    pthread_mutex_lock(&t->mu);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void peer_on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct lt_person *p = arg;
    if (p->rx.on_rtp)
        p->rx.on_rtp(p->rx_arg, buf, len);
}

/* The send peer's RTCP: the SFU's keyframe requests for the person's video, passed up. */
static void peer_on_rtcp(void *arg, const uint8_t *buf, size_t len)
{
    struct lt_person *p = arg;
    lt_rtcp_key_dispatch(buf, len, p->ssrc, p->role.publish, &p->rx, p->rx_arg);
}

int lt_gpsfu__send_rtp(void *tx, const uint8_t *rtp, size_t len)
{
    struct lt_person *p = tx;
    return peer_send_rtp(p->send_peer, rtp, len);
}

const struct lt_ws_conn_cbs lt_gpsfu__ws_cbs = {
    .on_open = ws_on_open,
    .on_text = ws_on_text,
    .on_close = ws_on_close,
};

void lt_gpsfu__peer_cbs(struct peer_cbs *cbs, bool recv)
{
    memset(cbs, 0, sizeof(*cbs));
    cbs->on_state = peer_on_state;
    cbs->on_rtp = recv ? peer_on_rtp : NULL;
    cbs->on_rtcp = recv ? NULL : peer_on_rtcp;
}
