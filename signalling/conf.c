/* Live consultations, the browser side: connections, join and the waiting room, admission by
 * a host, the roster, chat, mute state, leaving, and ending. Media setup is conf_media.c. */
#include "conf_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "api.h"
#include "core/clock.h"
#include "core/log.h"
#include "link.h"
#include "sfu_link.h"
#include "wsmsg.h"

#define TAG "conf"

int64_t conf__now(const struct conf_hub *h)
{
    return h->p.now ? h->p.now() : (int64_t)time(NULL);
}

static void rl_log(struct conf_hub *h, const char *fmt, const char *a, const char *b)
{
    int n = log_ratelimit_pass(h->rl, clock_mono_ms());
    if (n < 0)
        return;
    char line[256];
    snprintf(line, sizeof(line), fmt, a, b);
    if (n > 0)
        log_warn(TAG, "%s (%d similar suppressed)", line, n);
    else
        log_warn(TAG, "%s", line);
}

void conf__send(struct conf_conn *c, json_t *msg)
{
    if (!msg)
        return;
    if (!c->closing) {
        char *text = json_dumps(msg, JSON_COMPACT);
        int rc = text ? c->hub->p.ops->send(c->handle, text, strlen(text)) : -ENOMEM;
        if (rc == -ENOBUFS) {
            c->closing = true; /* the server is already cutting it off */
        } else if (rc < 0) {
            c->closing = true; /* a message lost: the browser must rejoin to be in step */
            c->hub->p.ops->close(c->handle);
        }
        free(text);
    }
    json_decref(msg);
}

void conf__send_error(struct conf_conn *c, const char *code, const char *message, int64_t re)
{
    json_t *m = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message);
    if (m && re >= 0)
        json_object_set_new(m, "re", json_integer(re));
    conf__send(c, m);
}

static void conn_free(struct conf_conn *c)
{
    struct conf_hub *h = c->hub;
    conf__probe_end(c);
    hmap_remove(&h->conns_by_uid, &c->by_uid);
    h->n_conns--;
    free(c->offer);
    free(c->offered);
    free(c->recv_media);
    free(c->slots);
    free(c);
}

static void member_detach(struct conf_conn *c);

/* Closes c's socket; a participant whose socket is already gone (detached) is freed at once,
 * having been taken out of its room. */
static void conn_close(struct conf_conn *c)
{
    if (c->detached) {
        member_detach(c);
        conn_free(c);
        return;
    }
    if (c->closing)
        return;
    c->closing = true;
    c->hub->p.ops->close(c->handle);
}

static void send_ended(struct conf_conn *c, const char *reason)
{
    conf__send(c, json_pack("{s:s, s:s}", "type", "ended", "reason", reason));
    conn_close(c);
}

struct conf_conn *conf__conn_find(struct conf_hub *h, uint64_t uid)
{
    for (struct hmap_node *n = hmap_first(&h->conns_by_uid, hmap_hash_u64(uid)); n;
         n = hmap_next(n)) {
        struct conf_conn *c = (struct conf_conn *)((char *)n - offsetof(struct conf_conn, by_uid));
        if (c->uid == uid)
            return c;
    }
    return NULL;
}

struct conf_room *conf__room_find(struct conf_hub *h, uint64_t uid)
{
    for (struct hmap_node *n = hmap_first(&h->rooms_by_uid, hmap_hash_u64(uid)); n;
         n = hmap_next(n)) {
        struct conf_room *r = (struct conf_room *)((char *)n - offsetof(struct conf_room, by_uid));
        if (r->uid == uid)
            return r;
    }
    return NULL;
}

static struct conf_room *room_by_consultation(struct conf_hub *h, const char *id)
{
    struct list *pos;
    list_for_each(pos, &h->rooms)
    {
        struct conf_room *r = list_entry(pos, struct conf_room, node);
        if (strcmp(r->consultation_id, id) == 0)
            return r;
    }
    return NULL;
}

