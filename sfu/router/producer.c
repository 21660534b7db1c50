/* Producers: one incoming track of a transport. Each packet is kept in the NACK history by
 * reference and handed to every consumer; losses are NACKed upstream and keyframe requests from
 * many subscribers are throttled into one per window. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/config.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/pkt.h"
#include "router/router_int.h"
#include "rtp/h264.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "srtp/sfu_srtp.h"

#define PRODUCER_HISTORY_VIDEO      1024
#define PRODUCER_HISTORY_AUDIO      256
#define PRODUCER_HISTORY_MAX_AGE_US 2000000
/* Ticks over which the history's whole ring is swept for packets older than its maximum age:
 * about a second at the worker's 20 ms tick (WORKER_TICK_MS, sfu/loop/worker.c). */
#define PRODUCER_HISTORY_SWEEP_TICKS 50
#define PRODUCER_RR_INTERVAL_MS      1000
#define PRODUCER_REMB_BPS            4000000

static bool producer_ssrc_taken(struct transport *t, uint32_t ssrc)
{
    bool rtx;
    unsigned s;
    return ssrc != 0 && producer_by_ssrc(t, ssrc, &rtx, &s) != NULL;
}

static void codec_from_proto(struct codec *c, const Sfu__Codec *pc)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", pc->name ? pc->name : "");
    c->type = strcasecmp(c->name, "VP8") == 0    ? CODEC_VP8
              : strcasecmp(c->name, "H264") == 0 ? CODEC_H264
                                                 : CODEC_OTHER;
    c->pt = (uint8_t)pc->payload_type;
    c->rtx_pt = (uint8_t)pc->rtx_payload_type;
    c->clock_rate = pc->clock_rate;
    c->channels = pc->channels;
    for (size_t i = 0; i < pc->n_rtcp_fb; i++) {
        const char *fb = pc->rtcp_fb[i];
        if (strcmp(fb, "nack") == 0)
            c->nack = true;
        else if (strcmp(fb, "nack pli") == 0)
            c->pli = true;
        else if (strcmp(fb, "ccm fir") == 0)
            c->fir = true;
        else if (strcmp(fb, "transport-cc") == 0)
            c->twcc = true;
        else if (strcmp(fb, "goog-remb") == 0)
            c->remb = true;
    }
}

/* The transport-cc extension id is the transport's, declared by its producers (BUNDLE: one id
 * for all); what the remaining ones declare, 0 when none does. */
static void producer_twcc_id_refresh(struct transport *t)
{
    struct list *pos;
    t->twcc_rx_id = 0;
    list_for_each(pos, &t->producers)
    {
        struct producer *p = list_entry(pos, struct producer, transport_node);
        for (unsigned i = 0; i < p->nexts; i++)
            if (strcmp(p->exts[i].uri, URI_TWCC) == 0)
                t->twcc_rx_id = p->exts[i].id;
    }
}

