/* The simulated peer's life and media: its thread and GMainContext, the libnice agent (full ICE),
 * demultiplexing of received datagrams (RFC 7983, RFC 5761) and SRTP protect/unprotect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/bytes.h"
#include "peer_priv.h"
#include "rtp/nack_tracker.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "srtp/sfu_srtp.h"

#define GATHER_TIMEOUT_MS  5000
#define PEER_SOCKET_BUFFER (2 * 1024 * 1024)

void peer_cfg_init(struct peer_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->local_ip = "127.0.0.1";
    cfg->controlling = true;
    cfg->dtls_server = false;
    cfg->srtp_profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
}

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now (the condition uses that clock). */
static struct timespec peer_deadline(int timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool state_final(int st)
{
    return st == PEER_STATE_FAILED || st == PEER_STATE_CLOSED;
}

void peer__state_set(struct peer *p, enum peer_state st)
{
    int cur;

    pthread_mutex_lock(&p->mu);
    cur = atomic_load_explicit(&p->state, memory_order_relaxed);
    if (cur == (int)st || state_final(cur)) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    atomic_store_explicit(&p->state, (int)st, memory_order_release);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    if (p->cbs.on_state)
        p->cbs.on_state(p->arg, st);
}

enum peer_state peer_state_get(const struct peer *p)
{
    return (enum peer_state)atomic_load_explicit(&p->state, memory_order_acquire);
}

int peer_wait_state(struct peer *p, enum peer_state want, int timeout_ms)
{
    struct timespec dl = peer_deadline(timeout_ms < 0 ? 0 : timeout_ms);
    int ret = 0;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        int cur = atomic_load_explicit(&p->state, memory_order_acquire);

        if (cur == (int)want)
            break;
        if (state_final(cur)) {
            ret = -ECONNABORTED;
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&p->cond, &p->mu);
        } else if (pthread_cond_timedwait(&p->cond, &p->mu, &dl) == ETIMEDOUT) {
            ret =
                atomic_load_explicit(&p->state, memory_order_acquire) == (int)want ? 0 : -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return ret;
}

/* Running a function on the peer's thread and waiting for its result: libnice emits signals on
 * whichever thread calls into it, and callbacks must only ever run on the peer's thread. */
struct peer_call {
    struct peer *p;
    int (*fn)(struct peer *p, void *data);
    void *data;
    int ret;
    bool done;
};

static gboolean peer_call_dispatch(gpointer data)
{
    struct peer_call *c = data;
    int ret = c->fn(c->p, c->data);

    pthread_mutex_lock(&c->p->mu);
    c->ret = ret;
    c->done = true;
    pthread_cond_broadcast(&c->p->cond);
    pthread_mutex_unlock(&c->p->mu);
    return G_SOURCE_REMOVE;
}

static int peer_call_sync(struct peer *p, int (*fn)(struct peer *, void *), void *data)
{
    struct peer_call c = {.p = p, .fn = fn, .data = data};

    g_main_context_invoke(p->ctx, peer_call_dispatch, &c);
    pthread_mutex_lock(&p->mu);
    while (!c.done)
        pthread_cond_wait(&p->cond, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return c.ret;
}

struct peer_loop {
    GMainContext *ctx;
    GMainLoop *loop;
    pthread_t thread;
};

static void *peer_loop_main(void *arg)
{
    struct peer_loop *l = arg;

    g_main_context_push_thread_default(l->ctx);
    g_main_loop_run(l->loop);
    /* Let sources the agents' teardown left behind run their destroy notifications. */
    while (g_main_context_iteration(l->ctx, FALSE))
        ;
    g_main_context_pop_thread_default(l->ctx);
    return NULL;
}

int peer_loop_new(struct peer_loop **out)
{
    struct peer_loop *l = calloc(1, sizeof(*l));

    if (!out || !l) {
        free(l);
        return out ? -ENOMEM : -EINVAL;
    }
    l->ctx = g_main_context_new();
    l->loop = g_main_loop_new(l->ctx, FALSE);
    if (pthread_create(&l->thread, NULL, peer_loop_main, l) != 0) {
        g_main_loop_unref(l->loop);
        g_main_context_unref(l->ctx);
        free(l);
        return -EIO;
    }
    *out = l;
    return 0;
}

int peer_loop_cpu_s(struct peer_loop *l, double *out)
{
    clockid_t clk;
    struct timespec ts;
    int rc = pthread_getcpuclockid(l->thread, &clk);

    if (rc != 0)
        return -rc;
    if (clock_gettime(clk, &ts) < 0)
        return -errno;
    *out = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return 0;
}

static gboolean peer_loop_quit(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

void peer_loop_free(struct peer_loop *l)
{
    if (!l)
        return;
    /* Quit from inside the loop, so that it cannot miss the request before it starts running. */
    g_main_context_invoke(l->ctx, peer_loop_quit, l->loop);
    pthread_join(l->thread, NULL);
    g_main_loop_unref(l->loop);
    g_main_context_unref(l->ctx);
    free(l);
}

/* ---- ICE ---- */

static void peer_on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
    struct peer *p = data;

    (void)agent;
    (void)stream_id;
    pthread_mutex_lock(&p->mu);
    p->gathered = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

/* Grows the kernel buffers of the selected socket: many simulated peers share two cores, and a
 * peer thread that is not scheduled for a few milliseconds must not lose media to a full
 * default-sized buffer. SO_RCVBUFFORCE works as root past rmem_max; otherwise the plain option
 * gives what the system allows. */
static void peer_socket_grow(struct peer *p)
{
    GSocket *gs = nice_agent_get_selected_socket(p->agent, p->stream_id, 1);
    if (!gs)
        return;
    int fd = g_socket_get_fd(gs);
    int size = PEER_SOCKET_BUFFER;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    g_object_unref(gs);
}

static void peer_on_component_state(NiceAgent *agent, guint stream_id, guint component_id,
                                    guint state, gpointer data)
{
    struct peer *p = data;

    (void)agent;
    if (stream_id != p->stream_id || component_id != 1)
        return;
    if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
        if (!atomic_load_explicit(&p->ice_ready, memory_order_relaxed)) {
            atomic_store_explicit(&p->ice_ready, true, memory_order_release);
            peer_socket_grow(p);
            peer__dtls_ice_ready(p);
        }
    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        fprintf(stderr, "peer: ICE failed\n");
        peer__state_set(p, PEER_STATE_FAILED);
    }
}

/* ---- receiver feature: RTX, loss tracking, NACKs (peer's thread) ---- */

static const struct peer_rtx *peer_rtx_find(const struct peer *p, uint32_t rtx_ssrc)
{
    for (size_t i = 0; i < p->nrtx; i++)
        if (p->rtx[i].rtx_ssrc == rtx_ssrc)
            return &p->rtx[i];
    return NULL;
}

/* Turns the RTX packet of len bytes in rx_buf back into the packet it repairs, in place (RFC 4588
 * section 4: the OSN leads the payload). Returns the new length, or -EBADMSG for a packet that
 * does not parse, carries another payload type, or is padding only (bandwidth probing). */
static int peer_rtx_unwrap(struct peer *p, const struct peer_rtx *x, size_t len)
{
    struct rtp_view v;

    if (rtp_view_parse(&v, p->rx_buf, len) < 0 || v.pt != x->rtx_pt || v.payload_len < 2)
        return -EBADMSG;
    uint16_t osn = be16_load(v.payload);
    memmove(p->rx_buf + v.hdr_len, p->rx_buf + v.hdr_len + 2, v.payload_len - 2);
    p->rx_buf[0] &= (uint8_t)~0x20; /* the padding stayed behind */
    rtp_seq_set(p->rx_buf, osn);
    rtp_ssrc_set(p->rx_buf, x->media_ssrc);
    rtp_pt_set(p->rx_buf, x->media_pt);
    return (int)(v.hdr_len + v.payload_len - 2);
}

/* Notes a media packet's arrival in its stream's tracker; a new SSRC takes a free slot, and
 * SSRCs past PEER_NACK_STREAMS go untracked. */
static void peer_nack_note(struct peer *p, uint32_t ssrc, uint16_t seq)
{
    struct peer_rx_stream *free_slot = NULL;

    for (size_t i = 0; i < PEER_NACK_STREAMS; i++) {
        struct peer_rx_stream *s = &p->rx_streams[i];

        if (s->used && s->ssrc == ssrc) {
            nack_tracker_on_packet(s->nack, seq, (uint64_t)g_get_monotonic_time());
            return;
        }
        if (!s->used && !free_slot)
            free_slot = s;
    }
    if (free_slot) {
        free_slot->used = true;
        free_slot->ssrc = ssrc;
        nack_tracker_on_packet(free_slot->nack, seq, (uint64_t)g_get_monotonic_time());
    }
}

/* A decrypted RTP packet of len bytes in rx_buf: unwraps RTX, tracks, hands it on. */
static void peer_rx_rtp(struct peer *p, size_t len)
{
    uint32_t ssrc = be32_load(p->rx_buf + 8);
    const struct peer_rtx *x = p->nrtx ? peer_rtx_find(p, ssrc) : NULL;
    bool repaired = false;

    if (x) {
        int n = peer_rtx_unwrap(p, x, len);

        if (n < 0) {
            peer__count(&p->n.rx_dropped, 1);
            return;
        }
        len = (size_t)n;
        ssrc = x->media_ssrc;
        repaired = true;
    }
    if (p->nack)
        peer_nack_note(p, ssrc, be16_load(p->rx_buf + 2));
    if (repaired)
        peer__count(&p->n.rx_rtx_repaired, 1);
    peer__count(&p->n.rx_rtp_packets, 1);
    peer__count(&p->n.rx_rtp_bytes, (uint64_t)len);
    if (p->cbs.on_rtp)
        p->cbs.on_rtp(p->arg, p->rx_buf, len);
}

/* Every PEER_NACK_INTERVAL_MS: one generic NACK per stream with something due. */
static gboolean peer_nack_tick(gpointer data)
{
    struct peer *p = data;
    uint16_t seqs[PEER_NACK_MAX_SEQS];
    uint64_t now = (uint64_t)g_get_monotonic_time();

    if (peer_state_get(p) != PEER_STATE_CONNECTED || !p->srtp_fb)
        return G_SOURCE_CONTINUE;
    for (size_t i = 0; i < PEER_NACK_STREAMS; i++) {
        struct peer_rx_stream *s = &p->rx_streams[i];
        size_t n;
        int len, sent;

        if (!s->used)
            continue;
        n = nack_tracker_collect(s->nack, now, seqs, PEER_NACK_MAX_SEQS);
        if (n == 0)
            continue;
        len = rtcp_write_nack(p->fb_buf, PEER_PKT_MAX, p->fb_ssrc, s->ssrc, seqs, n);
        /* Counted apart from tx_rtcp_* and tx_failed, which the sending thread writes. */
        if (len < 0 || srtp_protect_rtcp(p->srtp_fb, p->fb_buf, &len) != srtp_err_status_ok) {
            peer__count(&p->n.tx_nack_failed, 1);
            continue;
        }
        sent = nice_agent_send(p->agent, p->stream_id, 1, (guint)len, (const gchar *)p->fb_buf);
        if (sent != len) {
            peer__count(&p->n.tx_nack_failed, 1);
            continue;
        }
        peer__count(&p->n.tx_nack_packets, 1);
        peer__count(&p->n.tx_nack_seqs, n);
    }
    return G_SOURCE_CONTINUE;
}

static int peer_apply_rtx(struct peer *p, void *data)
{
    const struct peer_rtx *x = data;

    for (size_t i = 0; i < p->nrtx; i++) {
        if (p->rtx[i].media_ssrc == x->media_ssrc) {
            p->rtx[i] = *x;
            return 0;
        }
    }
    if (p->nrtx == PEER_RTX_MAX)
        return -ENOSPC;
    p->rtx[p->nrtx++] = *x;
    return 0;
}

int peer_set_rtx(struct peer *p, uint32_t media_ssrc, uint32_t rtx_ssrc, uint8_t rtx_pt,
                 uint8_t media_pt)
{
    struct peer_rtx x = {
        .media_ssrc = media_ssrc, .rtx_ssrc = rtx_ssrc, .rtx_pt = rtx_pt, .media_pt = media_pt};

    if (!p || rtx_pt > 127 || media_pt > 127 || rtx_ssrc == media_ssrc)
        return -EINVAL;
    return peer_call_sync(p, peer_apply_rtx, &x);
}

static int peer_apply_stall(struct peer *p, void *data)
{
    (void)p;
    struct timespec ts = {.tv_sec = *(unsigned *)data / 1000,
                          .tv_nsec = (long)(*(unsigned *)data % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
}

int peer_stall(struct peer *p, unsigned ms)
{
    if (!p || ms > 60000)
        return -EINVAL;
    return peer_call_sync(p, peer_apply_stall, &ms);
}

/* Received datagrams, demultiplexed by first byte (RFC 7983); libnice keeps STUN itself. */
static void peer_on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len,
                         gchar *gbuf, gpointer data)
{
    struct peer *p = data;
    const uint8_t *buf = (const uint8_t *)gbuf;
    srtp_err_status_t st;
    int n;

    (void)agent;
    (void)stream_id;
    (void)component_id;
    if (len == 0) {
        peer__count(&p->n.rx_dropped, 1);
        return;
    }
    if (buf[0] >= 20 && buf[0] <= 63) {
        peer__count(&p->n.rx_dtls_packets, 1);
        peer__dtls_input(p, buf, len);
        return;
    }
    if (buf[0] < 128 || buf[0] > 191 || len < 2 || len > PEER_BUF_LEN ||
        peer_state_get(p) != PEER_STATE_CONNECTED) {
        peer__count(&p->n.rx_dropped, 1);
        return;
    }
    /* Unprotect a copy: the buffer is libnice's. */
    memcpy(p->rx_buf, buf, len);
    n = (int)len;
    if (buf[1] >= 192 && buf[1] <= 223) { /* RFC 5761 section 4: RTCP packet types */
        st = srtp_unprotect_rtcp(p->srtp_in, p->rx_buf, &n);
        if (st != srtp_err_status_ok) {
            peer__count(&p->n.rx_unprotect_failed, 1);
            return;
        }
        peer__count(&p->n.rx_rtcp_packets, 1);
        peer__count(&p->n.rx_rtcp_bytes, (uint64_t)n);
        if (p->cbs.on_rtcp)
            p->cbs.on_rtcp(p->arg, p->rx_buf, (size_t)n);
        return;
    }
    st = srtp_unprotect(p->srtp_in, p->rx_buf, &n);
    if (st != srtp_err_status_ok) {
        peer__count(&p->n.rx_unprotect_failed, 1);
        return;
    }
    if (n < RTP_HDR_MIN) {
        peer__count(&p->n.rx_dropped, 1);
        return;
    }
    peer_rx_rtp(p, (size_t)n);
}

static int peer_setup_agent(struct peer *p, void *data)
{
    NiceAddress addr;
    gchar *ufrag = NULL, *pwd = NULL;
    int err = 0;

    (void)data;
    /* Consent freshness as browsers do it (RFC 7675): authenticated checks every few seconds on
     * the selected pair, which is what keeps an ICE-lite SFU's consent alive. */
    p->agent = nice_agent_new_full(p->ctx, NICE_COMPATIBILITY_RFC5245,
                                   p->ice_lite ? NICE_AGENT_OPTION_LITE_MODE
                                               : NICE_AGENT_OPTION_CONSENT_FRESHNESS);
    if (!p->agent)
        return -ENOMEM;
    g_object_set(p->agent, "controlling-mode", (gboolean)p->controlling, "upnp", FALSE, "ice-tcp",
                 FALSE, "ice-udp", TRUE, NULL);
    nice_address_init(&addr);
    /* libnice skips loopback when it enumerates interfaces: name the address. */
    if (!nice_address_set_from_string(&addr, p->local_ip))
        return -EINVAL;
    if (!nice_agent_add_local_address(p->agent, &addr))
        return -EIO;
    p->stream_id = nice_agent_add_stream(p->agent, 1);
    if (p->stream_id == 0)
        return -EIO;
    g_signal_connect(p->agent, "candidate-gathering-done", G_CALLBACK(peer_on_gathering_done), p);
    g_signal_connect(p->agent, "component-state-changed", G_CALLBACK(peer_on_component_state), p);
    if (!nice_agent_attach_recv(p->agent, p->stream_id, 1, p->ctx, peer_on_recv, p))
        return -EIO;
    if (!nice_agent_gather_candidates(p->agent, p->stream_id))
        return -EIO;
    if (p->nack) {
        p->nack_timer = g_timeout_source_new(PEER_NACK_INTERVAL_MS);
        g_source_set_callback(p->nack_timer, peer_nack_tick, p, NULL);
        g_source_attach(p->nack_timer, p->ctx);
    }
    if (!nice_agent_get_local_credentials(p->agent, p->stream_id, &ufrag, &pwd))
        return -EIO;
    if (strlen(ufrag) >= sizeof(p->ufrag) || strlen(pwd) >= sizeof(p->pwd))
        err = -EIO;
    else {
        strcpy(p->ufrag, ufrag);
        strcpy(p->pwd, pwd);
    }
    g_free(ufrag);
    g_free(pwd);
    return err;
}

/* Runs on the peer's thread as the last thing before the loop stops: say goodbye, then let go of
 * the agent while its context is still being iterated. */
static int peer_teardown(struct peer *p, void *data)
{
    (void)data;
    if (p->nack_timer) {
        g_source_destroy(p->nack_timer);
        g_source_unref(p->nack_timer);
        p->nack_timer = NULL;
    }
    peer__dtls_close(p);
    if (p->agent) {
        if (p->stream_id)
            nice_agent_attach_recv(p->agent, p->stream_id, 1, p->ctx, NULL, NULL);
        g_signal_handlers_disconnect_by_data(p->agent, p);
        g_object_unref(p->agent);
        p->agent = NULL;
    }
    return 0;
}

int peer_new(struct peer **out, const struct peer_cfg *cfg, const struct peer_cbs *cbs, void *arg)
{
    struct peer_cfg def;
    pthread_condattr_t ca;
    struct peer *p;
    struct timespec dl;
    int err;

    if (!out)
        return -EINVAL;
    if (!cfg) {
        peer_cfg_init(&def);
        cfg = &def;
    }
    if (!cfg->local_ip || strlen(cfg->local_ip) >= PEER_IP_LEN || !cfg->srtp_profiles)
        return -EINVAL;
    /* libsrtp2 refuses a second srtp_init(), so the peer and an SFU in the same process (the
     * integration tests) share one process-wide initialisation. */
    if (sfu_srtp_global_init() < 0)
        return -EIO;

    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    if (cbs)
        p->cbs = *cbs;
    p->arg = arg;
    p->controlling = cfg->controlling;
    p->dtls_server = cfg->dtls_server;
    p->ice_lite = cfg->ice_lite;
    p->nack = cfg->nack;
    strcpy(p->local_ip, cfg->local_ip);
    atomic_init(&p->state, PEER_STATE_NEW);
    atomic_init(&p->ice_ready, false);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);

    if (p->nack) {
        /* Random, as a browser's receive-only SSRC; SRTCP under it is protected with srtp_fb
         * alone, so the caller must not send RTCP under the same value (1 in 2^32). */
        do
            p->fb_ssrc = g_random_int();
        while (p->fb_ssrc == 0);
        for (size_t i = 0; i < PEER_NACK_STREAMS; i++) {
            err = nack_tracker_new(&p->rx_streams[i].nack, NULL);
            if (err)
                goto fail;
        }
    }
    err = peer__dtls_init(p, cfg->srtp_profiles);
    if (err)
        goto fail;
    if (cfg->loop) {
        p->lp = cfg->loop;
    } else {
        if ((err = peer_loop_new(&p->lp)) < 0)
            goto fail;
        p->own_loop = true;
    }
    p->ctx = p->lp->ctx;
    err = peer_call_sync(p, peer_setup_agent, NULL);
    if (err)
        goto fail;

    /* Host candidates only: gathering ends at once, but the signal comes from the loop. */
    dl = peer_deadline(GATHER_TIMEOUT_MS);
    pthread_mutex_lock(&p->mu);
    while (!p->gathered && err == 0)
        if (pthread_cond_timedwait(&p->cond, &p->mu, &dl) == ETIMEDOUT && !p->gathered)
            err = -ETIMEDOUT;
    pthread_mutex_unlock(&p->mu);
    if (err)
        goto fail;
    *out = p;
    return 0;
fail:
    peer_free(p);
    return err;
}

void peer_free(struct peer *p)
{
    if (!p)
        return;
    if (p->lp) {
        peer_call_sync(p, peer_teardown, NULL);
        if (p->own_loop)
            peer_loop_free(p->lp);
    }
    peer__dtls_free(p);
    if (p->agent) /* only if there never was a loop */
        g_object_unref(p->agent);
    for (size_t i = 0; i < PEER_NACK_STREAMS; i++)
        nack_tracker_free(p->rx_streams[i].nack);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

const char *peer_ice_ufrag(const struct peer *p)
{
    return p->ufrag;
}

const char *peer_ice_pwd(const struct peer *p)
{
    return p->pwd;
}

const char *peer_fingerprint(const struct peer *p)
{
    return p->fingerprint;
}

int peer_local_candidates(const struct peer *p, struct peer_candidate *out, size_t max)
{
    GSList *cands, *it;
    size_t n = 0;

    cands = nice_agent_get_local_candidates(p->agent, p->stream_id, 1);
    for (it = cands; it && n < max; it = it->next) {
        const NiceCandidate *c = it->data;
        char ip[NICE_ADDRESS_STRING_LEN];

        if (c->transport != NICE_CANDIDATE_TRANSPORT_UDP)
            continue;
        nice_address_to_string(&c->addr, ip);
        snprintf(out[n].ip, sizeof(out[n].ip), "%s", ip);
        out[n].port = (uint16_t)nice_address_get_port(&c->addr);
        out[n].priority = c->priority;
        snprintf(out[n].foundation, sizeof(out[n].foundation), "%s", c->foundation);
        n++;
    }
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    return (int)n;
}

/* ---- remote description ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses "AB:CD:..." (32 bytes) into md. */
static int peer_fp_parse(const char *s, uint8_t md[32])
{
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

        if (lo < 0)
            return -EINVAL;
        md[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i + 1 < 32 && *s++ != ':')
            return -EINVAL;
    }
    return *s == '\0' ? 0 : -EINVAL;
}

struct peer_remote {
    const char *ufrag;
    const char *pwd;
    const struct peer_candidate *cands;
    size_t n;
};

static int peer_apply_remote(struct peer *p, void *data)
{
    const struct peer_remote *r = data;
    GSList *list = NULL;
    int err = 0, added;

    if (p->remote_set)
        return -EALREADY;
    for (size_t i = 0; i < r->n; i++) {
        NiceCandidate *c = nice_candidate_new(NICE_CANDIDATE_TYPE_HOST);

        c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
        c->stream_id = p->stream_id;
        c->component_id = 1;
        c->priority = r->cands[i].priority;
        snprintf(c->foundation, sizeof(c->foundation), "%s", r->cands[i].foundation);
        if (!nice_address_set_from_string(&c->addr, r->cands[i].ip)) {
            nice_candidate_free(c);
            err = -EINVAL;
            goto out;
        }
        nice_address_set_port(&c->addr, r->cands[i].port);
        list = g_slist_append(list, c);
    }
    if (!nice_agent_set_remote_credentials(p->agent, p->stream_id, r->ufrag, r->pwd)) {
        err = -EINVAL;
        goto out;
    }
    p->remote_set = true;
    peer__state_set(p, PEER_STATE_CONNECTING);
    added = nice_agent_set_remote_candidates(p->agent, p->stream_id, 1, list);
    if (added < (int)r->n) {
        err = -EIO;
        peer__state_set(p, PEER_STATE_FAILED);
    }
out:
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    return err;
}

int peer_set_remote(struct peer *p, const char *ufrag, const char *pwd,
                    const struct peer_candidate *cands, size_t n, const char *fingerprint_sha256)
{
    struct peer_remote r = {.ufrag = ufrag, .pwd = pwd, .cands = cands, .n = n};
    uint8_t md[32];

    if (!p || !ufrag || !pwd || !cands || n == 0 || !fingerprint_sha256)
        return -EINVAL;
    if (peer_fp_parse(fingerprint_sha256, md) != 0)
        return -EINVAL;
    /* Written before the call: the handshake that reads it runs after, on the peer's thread. */
    memcpy(p->remote_fp, md, sizeof(md));
    return peer_call_sync(p, peer_apply_remote, &r);
}

/* ---- sending (the caller's thread) ---- */

static int peer_send_protected(struct peer *p, const uint8_t *buf, size_t len, bool rtcp)
{
    srtp_err_status_t st;
    int n = (int)len, sent;

    if (peer_state_get(p) != PEER_STATE_CONNECTED)
        return -ENOTCONN;
    if (len > PEER_PKT_MAX)
        return -EMSGSIZE;
    /* Protect a copy: the caller's bytes stay plain, so a resend cannot encrypt them twice. */
    memcpy(p->tx_buf, buf, len);
    st = rtcp ? srtp_protect_rtcp(p->srtp_out, p->tx_buf, &n)
              : srtp_protect(p->srtp_out, p->tx_buf, &n);
    if (st != srtp_err_status_ok) {
        peer__count(&p->n.tx_failed, 1);
        return -EBADMSG;
    }
    sent = nice_agent_send(p->agent, p->stream_id, 1, (guint)n, (const gchar *)p->tx_buf);
    if (sent != n) {
        peer__count(&p->n.tx_failed, 1);
        return -EIO;
    }
    if (rtcp) {
        peer__count(&p->n.tx_rtcp_packets, 1);
        peer__count(&p->n.tx_rtcp_bytes, (uint64_t)n);
    } else {
        peer__count(&p->n.tx_rtp_packets, 1);
        peer__count(&p->n.tx_rtp_bytes, (uint64_t)n);
    }
    return 0;
}

int peer_send_rtp(struct peer *p, const uint8_t *buf, size_t len)
{
    return peer_send_protected(p, buf, len, false);
}

int peer_send_rtcp(struct peer *p, const uint8_t *buf, size_t len)
{
    return peer_send_protected(p, buf, len, true);
}

int peer_send_raw(struct peer *p, const uint8_t *buf, size_t len)
{
    int sent;

    if (!atomic_load_explicit(&p->ice_ready, memory_order_acquire) || !p->agent)
        return -ENOTCONN;
    if (len > 65535)
        return -EMSGSIZE;
    sent = nice_agent_send(p->agent, p->stream_id, 1, (guint)len, (const gchar *)buf);
    if (sent != (int)len) {
        peer__count(&p->n.tx_failed, 1);
        return -EIO;
    }
    peer__count(&p->n.tx_raw_packets, 1);
    return 0;
}

void peer_stats_get(const struct peer *p, struct peer_stats *s)
{
    const struct peer_counters *c = &p->n;

#define LOAD(f) s->f = atomic_load_explicit(&c->f, memory_order_relaxed)
    LOAD(rx_rtp_packets);
    LOAD(rx_rtp_bytes);
    LOAD(rx_rtcp_packets);
    LOAD(rx_rtcp_bytes);
    LOAD(rx_unprotect_failed);
    LOAD(rx_dtls_packets);
    LOAD(rx_dropped);
    LOAD(tx_rtp_packets);
    LOAD(tx_rtp_bytes);
    LOAD(tx_rtcp_packets);
    LOAD(tx_rtcp_bytes);
    LOAD(tx_raw_packets);
    LOAD(tx_failed);
    LOAD(tx_nack_packets);
    LOAD(tx_nack_seqs);
    LOAD(rx_rtx_repaired);
    LOAD(tx_nack_failed);
#undef LOAD
}