struct conf_room *conf__room_new(struct conf_hub *h, const struct store_consultation *cons)
{
    struct conf_room *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->hub = h;
    r->uid = ++h->next_uid;
    snprintf(r->consultation_id, sizeof(r->consultation_id), "%s", cons->id);
    snprintf(r->room_id, sizeof(r->room_id), "%s", cons->room_id);
    snprintf(r->kind, sizeof(r->kind), "%s", cons->kind);
    snprintf(r->message, sizeof(r->message), "%s", cons->practice_message);
    list_init(&r->members);
    list_insert_tail(&h->rooms, &r->node);
    hmap_insert(&h->rooms_by_uid, &r->by_uid, hmap_hash_u64(r->uid));
    return r;
}

void conf__room_free(struct conf_room *r)
{
    list_remove(&r->node);
    hmap_remove(&r->hub->rooms_by_uid, &r->by_uid);
    free(r);
}

/* The participant leaves the room: media torn down, others told; the room goes with its last
 * member. c stays open (the caller closes it or it is already closed). */
static void member_detach(struct conf_conn *c)
{
    struct conf_room *r = c->room;
    if (!r)
        return;
    conf__persist_forget(c);
    conf__member_teardown(c);
    list_remove(&c->member_node);
    c->room = NULL;
    if (list_empty(&r->members)) {
        conf__room_sfu_close(r);
        conf__room_free(r);
    } else {
        conf__roster_broadcast(r);
    }
}

static struct conf_conn *member_find(struct conf_room *r, const char *participant)
{
    struct list *pos;
    list_for_each(pos, &r->members)
    {
        struct conf_conn *m = list_entry(pos, struct conf_conn, member_node);
        if (strcmp(m->id, participant) == 0)
            return m;
    }
    return NULL;
}

static bool is_host(const struct conf_conn *c)
{
    return strcmp(c->role, "host") == 0;
}

/* Writes who (c's role, and the participant ids: opaque link ids, never names) did what to
 * whom (target, or c itself when NULL), with an optional note. */
static void audit(struct conf_conn *c, const char *action, const char *target, const char *note)
{
    struct conf_hub *h = c->hub;
    char detail[STORE_DETAIL_MAX + 1];
    snprintf(detail, sizeof(detail), "participant=%s%s%s%s%s", target ? target : c->id,
             target ? " by=" : "", target ? c->id : "", note ? " " : "", note ? note : "");
    if (store_audit(h->p.store, conf__now(h), c->room->consultation_id, c->role, action, detail) <
        0)
        log_error(TAG, "audit %s: %s", action, store_errmsg(h->p.store));
}

/* --- roster --------------------------------------------------------------------------------- */

static json_t *roster_entry(const struct conf_conn *m, const struct conf_conn *to)
{
    json_t *e =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:b}", "id", m->id, "role", m->role, "label",
                  m->label, "state", m->admitted ? "admitted" : "waiting", "audio", m->audio,
                  "video", m->video, "since", (json_int_t)m->since * 1000, "self", m == to);
    /* Their socket dropped; kept for their browser to resume (CONF_RESUME_MS). */
    if (e && m->detached)
        json_object_set_new(e, "reconnecting", json_true());
    /* Only hosts see how each person's connection is doing. */
    if (e && is_host(to))
        conf__quality_put(e, m);
    return e;
}

/* Everyone admitted sees everyone admitted; hosts also see who waits; someone waiting sees
 * only themself. */
