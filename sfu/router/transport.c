/* Transports: one ICE-lite + DTLS + SRTP association with one browser peer connection (BUNDLE,
 * rtcp-mux), on its worker's shared UDP port. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "app/config.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/pkt.h"
#include "dtls/dtls.h"
#include "loop/udp.h"
#include "router/router.h"
#include "router/router_int.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "srtp/sfu_srtp.h"

#define TRANSPORT_RTCP_INTERVAL_MS 1000
/* Transport-cc feedback at least this far apart: every 60 ms with the worker's 20 ms tick. */
#define TRANSPORT_TWCC_INTERVAL_MS 50

static uint64_t ufrag_hash(const char *s, size_t len)
{
    return hmap_hash_bytes(s, len);
}

static uint64_t addr_hash(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        return hmap_hash_bytes(&a->sin6_addr, 16) ^ hmap_hash_u64(a->sin6_port);
    }
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    return hmap_hash_u64((uint64_t)a->sin_addr.s_addr << 16 | a->sin_port);
}

static bool addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
    const struct sockaddr_in *x = (const struct sockaddr_in *)a;
    const struct sockaddr_in *y = (const struct sockaddr_in *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static socklen_t addr_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static struct transport *transport_by_addr(struct worker *w, const struct sockaddr *from)
{
    uint64_t h = addr_hash(from);
    for (struct hmap_node *n = hmap_first(&w->by_addr, h); n; n = hmap_next(n)) {
        struct transport *t =
            (struct transport *)((char *)n - offsetof(struct transport, addr_node));
        if (addr_equal((struct sockaddr *)&t->remote, from))
            return t;
    }
    return NULL;
}

static struct transport *transport_by_ufrag(struct worker *w, const char *ufrag, size_t len)
{
    uint64_t h = ufrag_hash(ufrag, len);
    for (struct hmap_node *n = hmap_first(&w->by_ufrag, h); n; n = hmap_next(n)) {
        struct transport *t =
            (struct transport *)((char *)n - offsetof(struct transport, ufrag_node));
        if (strlen(t->ufrag) == len && memcmp(t->ufrag, ufrag, len) == 0)
            return t;
    }
    return NULL;
}

static void media_warn(struct worker *w, const char *what)
{
    int held = log_ratelimit_pass(&w->rl_media, uv_now(&w->loop));
    if (held >= 0)
        log_warn("media", "%s (%d similar held back)", what, held);
}

void transport_state_set(struct transport *t, enum transport_state st, const char *reason)
{
    if (t->state == st)
        return;
    t->state = st;
    router_event_transport_state(t, reason);
    if (st != TRANSPORT_CONNECTED)
        return;
    /* A consumer made before its transport connected asked for its keyframe then, and that
     * keyframe could not be sent: a browser's encoder sends the next one only when asked, so
     * ask again now that it can go out (throttled per producer as any request). */
    struct list *pos;
    list_for_each(pos, &t->consumers)
    {
        struct consumer *c = list_entry(pos, struct consumer, transport_node);
        if (c->wait_keyframe && !c->paused)
            producer_request_keyframe(c->producer, false);
    }
}

/* Makes from the transport's path: later DTLS/SRTP datagrams are routed by it. */
static void transport_select_path(struct transport *t, const struct sockaddr *from)
{
    struct worker *w = t->w;
    if (t->has_remote && addr_equal((struct sockaddr *)&t->remote, from))
        return;
    /* Another transport may hold this address (a browser that reused its port for a new
     * peer connection): the newest nomination wins. */
    struct transport *other = transport_by_addr(w, from);
    if (other && other != t) {
        hmap_remove(&w->by_addr, &other->addr_node);
        other->addr_indexed = false;
        /* It must not keep sending to an address that now belongs to another peer. */
        other->has_remote = false;
        transport_state_set(other, TRANSPORT_DISCONNECTED, "path taken by another transport");
    }
    if (t->addr_indexed) {
        hmap_remove(&w->by_addr, &t->addr_node);
        t->addr_indexed = false;
    }
    memcpy(&t->remote, from, addr_len(from));
    t->has_remote = true;
    hmap_insert(&w->by_addr, &t->addr_node, addr_hash(from));
    t->addr_indexed = true;
    if (log_level_get() >= LOG_DEBUG) {
        char ip[INET6_ADDRSTRLEN] = "?";
        uint16_t port;
        if (from->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)from)->sin6_addr, ip, sizeof(ip));
            port = ntohs(((const struct sockaddr_in6 *)from)->sin6_port);
        } else {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)from)->sin_addr, ip, sizeof(ip));
            port = ntohs(((const struct sockaddr_in *)from)->sin_port);
        }
        log_debug("ice", "transport %llx: path %s:%u selected", (unsigned long long)t->id, ip,
                  port);
    }
}