int producer_new(struct producer **out, struct transport *t, const Sfu__ProduceRequest *req,
                 char *err, size_t err_len)
{
    const Sfu__RtpParameters *rtp = req->rtp;
    int rc;
    if (req->kind != SFU__MEDIA_KIND__MEDIA_KIND_AUDIO &&
        req->kind != SFU__MEDIA_KIND__MEDIA_KIND_VIDEO) {
        snprintf(err, err_len, "kind must be audio or video");
        return -EINVAL;
    }
    if (!rtp || rtp->n_codecs == 0 || rtp->n_codecs > ROUTER_MAX_CODECS) {
        snprintf(err, err_len, "rtp.codecs: 1 to %d codecs needed", ROUTER_MAX_CODECS);
        return -EINVAL;
    }
    if (rtp->n_encodings == 0 || rtp->n_encodings > ROUTER_MAX_ENCODINGS) {
        snprintf(err, err_len, "rtp.encodings: 1 to %d encodings needed", ROUTER_MAX_ENCODINGS);
        return -EINVAL;
    }
    if (rtp->n_header_extensions > ROUTER_MAX_EXTS) {
        snprintf(err, err_len, "rtp.header_extensions: at most %d", ROUTER_MAX_EXTS);
        return -EINVAL;
    }
    if (!rtp->mid || strlen(rtp->mid) > ROUTER_MID_MAX) {
        snprintf(err, err_len, "rtp.mid: 0 to %d characters", ROUTER_MID_MAX);
        return -EINVAL;
    }
    struct producer *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->kind = req->kind;
    snprintf(p->mid, sizeof(p->mid), "%s", rtp->mid);
    for (size_t i = 0; i < rtp->n_codecs; i++) {
        const Sfu__Codec *pc = rtp->codecs[i];
        if (pc->payload_type > 127 || pc->rtx_payload_type > 127 || pc->clock_rate == 0 ||
            !pc->name || !pc->name[0]) {
            snprintf(err, err_len,
                     "rtp.codecs[%zu]: needs a name, a clock rate and payload "
                     "types of 0..127",
                     i);
            rc = -EINVAL;
            goto fail;
        }
        codec_from_proto(&p->codecs[p->ncodecs++], pc);
    }
    for (size_t i = 0; i < rtp->n_encodings; i++) {
        const Sfu__Encoding *e = rtp->encodings[i];
        if (e->ssrc == 0) {
            snprintf(err, err_len,
                     "rtp.encodings[%zu]: an SSRC is needed (simulcast by RID "
                     "alone is not supported yet)",
                     i);
            rc = -EINVAL;
            goto fail;
        }
        if (producer_ssrc_taken(t, e->ssrc) || producer_ssrc_taken(t, e->rtx_ssrc)) {
            snprintf(err, err_len, "rtp.encodings[%zu]: SSRC already produced on this transport",
                     i);
            rc = -EINVAL;
            goto fail;
        }
        struct producer_stream *s = &p->streams[p->nstreams++];
        s->ssrc = e->ssrc;
        s->rtx_ssrc = e->rtx_ssrc;
        snprintf(s->rid, sizeof(s->rid), "%s", e->rid ? e->rid : "");
        rx_stats_init(&s->stats, e->ssrc, p->codecs[0].clock_rate);
        if (nack_tracker_new(&s->nack, NULL) < 0) {
            snprintf(err, err_len, "out of memory");
            rc = -ENOMEM;
            goto fail;
        }
    }
    for (size_t i = 0; i < rtp->n_header_extensions; i++) {
        const Sfu__HeaderExtension *x = rtp->header_extensions[i];
        if (x->id == 0 || x->id > 255 || !x->uri || strlen(x->uri) >= ROUTER_URI_MAX) {
            snprintf(err, err_len, "rtp.header_extensions[%zu]: id 1..255 and a URI needed", i);
            rc = -EINVAL;
            goto fail;
        }
        p->exts[p->nexts].id = (uint8_t)x->id;
        snprintf(p->exts[p->nexts].uri, ROUTER_URI_MAX, "%s", x->uri);
        p->nexts++;
    }
    rc = nack_history_new(&p->history,
                          p->kind == SFU__MEDIA_KIND__MEDIA_KIND_VIDEO ? PRODUCER_HISTORY_VIDEO
                                                                       : PRODUCER_HISTORY_AUDIO,
                          PRODUCER_HISTORY_MAX_AGE_US);
    if (rc < 0) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    p->id = worker_id_next(t->w);
    p->room = t->room;
    p->transport = t;
    list_init(&p->consumers);
    list_insert_tail(&t->room->producers, &p->room_node);
    list_insert_tail(&t->producers, &p->transport_node);
    producer_twcc_id_refresh(t);
    *out = p;
    return 0;
fail:
    for (unsigned i = 0; i < p->nstreams; i++)
        nack_tracker_free(p->streams[i].nack);
    free(p);
    return rc;
}

void producer_free(struct producer *p)
{
    struct list *pos, *tmp;
    if (!p)
        return;
    list_for_each_safe(pos, tmp, &p->consumers)
    {
        struct consumer *c = list_entry(pos, struct consumer, producer_node);
        router_event_consumer_closed(c);
        consumer_free(c);
    }
    nack_history_free(p->history);
    for (unsigned i = 0; i < p->nstreams; i++)
        nack_tracker_free(p->streams[i].nack);
    list_remove(&p->room_node);
    list_remove(&p->transport_node);
    producer_twcc_id_refresh(p->transport);
    free(p);
}

struct producer *producer_by_ssrc(struct transport *t, uint32_t ssrc, bool *is_rtx,
                                  unsigned *stream)
{
    struct list *pos;
    list_for_each(pos, &t->producers)
    {
        struct producer *p = list_entry(pos, struct producer, transport_node);
        for (unsigned i = 0; i < p->nstreams; i++) {
            if (p->streams[i].ssrc == ssrc ||
                (p->streams[i].rtx_ssrc && p->streams[i].rtx_ssrc == ssrc)) {
                *is_rtx = p->streams[i].ssrc != ssrc;
                *stream = i;
                return p;
            }
        }
    }
    return NULL;
}

