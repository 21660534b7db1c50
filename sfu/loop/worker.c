/* A worker thread and its loop: the inbox from the control thread, the UDP port's datagrams
 * demultiplexed by first byte (RFC 7983), and the 20 ms tick that drives RTCP and consent. */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "control/dispatch.h"
#include "core/clock.h"
#include "core/pkt.h"
#include "ctl_frame.h"
#include "ice/ice_lite.h"
#include "loop/udp.h"
#include "router/router.h"

#define WORKER_TICK_MS 20

uint64_t worker_id_next(struct worker *w)
{
    /* Worker index in the top byte, so an id names its worker and is unique process-wide. */
    return ((uint64_t)(w->index + 1) << 56) | ++w->next_id;
}

static void worker_post_up(struct worker *w, enum umsg_kind kind, uint64_t conn_id,
                           const char *room_id, uint64_t room_gen, const Sfu__Envelope *env)
{
    struct umsg *m = calloc(1, sizeof(*m));
    if (!m)
        return;
    m->kind = kind;
    m->worker = w->index;
    m->conn_id = conn_id;
    m->room_gen = room_gen;
    if (room_id)
        snprintf(m->room_id, sizeof(m->room_id), "%s", room_id);
    if (env && ctl_frame_pack(env, &m->frame, &m->len) < 0) {
        free(m);
        return;
    }
    w->uplink.post(w->uplink.arg, m);
}

void worker_send_response(struct worker *w, uint64_t conn_id, const Sfu__Envelope *env)
{
    worker_post_up(w, UMSG_RESPONSE, conn_id, NULL, 0, env);
}

void worker_send_event(struct worker *w, const char *room_id, uint64_t room_gen,
                       const Sfu__Envelope *env)
{
    worker_post_up(w, UMSG_EVENT, 0, room_id, room_gen, env);
}

void worker_send_room_closed(struct worker *w, const char *room_id, uint64_t room_gen)
{
    worker_post_up(w, UMSG_ROOM_CLOSED, 0, room_id, room_gen, NULL);
}

/* The packet path's entry: one datagram, its bytes borrowed from the receive buffer. */
static void worker_on_datagram(void *arg, uint8_t *buf, size_t len, const struct sockaddr *from)
{
    struct worker *w = arg;
    uint8_t b = buf[0];
    if (b <= 3) {
        w->counters.rx_stun++;
        router_on_stun(w, buf, len, from);
        return;
    }
    if ((b >= 20 && b <= 63) || (b >= 128 && b <= 191)) {
        if (b >= 128)
            w->counters.rx_srtp++;
        else
            w->counters.rx_dtls++;
        router_on_datagram(w, buf, len, from);
        return;
    }
    w->counters.rx_unknown++;
    int held = log_ratelimit_pass(&w->rl_media, uv_now(&w->loop));
    if (held >= 0)
        log_warn("worker",
                 "datagram of %zu bytes with first byte %u in no RFC 7983 range: "
                 "dropped (%d similar held back)",
                 len, b, held);
}

static void worker_handle(struct worker *w, struct wmsg *m)
{
    switch (m->kind) {
    case WMSG_REQUEST:
        dispatch_request(w, m->conn_id, m->env, m->room_gen);
        m->env = NULL;
        break;
    case WMSG_LIST_ROOMS: {
        /* A part is always posted, empty when memory ran out, so the control thread's count
         * of awaited parts reaches zero. Only a failed calloc of the message itself loses it. */
        struct umsg *u = calloc(1, sizeof(*u));
        if (!u)
            break;
        u->kind = UMSG_LIST_PART;
        u->worker = w->index;
        u->pending_id = m->pending_id;
        u->conn_id = m->conn_id;
        if (dispatch_list_rooms(w, &u->frame, &u->len) < 0) {
            u->frame = NULL;
            u->len = 0;
        }
        w->uplink.post(w->uplink.arg, u);
        break;
    }
    case WMSG_CLOSE_ROOM:
        router_room_close(w, m->room_id, "grace period over");
        break;
    case WMSG_STOP:
        w->stopping = true;
        break;
    }
}

static void worker_shutdown(struct worker *w)
{
    router_close_all(w);
    uv_timer_stop(&w->tick);
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->inbox_async, NULL);
    if (w->udp) {
        /* The rooms' close_notify alerts, so browsers learn now rather than by timeout. */
        udp_port_flush(w->udp);
        udp_port_close(w->udp, NULL, NULL);
        w->udp = NULL;
    }
}