static void roster_send(struct conf_conn *to)
{
    json_t *list = json_array();
    int waiting = 0;
    struct list *pos;
    list_for_each(pos, &to->room->members)
    {
        struct conf_conn *m = list_entry(pos, struct conf_conn, member_node);
        if (!m->joined_sent)
            continue;
        bool visible = m == to || (m->admitted && to->admitted) || (is_host(to) && !m->admitted);
        if (visible) {
            json_array_append_new(list, roster_entry(m, to));
            waiting += !m->admitted;
        }
    }
    log_debug(TAG, "roster to %s (%s%s): %zu shown, %d waiting", to->id, to->role,
              to->handle ? "" : ", no socket", json_array_size(list), waiting);
    conf__send(to, json_pack("{s:s, s:o}", "type", "roster", "participants", list));
}

void conf__roster_broadcast(struct conf_room *r)
{
    struct list *pos;
    list_for_each(pos, &r->members)
    {
        struct conf_conn *m = list_entry(pos, struct conf_conn, member_node);
        if (m->joined_sent)
            roster_send(m);
    }
}

void conf__roster_send_hosts(struct conf_room *r)
{
    struct list *pos;
    list_for_each(pos, &r->members)
    {
        struct conf_conn *m = list_entry(pos, struct conf_conn, member_node);
        if (m->joined_sent && is_host(m))
            roster_send(m);
    }
}

/* --- join ----------------------------------------------------------------------------------- */

struct label_count {
    const char *role;
    const char *id;
    int n;
    bool found;
};

static int label_count_cb(const struct store_participant *p, void *arg)
{
    struct label_count *lc = arg;
    if (!lc->found && strcmp(p->role, lc->role) == 0) {
        lc->n++;
        if (strcmp(p->id, lc->id) == 0)
            lc->found = true;
    }
    return 0;
}

void conf__member_label(struct conf_hub *h, const char *consultation_id, struct conf_conn *c)
{
    struct label_count lc = {.role = c->role, .id = c->id};
    store_participant_list(h->p.store, consultation_id, label_count_cb, &lc);
    api_label(c->label, sizeof(c->label), c->role, lc.n > 0 ? lc.n : 1);
}

/* Whether old's browser can carry on with the peer connections it has: its transports exist
 * and its room is on the SFU. Otherwise a resume is a plain join (newest wins). */
static bool resumable(const struct conf_conn *old)
{
    return old->joined_sent && old->send_t.id && old->recv_t.id && old->room &&
           old->room->sfu == CONF_SFU_READY;
}

/* The browser of old is back on the socket of c (which has not joined): old takes the socket
 * over and c is freed. A socket old still had (gone quiet, not yet seen closed) is closed. */
static void resume(struct conf_conn *old, struct conf_conn *c, int64_t re)
{
    struct conf_hub *h = c->hub;
    if (!old->detached && old->handle) {
        h->p.ops->rebind(old->handle, NULL);
        h->p.ops->close(old->handle);
    }
    old->handle = c->handle;
    old->detached = false;
    old->closing = c->closing;
    old->tokens = c->tokens;
    old->tokens_ms = c->tokens_ms;
    snprintf(old->session, sizeof(old->session), "%s", c->session); /* "" when restored */
    h->p.ops->rebind(c->handle, old);
    conn_free(c);

    struct conf_room *r = old->room;
    json_t *cons = json_pack("{s:s, s:s}", "id", r->consultation_id, "kind", r->kind);
    json_t *msg = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:b}", "type", "joined",
                            "participant", old->id, "role", old->role, "consultation", cons,
                            "state", old->admitted ? "admitted" : "waiting", "message", r->message,
                            "ice_servers", conf__ice_servers(h, old->id), "resumed", 1);
    if (msg)
        json_object_set_new(msg, "resume_key", json_string(old->resume_key));
    if (msg && re >= 0)
        json_object_set_new(msg, "re", json_integer(re));
    conf__send(old, msg);
    audit(old, "resume", NULL, NULL);
    log_info(TAG, "a participant resumed on a new socket, media kept");
    conf__roster_broadcast(r);
    conf__media_resumed(old);
}

