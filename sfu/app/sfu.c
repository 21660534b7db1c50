/* The control thread: requests from signalling are routed to the worker holding their room;
 * rooms belong to the control connection that made or claimed them and outlive its loss by the
 * grace period. */
#include "sfu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "control/ctl_server.h"
#include "control/dispatch.h"
#include "core/hmap.h"
#include "core/list.h"
#include "core/log.h"
#include "ctl_frame.h"
#include "loop/worker.h"

struct room_entry {
    struct hmap_node node;
    char id[ROOM_ID_MAX + 1];
    uint32_t worker;
    uint64_t owner; /* control connection; 0 while orphaned */
    uint64_t gen;   /* tells this room from an earlier one with the same id */
    uv_timer_t grace;
    struct sfu *sfu; /* borrowed */
};

/* A ListRooms request waiting for every worker's part. */
struct pending_list {
    struct list node;
    uint64_t pending_id;
    uint64_t conn_id;
    uint64_t req_id;
    uint32_t remaining;
    Sfu__ListRoomsResponse *parts[256];
    uint32_t nparts;
};

struct sfu {
    uv_loop_t *loop;              /* borrowed */
    const struct sfu_config *cfg; /* borrowed */
    struct dtls_ctx *dtls;        /* borrowed */
    struct worker *workers;       /* owned, cfg->workers */
    uint32_t nworkers;
    uint32_t *rooms_per_worker; /* owned */
    struct ctl_server *ctl;     /* owned */
    uv_async_t uplink_async;
    uv_mutex_t uplink_lock;
    struct list uplink;  /* struct umsg, under uplink_lock */
    struct hmap rooms;   /* struct room_entry by id */
    struct list pending; /* struct pending_list */
    uint64_t next_pending;
    uint64_t next_gen;
    bool workers_running;
};