void router_on_stun(struct worker *w, uint8_t *buf, size_t len, const struct sockaddr *from)
{
    const char *ufrag;
    size_t ufrag_len;
    uint8_t reply[ICE_REPLY_MAX];
    size_t reply_len = sizeof(reply);
    struct ice_check_info info;
    if (!ice_stun_maybe(buf, len)) {
        w->counters.stun_refused++;
        media_warn(w, "malformed STUN datagram dropped");
        return;
    }
    if (ice_stun_username_local(buf, len, &ufrag, &ufrag_len) < 0) {
        /* No USERNAME: an indication or a stray response. Nothing authenticates it, so it
         * neither answers nor refreshes consent (RFC 7675). */
        return;
    }
    struct transport *t = transport_by_ufrag(w, ufrag, ufrag_len);
    if (!t) {
        w->counters.stun_refused++;
        media_warn(w, "ICE check for an unknown ufrag: not answered");
        return;
    }
    int rc = ice_lite_check(w->ice, buf, len, from, addr_len(from), t->ufrag, t->pwd, reply,
                            &reply_len, &info);
    if (rc < 0) {
        w->counters.stun_refused++;
        t->rx.dropped++;
        media_warn(w, rc == -EACCES ? "ICE check with a wrong password: not answered"
                                    : "malformed ICE check: not answered");
        return;
    }
    if (info.kind == ICE_CHECK_INDICATION)
        return;
    if (info.kind == ICE_CHECK_REQUEST) {
        /* An authenticated check: consent for the path it came on. */
        t->last_rx_ms = uv_now(&w->loop);
        if (info.use_candidate || !t->has_remote)
            transport_select_path(t, from);
        if (t->state == TRANSPORT_DISCONNECTED && t->dtls_done && t->has_remote &&
            addr_equal((struct sockaddr *)&t->remote, from))
            transport_state_set(t, TRANSPORT_CONNECTED, "consent regained");
    }
    if (reply_len > 0)
        udp_port_send(w->udp, reply, reply_len, from);
}

/* --- DTLS callbacks --------------------------------------------------------------------- */

static void transport_dtls_send(void *arg, const uint8_t *buf, size_t len)
{
    struct transport *t = arg;
    if (!t->has_remote)
        return;
    udp_port_send(t->w->udp, buf, len, (struct sockaddr *)&t->remote);
}

static void transport_dtls_timer_cb(uv_timer_t *timer)
{
    struct transport *t = timer->data;
    if (t->dtls)
        dtls_session_on_timer(t->dtls);
}

static void transport_dtls_timer(void *arg, uint64_t timeout_ms)
{
    struct transport *t = arg;
    if (timeout_ms == 0)
        uv_timer_stop(&t->dtls_timer);
    else
        uv_timer_start(&t->dtls_timer, transport_dtls_timer_cb, timeout_ms, 0);
}

static void transport_dtls_connected(void *arg, const struct dtls_srtp_keys *keys)
{
    struct transport *t = arg;
    int rc = sfu_srtp_new(&t->srtp, keys);
    if (rc < 0) {
        transport_state_set(t, TRANSPORT_FAILED, "SRTP session could not be made");
        return;
    }
    t->dtls_done = true;
    transport_state_set(t, TRANSPORT_CONNECTED, "DTLS done, fingerprint verified");
}

