/* Consumers: one outgoing copy of a producer to a subscriber's transport, with its own SSRC,
 * sequence numbers and timestamps, the subscriber's payload types, extension ids and MID. The
 * packet is built straight into a send slot of the worker's socket and encrypted there: one
 * write per packet per subscriber, no allocation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "core/clock.h"
#include "core/pkt.h"
#include "loop/udp.h"
#include "router/router_int.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "srtp/sfu_srtp.h"

#define CONSUMER_SR_INTERVAL_MS      1000
#define CONSUMER_RTX_MIN_INTERVAL_US 40000

static uint32_t consumer_ssrc_new(struct transport *t)
{
    for (;;) {
        uint32_t ssrc;
        RAND_bytes((uint8_t *)&ssrc, sizeof(ssrc));
        if (ssrc != 0 && ssrc != t->rtcp_ssrc && !consumer_by_ssrc(t, ssrc))
            return ssrc;
    }
}

static const Sfu__Codec *match_codec(const struct codec *pc, const Sfu__ConsumeRequest *req)
{
    for (size_t i = 0; i < req->n_codecs; i++) {
        const Sfu__Codec *sc = req->codecs[i];
        if (sc->name && strcasecmp(sc->name, pc->name) == 0 && sc->clock_rate == pc->clock_rate &&
            sc->payload_type <= 127)
            return sc;
    }
    return NULL;
}

static uint8_t match_ext(const Sfu__ConsumeRequest *req, const char *uri)
{
    for (size_t i = 0; i < req->n_header_extensions; i++) {
        const Sfu__HeaderExtension *x = req->header_extensions[i];
        if (x->uri && strcmp(x->uri, uri) == 0 && x->id >= 1 && x->id <= 255)
            return (uint8_t)x->id;
    }
    return 0;
}

int consumer_new(struct consumer **out, struct transport *t, struct producer *p,
                 const Sfu__ConsumeRequest *req, char *err, size_t err_len)
{
    if (!req->mid || !req->mid[0] || strlen(req->mid) > ROUTER_MID_MAX) {
        snprintf(err, err_len, "mid: 1 to %d characters needed", ROUTER_MID_MAX);
        return -EINVAL;
    }
    struct consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->sent = calloc(CONSUMER_SENT_RING, sizeof(*c->sent));
    if (!c->sent) {
        free(c);
        return -ENOMEM;
    }
    memset(c->pt_map, 0xff, sizeof(c->pt_map));
    bool any = false;
    for (unsigned i = 0; i < p->ncodecs; i++) {
        const Sfu__Codec *sc = match_codec(&p->codecs[i], req);
        if (!sc)
            continue;
        c->pt_map[p->codecs[i].pt] = (uint8_t)sc->payload_type;
        if (sc->rtx_payload_type && sc->rtx_payload_type <= 127)
            c->rtx_pt_of[sc->payload_type] = (uint8_t)sc->rtx_payload_type;
        if (!any) {
            c->clock_rate = p->codecs[i].clock_rate;
            c->is_vp8 = p->codecs[i].type == CODEC_VP8;
        }
        any = true;
    }
    if (!any) {
        snprintf(err, err_len, "codecs: none of the producer's codecs was negotiated");
        free(c->sent);
        free(c);
        return -EINVAL;
    }
    snprintf(c->mid, sizeof(c->mid), "%s", req->mid);
    c->mid_ext_id = match_ext(req, URI_MID);
    c->twcc_ext_id = match_ext(req, URI_TWCC);
    for (unsigned i = 0; i < p->nexts; i++) {
        const char *uri = p->exts[i].uri;
        /* MID and transport-wide sequence are the consumer's own; RID/RRID name the
         * publisher's layers, which mean nothing to the subscriber. */
        if (strcmp(uri, URI_MID) == 0 || strcmp(uri, URI_TWCC) == 0 || strcmp(uri, URI_RID) == 0 ||
            strcmp(uri, URI_RRID) == 0)
            continue;
        c->ext_map[p->exts[i].id] = match_ext(req, uri);
    }
    c->id = worker_id_next(t->w);
    c->room = t->room;
    c->transport = t;
    c->producer = p;
    c->ssrc = consumer_ssrc_new(t);
    for (unsigned i = 0; i < 128; i++) {
        if (c->rtx_pt_of[i]) {
            c->rtx_ssrc = consumer_ssrc_new(t);
            break;
        }
    }
    c->paused = req->paused;
    c->wait_keyframe = p->kind == SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    rtp_seq_rewriter_init(&c->seq, c->clock_rate);
    vp8_rewriter_init(&c->vp8);
    RAND_bytes((uint8_t *)&c->rtx_seq, sizeof(c->rtx_seq));
    c->rw.ssrc = c->ssrc;
    c->rw.marker = RTP_REWRITE_MARKER_KEEP;
    memcpy(c->rw.ext_map, c->ext_map, sizeof(c->ext_map));
    if (c->mid_ext_id) {
        c->rw.mid_id = c->mid_ext_id;
        c->rw.mid = c->mid;
        c->rw.mid_len = (uint8_t)strlen(c->mid);
    }
    c->rw.twcc_id = c->twcc_ext_id;
    list_insert_tail(&t->room->consumers, &c->room_node);
    list_insert_tail(&t->consumers, &c->transport_node);
    list_insert_tail(&p->consumers, &c->producer_node);
    if (!c->paused)
        producer_request_keyframe(p, false);
    *out = c;
    return 0;
}