static struct room_entry *entry_find(struct sfu *s, const char *id)
{
    uint64_t h = hmap_hash_bytes(id, strlen(id));
    for (struct hmap_node *n = hmap_first(&s->rooms, h); n; n = hmap_next(n)) {
        struct room_entry *e = (struct room_entry *)((char *)n - offsetof(struct room_entry, node));
        if (strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

static void entry_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void entry_remove(struct sfu *s, struct room_entry *e)
{
    hmap_remove(&s->rooms, &e->node);
    s->rooms_per_worker[e->worker]--;
    uv_timer_stop(&e->grace);
    uv_close((uv_handle_t *)&e->grace, entry_free_cb);
}

static void post_to_worker(struct sfu *s, uint32_t worker, enum wmsg_kind kind, uint64_t conn,
                           Sfu__Envelope *env, const char *room_id, uint64_t pending_id,
                           uint64_t room_gen)
{
    struct wmsg *m = calloc(1, sizeof(*m));
    if (!m) {
        if (env)
            sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    m->kind = kind;
    m->conn_id = conn;
    m->env = env;
    m->pending_id = pending_id;
    m->room_gen = room_gen;
    if (room_id)
        snprintf(m->room_id, sizeof(m->room_id), "%s", room_id);
    worker_post(&s->workers[worker], m);
}

static void on_grace_expired(uv_timer_t *t)
{
    struct room_entry *e = t->data;
    struct sfu *s = e->sfu;
    /* Room ids come from signalling: not logged above debug, in case one carries more than an
     * opaque id. */
    log_info("sfu", "a room no control connection claimed within the grace period is closed");
    log_debug("sfu", "grace period over for room %s", e->id);
    post_to_worker(s, e->worker, WMSG_CLOSE_ROOM, 0, NULL, e->id, 0, 0);
    entry_remove(s, e);
}

static void reply_error(struct sfu *s, uint64_t conn, uint64_t id, Sfu__ErrorCode code,
                        const char *reason)
{
    ctl_server_send_error(s->ctl, conn, id, code, "%s", reason);
}

static void reply_ok(struct sfu *s, uint64_t conn, uint64_t id)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__Ok ok = SFU__OK__INIT;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_OK;
    env.ok = &ok;
    ctl_server_send(s->ctl, conn, &env);
}

static void do_list_rooms(struct sfu *s, uint64_t conn, uint64_t id)
{
    struct pending_list *pl = calloc(1, sizeof(*pl));
    if (!pl) {
        reply_error(s, conn, id, SFU__ERROR_CODE__ERROR_CODE_NO_RESOURCES, "out of memory");
        return;
    }
    pl->pending_id = ++s->next_pending;
    pl->conn_id = conn;
    pl->req_id = id;
    pl->remaining = s->nworkers;
    list_insert_tail(&s->pending, &pl->node);
    for (uint32_t i = 0; i < s->nworkers; i++)
        post_to_worker(s, i, WMSG_LIST_ROOMS, conn, NULL, NULL, pl->pending_id, 0);
}

static void finish_list_rooms(struct sfu *s, struct pending_list *pl)
{
    size_t n = 0, k = 0, nw = 0;
    for (uint32_t i = 0; i < pl->nparts; i++)
        n += pl->parts[i]->n_rooms;
    Sfu__RoomInfo **rooms = calloc(n ? n : 1, sizeof(*rooms));
    Sfu__WorkerStats **workers = calloc(pl->nparts ? pl->nparts : 1, sizeof(*workers));
    for (uint32_t i = 0; workers && i < pl->nparts; i++)
        for (size_t j = 0; j < pl->parts[i]->n_workers; j++)
            if (nw < pl->nparts)
                workers[nw++] = pl->parts[i]->workers[j];
    if (rooms && workers) {
        for (uint32_t i = 0; i < pl->nparts; i++) {
            for (size_t j = 0; j < pl->parts[i]->n_rooms; j++) {
                Sfu__RoomInfo *ri = pl->parts[i]->rooms[j];
                struct room_entry *e = entry_find(s, ri->room_id);
                ri->claimed = e && e->owner != 0;
                rooms[k++] = ri;
            }
        }
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__ListRoomsResponse resp = SFU__LIST_ROOMS_RESPONSE__INIT;
        resp.n_rooms = k;
        resp.rooms = rooms;
        resp.n_workers = nw;
        resp.workers = workers;
        env.id = pl->req_id;
        env.body_case = SFU__ENVELOPE__BODY_ROOMS;
        env.rooms = &resp;
        ctl_server_send(s->ctl, pl->conn_id, &env);
    } else {
        reply_error(s, pl->conn_id, pl->req_id, SFU__ERROR_CODE__ERROR_CODE_NO_RESOURCES,
                    "out of memory");
    }
    free(rooms);
    free(workers);
    for (uint32_t i = 0; i < pl->nparts; i++)
        sfu__list_rooms_response__free_unpacked(pl->parts[i], NULL);
    list_remove(&pl->node);
    free(pl);
}

static void on_list_part(struct sfu *s, struct umsg *m)
{
    struct list *pos;
    list_for_each(pos, &s->pending)
    {
        struct pending_list *pl = list_entry(pos, struct pending_list, node);
        if (pl->pending_id != m->pending_id)
            continue;
        Sfu__ListRoomsResponse *part =
            m->frame ? sfu__list_rooms_response__unpack(NULL, m->len, m->frame) : NULL;
        if (part && pl->nparts < 256)
            pl->parts[pl->nparts++] = part;
        else if (part)
            sfu__list_rooms_response__free_unpacked(part, NULL);
        if (--pl->remaining == 0)
            finish_list_rooms(s, pl);
        return;
    }
}

static void do_claim(struct sfu *s, uint64_t conn, const Sfu__Envelope *env)
{
    const Sfu__ClaimRoomsRequest *req = env->claim_rooms;
    char reason[200];
    for (size_t i = 0; i < req->n_room_ids; i++) {
        struct room_entry *e = entry_find(s, req->room_ids[i]);
        if (!e) {
            snprintf(reason, sizeof(reason), "room %.64s does not exist", req->room_ids[i]);
            reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND, reason);
            return;
        }
        if (e->owner != 0 && e->owner != conn) {
            snprintf(reason, sizeof(reason),
                     "room %s belongs to another live control "
                     "connection",
                     e->id);
            reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_NOT_OWNER, reason);
            return;
        }
    }
    for (size_t i = 0; i < req->n_room_ids; i++) {
        struct room_entry *e = entry_find(s, req->room_ids[i]);
        e->owner = conn;
        uv_timer_stop(&e->grace);
    }
    reply_ok(s, conn, env->id);
}

static void do_create_room(struct sfu *s, uint64_t conn, Sfu__Envelope *env)
{
    const char *id = env->create_room->room_id;
    char reason[160];
    if (!dispatch_room_id_valid(id)) {
        reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE,
                    "room_id: 1 to 64 characters of A-Z a-z 0-9 _ . : - needed");
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    if (entry_find(s, id)) {
        snprintf(reason, sizeof(reason), "room %s exists", id);
        reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_EXISTS, reason);
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    struct room_entry *e = calloc(1, sizeof(*e));
    if (!e) {
        reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_NO_RESOURCES, "out of memory");
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    /* The least loaded worker by room count. */
    uint32_t best = 0;
    for (uint32_t i = 1; i < s->nworkers; i++)
        if (s->rooms_per_worker[i] < s->rooms_per_worker[best])
            best = i;
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->worker = best;
    e->owner = conn;
    e->gen = ++s->next_gen;
    e->sfu = s;
    uv_timer_init(s->loop, &e->grace);
    e->grace.data = e;
    hmap_insert(&s->rooms, &e->node, hmap_hash_bytes(id, strlen(id)));
    s->rooms_per_worker[best]++;
    post_to_worker(s, best, WMSG_REQUEST, conn, env, NULL, 0, e->gen);
}

static void on_request(void *arg, uint64_t conn, Sfu__Envelope *env)
{
    struct sfu *s = arg;
    char reason[200];
    switch (env->body_case) {
    case SFU__ENVELOPE__BODY_LIST_ROOMS:
        do_list_rooms(s, conn, env->id);
        sfu__envelope__free_unpacked(env, NULL);
        return;
    case SFU__ENVELOPE__BODY_CLAIM_ROOMS:
        do_claim(s, conn, env);
        sfu__envelope__free_unpacked(env, NULL);
        return;
    case SFU__ENVELOPE__BODY_CREATE_ROOM:
        do_create_room(s, conn, env);
        return;
    default:
        break;
    }
    const char *room_id = dispatch_room_id(env);
    if (!room_id) {
        reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST,
                    "not a request this SFU knows");
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    if (!dispatch_room_id_valid(room_id)) {
        /* As CreateRoom and the worker answer it: a malformed id is a bad message, not a room
         * that happens not to exist. */
        reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE,
                    "room_id: 1 to 64 characters of A-Z a-z 0-9 _ . : - needed");
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    struct room_entry *e = entry_find(s, room_id);
    if (!e) {
        snprintf(reason, sizeof(reason), "room %.64s does not exist", room_id);
        reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND, reason);
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    if (e->owner != 0 && e->owner != conn) {
        snprintf(reason, sizeof(reason), "room %s belongs to another live control connection",
                 e->id);
        reply_error(s, conn, env->id, SFU__ERROR_CODE__ERROR_CODE_NOT_OWNER, reason);
        sfu__envelope__free_unpacked(env, NULL);
        return;
    }
    if (e->owner == 0) {
        /* Acting on an orphaned room claims it. */
        e->owner = conn;
        uv_timer_stop(&e->grace);
    }
    uint32_t worker = e->worker;
    if (env->body_case == SFU__ENVELOPE__BODY_CLOSE_ROOM)
        entry_remove(s, e);
    post_to_worker(s, worker, WMSG_REQUEST, conn, env, NULL, 0, 0);
}

static void on_conn_close(void *arg, uint64_t conn)
{
    struct sfu *s = arg;
    unsigned orphaned = 0;
    for (size_t b = 0; b <= s->rooms.mask; b++) {
        for (struct hmap_node *n = s->rooms.buckets[b]; n; n = n->next) {
            struct room_entry *e =
                (struct room_entry *)((char *)n - offsetof(struct room_entry, node));
            if (e->owner != conn)
                continue;
            e->owner = 0;
            uv_timer_start(&e->grace, on_grace_expired, s->cfg->grace_ms, 0);
            orphaned++;
        }
    }
    if (orphaned)
        log_warn("sfu",
                 "control connection lost: %u room(s) keep running for %u ms awaiting a "
                 "claim",
                 orphaned, s->cfg->grace_ms);
}

static void on_uplink(uv_async_t *a)
{
    struct sfu *s = a->data;
    struct list batch, *pos, *tmp;
    list_init(&batch);
    uv_mutex_lock(&s->uplink_lock);
    if (!list_empty(&s->uplink)) {
        batch = s->uplink;
        batch.next->prev = &batch;
        batch.prev->next = &batch;
        list_init(&s->uplink);
    }
    uv_mutex_unlock(&s->uplink_lock);
    list_for_each_safe(pos, tmp, &batch)
    {
        struct umsg *m = list_entry(pos, struct umsg, node);
        list_remove(pos);
        switch (m->kind) {
        case UMSG_RESPONSE:
            if (s->ctl) {
                ctl_server_send_frame(s->ctl, m->conn_id, m->frame, m->len);
                m->frame = NULL;
            }
            break;
        case UMSG_EVENT: {
            struct room_entry *e = entry_find(s, m->room_id);
            /* Only the room this entry stands for: the teardown events of an earlier room with
             * the same id must not reach whoever owns the new one. */
            if (s->ctl && e && e->owner && e->gen == m->room_gen && e->worker == m->worker) {
                ctl_server_send_frame(s->ctl, e->owner, m->frame, m->len);
                m->frame = NULL;
            }
            break;
        }
        case UMSG_LIST_PART:
            on_list_part(s, m);
            break;
        case UMSG_ROOM_CLOSED: {
            struct room_entry *e = entry_find(s, m->room_id);
            if (e && e->gen == m->room_gen && e->worker == m->worker)
                entry_remove(s, e);
            break;
        }
        }
        free(m->frame);
        free(m);
    }
}

static void uplink_post(void *arg, struct umsg *m)
{
    struct sfu *s = arg;
    uv_mutex_lock(&s->uplink_lock);
    list_insert_tail(&s->uplink, &m->node);
    uv_mutex_unlock(&s->uplink_lock);
    uv_async_send(&s->uplink_async);
}

int sfu_new(struct sfu **out, uv_loop_t *loop, const struct sfu_config *cfg, struct dtls_ctx *dtls)
{
    int err;
    struct sfu *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->cfg = cfg;
    s->dtls = dtls;
    s->nworkers = cfg->workers;
    list_init(&s->uplink);
    list_init(&s->pending);
    s->workers = calloc(cfg->workers, sizeof(*s->workers));
    s->rooms_per_worker = calloc(cfg->workers, sizeof(*s->rooms_per_worker));
    if (!s->workers || !s->rooms_per_worker || hmap_init(&s->rooms, 64) < 0) {
        free(s->workers);
        free(s->rooms_per_worker);
        free(s);
        return -ENOMEM;
    }
    uv_mutex_init(&s->uplink_lock);
    uv_async_init(loop, &s->uplink_async, on_uplink);
    s->uplink_async.data = s;
    struct worker_uplink up = {.post = uplink_post, .arg = s};
    uint32_t started = 0;
    for (; started < cfg->workers; started++) {
        err = worker_init(&s->workers[started], started, cfg, dtls, &up);
        if (err < 0) {
            log_error("sfu", "worker %u: UDP %s:%u: %s", started, cfg->listen_ip,
                      cfg->port_base ? cfg->port_base + started : 0, uv_strerror(err));
            goto fail;
        }
        err = worker_start(&s->workers[started]);
        if (err < 0) {
            started++; /* initialised: worker_stop frees it */
            goto fail;
        }
    }
    s->workers_running = true;
    struct ctl_server_cfg cc = {
        .unix_path = cfg->control_unix[0] ? cfg->control_unix : NULL,
        .tcp_host = cfg->control_tcp_host[0] ? cfg->control_tcp_host : NULL,
        .tcp_port = cfg->control_tcp_port,
        .secret = cfg->control_secret_len ? cfg->control_secret : NULL,
        .secret_len = cfg->control_secret_len,
        .max_msg = cfg->control_max_msg,
    };
    struct ctl_server_cbs cbs = {
        .on_request = on_request,
        .on_conn_close = on_conn_close,
    };
    err = ctl_server_new(&s->ctl, loop, &cc, &cbs, s);
    if (err < 0) {
        log_error("sfu", "control socket: %s", uv_strerror(err));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    s->nworkers = started;
    sfu_shutdown(s);
    return err;
}

uint16_t sfu_worker_port(const struct sfu *s, unsigned i)
{
    return i < s->nworkers ? s->workers[i].port : 0;
}

int sfu_control_tcp_port(const struct sfu *s)
{
    return s->ctl ? ctl_server_tcp_port(s->ctl) : -1;
}

static void sfu_free_cb(uv_handle_t *h)
{
    struct sfu *s = h->data;
    free(s);
}

void sfu_shutdown(struct sfu *s)
{
    if (s->ctl) {
        ctl_server_close(s->ctl);
        s->ctl = NULL;
    }
    for (uint32_t i = 0; i < s->nworkers; i++)
        worker_stop(&s->workers[i]);
    s->nworkers = 0;
    /* ListRooms still waiting can never be answered now; drop them before reading what the
     * workers said on their way out, so no late part tries to answer. */
    while (!list_empty(&s->pending)) {
        struct pending_list *pl = list_entry(s->pending.next, struct pending_list, node);
        for (uint32_t i = 0; i < pl->nparts; i++)
            sfu__list_rooms_response__free_unpacked(pl->parts[i], NULL);
        list_remove(&pl->node);
        free(pl);
    }
    on_uplink(&s->uplink_async);
    for (size_t b = 0; b <= s->rooms.mask; b++) {
        while (s->rooms.buckets[b]) {
            struct hmap_node *n = s->rooms.buckets[b];
            entry_remove(s, (struct room_entry *)((char *)n - offsetof(struct room_entry, node)));
        }
    }
    hmap_destroy(&s->rooms);
    free(s->workers);
    free(s->rooms_per_worker);
    uv_mutex_destroy(&s->uplink_lock);
    uv_close((uv_handle_t *)&s->uplink_async, sfu_free_cb);
}
