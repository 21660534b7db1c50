/* (b) Interop with a WebRTC stack none of us wrote: GStreamer's webrtcbin publishes VP8 video
 * and Opus audio through the SFU and a second webrtcbin receives and decodes both. The test
 * plays signalling: SDP <-> control protocol through signalling/sdp.c, the product's own. Over 30 s
 * at least 90% of the video frames that enter the publisher's webrtcbin are decoded by the
 * subscriber, no gap between decoded frames exceeds 500 ms, and decoded Opus keeps arriving the
 * same way. */
#define GST_USE_UNSTABLE_API 1

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nice/agent.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include "harness.h"
#include "integ_util.h"
#include "sdp.h"

#define ROOM           "gst-room"
#define RUN_MS         30000
#define MAX_GAP_US     500000
#define CONNECT_MS     15000
#define FIRST_FRAME_MS 10000
#define DRAIN_MS       1000

#define URI_MID  "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

/* Buffers seen at one pad: how many, and the longest wait between two of them. Written by the
 * pad's streaming thread only; the count is read by the test's thread while it runs, the times
 * once the pipelines are stopped. */
struct flow {
    _Atomic uint64_t buffers;
    gint64 first_us;
    gint64 last_us;
    gint64 max_gap_us;
};

struct sub_sinks {
    struct flow video;
    struct flow audio;
    _Atomic int linked_video;
    _Atomic int linked_audio;
    _Atomic int link_failed;
};

static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer arg)
{
    struct flow *f = arg;
    gint64 now = g_get_monotonic_time();
    if (atomic_load(&f->buffers) == 0)
        f->first_us = now;
    else if (now - f->last_us > f->max_gap_us)
        f->max_gap_us = now - f->last_us;
    f->last_us = now;
    atomic_fetch_add(&f->buffers, 1);
    return GST_PAD_PROBE_OK;
}

static void flow_probe(GstElement *el, const char *pad_name, struct flow *f)
{
    GstPad *pad = gst_element_get_static_pad(el, pad_name);
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, f, NULL);
    gst_object_unref(pad);
}

/* The subscriber's webrtcbin made a source pad for a stream: depayload, decode, count. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer arg)
{
    struct sub_sinks *s = arg;
    GstElement *pipe = GST_ELEMENT(gst_element_get_parent(webrtc));
    GstCaps *caps = gst_pad_get_current_caps(pad);
    const GstStructure *st;
    const char *enc;
    GstElement *bin = NULL;
    GError *err = NULL;
    struct flow *f = NULL;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC || !caps)
        goto out;
    st = gst_caps_get_structure(caps, 0);
    enc = gst_structure_get_string(st, "encoding-name");
    if (enc && g_ascii_strcasecmp(enc, "VP8") == 0) {
        bin = gst_parse_bin_from_description(
            "rtpvp8depay ! vp8dec ! fakesink name=vsink sync=false async=false", TRUE, &err);
        f = &s->video;
        atomic_store(&s->linked_video, 1);
    } else if (enc && g_ascii_strcasecmp(enc, "OPUS") == 0) {
        bin = gst_parse_bin_from_description(
            "rtpopusdepay ! opusdec ! fakesink name=asink sync=false async=false", TRUE, &err);
        f = &s->audio;
        atomic_store(&s->linked_audio, 1);
    }
    if (!bin) {
        if (err)
            g_error_free(err);
        atomic_store(&s->link_failed, 1);
        goto out;
    }
    GstElement *sink = gst_bin_get_by_name(GST_BIN(bin), f == &s->video ? "vsink" : "asink");
    flow_probe(sink, "sink", f);
    gst_object_unref(sink);
    gst_bin_add(GST_BIN(pipe), bin);
    gst_element_sync_state_with_parent(bin);
    GstPad *sinkpad = gst_element_get_static_pad(bin, "sink");
    if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
        atomic_store(&s->link_failed, 1);
    gst_object_unref(sinkpad);
out:
    if (caps)
        gst_caps_unref(caps);
    gst_object_unref(pipe);
}

/* webrtcbin's libnice agent leaves loopback interfaces out when it finds addresses itself:
 * give it 127.0.0.1 alone (nothing leaves the machine), and no UPnP or ICE-TCP. */