void consumer_free(struct consumer *c)
{
    if (!c)
        return;
    list_remove(&c->room_node);
    list_remove(&c->transport_node);
    list_remove(&c->producer_node);
    /* The transport's outbound SRTP keeps this SSRC's state (a few hundred bytes until the
     * transport closes): removing it would let a later consumer that drew the same random SSRC
     * start its packet index again under the same key. */
    free(c->sent);
    free(c);
}

struct consumer *consumer_by_ssrc(struct transport *t, uint32_t ssrc)
{
    struct list *pos;
    list_for_each(pos, &t->consumers)
    {
        struct consumer *c = list_entry(pos, struct consumer, transport_node);
        if (c->ssrc == ssrc || (c->rtx_ssrc && c->rtx_ssrc == ssrc))
            return c;
    }
    return NULL;
}

void consumer_pause(struct consumer *c, bool paused)
{
    if (c->paused == paused)
        return;
    c->paused = paused;
    if (!paused) {
        /* Resume on a keyframe, numbered on from where we stopped. */
        rtp_seq_rewriter_switch(&c->seq);
        c->wait_keyframe = c->producer->kind == SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
        producer_request_keyframe(c->producer, false);
    }
}

/* Builds rw's packet into a send slot, encrypts it there and queues it. */
static int consumer_emit(struct consumer *c, const struct rtp_view *v, struct rtp_rewrite *rw,
                         bool vp8_new_source)
{
    struct transport *t = c->transport;
    struct udp_port *udp = t->w->udp;
    if (!t->srtp || !t->has_remote || t->state != TRANSPORT_CONNECTED)
        return -ENOTCONN;
    uint8_t *slot = udp_port_slot(udp);
    if (!slot)
        return -ENOBUFS;
    rw->twcc_seq = t->twcc_tx_seq;
    int n = rtp_packet_rewrite(slot, UDP_SLOT_CAP - SFU_SRTP_MAX_TRAILER, v, rw);
    if (n < 0)
        return n;
    size_t len = (size_t)n;
    if (c->is_vp8 && !rw->rtx) {
        size_t off = len - v->payload_len;
        vp8_rewriter_rewrite(&c->vp8, slot + off, v->payload_len, vp8_new_source);
    } else if (c->is_vp8) {
        size_t off = len - v->payload_len;
        vp8_rewriter_rewrite(&c->vp8, slot + off, v->payload_len, false);
    }
    int rc = sfu_srtp_protect_rtp(t->srtp, slot, &len, UDP_SLOT_CAP);
    if (rc < 0)
        return rc;
    udp_port_commit(udp, len, (struct sockaddr *)&t->remote);
    if (c->twcc_ext_id)
        t->twcc_tx_seq++;
    t->tx.packets++;
    t->tx.bytes += len;
    return 0;
}