static void on_join(struct conf_conn *c, const struct wsmsg *m, int64_t re)
{
    struct conf_hub *h = c->hub;
    struct link_info info;
    int64_t now = conf__now(h);
    if (c->room) {
        conf__send_error(c, "already_joined", "this connection has already joined", re);
        return;
    }
    if (!h->synced) {
        /* Until the SFU has said which rooms it kept, a join could not tell a call to resume
         * from a new one. Signalling has just started: the browser tries again in a moment. */
        conf__send_error(c, "unavailable", "the service is starting; try again in a moment", re);
        return;
    }
    if (!c->session[0]) {
        /* No gpsfu_sid cookie came with the socket: the browser blocks cookies, or the page
         * was not opened from its link. A link cannot be bound to nothing. */
        conf__send_error(c, "no_session",
                         "This browser did not keep the cookie the service needs. Allow cookies "
                         "for this site, then open your link again.",
                         re);
        return;
    }
    int rc = link_use(h->p.token_secret, h->p.token_secret_len, h->p.store, m->token,
                      strlen(m->token), c->session, now, &info);
    if (rc < 0) {
        struct link_error e = link_error_of(rc);
        rl_log(h, "join refused: %s%s", e.code, "");
        conf__send_error(c, e.code, e.message, re);
        if (e.status != 500) /* the link itself is refused; a fault of ours may pass */
            send_ended(c, e.code);
        return;
    }
    if (!c->recv_media) {
        c->recv_media = calloc(SDP_MAX_MEDIA, sizeof(*c->recv_media));
        c->slots = calloc(SDP_MAX_MEDIA, sizeof(*c->slots));
        if (!c->recv_media || !c->slots) {
            conf__send_error(c, "internal", "out of memory", re);
            return;
        }
    }
    const char *pid = info.claims.jti;
    struct store_participant part;
    if (store_participant_get(h->p.store, pid, &part) < 0) {
        conf__send_error(c, "internal", "the participant could not be read", re);
        return;
    }

    struct conf_room *r = room_by_consultation(h, info.cons.id);
    if (r) {
        /* The same participant in another tab or an earlier page (a reload): the newest wins. */
        struct conf_conn *old = member_find(r, pid);
        if (old && m->resume && strcmp(m->resume, old->resume_key) == 0 && resumable(old)) {
            resume(old, c, re); /* c is freed */
            return;
        }
        if (old) {
            member_detach(old);
            send_ended(old, "replaced");
            r = room_by_consultation(h, info.cons.id); /* it may have gone with old */
        }
    }
    if (!r && !(r = conf__room_new(h, &info.cons))) {
        conf__send_error(c, "internal", "out of memory", re);
        return;
    }

    snprintf(c->id, sizeof(c->id), "%s", pid);
    snprintf(c->role, sizeof(c->role), "%s", part.role);
    conf__member_label(h, info.cons.id, c);
    uint8_t key[CONF_RESUME_KEY_LEN / 2];
    if (RAND_bytes(key, sizeof(key)) != 1) {
        conf__send_error(c, "internal", "no random bytes", re);
        return;
    }
    for (size_t i = 0; i < sizeof(key); i++)
        snprintf(c->resume_key + 2 * i, 3, "%02x", key[i]);

    /* A host is in at once; anyone else waits unless a host already admitted them (a reload or
     * a reconnect keeps the admission). Someone who left waits again. */
    const char *state = strcmp(part.state, "admitted") == 0 || is_host(c) ? "admitted" : "waiting";
    if (strcmp(part.state, state) != 0 &&
        store_participant_set_state(h->p.store, pid, state, now) < 0) {
        conf__send_error(c, "internal", "the participant could not be updated", re);
        if (list_empty(&r->members))
            conf__room_free(r);
        return;
    }
    c->admitted = strcmp(state, "admitted") == 0;
    c->since = strcmp(part.state, state) == 0 ? part.state_at : now;
    c->audio = c->video = true;
    c->room = r;
    list_insert_tail(&r->members, &c->member_node);
    audit(c, "join", NULL, c->admitted ? "state=admitted" : "state=waiting");
    log_info(TAG, "%s (%s) joins, %s; the room's media %s", c->id, c->role,
             c->admitted ? "admitted" : "waiting",
             r->sfu == CONF_SFU_READY      ? "is ready"
             : r->sfu == CONF_SFU_CREATING ? "is being made"
                                           : "is to be made");

    if (r->sfu == CONF_SFU_READY)
        conf__member_setup(c);
    else if (r->sfu == CONF_SFU_NONE)
        conf__room_sfu_create(r); /* sets every member up when the room exists */
}