static int webrtc_loopback_only(GstElement *webrtc)
{
    GstWebRTCICE *ice = NULL;
    NiceAgent *agent = NULL;
    NiceAddress addr;
    int rc = -EINVAL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return -ENOENT;
    g_object_set(ice, "ice-tcp", FALSE, NULL);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        g_object_get(ice, "agent", &agent, NULL);
    if (agent) {
        g_object_set(agent, "upnp", FALSE, NULL);
        nice_address_init(&addr);
        if (nice_address_set_from_string(&addr, "127.0.0.1") &&
            nice_agent_add_local_address(agent, &addr))
            rc = 0;
        g_object_unref(agent);
    }
    gst_object_unref(ice);
    return rc;
}

/* Runs a webrtcbin action that answers through a promise and waits for the reply. */
static GstStructure *webrtc_call(GstElement *webrtc, const char *action, gpointer arg)
{
    GstPromise *p = gst_promise_new();
    GstStructure *copy = NULL;
    if (arg)
        g_signal_emit_by_name(webrtc, action, arg, p);
    else
        g_signal_emit_by_name(webrtc, action, NULL, p);
    if (gst_promise_wait(p) == GST_PROMISE_RESULT_REPLIED && gst_promise_get_reply(p))
        copy = gst_structure_copy(gst_promise_get_reply(p));
    gst_promise_unref(p);
    return copy;
}

/* create-offer or create-answer; returns the description (the caller frees it) or NULL. */
static GstWebRTCSessionDescription *webrtc_create(GstElement *webrtc, bool offer)
{
    GstStructure *r = webrtc_call(webrtc, offer ? "create-offer" : "create-answer", NULL);
    GstWebRTCSessionDescription *d = NULL;
    if (r) {
        gst_structure_get(r, offer ? "offer" : "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &d,
                          NULL);
        gst_structure_free(r);
    }
    return d;
}

/* set-local-description or set-remote-description; 0, or -EPROTO with webrtcbin's reason. */
static int webrtc_set(GstElement *webrtc, bool local, GstWebRTCSessionDescription *d)
{
    GstStructure *r =
        webrtc_call(webrtc, local ? "set-local-description" : "set-remote-description", d);
    int rc = 0;
    if (r) {
        GError *err = NULL;
        if (gst_structure_has_field(r, "error")) {
            gst_structure_get(r, "error", G_TYPE_ERROR, &err, NULL);
            fprintf(stderr, "webrtcbin %s: %s\n", local ? "local" : "remote",
                    err ? err->message : "?");
            if (err)
                g_error_free(err);
            rc = -EPROTO;
        }
        gst_structure_free(r);
    }
    return rc;
}

/* Hands webrtcbin the SFU's host candidate (also in the SDP; adding it twice is harmless). */
static void webrtc_add_candidate(GstElement *webrtc, const struct bench_transport *t)
{
    char line[160];
    snprintf(line, sizeof(line), "candidate:%s 1 UDP %u %s %u typ host", t->cand.foundation,
             t->cand.priority, t->cand.ip, t->cand.port);
    g_signal_emit_by_name(webrtc, "add-ice-candidate", 0u, line);
}

static void sdp_dump(const char *what, const GstSDPMessage *msg)
{
    if (!getenv("INTEG_DEBUG"))
        return;
    gchar *text = gst_sdp_message_as_text(msg);
    fprintf(stderr, "--- %s ---\n%s", what, text);
    g_free(text);
}