static void worker_on_async(uv_async_t *a)
{
    struct worker *w = a->data;
    struct list batch, *pos, *tmp;
    list_init(&batch);
    uv_mutex_lock(&w->inbox_lock);
    if (!list_empty(&w->inbox)) {
        /* Move the whole inbox out so handling runs without the lock. */
        batch = w->inbox;
        batch.next->prev = &batch;
        batch.prev->next = &batch;
        list_init(&w->inbox);
    }
    uv_mutex_unlock(&w->inbox_lock);
    list_for_each_safe(pos, tmp, &batch)
    {
        struct wmsg *m = list_entry(pos, struct wmsg, node);
        list_remove(pos);
        if (!w->stopping)
            worker_handle(w, m);
        if (m->env)
            sfu__envelope__free_unpacked(m->env, NULL);
        free(m);
    }
    if (w->stopping && uv_is_active((uv_handle_t *)&w->inbox_async))
        worker_shutdown(w);
}

static void worker_on_tick(uv_timer_t *t)
{
    struct worker *w = t->data;
    uint64_t now = uv_now(&w->loop);
    router_tick(w, now);
    if (w->cfg->stats_interval_ms && now - w->last_stats_ms >= w->cfg->stats_interval_ms) {
        w->last_stats_ms = now;
        dispatch_stats_events(w);
    }
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int worker_init(struct worker *w, uint32_t index, const struct sfu_config *cfg,
                struct dtls_ctx *dtls, const struct worker_uplink *uplink)
{
    int err;
    memset(w, 0, sizeof(*w));
    w->index = index;
    w->cfg = cfg;
    w->dtls = dtls;
    w->uplink = *uplink;
    list_init(&w->inbox);
    err = uv_loop_init(&w->loop);
    if (err < 0)
        return err;
    w->loop.data = w;
    if ((err = uv_mutex_init(&w->inbox_lock)) < 0)
        goto out_loop;
    if ((err = hmap_init(&w->rooms, 64)) < 0 || (err = hmap_init(&w->by_ufrag, 256)) < 0 ||
        (err = hmap_init(&w->by_addr, 256)) < 0)
        goto out_maps;
    if ((err = pkt_pool_new(&w->pool, cfg->pool_packets)) < 0)
        goto out_maps;
    if ((err = ice_lite_new(&w->ice)) < 0)
        goto out_pool;
    uint16_t port = cfg->port_base ? (uint16_t)(cfg->port_base + index) : 0;
    err = udp_port_new(&w->udp, &w->loop, cfg->listen_ip, port, worker_on_datagram, w);
    if (err < 0)
        goto out_ice;
    w->port = udp_port_local_port(w->udp);
    w->stop_msg = calloc(1, sizeof(*w->stop_msg));
    if (!w->stop_msg) {
        err = -ENOMEM;
        udp_port_close(w->udp, NULL, NULL);
        w->udp = NULL;
        goto out_ice;
    }
    uv_async_init(&w->loop, &w->inbox_async, worker_on_async);
    w->inbox_async.data = w;
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, worker_on_tick, WORKER_TICK_MS, WORKER_TICK_MS);
    return 0;

out_ice:
    /* udp_port_new closed what it had opened; let those close callbacks run. */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    ice_lite_free(w->ice);
out_pool:
    pkt_pool_free(w->pool);
out_maps:
    hmap_destroy(&w->rooms);
    hmap_destroy(&w->by_ufrag);
    hmap_destroy(&w->by_addr);
    uv_mutex_destroy(&w->inbox_lock);
out_loop:
    uv_loop_close(&w->loop);
    return err;
}

int worker_start(struct worker *w)
{
    int err = uv_thread_create(&w->thread, worker_main, w);
    w->started = err == 0;
    return err;
}

void worker_post(struct worker *w, struct wmsg *m)
{
    uv_mutex_lock(&w->inbox_lock);
    list_insert_tail(&w->inbox, &m->node);
    uv_mutex_unlock(&w->inbox_lock);
    uv_async_send(&w->inbox_async);
}

void worker_stop(struct worker *w)
{
    if (w->started) {
        /* Preallocated at init: a stop must not depend on memory being available now. */
        struct wmsg *m = w->stop_msg;
        w->stop_msg = NULL;
        m->kind = WMSG_STOP;
        worker_post(w, m);
        uv_thread_join(&w->thread);
    } else {
        /* Initialised but never run: close its handles here. */
        worker_shutdown(w);
        uv_run(&w->loop, UV_RUN_DEFAULT);
    }
    free(w->stop_msg);
    /* Messages that arrived after the stop. */
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &w->inbox)
    {
        struct wmsg *x = list_entry(pos, struct wmsg, node);
        list_remove(pos);
        if (x->env)
            sfu__envelope__free_unpacked(x->env, NULL);
        free(x);
    }
    ice_lite_free(w->ice);
    pkt_pool_free(w->pool);
    hmap_destroy(&w->rooms);
    hmap_destroy(&w->by_ufrag);
    hmap_destroy(&w->by_addr);
    uv_mutex_destroy(&w->inbox_lock);
    uv_loop_close(&w->loop);
}