void conf__member_ready(struct conf_conn *c)
{
    struct conf_room *r = c->room;
    json_t *cons = json_pack("{s:s, s:s}", "id", r->consultation_id, "kind", r->kind);
    conf__send(c,
               json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:s}", "type", "joined",
                         "participant", c->id, "role", c->role, "consultation", cons, "state",
                         c->admitted ? "admitted" : "waiting", "message", r->message, "ice_servers",
                         conf__ice_servers(c->hub, c->id), "resume_key", c->resume_key));
    c->joined_sent = true;
    log_info(TAG, "%s (%s) is set up and told it joined", c->id, c->role);
    conf__roster_broadcast(r);
    if (c->admitted)
        conf__media_admit(c);
    conf__recv_prepare(c);
    conf__persist(c);
}

/* --- host actions --------------------------------------------------------------------------- */

static void on_host_action(struct conf_conn *c, const struct wsmsg *m, int64_t re)
{
    struct conf_hub *h = c->hub;
    if (!is_host(c)) {
        conf__send_error(c, "forbidden", "only a host can admit, deny or remove", re);
        rl_log(h, "refused a host action from a %s%s", c->role, "");
        return;
    }
    struct store_participant part;
    if (store_participant_get(h->p.store, m->participant, &part) < 0 ||
        strcmp(part.consultation_id, c->room->consultation_id) != 0) {
        conf__send_error(c, "not_found", "no such participant in this consultation", re);
        return;
    }
    if (strcmp(part.role, "host") == 0 || strcmp(part.id, c->id) == 0) {
        conf__send_error(c, "forbidden", "a host cannot be admitted, denied or removed", re);
        return;
    }
    const char *state, *action;
    switch (m->type) {
    case WSMSG_ADMIT:
        state = "admitted", action = "admit";
        break;
    case WSMSG_DENY:
        state = "denied", action = "deny";
        break;
    default:
        state = "removed", action = "remove";
        break;
    }
    if (m->type == WSMSG_ADMIT && strcmp(part.state, "admitted") == 0)
        return; /* two hosts admitting at once: nothing more to do */
    if (m->type != WSMSG_REMOVE && strcmp(part.state, "waiting") != 0 &&
        !(m->type == WSMSG_ADMIT && strcmp(part.state, "invited") == 0)) {
        conf__send_error(c, "not_found", "that participant is not waiting", re);
        return;
    }
    int64_t now = conf__now(h);
    if (store_participant_set_state(h->p.store, part.id, state, now) < 0) {
        conf__send_error(c, "internal", "the participant could not be updated", re);
        return;
    }
    audit(c, action, part.id, NULL);

    struct conf_conn *t = member_find(c->room, part.id);
    if (!t)
        return;
    if (m->type == WSMSG_ADMIT) {
        t->admitted = true;
        t->since = now;
        /* One still setting up is told and given media by conf__member_ready, which sees the
         * admission: its receiving transport does not exist yet. */
        if (!t->joined_sent)
            return;
        conf__send(t, json_pack("{s:s, s:s}", "type", "state", "state", "admitted"));
        conf__roster_broadcast(c->room);
        conf__media_admit(t);
    } else {
        struct conf_room *r = c->room;
        member_detach(t);
        send_ended(t, m->type == WSMSG_DENY ? "denied" : "removed");
        (void)r;
    }
}