/* Fails on an error message on the bus; otherwise 0. */
static int bus_check(GstElement *pipe, const char *who)
{
    GstBus *bus = gst_element_get_bus(pipe);
    GstMessage *m;
    int rc = 0;
    while ((m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
        GError *err = NULL;
        gchar *dbg = NULL;
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            gst_message_parse_error(m, &err, &dbg);
            rc = -EIO;
        } else {
            gst_message_parse_warning(m, &err, &dbg);
        }
        fprintf(stderr, "%s %s: %s (%s)\n", who,
                GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR ? "error" : "warning", err->message,
                dbg ? dbg : "");
        g_error_free(err);
        g_free(dbg);
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    return rc;
}

/* Waits until webrtcbin's connection-state (ICE and DTLS) is connected. */
static int webrtc_wait_connected(GstElement *webrtc, GstElement *pipe, const char *who)
{
    for (int waited = 0; waited < CONNECT_MS; waited += 50) {
        GstWebRTCPeerConnectionState st;
        g_object_get(webrtc, "connection-state", &st, NULL);
        if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
            return 0;
        if (st == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED || bus_check(pipe, who) < 0)
            break;
        integ_sleep_ms(50);
    }
    GstWebRTCICEConnectionState ice;
    GstWebRTCPeerConnectionState st;
    g_object_get(webrtc, "ice-connection-state", &ice, "connection-state", &st, NULL);
    fprintf(stderr, "%s: not connected (ice %d, connection %d)\n", who, ice, st);
    return -ETIMEDOUT;
}

/* The SFU's own view: TransportStateEvents until transport id says CONNECTED. */
static int sfu_wait_connected(struct ctl_client *ctl, uint64_t id)
{
    for (int waited = 0; waited < CONNECT_MS; waited += 100) {
        Sfu__Envelope *ev = NULL;
        if (ctl_client_next_event(ctl, &ev, 100) < 0 || !ev)
            continue;
        bool done = ev->body_case == SFU__ENVELOPE__BODY_TRANSPORT_STATE &&
                    ev->transport_state->transport_id == id &&
                    ev->transport_state->state == SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED;
        sfu__envelope__free_unpacked(ev, NULL);
        if (done)
            return 0;
    }
    return -ETIMEDOUT;
}

static uint64_t produce(struct ctl_client *ctl, uint64_t transport_id, const struct sdp_media *m)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ProduceRequest req = SFU__PRODUCE_REQUEST__INIT;
    struct sdp_rtp_view pb;
    uint64_t id = 0;
    sdp_rtp_view_fill(&pb, m);
    req.room_id = ROOM;
    req.transport_id = transport_id;
    req.kind = m->kind;
    req.rtp = &pb.rtp;
    env.body_case = SFU__ENVELOPE__BODY_PRODUCE;
    env.produce = &req;
    Sfu__Envelope *resp = integ_call(ctl, &env);
    if (resp && resp->body_case == SFU__ENVELOPE__BODY_PRODUCED)
        id = resp->produced->producer_id;
    else if (resp && resp->body_case == SFU__ENVELOPE__BODY_ERROR)
        fprintf(stderr, "produce %s: %s\n", m->mid, resp->error->reason);
    if (resp)
        sfu__envelope__free_unpacked(resp, NULL);
    return id;
}

/* What the subscriber is offered, chosen by us as signalling would: VP8 as pt 96 with RTX 97,
 * Opus as pt 111, the MID extension as id 4 and transport-cc as id 5 (ids other than the
 * publisher's, so the SFU's rewriting shows). */
struct sub_choice {
    Sfu__Codec codec;
    Sfu__Codec *codecs[1];
    Sfu__HeaderExtension ext[2];
    Sfu__HeaderExtension *exts[2];
    char *fb[4];
};

static void sub_choice_init(struct sub_choice *c, Sfu__ConsumeRequest *req, bool video)
{
    static char *video_fb[] = {"nack", "nack pli", "ccm fir", "transport-cc"};
    static char *audio_fb[] = {"transport-cc"};
    sfu__codec__init(&c->codec);
    if (video) {
        c->codec.name = "VP8";
        c->codec.payload_type = 96;
        c->codec.clock_rate = 90000;
        c->codec.rtx_payload_type = 97;
        c->codec.n_rtcp_fb = 4;
        c->codec.rtcp_fb = video_fb;
    } else {
        c->codec.name = "OPUS";
        c->codec.payload_type = 111;
        c->codec.clock_rate = 48000;
        c->codec.channels = 2;
        c->codec.fmtp = "minptime=10;useinbandfec=1";
        c->codec.n_rtcp_fb = 1;
        c->codec.rtcp_fb = audio_fb;
    }
    c->codecs[0] = &c->codec;
    for (int i = 0; i < 2; i++) {
        sfu__header_extension__init(&c->ext[i]);
        c->exts[i] = &c->ext[i];
    }
    c->ext[0].id = 4;
    c->ext[0].uri = URI_MID;
    c->ext[1].id = 5;
    c->ext[1].uri = URI_TWCC;
    req->n_codecs = 1;
    req->codecs = c->codecs;
    req->n_header_extensions = 2;
    req->header_extensions = c->exts;
}

/* Consumes producer_id on transport_id as MID mid and turns the response into the m-section
 * the subscriber is offered. */