static const struct codec *producer_codec(const struct producer *p, uint8_t pt)
{
    for (unsigned i = 0; i < p->ncodecs; i++)
        if (p->codecs[i].pt == pt)
            return &p->codecs[i];
    return NULL;
}

static const struct codec *producer_codec_by_rtx(const struct producer *p, uint8_t rtx_pt)
{
    for (unsigned i = 0; i < p->ncodecs; i++)
        if (p->codecs[i].rtx_pt && p->codecs[i].rtx_pt == rtx_pt)
            return &p->codecs[i];
    return NULL;
}

/* Turns an RTX packet (RFC 4588) back into the packet it repairs, in place: the original
 * sequence number comes out of the payload, SSRC and payload type go back to the stream's. */
static int producer_unwrap_rtx(struct producer *p, unsigned stream, struct pkt *pkt,
                               const struct rtp_view *v)
{
    const struct codec *c = producer_codec_by_rtx(p, v->pt);
    if (!c || v->payload_len < 2)
        return -EINVAL; /* unknown RTX type, or padding-only probing */
    uint16_t osn = be16_load(v->payload);
    size_t off = v->hdr_len;
    memmove(pkt->data + off, pkt->data + off + 2, v->payload_len - 2);
    pkt->len = (uint32_t)(off + v->payload_len - 2);
    pkt->data[0] &= (uint8_t)~0x20; /* padding was dropped with the move */
    rtp_seq_set(pkt->data, osn);
    rtp_ssrc_set(pkt->data, p->streams[stream].ssrc);
    rtp_pt_set(pkt->data, c->pt);
    return 0;
}

static bool producer_is_keyframe(const struct producer *p, const struct codec *c,
                                 const struct rtp_view *v)
{
    if (p->kind != SFU__MEDIA_KIND__MEDIA_KIND_VIDEO)
        return true;
    switch (c->type) {
    case CODEC_VP8:
        return vp8_is_keyframe(v->payload, v->payload_len);
    case CODEC_H264:
        return h264_is_keyframe(v->payload, v->payload_len);
    default:
        return false;
    }
}

void producer_on_rtp(struct producer *p, unsigned stream, bool is_rtx, struct pkt *pkt,
                     const struct rtp_view *view)
{
    struct rtp_view v = *view;
    struct producer_stream *s = &p->streams[stream];
    if (is_rtx) {
        if (producer_unwrap_rtx(p, stream, pkt, &v) < 0 ||
            rtp_view_parse(&v, pkt->data, pkt->len) < 0)
            return;
    }
    const struct codec *c = producer_codec(p, v.pt);
    if (!c) {
        p->counters.dropped++;
        return;
    }
    p->counters.packets++;
    p->counters.bytes += pkt->len;
    rx_stats_on_packet(&s->stats, v.seq, v.ts, pkt->arrival_us);
    nack_tracker_on_packet(s->nack, v.seq, pkt->arrival_us);
    /* Consumers get the first encoding only until simulcast layer selection exists: mixing
     * layers into one outgoing stream would make every packet a switch of source. */
    if (stream != 0)
        return;
    /* A packet already held (a network duplicate, or a retransmission of one that was not lost
     * after all) has been forwarded: sending it again would only be refused by SRTP as a
     * replay after the work of rewriting it for every consumer. */
    if (nack_history_get(p->history, v.seq, pkt->arrival_us)) {
        p->counters.dropped++;
        return;
    }
    nack_history_put(p->history, v.seq, pkt);
    bool keyframe = producer_is_keyframe(p, c, &v);
    if (keyframe && p->kind == SFU__MEDIA_KIND__MEDIA_KIND_VIDEO)
        p->keyframe_pending = false; /* what a held-back request asked for has come */
    struct list *pos;
    list_for_each(pos, &p->consumers)
    {
        consumer_send_rtp(list_entry(pos, struct consumer, producer_node), pkt, &v, keyframe);
    }
}

void producer_on_sr(struct producer *p, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts)
{
    if (p->nstreams == 0 || p->streams[0].ssrc != ssrc)
        return;
    p->sr_ntp = ntp;
    p->sr_rtp = rtp_ts;
    p->sr_at_us = clock_mono_us();
    p->has_sr = true;
    rx_stats_on_sr(&p->streams[0].stats, ntp, p->sr_at_us);
}