void consumer_send_rtp(struct consumer *c, const struct pkt *pkt, const struct rtp_view *v,
                       bool keyframe)
{
    struct transport *t = c->transport;
    uint16_t out_seq;
    uint32_t out_ts;
    (void)pkt;
    if (c->paused)
        return;
    if (!t->srtp || !t->has_remote || t->state != TRANSPORT_CONNECTED) {
        c->counters.dropped++;
        return;
    }
    if (c->wait_keyframe && !keyframe) {
        c->counters.dropped++;
        return;
    }
    uint8_t pt = c->pt_map[v->pt];
    if (pt == 0xff) {
        c->counters.dropped++;
        return;
    }
    bool new_source = c->src_ssrc != v->ssrc || c->seq.switch_pending;
    if (rtp_seq_rewriter_map(&c->seq, v->ssrc, v->seq, v->ts, pkt->arrival_us, &out_seq, &out_ts) <
        0) {
        c->counters.dropped++;
        return;
    }
    c->src_ssrc = v->ssrc;
    c->rw.seq = out_seq;
    c->rw.ts = out_ts;
    c->rw.pt = pt;
    c->rw.rtx = false;
    if (consumer_emit(c, v, &c->rw, new_source) < 0) {
        c->counters.dropped++;
        return;
    }
    /* Only now: a keyframe start that could not be sent must not let delta frames through. */
    c->wait_keyframe = false;
    struct sent_entry *e = &c->sent[out_seq & (CONSUMER_SENT_RING - 1)];
    e->out_seq = out_seq;
    e->src_seq = v->seq;
    e->out_ts = out_ts;
    e->valid = true;
    c->counters.packets++;
    c->counters.forwarded++;
    c->counters.bytes += v->payload_len;
    c->packets_sent++;
    c->octets_sent += v->payload_len;
    c->last_out_ts = out_ts;
    c->last_out_us = pkt->arrival_us;
}

int consumer_on_nack(struct consumer *c, uint16_t seq, uint64_t now_us)
{
    struct sent_entry *e = &c->sent[seq & (CONSUMER_SENT_RING - 1)];
    struct rtp_view v;
    c->counters.nacks++;
    if (c->paused || !e->valid || e->out_seq != seq)
        return 0;
    /* One resend per packet per interval, however often it is asked for: a NACK storm must
     * not turn into a flood that crowds out the worker's other rooms. */
    if (e->last_rtx_us && now_us - e->last_rtx_us < CONSUMER_RTX_MIN_INTERVAL_US)
        return 0;
    /* Without RTX a retransmission would reuse the SRTP index of the original with a new
     * transport-wide sequence number, so different bytes under the same keystream: never. */
    if (!c->rtx_ssrc)
        return 0;
    const struct pkt *orig = nack_history_get(c->producer->history, e->src_seq, now_us);
    if (!orig || rtp_view_parse(&v, orig->data, orig->len) < 0)
        return 0;
    uint8_t out_pt = c->pt_map[v.pt];
    if (out_pt == 0xff || !c->rtx_pt_of[out_pt])
        return 0;
    struct rtp_rewrite rw = c->rw;
    rw.ssrc = c->rtx_ssrc;
    rw.seq = c->rtx_seq++;
    rw.ts = e->out_ts;
    rw.pt = c->rtx_pt_of[out_pt];
    rw.rtx = true;
    rw.rtx_osn = seq;
    if (consumer_emit(c, &v, &rw, false) < 0)
        return 0;
    e->last_rtx_us = now_us;
    c->counters.retransmitted++;
    return 1;
}

/* Returns whether a report went out: none can before the publisher's first SR gives the
 * clock mapping. */
static bool consumer_send_sr(struct consumer *c, uint64_t now_us)
{
    uint8_t buf[128];
    struct producer *p = c->producer;
    struct rtcp_sender_info si;
    if (!p->has_sr || !c->seq.started)
        return false;
    /* The publisher's clock mapping, moved to now and into our timestamp space: the subscriber
     * lines audio and video up from it (lip sync). Whole seconds and the fraction apart, so no
     * shift overflows however old the SR. */
    uint64_t dt = now_us - p->sr_at_us;
    si.ntp = p->sr_ntp + ((dt / 1000000u) << 32) + (((dt % 1000000u) << 32) / 1000000u);
    si.rtp_ts = p->sr_rtp + (uint32_t)(dt * c->clock_rate / 1000000u) + c->seq.ts_off;
    si.pkt_count = (uint32_t)c->packets_sent;
    si.octet_count = (uint32_t)c->octets_sent;
    int len = rtcp_write_sr(buf, sizeof(buf) - SFU_SRTP_MAX_TRAILER, c->ssrc, &si, NULL, 0);
    return len > 0 && transport_send(c->transport, buf, (size_t)len, true) == 0;
}

void consumer_tick(struct consumer *c, uint64_t now_ms)
{
    /* A sender report only while sending (RFC 3550 6.4). */
    if (c->packets_sent == c->packets_at_last_sr ||
        now_ms - c->last_sr_ms < CONSUMER_SR_INTERVAL_MS)
        return;
    if (!consumer_send_sr(c, clock_mono_us()))
        return; /* try again at the next tick, not a second later */
    c->last_sr_ms = now_ms;
    c->packets_at_last_sr = c->packets_sent;
}