static int consume(struct ctl_client *ctl, uint64_t transport_id, uint64_t producer_id,
                   const char *mid, bool video, struct sdp_media *out)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ConsumeRequest req = SFU__CONSUME_REQUEST__INIT;
    struct sub_choice choice;
    int rc = -EIO;
    sub_choice_init(&choice, &req, video);
    req.room_id = ROOM;
    req.transport_id = transport_id;
    req.producer_id = producer_id;
    req.mid = (char *)mid;
    env.body_case = SFU__ENVELOPE__BODY_CONSUME;
    env.consume = &req;
    Sfu__Envelope *resp = integ_call(ctl, &env);
    if (resp && resp->body_case == SFU__ENVELOPE__BODY_CONSUMED)
        rc = sdp_media_from_consumed(out, resp->consumed, &req, "gpsfu");
    else if (resp && resp->body_case == SFU__ENVELOPE__BODY_ERROR)
        fprintf(stderr, "consume %s: %s\n", mid, resp->error->reason);
    if (resp)
        sfu__envelope__free_unpacked(resp, NULL);
    return rc;
}

/* Counts RTP packets entering webrtcbin; with frames true only those with the marker bit, which
 * ends each video frame. */
struct sent {
    struct flow flow;
    bool frames;
};

static GstPadProbeReturn on_rtp_sent(GstPad *pad, GstPadProbeInfo *info, gpointer arg)
{
    struct sent *s = arg;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    uint8_t hdr[2];
    if (!s->frames)
        return on_buffer(pad, info, &s->flow);
    if (gst_buffer_extract(buf, 0, hdr, 2) == 2 && (hdr[1] & 0x80))
        return on_buffer(pad, info, &s->flow);
    return GST_PAD_PROBE_OK;
}

struct pub_side {
    GstElement *pipe;
    GstElement *webrtc; /* owned reference */
    GstElement *vvalve; /* owned reference */
    GstElement *avalve; /* owned reference */
    struct sent video;
    struct sent audio;
};

static void sent_probe(GstElement *valve, struct sent *s)
{
    GstPad *pad = gst_element_get_static_pad(valve, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_rtp_sent, s, NULL);
    gst_object_unref(pad);
}

/* The encoders run from the start so that webrtcbin sees the payloaders' caps (SSRCs) for its
 * offer; the valves in front of webrtcbin pass those caps but no media until the subscriber is
 * connected, so every frame that enters webrtcbin is one the subscriber should decode. */
static int pub_start(struct pub_side *p)
{
    GError *err = NULL;
    p->pipe = gst_parse_launch(
        "webrtcbin name=w bundle-policy=max-bundle "
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 "
        "! vp8enc deadline=1 ! rtpvp8pay auto-header-extension=true ! "
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,"
        "extmap-1=" URI_MID ",extmap-3=" URI_TWCC " ! "
        "valve name=vvalve drop=true drop-mode=forward-sticky-events ! w. "
        "audiotestsrc is-live=true wave=sine ! opusenc ! rtpopuspay ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! "
        "valve name=avalve drop=true drop-mode=forward-sticky-events ! w.",
        &err);
    if (!p->pipe) {
        fprintf(stderr, "publisher pipeline: %s\n", err ? err->message : "?");
        if (err)
            g_error_free(err);
        return -EINVAL;
    }
    p->webrtc = gst_bin_get_by_name(GST_BIN(p->pipe), "w");
    p->vvalve = gst_bin_get_by_name(GST_BIN(p->pipe), "vvalve");
    p->avalve = gst_bin_get_by_name(GST_BIN(p->pipe), "avalve");
    p->video.frames = true;
    sent_probe(p->vvalve, &p->video);
    sent_probe(p->avalve, &p->audio);
    if (webrtc_loopback_only(p->webrtc) < 0)
        return -ENOENT;
    if (gst_element_set_state(p->pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return -EIO;
    return 0;
}

/* Sets the transceiver behind webrtcbin's sink pad name sendonly, with NACK (and so RTX) for
 * video. The pad's caps say which media it carries; 0, or -EAGAIN while they are not there. */
static int pub_transceiver_set(GstElement *webrtc, const char *name)
{
    GstPad *pad = gst_element_get_static_pad(webrtc, name);
    GstWebRTCRTPTransceiver *tr = NULL;
    GstCaps *caps;
    int rc = -EAGAIN;
    if (!pad)
        return rc;
    caps = gst_pad_get_current_caps(pad);
    g_object_get(pad, "transceiver", &tr, NULL);
    if (caps && tr) {
        const char *media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
        g_object_set(tr, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "do-nack",
                     media && strcmp(media, "video") == 0, NULL);
        rc = 0;
    }
    if (tr)
        gst_object_unref(tr);
    if (caps)
        gst_caps_unref(caps);
    gst_object_unref(pad);
    return rc;
}

/* Both m-sections (VP8 and Opus), sendonly, NACK and RTX on video. webrtcbin 1.22 can make an
 * offer before its second stream is attached, or before the caps carrying the SSRCs arrived:
 * wait and retry until both are there. */
static GstWebRTCSessionDescription *pub_offer(struct pub_side *p)
{
    for (int tries = 0; tries < 50; tries++) {
        if (pub_transceiver_set(p->webrtc, "sink_0") == 0 &&
            pub_transceiver_set(p->webrtc, "sink_1") == 0) {
            GstWebRTCSessionDescription *d = webrtc_create(p->webrtc, true);
            if (d && gst_sdp_message_medias_len(d->sdp) == 2 &&
                gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(d->sdp, 0), "ssrc") &&
                gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(d->sdp, 1), "ssrc"))
                return d;
            if (d)
                gst_webrtc_session_description_free(d);
        }
        integ_sleep_ms(100);
    }
    return NULL;
}

