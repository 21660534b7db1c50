/* Live consultations, the SFU's side of the story: the control link coming up (rooms claimed
 * back and reconciled with what the SFU still has, or lost and made anew) and going down, the
 * SFU's events (transport states, closed consumers), and per-participant media statistics. */
#include "conf_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sfu_link.h"
#include "turn.h"

#define TAG "conf"

struct conf_stats_req {
    conf_stats_cb cb; /* NULL once cancelled */
    void *arg;
};

/* ClaimRooms is all or nothing: refused, none of the rooms is ours, and their browsers rejoin
 * (the rooms close on the SFU when their grace ends). */
void conf__claimed(struct conf_hub *h, int status, const Sfu__Envelope *resp)
{
    bool ok = status == 0 && resp->body_case == SFU__ENVELOPE__BODY_OK;
    struct list *pos, *tmp;
    if (!ok)
        log_warn(TAG, "claim rooms: %s: their browsers rejoin", conf__sfu_error(resp));
    list_for_each_safe(pos, tmp, &h->rooms)
    {
        struct conf_room *r = list_entry(pos, struct conf_room, node);
        if (!r->claiming)
            continue;
        r->claiming = false;
        if (status < 0)
            continue; /* no answer (the link dropped again): claimed at the next link-up */
        if (!ok) {
            /* Requests sent since may have claimed it one by one: close it rather than leave
             * it ours without a grace timer. */
            conf__close_room(h, r->room_id);
            r->sfu = CONF_SFU_NONE;
            conf__room_lost(r);
        }
    }
}