/* A host asks someone's browser to mute its microphone; only the person can unmute. */
static void on_mute(struct conf_conn *c, const struct wsmsg *m, int64_t re)
{
    if (!is_host(c)) {
        conf__send_error(c, "forbidden", "only a host can mute someone else", re);
        rl_log(c->hub, "refused a mute from a %s%s", c->role, "");
        return;
    }
    struct conf_conn *t = member_find(c->room, m->participant);
    if (!t || !t->joined_sent) {
        conf__send_error(c, "not_found", "no such participant in this call", re);
        return;
    }
    conf__send(t, json_pack("{s:s, s:s}", "type", "muted", "by", c->label));
}

/* --- chat, media state, leave --------------------------------------------------------------- */

static void on_chat(struct conf_conn *c, const struct wsmsg *m, int64_t re)
{
    if (!c->admitted) {
        conf__send_error(c, "not_admitted", "chat opens once you are admitted", re);
        return;
    }
    /* Chat may hold clinical content: it is relayed, never stored or logged. */
    int64_t at = (int64_t)time(NULL) * 1000;
    struct list *pos;
    list_for_each(pos, &c->room->members)
    {
        struct conf_conn *o = list_entry(pos, struct conf_conn, member_node);
        if (o->admitted && o->joined_sent)
            conf__send(o, json_pack("{s:s, s:s, s:s, s:s%, s:I}", "type", "chat", "from", c->id,
                                    "label", c->label, "text", m->text, m->text_len, "at",
                                    (json_int_t)at));
    }
}

static void on_media(struct conf_conn *c, const struct wsmsg *m)
{
    if (c->audio == m->audio && c->video == m->video)
        return;
    c->audio = m->audio;
    c->video = m->video;
    conf__roster_broadcast(c->room);
}

static void on_leave(struct conf_conn *c)
{
    struct conf_hub *h = c->hub;
    if (store_participant_set_state(h->p.store, c->id, "left", conf__now(h)) < 0)
        log_error(TAG, "leave: %s", store_errmsg(h->p.store));
    audit(c, "leave", NULL, NULL);
    member_detach(c);
    send_ended(c, "left");
}

/* --- the connection ------------------------------------------------------------------------- */

struct conf_conn *conf_conn_open(struct conf_hub *h, void *handle, const char *session)
{
    struct conf_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->hub = h;
    c->handle = handle;
    c->uid = ++h->next_uid;
    c->offer_re = -1;
    snprintf(c->session, sizeof(c->session), "%s", session ? session : "");
    list_init(&c->member_node);
    hmap_insert(&h->conns_by_uid, &c->by_uid, hmap_hash_u64(c->uid));
    h->n_conns++;
    return c;
}

/* At most RATE messages a second on average, BURST at once (a join brings a few ICE candidates,
 * an offer and a media state in a moment). */
#define RATE  20.0
#define BURST 60.0

static bool rate_ok(struct conf_conn *c)
{
    uint64_t now = clock_mono_ms();
    if (c->tokens_ms == 0)
        c->tokens = BURST;
    else
        c->tokens += (double)(now - c->tokens_ms) * RATE / 1000.0;
    if (c->tokens > BURST)
        c->tokens = BURST;
    c->tokens_ms = now;
    if (c->tokens < 1.0)
        return false;
    c->tokens -= 1.0;
    return true;
}

bool conf_conn_joined(const struct conf_conn *c)
{
    return c->room != NULL && c->joined_sent && !c->closing;
}

void conf_conn_refuse(struct conf_conn *c, const char *code, const char *message)
{
    if (!rate_ok(c)) {
        conf__send_error(c, "too_many", "too many messages: the connection is closed", -1);
        conn_close(c);
        return;
    }
    rl_log(c->hub, "refused a browser message: %s%s", code, "");
    conf__send_error(c, code, message, -1);
}