static void pub_stop(struct pub_side *p)
{
    if (p->pipe)
        gst_element_set_state(p->pipe, GST_STATE_NULL);
    if (p->webrtc)
        gst_object_unref(p->webrtc);
    if (p->vvalve)
        gst_object_unref(p->vvalve);
    if (p->avalve)
        gst_object_unref(p->avalve);
    if (p->pipe)
        gst_object_unref(p->pipe);
    /* The counters stay: they are read once everything has stopped. */
    p->pipe = p->webrtc = p->vvalve = p->avalve = NULL;
}

/* Asks the video encoder for a keyframe now (the event travels upstream from the valve). */
static void pub_force_keyframe(struct pub_side *p)
{
    GstStructure *st =
        gst_structure_new("GstForceKeyUnit", "all-headers", G_TYPE_BOOLEAN, TRUE, NULL);
    GstPad *pad = gst_element_get_static_pad(p->vvalve, "sink");
    GstPad *peer = gst_pad_get_peer(pad);
    if (peer) {
        gst_pad_send_event(peer, gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, st));
        gst_object_unref(peer);
    } else {
        gst_structure_free(st);
    }
    gst_object_unref(pad);
}

/* The subscriber's receive side, as an application sets it up before it takes an offer: a
 * recvonly VP8 transceiver with NACK (and with it RTX), and a recvonly Opus one. webrtcbin pairs
 * them with the offer's m-sections. */
static int sub_transceivers_add(GstElement *webrtc)
{
    static const char *caps_text[2] = {
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000",
    };
    for (int i = 0; i < 2; i++) {
        GstWebRTCRTPTransceiver *tr = NULL;
        GstCaps *caps = gst_caps_from_string(caps_text[i]);
        g_signal_emit_by_name(webrtc, "add-transceiver",
                              GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &tr);
        gst_caps_unref(caps);
        if (!tr)
            return -EINVAL;
        g_object_set(tr, "do-nack", i == 0, NULL);
        gst_object_unref(tr);
    }
    return 0;
}

/* The SFU's side of the run: two producers that received media and two consumers that
 * forwarded it. Prints the counters; 0 or -1. */
static int sfu_stats_check(struct ctl_client *ctl)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
    int rc = -1;
    req.room_id = ROOM;
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &req;
    Sfu__Envelope *st = integ_call(ctl, &env);
    if (!st || st->body_case != SFU__ENVELOPE__BODY_STATS)
        goto out;
    for (size_t k = 0; k < st->stats->n_producers; k++) {
        const Sfu__Counters *c = st->stats->producers[k]->counters;
        fprintf(stderr, "SFU producer %zu: %llu packets, %llu lost, %llu NACKs, %llu PLIs\n", k,
                (unsigned long long)c->packets, (unsigned long long)c->packets_lost,
                (unsigned long long)c->nacks, (unsigned long long)c->plis);
    }
    for (size_t k = 0; k < st->stats->n_consumers; k++) {
        const Sfu__Counters *c = st->stats->consumers[k]->counters;
        fprintf(stderr,
                "SFU consumer %zu: %llu forwarded, %llu dropped, %llu NACKs, %llu resent, "
                "%llu PLIs\n",
                k, (unsigned long long)c->forwarded, (unsigned long long)c->dropped,
                (unsigned long long)c->nacks, (unsigned long long)c->retransmitted,
                (unsigned long long)c->plis);
    }
    if (st->stats->n_producers != 2 || st->stats->n_consumers != 2)
        goto out;
    rc = 0;
    for (size_t k = 0; k < 2; k++) {
        if (st->stats->producers[k]->counters->packets == 0 ||
            st->stats->consumers[k]->counters->forwarded == 0)
            rc = -1;
    }