static bool id_in(uint64_t id, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool conf__transport_listed(const Sfu__RoomInfo *ri, uint64_t id)
{
    for (size_t j = 0; j < ri->n_transports; j++)
        if (ri->transports[j]->id == id)
            return true;
    return false;
}

void conf__room_reconcile(struct conf_room *r, const Sfu__RoomInfo *ri)
{
    struct conf_hub *h = r->hub;
    struct list *pos;
    size_t nt = 0, nc = 0, n = 0;
    list_for_each(pos, &r->members) n++;
    uint64_t *tids = calloc(2 * n + 1, sizeof(*tids));
    uint64_t *cids = calloc(n * SDP_MAX_MEDIA + 1, sizeof(*cids));
    uint64_t *pids = calloc(n * CONF_MAX_PRODUCERS + 1, sizeof(*pids));
    size_t np = 0;
    if (!tids || !cids || !pids) {
        free(tids);
        free(cids);
        free(pids);
        return;
    }
    /* What the participants hold, and what the SFU lost of it. */
    list_for_each(pos, &r->members)
    {
        struct conf_conn *c = list_entry(pos, struct conf_conn, member_node);
        /* A transport the SFU lost cannot be resumed: its browser joins afresh (resumable). */
        if (c->send_t.id && !conf__transport_listed(ri, c->send_t.id))
            c->send_t.id = 0;
        if (c->recv_t.id && !conf__transport_listed(ri, c->recv_t.id))
            c->recv_t.id = 0;
        tids[nt++] = c->send_t.id;
        tids[nt++] = c->recv_t.id;
        size_t kept = 0;
        for (size_t k = 0; k < c->n_prod; k++) {
            bool listed = false;
            for (size_t j = 0; j < ri->n_producers; j++)
                listed |= ri->producers[j]->id == c->prod[k].id;
            if (listed) {
                pids[np++] = c->prod[k].id;
                c->prod[kept++] = c->prod[k];
            }
        }
        c->n_prod = kept;
        bool changed = false;
        for (size_t i = 0; i < c->n_slots; i++) {
            struct conf_slot *s = &c->slots[i];
            if (!s->consumer_id)
                continue;
            const Sfu__ConsumerInfo *listed = NULL;
            for (size_t j = 0; j < ri->n_consumers; j++)
                if (ri->consumers[j]->id == s->consumer_id)
                    listed = ri->consumers[j];
            if (listed) {
                cids[nc++] = s->consumer_id;
                if (listed->paused && s->resumed) {
                    s->resumed = false; /* its resume was lost: the next answer sends it again */
                    changed = true;
                }
                continue;
            }
            s->consumer_id = s->producer_id = 0;
            s->from[0] = '\0';
            c->recv_media[i].publish = false;
            changed = true;
        }
        if (changed)
            conf__renegotiate(c);
    }
    /* What nobody holds: closes lost while the link was down (someone removed, gone, or
     * replaced), and answers lost with it. Closing a transport closes its consumers. */
    for (size_t j = 0; j < ri->n_transports; j++) {
        if (!id_in(ri->transports[j]->id, tids, nt))
            conf__close_transport(h, r->room_id, ri->transports[j]->id);
    }
    for (size_t j = 0; j < ri->n_consumers; j++) {
        const Sfu__ConsumerInfo *ci = ri->consumers[j];
        if (!id_in(ci->id, cids, nc) && id_in(ci->transport_id, tids, nt))
            conf__close_consumer(h, r->room_id, ci->id);
    }
    /* A producer whose answer was lost, or whose close was: its SSRCs would refuse the
     * browser's next offer on that transport. */
    for (size_t j = 0; j < ri->n_producers; j++) {
        const Sfu__ProducerInfo *pi = ri->producers[j];
        if (!id_in(pi->id, pids, np) && id_in(pi->transport_id, tids, nt))
            conf__close_producer(h, r->room_id, pi->id);
    }
    free(tids);
    free(cids);
    free(pids);
    /* Consumes lost with the link are made again (what is already received is skipped). */
    list_for_each(pos, &r->members)
    {
        struct conf_conn *c = list_entry(pos, struct conf_conn, member_node);
        if (c->admitted && conf__media_live(c))
            conf__media_admit(c);
    }
}

static const Sfu__Counters *stats_of(const Sfu__StatsResponse *st, int list, uint64_t id)
{
    if (list == 0) {
        for (size_t i = 0; i < st->n_transports; i++)
            if (st->transports[i]->id == id)
                return st->transports[i]->rx;
    } else if (list == 1) {
        for (size_t i = 0; i < st->n_transports; i++)
            if (st->transports[i]->id == id)
                return st->transports[i]->tx;
    } else {
        for (size_t i = 0; i < st->n_consumers; i++)
            if (st->consumers[i]->id == id)
                return st->consumers[i]->counters;
    }
    return NULL;
}

/* Per participant: packets the SFU received from them, and packets forwarded to them and from
 * them (summed over the consumers on their receiving connection, and over the consumers of
 * their producers on everyone else's). */
static void stats_answer(struct conf_hub *h, struct conf_op *o, int status,
                         const Sfu__Envelope *resp)
{
    struct conf_stats_req *req = o->stats;
    struct conf_room *r = conf__room_find(h, o->uid);
    if (!req->cb)
        return;
    if (status < 0 || resp->body_case != SFU__ENVELOPE__BODY_STATS || !r) {
        req->cb(req->arg, status < 0 ? status : -ENOENT, NULL);
        return;
    }
    const Sfu__StatsResponse *st = resp->stats;
    json_t *list = json_array();
    struct list *pos, *qpos;
    list_for_each(pos, &r->members)
    {
        struct conf_conn *c = list_entry(pos, struct conf_conn, member_node);
        uint64_t to = 0, from = 0;
        for (size_t i = 0; i < c->n_slots; i++) {
            const Sfu__Counters *k = stats_of(st, 2, c->slots[i].consumer_id);
            to += k ? k->forwarded : 0;
        }
        list_for_each(qpos, &r->members)
        {
            struct conf_conn *q = list_entry(qpos, struct conf_conn, member_node);
            for (size_t i = 0; q != c && i < q->n_slots; i++) {
                const Sfu__Counters *k = stats_of(st, 2, q->slots[i].consumer_id);
                if (k && strcmp(q->slots[i].from, c->id) == 0)
                    from += k->forwarded;
            }
        }
        const Sfu__Counters *rx = stats_of(st, 0, c->send_t.id);
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "id", c->id,
                                        "role", c->role, "label", c->label, "state",
                                        c->admitted ? "admitted" : "waiting", "received_packets",
                                        (json_int_t)(rx ? rx->packets : 0), "received_bytes",
                                        (json_int_t)(rx ? rx->bytes : 0), "forwarded_to",
                                        (json_int_t)to, "forwarded_from", (json_int_t)from));
    }
    json_t *j = json_pack("{s:s, s:o}", "id", r->consultation_id, "participants", list);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    req->cb(req->arg, text ? 0 : -ENOMEM, text);
}

void conf__stats_answered(struct conf_hub *h, struct conf_op *o, int status,
                          const Sfu__Envelope *resp)
{
    stats_answer(h, o, status, resp);
    free(o->stats);
    o->stats = NULL;
}