void conf_conn_message(struct conf_conn *c, const char *data, size_t len)
{
    struct wsmsg m;
    char err[160];
    if (c->closing)
        return;
    if (!rate_ok(c)) {
        rl_log(c->hub, "a browser sent messages too fast: closed%s%s", "", "");
        conf__send_error(c, "too_many", "too many messages: the connection is closed", -1);
        conn_close(c);
        return;
    }
    int rc = wsmsg_parse(data, len, &m, err, sizeof(err));
    int64_t re = m.has_id ? m.id : -1;
    if (rc < 0) {
        rl_log(c->hub, "refused a browser message: %s: %s", wsmsg_error_code(rc), err);
        conf__send_error(c, wsmsg_error_code(rc), err, re);
        wsmsg_free(&m);
        return;
    }
    if (m.type == WSMSG_PING) {
        json_t *pong = json_pack("{s:s}", "type", "pong");
        if (pong && re >= 0)
            json_object_set_new(pong, "re", json_integer(re));
        conf__send(c, pong);
    } else if (m.type == WSMSG_JOIN) {
        conf__probe_end(c); /* a connection test on this socket is over: the call starts */
        on_join(c, &m, re);
    } else if (m.type == WSMSG_PROBE) {
        conf__on_probe(c, m.token, m.sdp, m.sdp_len, re);
    } else if (!c->room) {
        conf__send_error(c, "not_joined", "send join first", re);
    } else {
        switch (m.type) {
        case WSMSG_OFFER:
            conf__on_offer(c, m.sdp, m.sdp_len, re);
            break;
        case WSMSG_ANSWER:
            conf__on_answer(c, m.sdp, m.sdp_len, m.version, re);
            break;
        case WSMSG_CANDIDATE:
            /* The SFU is ICE-lite: it learns the browser's address from its connectivity
             * checks, so trickled candidates have nothing to do. */
            break;
        case WSMSG_ADMIT:
        case WSMSG_DENY:
        case WSMSG_REMOVE:
            on_host_action(c, &m, re);
            break;
        case WSMSG_MUTE:
            on_mute(c, &m, re);
            break;
        case WSMSG_QUALITY:
            conf__on_quality(c, (int)m.level, m.loss, m.rtt);
            break;
        case WSMSG_RESTART_ICE:
            conf__on_restart_ice(c, re);
            break;
        case WSMSG_MEDIA:
            on_media(c, &m);
            break;
        case WSMSG_CHAT:
            on_chat(c, &m, re);
            break;
        case WSMSG_LEAVE:
            on_leave(c);
            break;
        default:
            break;
        }
    }
    wsmsg_free(&m);
}

void conf_conn_closed(struct conf_conn *c)
{
    if (!c)
        return;
    struct conf_hub *h = c->hub;
    c->closing = true; /* nothing more may be sent on it */
    if (c->room && c->joined_sent && !h->stopping) {
        /* The socket dropped, not the participant: their media keeps flowing while their
         * browser reconnects and resumes; the sweep ends them if it does not. */
        c->detached = true;
        c->detached_ms = clock_mono_ms();
        c->handle = NULL;
        conf__roster_broadcast(c->room);
        return;
    }
    if (c->room && !h->stopping)
        audit(c, "disconnect", NULL, NULL); /* a closed tab; a reload joins again */
    member_detach(c);
    conn_free(c);
}

/* Every second: participants whose browser did not come back in time leave their room. */
static void sweep(uv_timer_t *t)
{
    struct conf_hub *h = t->data;
    uint64_t now = clock_mono_ms();
    struct list *pos, *next, *mpos, *mnext;
    list_for_each_safe(pos, next, &h->rooms)
    {
        struct conf_room *r = list_entry(pos, struct conf_room, node);
        size_t left = 0, gone = 0;
        list_for_each(mpos, &r->members) left++;
        list_for_each_safe(mpos, mnext, &r->members)
        {
            struct conf_conn *m = list_entry(mpos, struct conf_conn, member_node);
            if (!m->detached || now - m->detached_ms < CONF_RESUME_MS)
                continue;
            audit(m, "disconnect", NULL, "not resumed");
            /* The last member's detach frees the room: nothing of it may be read after. */
            bool last = ++gone == left;
            conn_close(m);
            if (last)
                break;
        }
    }
}