static void transport_dtls_failed(void *arg, const char *reason)
{
    struct transport *t = arg;
    /* No media either way once the association is dead. */
    sfu_srtp_free(t->srtp);
    t->srtp = NULL;
    log_info("dtls", "transport %llx failed: %s", (unsigned long long)t->id, reason);
    transport_state_set(t, TRANSPORT_FAILED, reason);
}

static void transport_dtls_closed(void *arg)
{
    struct transport *t = arg;
    sfu_srtp_free(t->srtp);
    t->srtp = NULL;
    transport_state_set(t, TRANSPORT_CLOSED, "DTLS close_notify from the peer");
}

static const struct dtls_session_cbs transport_dtls_cbs = {
    .send = transport_dtls_send,
    .timer = transport_dtls_timer,
    .connected = transport_dtls_connected,
    .failed = transport_dtls_failed,
    .closed = transport_dtls_closed,
};

/* --- life --------------------------------------------------------------------------------- */

static int transport_set_credentials(struct transport *t)
{
    struct worker *w = t->w;
    for (int tries = 0; tries < 8; tries++) {
        int rc = ice_credentials_generate(t->ufrag, sizeof(t->ufrag), t->pwd, sizeof(t->pwd));
        if (rc < 0)
            return rc;
        if (!transport_by_ufrag(w, t->ufrag, strlen(t->ufrag))) {
            hmap_insert(&w->by_ufrag, &t->ufrag_node, ufrag_hash(t->ufrag, strlen(t->ufrag)));
            return 0;
        }
    }
    return -EEXIST;
}

int transport_new(struct transport **out, struct room *r)
{
    struct worker *w = r->w;
    struct transport *t = calloc(1, sizeof(*t));
    int err;
    if (!t)
        return -ENOMEM;
    t->id = worker_id_next(w);
    t->room = r;
    t->w = w;
    list_init(&t->producers);
    list_init(&t->consumers);
    list_init(&t->room_node);
    if ((err = twcc_recorder_new(&t->twcc)) < 0)
        goto fail;
    if ((err = dtls_session_new(&t->dtls, w->dtls, &transport_dtls_cbs, t)) < 0)
        goto fail_twcc;
    if ((err = transport_set_credentials(t)) < 0)
        goto fail_dtls;
    RAND_bytes((uint8_t *)&t->rtcp_ssrc, sizeof(t->rtcp_ssrc));
    uv_timer_init(&w->loop, &t->dtls_timer);
    t->dtls_timer.data = t;
    t->last_rx_ms = uv_now(&w->loop);
    list_insert_tail(&r->transports, &t->room_node);
    *out = t;
    return 0;

fail_dtls:
    dtls_session_free(t->dtls);
fail_twcc:
    twcc_recorder_free(t->twcc);
fail:
    free(t);
    return err;
}

static void transport_free_cb(uv_handle_t *h)
{
    struct transport *t = h->data;
    free(t);
}

void transport_close(struct transport *t, const char *reason)
{
    struct worker *w = t->w;
    struct list *pos, *tmp;
    list_for_each_safe(pos, tmp, &t->consumers)
    {
        struct consumer *c = list_entry(pos, struct consumer, transport_node);
        router_event_consumer_closed(c);
        consumer_free(c);
    }
    list_for_each_safe(pos, tmp, &t->producers)
    {
        struct producer *p = list_entry(pos, struct producer, transport_node);
        router_event_producer_closed(p);
        producer_free(p);
    }
    hmap_remove(&w->by_ufrag, &t->ufrag_node);
    if (t->addr_indexed)
        hmap_remove(&w->by_addr, &t->addr_node);
    t->addr_indexed = false;
    dtls_session_close(t->dtls);
    dtls_session_free(t->dtls);
    t->dtls = NULL;
    sfu_srtp_free(t->srtp);
    t->srtp = NULL;
    twcc_recorder_free(t->twcc);
    t->twcc = NULL;
    transport_state_set(t, TRANSPORT_CLOSED, reason);
    list_remove(&t->room_node);
    uv_timer_stop(&t->dtls_timer);
    uv_close((uv_handle_t *)&t->dtls_timer, transport_free_cb);
}