out:
    if (st)
        sfu__envelope__free_unpacked(st, NULL);
    return rc;
}

/* Everything the test holds, so that a failed CHECK still tears it all down. */
struct ctx {
    struct integ_sfu sfu;
    bool sfu_up;
    struct ctl_client *ctl; /* owned */
    struct pub_side pub;
    GstElement *sub_pipe;   /* owned */
    GstElement *sub_webrtc; /* borrowed from sub_pipe */
    struct sub_sinks sinks;
};

static void ctx_stop_media(struct ctx *x)
{
    if (x->sub_pipe) {
        gst_element_set_state(x->sub_pipe, GST_STATE_NULL);
        gst_object_unref(x->sub_pipe);
        x->sub_pipe = NULL;
        x->sub_webrtc = NULL;
    }
    pub_stop(&x->pub);
}

static void ctx_free(struct ctx *x)
{
    ctx_stop_media(x);
    ctl_client_free(x->ctl);
    if (x->sfu_up)
        integ_sfu_stop(&x->sfu);
}

/* The SFU's transport as signalling's SDP module takes it (views of t). */
static void sdp_transport_of(struct sdp_transport *out, const struct bench_transport *t)
{
    memset(out, 0, sizeof(*out));
    out->ufrag = t->ufrag;
    out->pwd = t->pwd;
    out->fingerprint = t->fingerprint;
    out->cands[0].foundation = t->cand.foundation;
    out->cands[0].priority = t->cand.priority;
    out->cands[0].ip = t->cand.ip;
    out->cands[0].port = t->cand.port;
    out->n_cands = 1;
}

/* SDP text (ours, malloc'd) -> a description webrtcbin takes; NULL when GstSDP refuses it. */
static GstWebRTCSessionDescription *desc_from_text(GstWebRTCSDPType type, char *text)
{
    GstSDPMessage *msg = NULL;
    GstWebRTCSessionDescription *d = NULL;
    if (text && gst_sdp_message_new_from_text(text, &msg) == GST_SDP_OK) {
        sdp_dump(type == GST_WEBRTC_SDP_TYPE_OFFER ? "our offer" : "our answer", msg);
        d = gst_webrtc_session_description_new(type, msg);
    }
    free(text);
    return d;
}