/* --- the hub -------------------------------------------------------------------------------- */

int conf_hub_new(struct conf_hub **out, const struct conf_hub_params *p)
{
    struct conf_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->p = *p;
    list_init(&h->rooms);
    list_init(&h->probes);
    h->rl = calloc(1, sizeof(*h->rl));
    if (!h->rl || hmap_init(&h->rooms_by_uid, 64) < 0) {
        free(h->rl);
        free(h);
        return -ENOMEM;
    }
    if (hmap_init(&h->conns_by_uid, 256) < 0) {
        hmap_destroy(&h->rooms_by_uid);
        free(h->rl);
        free(h);
        return -ENOMEM;
    }
    if (p->loop) {
        uv_timer_init(p->loop, &h->sweep);
        h->sweep.data = h;
        uv_timer_start(&h->sweep, sweep, 1000, 1000);
        h->sweeping = true;
    }
    *out = h;
    return 0;
}

void conf_hub_stop(struct conf_hub *h)
{
    h->stopping = true;
    conf__probes_stop(h);
    if (h->sweeping) {
        uv_close((uv_handle_t *)&h->sweep, NULL); /* the loop runs once more before the free */
        h->sweeping = false;
    }
}

void conf_hub_set_link(struct conf_hub *h, struct sfu_link *link)
{
    h->p.link = link;
}

void conf_hub_free(struct conf_hub *h)
{
    if (!h)
        return;
    /* Connections are closed by the server, which frees them with conf_conn_closed before
     * freeing the hub; what is left here are rooms with detached members (their media stays on
     * the SFU for the next signalling process) or none. */
    while (!list_empty(&h->rooms)) {
        struct conf_room *r = list_entry(h->rooms.next, struct conf_room, node);
        while (!list_empty(&r->members)) {
            struct conf_conn *m = list_entry(r->members.next, struct conf_conn, member_node);
            list_remove(&m->member_node);
            conn_free(m);
        }
        conf__room_free(r);
    }
    hmap_destroy(&h->rooms_by_uid);
    hmap_destroy(&h->conns_by_uid);
    free(h->rl);
    free(h);
}

void conf_hub_end(struct conf_hub *h, const char *consultation_id)
{
    struct conf_room *r = room_by_consultation(h, consultation_id);
    if (!r)
        return;
    while (!list_empty(&r->members)) {
        struct conf_conn *m = list_entry(r->members.next, struct conf_conn, member_node);
        bool last = m->member_node.next == &r->members;
        member_detach(m); /* frees r with the last member */
        send_ended(m, "ended");
        if (last)
            break;
    }
}

void conf__room_lost(struct conf_room *r)
{
    /* No "ended": the browsers reconnect by themselves and join again, which makes the room
     * anew on the SFU with their admission kept in the store. */
    while (!list_empty(&r->members)) {
        struct conf_conn *m = list_entry(r->members.next, struct conf_conn, member_node);
        bool last = m->member_node.next == &r->members;
        member_detach(m);
        conn_close(m);
        if (last)
            break;
    }
}

void conf_hub_counts(const struct conf_hub *h, struct conf_hub_counts *out)
{
    memset(out, 0, sizeof(*out));
    out->connections = h->n_conns;
    struct list *pos, *mpos;
    list_for_each(pos, &h->rooms)
    {
        struct conf_room *r = list_entry(pos, struct conf_room, node);
        out->rooms++;
        list_for_each(mpos, &r->members) out->participants++;
    }
}