int transport_connect(struct transport *t, const char *algorithm, const char *fingerprint)
{
    return dtls_session_set_remote_fingerprint(t->dtls, algorithm, fingerprint);
}

int transport_restart_ice(struct transport *t)
{
    hmap_remove(&t->w->by_ufrag, &t->ufrag_node);
    int rc = transport_set_credentials(t);
    if (rc < 0)
        hmap_insert(&t->w->by_ufrag, &t->ufrag_node, ufrag_hash(t->ufrag, strlen(t->ufrag)));
    return rc;
}

/* --- packets ------------------------------------------------------------------------------ */

int transport_send(struct transport *t, uint8_t *buf, size_t len, bool rtcp)
{
    int rc;
    if (!t->srtp || !t->has_remote || t->state != TRANSPORT_CONNECTED) {
        /* Nothing is sent without consent (RFC 7675), or before keys exist. */
        t->tx.dropped++;
        return -ENOTCONN;
    }
    rc = rtcp ? sfu_srtp_protect_rtcp(t->srtp, buf, &len, len + SFU_SRTP_MAX_TRAILER)
              : sfu_srtp_protect_rtp(t->srtp, buf, &len, len + SFU_SRTP_MAX_TRAILER);
    if (rc < 0) {
        t->tx.dropped++;
        return rc;
    }
    rc = udp_port_send(t->w->udp, buf, len, (struct sockaddr *)&t->remote);
    if (rc < 0) {
        t->tx.dropped++;
        return rc;
    }
    t->tx.packets++;
    t->tx.bytes += len;
    return 0;
}

/* libsrtp makes state for every SSRC that sends SRTCP; a peer gets a few, not unbounded. A
 * sender is remembered only once a packet of its authenticated, so forged packets cannot fill
 * the table and lock the peer's real RTCP out. */
#define TRANSPORT_RTCP_SENDERS (sizeof(((struct transport *)0)->rtcp_senders) / sizeof(uint32_t))

static bool transport_rtcp_sender_known(const struct transport *t, uint32_t ssrc)
{
    for (unsigned i = 0; i < t->n_rtcp_senders; i++)
        if (t->rtcp_senders[i] == ssrc)
            return true;
    return false;
}

static void transport_on_rtp(struct transport *t, struct pkt *pkt)
{
    struct rtp_view v;
    bool is_rtx;
    unsigned stream;
    if (rtp_view_parse(&v, pkt->data, pkt->len) < 0) {
        t->rx.dropped++;
        media_warn(t->w, "malformed RTP packet dropped");
        return;
    }
    if (t->twcc_rx_id) {
        const uint8_t *d;
        size_t dl;
        if (rtp_ext_find(&v, t->twcc_rx_id, &d, &dl) == 0 && dl == 2)
            twcc_recorder_on_packet(t->twcc, be16_load(d), pkt->arrival_us);
    }
    struct producer *p = producer_by_ssrc(t, v.ssrc, &is_rtx, &stream);
    if (!p) {
        t->rx.dropped++;
        return;
    }
    producer_on_rtp(p, stream, is_rtx, pkt, &v);
}