struct conf_stats_req *conf_hub_stats(struct conf_hub *h, const char *consultation_id,
                                      conf_stats_cb cb, void *arg)
{
    struct conf_room *r = NULL;
    struct list *pos;
    list_for_each(pos, &h->rooms)
    {
        struct conf_room *x = list_entry(pos, struct conf_room, node);
        if (strcmp(x->consultation_id, consultation_id) == 0)
            r = x;
    }
    if (!r || r->sfu != CONF_SFU_READY) {
        cb(arg, -ENOENT, NULL);
        return NULL;
    }
    struct conf_stats_req *req = calloc(1, sizeof(*req));
    struct conf_op *o = calloc(1, sizeof(*o));
    if (!req || !o || !h->p.link || h->stopping) {
        free(req);
        free(o);
        cb(arg, -ENOTCONN, NULL);
        return NULL;
    }
    req->cb = cb;
    req->arg = arg;
    o->hub = h;
    o->kind = OP_STATS;
    o->uid = r->uid;
    o->stats = req;
    o->what = "stats";
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest gs = SFU__GET_STATS_REQUEST__INIT;
    gs.room_id = r->room_id;
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &gs;
    int rc = sfu_link_call(h->p.link, &env, conf__on_sfu_answer, o);
    if (rc < 0) {
        free(req);
        free(o);
        cb(arg, rc, NULL);
        return NULL;
    }
    return req;
}

void conf_stats_cancel(struct conf_stats_req *r)
{
    if (r)
        r->cb = NULL;
}

static struct conf_conn *member_by_transport(struct conf_hub *h, const char *room_id, uint64_t tid,
                                             bool *recv)
{
    struct list *pos, *mpos;
    list_for_each(pos, &h->rooms)
    {
        struct conf_room *r = list_entry(pos, struct conf_room, node);
        if (strcmp(r->room_id, room_id) != 0)
            continue;
        list_for_each(mpos, &r->members)
        {
            struct conf_conn *c = list_entry(mpos, struct conf_conn, member_node);
            if (c->send_t.id == tid || c->recv_t.id == tid) {
                *recv = c->recv_t.id == tid;
                return c;
            }
        }
    }
    return NULL;
}

/* The SFU closed a consumer (its producer went: a new sending offer replaced the tracks): its
 * slot is freed for reuse and the subscriber's connection renegotiated. Consumers of someone
 * who left were freed when they left, so their ids are found nowhere. */
static void consumer_closed(struct conf_hub *h, const Sfu__ConsumerClosedEvent *e)
{
    struct list *pos, *mpos;
    list_for_each(pos, &h->rooms)
    {
        struct conf_room *r = list_entry(pos, struct conf_room, node);
        if (strcmp(r->room_id, e->room_id) != 0)
            continue;
        list_for_each(mpos, &r->members)
        {
            struct conf_conn *c = list_entry(mpos, struct conf_conn, member_node);
            for (size_t i = 0; i < c->n_slots; i++) {
                if (c->slots[i].consumer_id != e->consumer_id)
                    continue;
                c->slots[i].consumer_id = 0;
                c->slots[i].producer_id = 0;
                c->slots[i].from[0] = '\0';
                c->recv_media[i].publish = false;
                conf__renegotiate(c);
                return;
            }
        }
    }
}

void conf__media_event(struct conf_hub *h, const Sfu__Envelope *ev)
{
    if (ev->body_case == SFU__ENVELOPE__BODY_CONSUMER_CLOSED && ev->consumer_closed->room_id) {
        consumer_closed(h, ev->consumer_closed);
        return;
    }
    if (ev->body_case != SFU__ENVELOPE__BODY_TRANSPORT_STATE || !ev->transport_state->room_id)
        return;
    const Sfu__TransportStateEvent *e = ev->transport_state;
    bool recv = false;
    struct conf_conn *c = member_by_transport(h, e->room_id, e->transport_id, &recv);
    if (!c)
        return;
    const char *state = NULL;
    switch (e->state) {
    case SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED:
        state = "connected";
        break;
    case SFU__TRANSPORT_STATE__TRANSPORT_STATE_DISCONNECTED:
        state = "disconnected";
        break;
    case SFU__TRANSPORT_STATE__TRANSPORT_STATE_FAILED:
        state = "failed";
        break;
    default:
        return;
    }
    conf__send(c, json_pack("{s:s, s:s, s:s}", "type", "transport", "pc", recv ? "recv" : "send",
                            "state", state));
}