static void producer_send_keyframe_request(struct producer *p, uint64_t now_ms)
{
    uint8_t buf[64 + SFU_SRTP_MAX_TRAILER];
    struct transport *t = p->transport;
    int len;
    const struct codec *c = &p->codecs[0];
    if (c->pli || !c->fir) {
        len = rtcp_write_pli(buf, sizeof(buf) - SFU_SRTP_MAX_TRAILER, t->rtcp_ssrc,
                             p->streams[0].ssrc);
    } else {
        struct rtcp_fir_entry e = {.ssrc = p->streams[0].ssrc, .seq = (uint8_t)++p->fir_seq};
        len = rtcp_write_fir(buf, sizeof(buf) - SFU_SRTP_MAX_TRAILER, t->rtcp_ssrc, &e, 1);
    }
    if (len > 0 && transport_send(t, buf, (size_t)len, true) == 0)
        p->counters.plis++;
    p->last_keyframe_req_ms = now_ms;
    p->keyframe_pending = false;
}

void producer_request_keyframe(struct producer *p, bool force)
{
    uint64_t now = uv_now(&p->transport->w->loop);
    uint32_t window = p->transport->w->cfg->keyframe_throttle_ms;
    if (p->kind != SFU__MEDIA_KIND__MEDIA_KIND_VIDEO)
        return;
    if (force || p->last_keyframe_req_ms == 0 || now - p->last_keyframe_req_ms >= window)
        producer_send_keyframe_request(p, now);
    else
        p->keyframe_pending = true;
}

static void producer_send_nacks(struct producer *p, uint64_t now_us)
{
    uint16_t seqs[64];
    uint8_t buf[512];
    struct transport *t = p->transport;
    for (unsigned i = 0; i < p->nstreams; i++) {
        size_t n = nack_tracker_collect(p->streams[i].nack, now_us, seqs, 64);
        if (n == 0)
            continue;
        int len = rtcp_write_nack(buf, sizeof(buf) - SFU_SRTP_MAX_TRAILER, t->rtcp_ssrc,
                                  p->streams[i].ssrc, seqs, n);
        if (len > 0 && transport_send(t, buf, (size_t)len, true) == 0)
            p->counters.nacks++;
    }
}

static void producer_send_rr(struct producer *p, uint64_t now_us)
{
    uint8_t buf[512];
    struct rtcp_report_block rb[ROUTER_MAX_ENCODINGS];
    size_t n = 0;
    struct transport *t = p->transport;
    for (unsigned i = 0; i < p->nstreams; i++) {
        if (p->streams[i].stats.received == 0)
            continue;
        rx_stats_fill_report_block(&p->streams[i].stats, now_us, &rb[n++]);
    }
    if (n == 0)
        return;
    size_t cap = sizeof(buf) - SFU_SRTP_MAX_TRAILER;
    int len = rtcp_write_rr(buf, cap, t->rtcp_ssrc, rb, n);
    if (len <= 0)
        return;
    const struct codec *c = &p->codecs[0];
    if (p->kind == SFU__MEDIA_KIND__MEDIA_KIND_VIDEO && !t->twcc_rx_id && c->remb) {
        uint32_t ssrc = p->streams[0].ssrc;
        int l2 = rtcp_write_remb(buf + len, cap - (size_t)len, t->rtcp_ssrc, PRODUCER_REMB_BPS,
                                 &ssrc, 1);
        if (l2 > 0)
            len += l2;
    }
    transport_send(t, buf, (size_t)len, true);
    for (unsigned i = 0; i < n; i++)
        p->counters.lost = (uint64_t)(rb[i].cumulative_lost > 0 ? rb[i].cumulative_lost : 0);
}

void producer_tick(struct producer *p, uint64_t now_ms)
{
    uint64_t now_us = clock_mono_us();
    producer_send_nacks(p, now_us);
    /* Packets too old to resend give their buffers back to the worker's pool, a few slots a
     * tick. */
    nack_history_expire(p->history, now_us,
                        nack_history_size(p->history) / PRODUCER_HISTORY_SWEEP_TICKS + 1);
    if (p->keyframe_pending &&
        now_ms - p->last_keyframe_req_ms >= p->transport->w->cfg->keyframe_throttle_ms)
        producer_send_keyframe_request(p, now_ms);
    if (now_ms - p->last_rr_ms >= PRODUCER_RR_INTERVAL_MS) {
        p->last_rr_ms = now_ms;
        producer_send_rr(p, now_us);
    }
}