static int run(struct ctx *x)
{
    struct bench_transport pub_t, sub_t;
    struct sdp_transport st;
    static struct sdp_publish pub_offer_parsed;
    struct sdp_publish *po = &pub_offer_parsed;
    struct sdp_media sub_media[2];
    struct sdp_remote remote;
    uint64_t producer[2];
    char err[256];
    char *text = NULL;
    gchar *gtext;
    GstWebRTCSessionDescription *desc;
    struct sub_sinks *sinks = &x->sinks;
    struct pub_side *pub = &x->pub;

    CHECK_EQ(integ_sfu_start(&x->sfu, 1), 0);
    x->sfu_up = true;
    CHECK_EQ(integ_ctl_connect(&x->sfu, &x->ctl), 0);
    CHECK_EQ(bench_ctl_create_room(x->ctl, ROOM), 0);

    /* Publisher: its offer -> transport, fingerprint, one producer per m-section -> answer. */
    CHECK_EQ(pub_start(pub), 0);
    GstWebRTCSessionDescription *offer = pub_offer(pub);
    CHECK(offer != NULL);
    sdp_dump("publisher offer", offer->sdp);
    int rc = webrtc_set(pub->webrtc, true, offer);
    gtext = gst_sdp_message_as_text(offer->sdp);
    gst_webrtc_session_description_free(offer);
    if (rc == 0) {
        rc = sdp_offer_parse(gtext, strlen(gtext), po, err, sizeof(err));
        if (rc < 0)
            fprintf(stderr, "publisher offer refused: %s\n", err);
    }
    g_free(gtext);
    if (rc == 0)
        rc = bench_ctl_create_transport(x->ctl, ROOM, &pub_t);
    if (rc == 0)
        rc = bench_ctl_connect_transport(x->ctl, ROOM, pub_t.id, po->fingerprint);
    for (int i = 0; i < 2 && rc == 0; i++) {
        producer[i] = produce(x->ctl, pub_t.id, &po->media[i]);
        rc = producer[i] ? 0 : -EIO;
    }
    sdp_transport_of(&st, &pub_t);
    if (rc == 0)
        rc = sdp_answer_build(po, &st, &text);
    CHECK_EQ(rc, 0);
    CHECK_EQ(po->n_media, 2);
    CHECK_EQ(po->media[0].kind, SFU__MEDIA_KIND__MEDIA_KIND_VIDEO);
    CHECK(po->media[0].codec.rtx_pt != 0 && po->media[0].rtx_ssrc != 0);
    CHECK_EQ(po->media[1].kind, SFU__MEDIA_KIND__MEDIA_KIND_AUDIO);
    desc = desc_from_text(GST_WEBRTC_SDP_TYPE_ANSWER, text);
    CHECK(desc != NULL);
    rc = webrtc_set(pub->webrtc, false, desc);
    gst_webrtc_session_description_free(desc);
    CHECK_EQ(rc, 0);
    webrtc_add_candidate(pub->webrtc, &pub_t);
    CHECK_EQ(webrtc_wait_connected(pub->webrtc, pub->pipe, "publisher"), 0);
    CHECK_EQ(sfu_wait_connected(x->ctl, pub_t.id), 0);

    /* Subscriber: consumers -> our offer -> its answer -> its fingerprint. */
    x->sub_pipe = gst_pipeline_new("subscriber");
    CHECK(x->sub_pipe != NULL);
    x->sub_webrtc = gst_element_factory_make("webrtcbin", "w");
    CHECK(x->sub_webrtc != NULL);
    gst_bin_add(GST_BIN(x->sub_pipe), x->sub_webrtc);
    g_object_set(x->sub_webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    CHECK_EQ(webrtc_loopback_only(x->sub_webrtc), 0);
    CHECK_EQ(sub_transceivers_add(x->sub_webrtc), 0);
    g_signal_connect(x->sub_webrtc, "pad-added", G_CALLBACK(on_pad_added), sinks);
    CHECK(gst_element_set_state(x->sub_pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    CHECK_EQ(bench_ctl_create_transport(x->ctl, ROOM, &sub_t), 0);
    CHECK_EQ(consume(x->ctl, sub_t.id, producer[0], "0", true, &sub_media[0]), 0);
    CHECK_EQ(consume(x->ctl, sub_t.id, producer[1], "1", false, &sub_media[1]), 0);
    CHECK(sub_media[0].ssrc != po->media[0].ssrc && sub_media[0].rtx_ssrc != 0);
    sdp_transport_of(&st, &sub_t);
    CHECK_EQ(sdp_offer_build(sub_media, 2, &st, 1, &text), 0);
    desc = desc_from_text(GST_WEBRTC_SDP_TYPE_OFFER, text);
    CHECK(desc != NULL);
    rc = webrtc_set(x->sub_webrtc, false, desc);
    gst_webrtc_session_description_free(desc);
    CHECK_EQ(rc, 0);
    GstWebRTCSessionDescription *answer = webrtc_create(x->sub_webrtc, false);
    CHECK(answer != NULL);
    sdp_dump("subscriber answer", answer->sdp);
    /* The SFU is always the DTLS server: the answer must take the client's part (setup:active),
     * which sdp_answer_check insists on with the rest. */
    gtext = gst_sdp_message_as_text(answer->sdp);
    rc = sdp_answer_check(gtext, strlen(gtext), sub_media, 2, &remote, err, sizeof(err));
    g_free(gtext);
    if (rc < 0)
        fprintf(stderr, "subscriber answer refused: %s\n", err);
    if (rc == 0)
        rc = webrtc_set(x->sub_webrtc, true, answer);
    gst_webrtc_session_description_free(answer);
    CHECK_EQ(rc, 0);
    CHECK_EQ(bench_ctl_connect_transport(x->ctl, ROOM, sub_t.id, remote.fingerprint), 0);
    webrtc_add_candidate(x->sub_webrtc, &sub_t);
    CHECK_EQ(webrtc_wait_connected(x->sub_webrtc, x->sub_pipe, "subscriber"), 0);
    CHECK_EQ(sfu_wait_connected(x->ctl, sub_t.id), 0);

    /* Media: from now on every frame that enters the publisher's webrtcbin counts. */
    gint64 open_us = g_get_monotonic_time();
    g_object_set(pub->vvalve, "drop", FALSE, NULL);
    g_object_set(pub->avalve, "drop", FALSE, NULL);
    pub_force_keyframe(pub);
    for (int waited = 0; waited < FIRST_FRAME_MS && atomic_load(&sinks->video.buffers) == 0;
         waited += 10)
        integ_sleep_ms(10);
    CHECK(atomic_load(&sinks->video.buffers) > 0);
    fprintf(stderr, "first decoded frame %.0f ms after the media started\n",
            (double)(sinks->video.first_us - open_us) / 1000.0);
    for (int waited = 0; waited < RUN_MS; waited += 100) {
        Sfu__Envelope *ev = NULL;
        /* Drains the SFU's events so its queue never fills. */
        while (ctl_client_next_event(x->ctl, &ev, 0) == 0 && ev) {
            sfu__envelope__free_unpacked(ev, NULL);
            ev = NULL;
        }
        CHECK_EQ(bus_check(pub->pipe, "publisher"), 0);
        CHECK_EQ(bus_check(x->sub_pipe, "subscriber"), 0);
        integ_sleep_ms(100);
    }
    g_object_set(pub->vvalve, "drop", TRUE, NULL);
    g_object_set(pub->avalve, "drop", TRUE, NULL);
    integ_sleep_ms(DRAIN_MS);
    CHECK_EQ(sfu_stats_check(x->ctl), 0);
    ctx_stop_media(x);

    uint64_t vsent = atomic_load(&pub->video.flow.buffers);
    uint64_t vdec = atomic_load(&sinks->video.buffers);
    uint64_t asent = atomic_load(&pub->audio.flow.buffers);
    uint64_t adec = atomic_load(&sinks->audio.buffers);
    fprintf(stderr,
            "video: %llu frames sent, %llu decoded (%.1f%%), max gap %.0f ms\n"
            "audio: %llu packets sent, %llu buffers decoded (%.1f%%), max gap %.0f ms\n",
            (unsigned long long)vsent, (unsigned long long)vdec,
            vsent ? 100.0 * (double)vdec / (double)vsent : 0.0,
            (double)sinks->video.max_gap_us / 1000.0, (unsigned long long)asent,
            (unsigned long long)adec, asent ? 100.0 * (double)adec / (double)asent : 0.0,
            (double)sinks->audio.max_gap_us / 1000.0);
    CHECK_EQ(atomic_load(&sinks->link_failed), 0);
    CHECK(atomic_load(&sinks->linked_video) && atomic_load(&sinks->linked_audio));
    /* 30 s at 30 fps: about 900 frames; a run that sent far fewer measured nothing. */
    CHECK(vsent >= 800);
    CHECK(vdec * 10 >= vsent * 9);
    CHECK(vdec <= vsent);
    CHECK(sinks->video.max_gap_us <= MAX_GAP_US);
    CHECK(sinks->video.last_us - sinks->video.first_us >= (RUN_MS - 1000) * 1000LL);
    /* Opus: 20 ms packets, 50 a second. */
    CHECK(asent >= 1300);
    CHECK(adec * 10 >= asent * 9);
    CHECK(sinks->audio.max_gap_us <= MAX_GAP_US);
    CHECK(sinks->audio.last_us - sinks->audio.first_us >= (RUN_MS - 1000) * 1000LL);
    return 0;
}

static int test_webrtcbin_interop(void)
{
    static struct ctx x;
    gst_init(NULL, NULL);
    int rc = run(&x);
    ctx_free(&x);
    gst_deinit();
    return rc;
}

/* LeakSanitizer's hooks (read only by sanitizer builds; plain builds never call them). GLib
 * makes its first quark table (2048 pointers, 16 KiB) in its library constructor and leaks it on
 * purpose when the table grows, to keep lookups lock-free (gquark.c); GStreamer and its plugins
 * make more than 2048 quarks. Debian's GLib carries no symbols, so the only frame naming that
 * allocation is the loader's _dl_init, seen only by the slow unwinder (the fast one stops at
 * g_malloc). Memory a library constructor allocates is never ours: nothing else is hidden. */
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void)
{
    return "leak:_dl_init\n";
}

static const struct test_case cases[] = {
    {"webrtcbin_vp8_opus_through_sfu", test_webrtcbin_interop},
};

TEST_MAIN(cases)