json_t *conf__ice_servers(const struct conf_hub *h, const char *participant_id)
{
    /* Without TURN the SFU's host candidates serve; with it, a browser whose network blocks UDP
     * reaches the SFU through coturn (TCP or TLS), with credentials that name the participant. */
    return turn_ice_servers(h->p.turn, participant_id, conf__now(h));
}

/* --- the link to the SFU -------------------------------------------------------------------- */

static const Sfu__RoomInfo *room_listed(const Sfu__ListRoomsResponse *rooms, const char *room_id)
{
    for (size_t i = 0; i < rooms->n_rooms; i++) {
        if (rooms->rooms[i]->room_id && strcmp(rooms->rooms[i]->room_id, room_id) == 0)
            return rooms->rooms[i];
    }
    return NULL;
}

void conf_hub_sfu_up(void *arg, const Sfu__ListRoomsResponse *rooms)
{
    struct conf_hub *h = arg;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ClaimRoomsRequest req = SFU__CLAIM_ROOMS_REQUEST__INIT;
    char **ids = calloc(rooms->n_rooms ? rooms->n_rooms : 1, sizeof(*ids));
    struct list *pos, *tmp;
    if (!ids)
        return;
    /* Rooms the SFU kept that this process does not know (signalling restarted): taken over
     * with their participants as the store has them, to be resumed by their browsers. */
    for (size_t i = 0; i < rooms->n_rooms; i++) {
        const Sfu__RoomInfo *ri = rooms->rooms[i];
        bool known = false;
        list_for_each(pos, &h->rooms)
        {
            if (strcmp(list_entry(pos, struct conf_room, node)->room_id, ri->room_id) == 0)
                known = true;
        }
        if (!known && !ri->claimed)
            conf__room_restore(h, ri);
    }
    /* Rooms the SFU kept for us are taken back with their media untouched; rooms it lost (it
     * restarted) or that another control connection holds are made anew when their browsers,
     * closed here, join again. */
    list_for_each_safe(pos, tmp, &h->rooms)
    {
        struct conf_room *r = list_entry(pos, struct conf_room, node);
        const Sfu__RoomInfo *ri = room_listed(rooms, r->room_id);
        if (r->sfu != CONF_SFU_READY)
            continue;
        if (ri && !ri->claimed) {
            ids[req.n_room_ids++] = r->room_id;
            r->claiming = true;
        } else {
            log_warn(TAG, "the SFU %s a room: its browsers rejoin",
                     ri ? "gave another connection" : "lost (it restarted)");
            r->sfu = CONF_SFU_NONE;
            conf__room_lost(r);
        }
    }
    if (req.n_room_ids > 0) {
        req.room_ids = ids;
        env.body_case = SFU__ENVELOPE__BODY_CLAIM_ROOMS;
        env.claim_rooms = &req;
        conf__call(h, &env, OP_CLAIM, 0, 0, "", "claim rooms");
        log_info(TAG, "SFU control connection up: %zu room(s) claimed", req.n_room_ids);
        list_for_each(pos, &h->rooms)
        {
            struct conf_room *r = list_entry(pos, struct conf_room, node);
            if (r->claiming)
                conf__room_reconcile(r, room_listed(rooms, r->room_id));
        }
    } else {
        log_info(TAG, "SFU control connection up");
    }
    free(ids);
    /* Rooms this process does not know (it restarted) are closed: their browsers rejoin, and
     * rejoining makes them anew. */
    for (size_t i = 0; i < rooms->n_rooms; i++) {
        const Sfu__RoomInfo *ri = rooms->rooms[i];
        bool known = false;
        list_for_each(pos, &h->rooms)
        {
            if (strcmp(list_entry(pos, struct conf_room, node)->room_id, ri->room_id) == 0)
                known = true;
        }
        /* A connection test's room (conf_probe.c) is its own: it ends within seconds, and an
         * orphan one is closed by the SFU when its grace ends. */
        if (!known && !ri->claimed && strncmp(ri->room_id, "probe-", 6) != 0) {
            conf__close_room(h, ri->room_id);
        }
    }
    if (!h->synced)
        conf__persist_prune(h);
    h->synced = true;
}

void conf_hub_sfu_down(void *arg, int reason)
{
    (void)arg;
    log_warn(TAG, "SFU control connection lost (%d); media keeps flowing while it reconnects",
             reason);
}

void conf_hub_sfu_event(void *arg, const Sfu__Envelope *ev)
{
    conf__media_event(arg, ev);
}