void transport_on_datagram(struct transport *t, uint8_t *buf, size_t len)
{
    struct worker *w = t->w;
    uint8_t b = buf[0];
    t->rx.packets++;
    t->rx.bytes += len;
    if (b >= 20 && b <= 63) {
        /* dtls_session_input refuses datagrams that are not whole DTLS records. */
        if (t->dtls && dtls_session_input(t->dtls, buf, len) < 0) {
            t->rx.dropped++;
            media_warn(w, "DTLS datagram refused");
        }
        return;
    }
    if (!t->srtp) {
        /* SRTP before DTLS finished (or after it failed): nothing to decrypt with. */
        t->rx.dropped++;
        return;
    }
    if (len > PKT_CAP || len < 12) {
        t->rx.dropped++;
        return;
    }
    bool rtcp = rtp_is_rtcp(buf, len);
    if (!rtcp) {
        /* The SSRC is in the clear: a stream nobody produced is dropped before it costs a
         * decryption, and before libsrtp would make state for it. */
        bool is_rtx;
        unsigned stream;
        if (!producer_by_ssrc(t, be32_load(buf + 8), &is_rtx, &stream)) {
            t->rx.dropped++;
            return;
        }
    }
    /* The one copy of a received packet: into a pool buffer, decrypted in place, then shared by
     * reference with the NACK history and every consumer. */
    struct pkt *pkt = pkt_get(w->pool);
    if (!pkt) {
        w->counters.pool_empty++;
        t->rx.dropped++;
        media_warn(w, "packet pool empty: packet dropped (raise pool-packets)");
        return;
    }
    memcpy(pkt->data, buf, len);
    size_t plen = len;
    pkt->arrival_us = clock_mono_us();
    uint32_t rtcp_sender = be32_load(buf + 4);
    bool rtcp_known = rtcp && transport_rtcp_sender_known(t, rtcp_sender);
    if (rtcp && !rtcp_known && t->n_rtcp_senders == TRANSPORT_RTCP_SENDERS) {
        pkt_unref(pkt);
        t->rx.dropped++;
        return;
    }
    if (rtcp) {
        w->counters.rx_srtcp++;
        if (sfu_srtp_unprotect_rtcp(t->srtp, pkt->data, &plen) < 0) {
            w->counters.srtp_failed++;
            t->rx.dropped++;
            media_warn(w, "SRTCP packet failed authentication: dropped");
        } else {
            pkt->len = (uint32_t)plen;
            t->last_rx_ms = uv_now(&w->loop); /* authenticated: consent */
            if (!rtcp_known)
                t->rtcp_senders[t->n_rtcp_senders++] = rtcp_sender;
            transport_on_rtcp(t, pkt->data, plen);
        }
    } else {
        if (sfu_srtp_unprotect_rtp(t->srtp, pkt->data, &plen) < 0) {
            w->counters.srtp_failed++;
            t->rx.dropped++;
            media_warn(w, "SRTP packet failed authentication or replayed: dropped");
        } else {
            pkt->len = (uint32_t)plen;
            t->last_rx_ms = uv_now(&w->loop); /* authenticated: consent */
            transport_on_rtp(t, pkt);
        }
    }
    pkt_unref(pkt);
}

void router_on_datagram(struct worker *w, uint8_t *buf, size_t len, const struct sockaddr *from)
{
    struct transport *t = transport_by_addr(w, from);
    if (!t) {
        w->counters.rx_no_transport++;
        return;
    }
    transport_on_datagram(t, buf, len);
}

/* --- timers ------------------------------------------------------------------------------- */

static void transport_send_twcc(struct transport *t)
{
    uint8_t buf[1500];
    size_t len;
    struct producer *p = NULL;
    if (!list_empty(&t->producers))
        p = list_entry(t->producers.next, struct producer, transport_node);
    uint32_t media = p && p->nstreams ? p->streams[0].ssrc : 0;
    for (int i = 0; i < 4; i++) {
        if (twcc_recorder_build(t->twcc, t->rtcp_ssrc, media, buf,
                                sizeof(buf) - SFU_SRTP_MAX_TRAILER, &len) < 0 ||
            len == 0)
            break;
        transport_send(t, buf, len, true);
    }
}

void transport_tick(struct transport *t, uint64_t now_ms)
{
    struct list *pos, *tmp;
    const struct sfu_config *cfg = t->w->cfg;
    if (t->state == TRANSPORT_CONNECTED && now_ms - t->last_rx_ms > cfg->consent_timeout_ms) {
        transport_state_set(t, TRANSPORT_DISCONNECTED, "consent expired: nothing heard");
        return;
    }
    if (t->state != TRANSPORT_CONNECTED)
        return;
    if (t->twcc_rx_id && now_ms - t->last_twcc_ms >= TRANSPORT_TWCC_INTERVAL_MS) {
        t->last_twcc_ms = now_ms;
        transport_send_twcc(t);
    }
    list_for_each_safe(pos, tmp, &t->producers)
    {
        producer_tick(list_entry(pos, struct producer, transport_node), now_ms);
    }
    list_for_each_safe(pos, tmp, &t->consumers)
    {
        consumer_tick(list_entry(pos, struct consumer, transport_node), now_ms);
    }
}
