/* Live consultations, the media side: the SFU room of a consultation, each participant's two
 * transports, their producers from the sending offer, the consumers on the receiving
 * connection and the offers signalling makes there for the SFU. Every SFU call is
 * asynchronous; its answer finds its participant again by uid, since the browser may have gone
 * meanwhile. The SFU's events, the link's ups and downs and statistics are conf_sfu.c. */
#include "conf_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "sfu_link.h"

#define TAG "conf"

#define URI_MID  "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
/* The header-extension ids signalling offers on every receiving connection. One mapping for
 * all sections, as BUNDLE requires (RFC 8285). */
#define RECV_EXT_MID  4
#define RECV_EXT_TWCC 5

int conf__call(struct conf_hub *h, Sfu__Envelope *env, enum conf_op_kind kind, uint64_t uid,
               size_t index, const char *room_id, const char *what)
{
    if (h->stopping)
        return -ECANCELED;
    if (!h->p.link)
        return -ENOTCONN;
    struct conf_op *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->hub = h;
    o->kind = kind;
    o->uid = uid;
    o->index = index;
    o->what = what;
    snprintf(o->room_id, sizeof(o->room_id), "%s", room_id);
    int rc = sfu_link_call(h->p.link, env, conf__on_sfu_answer, o);
    if (rc < 0)
        free(o);
    return rc;
}

const char *conf__sfu_error(const Sfu__Envelope *resp)
{
    if (resp && resp->body_case == SFU__ENVELOPE__BODY_ERROR && resp->error->reason)
        return resp->error->reason;
    return "no answer";
}

void conf__close_consumer(struct conf_hub *h, const char *room_id, uint64_t id)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CloseConsumerRequest req = SFU__CLOSE_CONSUMER_REQUEST__INIT;
    req.room_id = (char *)room_id;
    req.consumer_id = id;
    env.body_case = SFU__ENVELOPE__BODY_CLOSE_CONSUMER;
    env.close_consumer = &req;
    conf__call(h, &env, OP_OTHER, 0, 0, room_id, "close consumer");
}

void conf__close_producer(struct conf_hub *h, const char *room_id, uint64_t id)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CloseProducerRequest req = SFU__CLOSE_PRODUCER_REQUEST__INIT;
    req.room_id = (char *)room_id;
    req.producer_id = id;
    env.body_case = SFU__ENVELOPE__BODY_CLOSE_PRODUCER;
    env.close_producer = &req;
    conf__call(h, &env, OP_OTHER, 0, 0, room_id, "close producer");
}

void conf__close_room(struct conf_hub *h, const char *room_id)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CloseRoomRequest req = SFU__CLOSE_ROOM_REQUEST__INIT;
    req.room_id = (char *)room_id;
    env.body_case = SFU__ENVELOPE__BODY_CLOSE_ROOM;
    env.close_room = &req;
    conf__call(h, &env, OP_OTHER, 0, 0, room_id, "close room");
}

void conf__close_transport(struct conf_hub *h, const char *room_id, uint64_t tid)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CloseTransportRequest req = SFU__CLOSE_TRANSPORT_REQUEST__INIT;
    req.room_id = (char *)room_id;
    req.transport_id = tid;
    env.body_case = SFU__ENVELOPE__BODY_CLOSE_TRANSPORT;
    env.close_transport = &req;
    conf__call(h, &env, OP_OTHER, 0, 0, room_id, "close transport");
}

/* The browser cannot go on without the SFU: it is told, and closed so that it reconnects. */
static void member_fail(struct conf_conn *c, const char *what)
{
    conf__send_error(c, "unavailable", "the media server is not available; retrying", -1);
    log_warn(TAG, "%s failed: the participant's connection is closed so that it rejoins", what);
    c->hub->p.ops->close(c->handle);
    c->closing = true;
}

/* --- the room ------------------------------------------------------------------------------- */

void conf__room_sfu_create(struct conf_room *r)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateRoomRequest req = SFU__CREATE_ROOM_REQUEST__INIT;
    req.room_id = r->room_id;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
    env.create_room = &req;
    r->sfu = CONF_SFU_CREATING;
    if (conf__call(r->hub, &env, OP_CREATE_ROOM, r->uid, 0, r->room_id, "create room") < 0) {
        r->sfu = CONF_SFU_NONE;
        struct list *pos, *tmp;
        list_for_each_safe(pos, tmp, &r->members)
        {
            member_fail(list_entry(pos, struct conf_conn, member_node), "create room");
        }
    }
}

void conf__room_sfu_close(struct conf_room *r)
{
    if (r->sfu == CONF_SFU_NONE)
        return;
    conf__close_room(r->hub, r->room_id);
    r->sfu = CONF_SFU_NONE;
}

static void room_created(struct conf_hub *h, struct conf_op *o, int status,
                         const Sfu__Envelope *resp)
{
    struct conf_room *r = conf__room_find(h, o->uid);
    bool ok = status == 0 && (resp->body_case == SFU__ENVELOPE__BODY_OK ||
                              (resp->body_case == SFU__ENVELOPE__BODY_ERROR &&
                               resp->error->code == SFU__ERROR_CODE__ERROR_CODE_EXISTS));
    if (!r)
        return; /* everyone left meanwhile, and the room's CloseRoom went after this request */
    struct list *pos, *tmp;
    if (!ok) {
        log_warn(TAG, "create room: %s", conf__sfu_error(resp));
        r->sfu = CONF_SFU_NONE;
        list_for_each_safe(pos, tmp, &r->members)
        {
            member_fail(list_entry(pos, struct conf_conn, member_node), "create room");
        }
        return;
    }
    r->sfu = CONF_SFU_READY;
    list_for_each_safe(pos, tmp, &r->members)
    {
        conf__member_setup(list_entry(pos, struct conf_conn, member_node));
    }
}

/* --- transports ----------------------------------------------------------------------------- */

void conf__member_setup(struct conf_conn *c)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateTransportRequest req = SFU__CREATE_TRANSPORT_REQUEST__INIT;
    req.room_id = c->room->room_id;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_TRANSPORT;
    env.create_transport = &req;
    c->setup_pending = 2;
    if (conf__call(c->hub, &env, OP_CREATE_SEND, c->uid, 0, c->room->room_id, "create transport") <
            0 ||
        conf__call(c->hub, &env, OP_CREATE_RECV, c->uid, 0, c->room->room_id, "create transport") <
            0)
        member_fail(c, "create transport");
}

static int tinfo_fill(struct conf_tinfo *t, const Sfu__CreateTransportResponse *resp)
{
    struct sdp_transport v;
    if (sdp_transport_from_pb(&v, resp) < 0)
        return -EINVAL;
    memset(t, 0, sizeof(*t));
    t->id = resp->transport_id;
    snprintf(t->ufrag, sizeof(t->ufrag), "%s", v.ufrag);
    snprintf(t->pwd, sizeof(t->pwd), "%s", v.pwd);
    snprintf(t->fingerprint, sizeof(t->fingerprint), "%s", v.fingerprint);
    for (size_t i = 0; i < v.n_cands; i++) {
        snprintf(t->cands[i].foundation, sizeof(t->cands[i].foundation), "%s",
                 v.cands[i].foundation);
        t->cands[i].priority = v.cands[i].priority;
        snprintf(t->cands[i].ip, sizeof(t->cands[i].ip), "%s", v.cands[i].ip);
        t->cands[i].port = v.cands[i].port;
    }
    t->n_cands = v.n_cands;
    return 0;
}

static void tinfo_view(const struct conf_tinfo *t, struct sdp_transport *v)
{
    memset(v, 0, sizeof(*v));
    v->ufrag = t->ufrag;
    v->pwd = t->pwd;
    v->fingerprint = t->fingerprint;
    for (size_t i = 0; i < t->n_cands; i++) {
        v->cands[i].foundation = t->cands[i].foundation;
        v->cands[i].priority = t->cands[i].priority;
        v->cands[i].ip = t->cands[i].ip;
        v->cands[i].port = t->cands[i].port;
    }
    v->n_cands = t->n_cands;
}

static void transport_created(struct conf_hub *h, struct conf_op *o, int status,
                              const Sfu__Envelope *resp)
{
    struct conf_conn *c = conf__conn_find(h, o->uid);
    bool ok = status == 0 && resp->body_case == SFU__ENVELOPE__BODY_TRANSPORT_CREATED;
    if (!c || !c->room || c->closing) {
        if (ok)
            conf__close_transport(h, o->room_id, resp->transport_created->transport_id);
        return;
    }
    struct conf_tinfo *t = o->kind == OP_CREATE_SEND ? &c->send_t : &c->recv_t;
    if (!ok || tinfo_fill(t, resp->transport_created) < 0) {
        log_warn(TAG, "create transport: %s", conf__sfu_error(resp));
        if (ok)
            conf__close_transport(h, o->room_id, resp->transport_created->transport_id);
        member_fail(c, "create transport");
        return;
    }
    if (--c->setup_pending == 0)
        conf__member_ready(c);
}

static void connect_transport(struct conf_conn *c, struct conf_tinfo *t, const char *fingerprint)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ConnectTransportRequest req = SFU__CONNECT_TRANSPORT_REQUEST__INIT;
    Sfu__DtlsFingerprint fp = SFU__DTLS_FINGERPRINT__INIT;
    fp.algorithm = "sha-256";
    fp.value = (char *)fingerprint;
    req.room_id = c->room->room_id;
    req.transport_id = t->id;
    req.fingerprint = &fp;
    env.body_case = SFU__ENVELOPE__BODY_CONNECT_TRANSPORT;
    env.connect_transport = &req;
    if (conf__call(c->hub, &env, OP_CONNECT, c->uid, t == &c->recv_t, c->room->room_id,
                   "connect transport") == 0)
        t->connected = true;
}

/* A refused fingerprint leaves the transport to be connected by the next answer or offer. */
static void connected(struct conf_hub *h, struct conf_op *o, int status, const Sfu__Envelope *resp)
{
    if (status == 0 && resp->body_case == SFU__ENVELOPE__BODY_OK)
        return;
    log_warn(TAG, "connect transport: %s", conf__sfu_error(resp));
    struct conf_conn *c = conf__conn_find(h, o->uid);
    if (c && c->room)
        (o->index ? &c->recv_t : &c->send_t)->connected = false;
}

void conf__member_teardown(struct conf_conn *c)
{
    struct conf_room *r = c->room;
    /* Closing a transport closes its producers and consumers on the SFU; the others' slots
     * that carried this participant are freed here at once rather than on the SFU's events. */
    if (r->sfu == CONF_SFU_READY) {
        if (c->send_t.id)
            conf__close_transport(c->hub, r->room_id, c->send_t.id);
        if (c->recv_t.id)
            conf__close_transport(c->hub, r->room_id, c->recv_t.id);
    }
    c->send_t.id = c->recv_t.id = 0;
    c->n_prod = 0;
    struct list *pos;
    list_for_each(pos, &r->members)
    {
        struct conf_conn *o = list_entry(pos, struct conf_conn, member_node);
        bool changed = false;
        for (size_t i = 0; o != c && i < o->n_slots; i++) {
            if (strcmp(o->slots[i].from, c->id) == 0 && o->slots[i].consumer_id) {
                o->slots[i].consumer_id = 0;
                o->slots[i].from[0] = '\0';
                o->recv_media[i].publish = false;
                changed = true;
            }
        }
        if (changed)
            conf__renegotiate(o);
    }
}

/* --- the receiving connection --------------------------------------------------------------- */

void conf__renegotiate(struct conf_conn *c)
{
    if (!c->room || c->closing || !c->recv_t.id || c->n_slots == 0)
        return;
    if (c->offer_out || c->consume_pending > 0) {
        c->dirty = true;
        return;
    }
    struct sdp_transport t;
    char *text = NULL;
    struct sdp_media *offered = malloc(c->n_slots * sizeof(*offered));
    tinfo_view(&c->recv_t, &t);
    if (!offered ||
        sdp_offer_build(c->recv_media, c->n_slots, &t, c->recv_version + 1, &text) < 0) {
        log_error(TAG, "building a receiving offer failed");
        free(offered);
        return;
    }
    memcpy(offered, c->recv_media, c->n_slots * sizeof(*offered));
    free(c->offered);
    c->offered = offered;
    c->offered_n = c->n_slots;
    c->recv_version++;
    c->offer_out = true;
    c->dirty = false;
    json_t *streams = json_array();
    for (size_t i = 0; i < c->n_slots; i++) {
        if (!c->recv_media[i].publish)
            continue;
        json_array_append_new(streams, json_pack("{s:s, s:s, s:s}", "mid", c->recv_media[i].mid,
                                                 "participant", c->slots[i].from, "kind",
                                                 c->recv_media[i].media));
    }
    conf__send(c, json_pack("{s:s, s:s, s:s, s:I, s:o}", "type", "offer", "pc", "recv", "sdp", text,
                            "version", (json_int_t)c->recv_version, "streams", streams));
    free(text);
    conf__persist(c);
}

/* What the subscriber is offered for codec: the publisher's own codec and payload types (a
 * browser receives what another browser sends), and signalling's extension ids. */
struct consume_view {
    Sfu__ConsumeRequest req;
    Sfu__Codec codec;
    Sfu__Codec *codecs[1];
    char *fb[SDP_MAX_FB];
    Sfu__HeaderExtension ext[2];
    Sfu__HeaderExtension *exts[2];
};

static void consume_view_fill(struct consume_view *v, const struct sdp_codec *c, const char *mid)
{
    sfu__consume_request__init(&v->req);
    sfu__codec__init(&v->codec);
    v->codec.name = (char *)c->name;
    v->codec.payload_type = c->pt;
    v->codec.clock_rate = c->clock_rate;
    v->codec.channels = c->channels;
    v->codec.fmtp = (char *)c->fmtp;
    v->codec.rtx_payload_type = c->rtx_pt;
    for (size_t i = 0; i < c->n_rtcp_fb; i++)
        v->fb[i] = (char *)c->rtcp_fb[i];
    v->codec.n_rtcp_fb = c->n_rtcp_fb;
    v->codec.rtcp_fb = v->fb;
    v->codecs[0] = &v->codec;
    for (int i = 0; i < 2; i++) {
        sfu__header_extension__init(&v->ext[i]);
        v->exts[i] = &v->ext[i];
    }
    v->ext[0].id = RECV_EXT_MID;
    v->ext[0].uri = URI_MID;
    v->ext[1].id = RECV_EXT_TWCC;
    v->ext[1].uri = URI_TWCC;
    v->req.mid = (char *)mid;
    v->req.n_codecs = 1;
    v->req.codecs = v->codecs;
    v->req.n_header_extensions = 2;
    v->req.header_extensions = v->exts;
}

/* A slot for kind: a free one of that kind, else a new one. -ENOSPC when the receiving
 * connection is full. */
static int slot_take(struct conf_conn *c, Sfu__MediaKind kind)
{
    for (size_t i = 0; i < c->n_slots; i++) {
        if (!c->slots[i].consumer_id && !c->slots[i].pending && c->recv_media[i].kind == kind)
            return (int)i;
    }
    if (c->n_slots == SDP_MAX_MEDIA)
        return -ENOSPC;
    size_t i = c->n_slots++;
    memset(&c->recv_media[i], 0, sizeof(c->recv_media[i]));
    memset(&c->slots[i], 0, sizeof(c->slots[i]));
    c->recv_media[i].kind = kind;
    snprintf(c->recv_media[i].media, sizeof(c->recv_media[i].media), "%s",
             kind == SFU__MEDIA_KIND__MEDIA_KIND_AUDIO ? "audio" : "video");
    snprintf(c->recv_media[i].mid, sizeof(c->recv_media[i].mid), "r%zu", i);
    return (int)i;
}

void conf__recv_prepare(struct conf_conn *c)
{
    if (c->n_slots > 0 || !c->recv_t.id || c->closing)
        return;
    int i = slot_take(c, SFU__MEDIA_KIND__MEDIA_KIND_AUDIO);
    if (i < 0)
        return;
    /* Any codec every browser has, for the inactive section to be well formed; the first
     * audio consumer takes the slot over with its own. */
    struct sdp_codec *k = &c->recv_media[i].codec;
    snprintf(k->name, sizeof(k->name), "opus");
    k->pt = 111;
    k->clock_rate = 48000;
    k->channels = 2;
    conf__renegotiate(c);
}

/* sub starts receiving pub's producer p. */
static void consume(struct conf_conn *sub, const struct conf_conn *pub,
                    const struct conf_producer *p)
{
    for (size_t i = 0; i < sub->n_slots; i++) {
        if (sub->slots[i].producer_id == p->id &&
            (sub->slots[i].consumer_id || sub->slots[i].pending))
            return; /* already receiving it */
    }
    int i = slot_take(sub, p->media.kind);
    if (i < 0) {
        log_warn(TAG, "a receiving connection is full (%d sections)", SDP_MAX_MEDIA);
        return;
    }
    struct conf_slot *s = &sub->slots[i];
    s->codec = p->media.codec;
    /* An inactive section still names a codec: if this consume fails, the slot is offered
     * inactive and must be well formed. */
    sub->recv_media[i].codec = p->media.codec;
    s->producer_id = p->id;
    snprintf(s->from, sizeof(s->from), "%s", pub->id);
    struct consume_view v;
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    consume_view_fill(&v, &s->codec, sub->recv_media[i].mid);
    v.req.room_id = sub->room->room_id;
    v.req.transport_id = sub->recv_t.id;
    v.req.producer_id = p->id;
    v.req.paused = true;
    s->resumed = false;
    env.body_case = SFU__ENVELOPE__BODY_CONSUME;
    env.consume = &v.req;
    if (conf__call(sub->hub, &env, OP_CONSUME, sub->uid, (size_t)i, sub->room->room_id, "consume") <
        0) {
        s->from[0] = '\0';
        s->producer_id = 0;
        return;
    }
    s->pending = true;
    sub->consume_pending++;
}

static void consumed(struct conf_hub *h, struct conf_op *o, int status, const Sfu__Envelope *resp)
{
    struct conf_conn *c = conf__conn_find(h, o->uid);
    if (!c || !c->room)
        return; /* its transport was closed, and the consumer with it */
    struct conf_slot *s = &c->slots[o->index];
    struct sdp_media *m = &c->recv_media[o->index];
    s->pending = false;
    c->consume_pending--;
    if (status == 0 && resp->body_case == SFU__ENVELOPE__BODY_CONSUMED && s->from[0]) {
        struct consume_view v;
        char mid[SDP_MID_LEN];
        snprintf(mid, sizeof(mid), "%s", m->mid);
        consume_view_fill(&v, &s->codec, mid);
        if (sdp_media_from_consumed(m, resp->consumed, &v.req, s->from) == 0) {
            s->consumer_id = resp->consumed->consumer_id;
        } else {
            log_warn(TAG, "a consumer could not be offered: closed");
            conf__close_consumer(h, c->room->room_id, resp->consumed->consumer_id);
            m->kind = resp->consumed->kind;
            m->codec = s->codec;
            snprintf(m->media, sizeof(m->media), "%s",
                     m->kind == SFU__MEDIA_KIND__MEDIA_KIND_AUDIO ? "audio" : "video");
            snprintf(m->mid, sizeof(m->mid), "%s", mid);
        }
    } else {
        log_warn(TAG, "consume: %s", conf__sfu_error(resp));
    }
    if (!s->consumer_id) {
        s->from[0] = '\0';
        s->producer_id = 0;
        m->publish = false;
    }
    if (c->consume_pending == 0) {
        conf__renegotiate(c);
        if (c->detached)
            conf__persist(c); /* not offered until the resume, but kept for a new process */
    }
}

void conf__media_admit(struct conf_conn *c)
{
    struct list *pos;
    if (!c->recv_t.id || !c->joined_sent)
        return; /* conf__member_ready admits it when its transports exist */
    list_for_each(pos, &c->room->members)
    {
        struct conf_conn *o = list_entry(pos, struct conf_conn, member_node);
        if (o == c || !o->admitted || !conf__media_live(o))
            continue;
        for (size_t k = 0; k < o->n_prod; k++)
            consume(c, o, &o->prod[k]);
        for (size_t k = 0; k < c->n_prod; k++)
            consume(o, c, &c->prod[k]);
        if (o->consume_pending == 0)
            conf__renegotiate(o);
    }
    if (c->consume_pending == 0)
        conf__renegotiate(c);
}

void conf__media_resumed(struct conf_conn *c)
{
    /* An offer sent to the dropped socket may never have arrived, or its answer was lost: the
     * next offer supersedes it (a later version; the browser answers the latest). */
    c->offer_out = false;
    free(c->offered);
    c->offered = NULL;
    c->offered_n = 0;
    /* Whatever was missed either way while this socket was away is made now (consume skips
     * what is already received); admission offers again in any case. */
    if (c->admitted)
        conf__media_admit(c);
    else if (c->consume_pending == 0)
        conf__renegotiate(c);
}

/* --- ICE restarts ----------------------------------------------------------------------------- */

static int restart_ice(struct conf_conn *c, struct conf_tinfo *t, int64_t re)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__RestartIceRequest req = SFU__RESTART_ICE_REQUEST__INIT;
    req.room_id = c->room->room_id;
    req.transport_id = t->id;
    env.body_case = SFU__ENVELOPE__BODY_RESTART_ICE;
    env.restart_ice = &req;
    if (conf__call(c->hub, &env, OP_RESTART, c->uid, t == &c->recv_t, c->room->room_id,
                   "restart ICE") < 0) {
        conf__send_error(c, "unavailable", "the media server cannot be reached", re);
        return -ENOTCONN;
    }
    return 0;
}

void conf__on_restart_ice(struct conf_conn *c, int64_t re)
{
    if (!c->joined_sent || !c->recv_t.id || c->n_slots == 0) {
        conf__send_error(c, "busy", "the receiving connection is not set up yet", re);
        return;
    }
    restart_ice(c, &c->recv_t, re);
}

static void offer_answer(struct conf_conn *c);

/* New ICE credentials: the receiving connection is offered them; the sending one gets them in
 * the answer to the browser's ICE-restart offer. The DTLS session and the media stay. */
static void ice_restarted(struct conf_hub *h, struct conf_op *o, int status,
                          const Sfu__Envelope *resp)
{
    struct conf_conn *c = conf__conn_find(h, o->uid);
    if (!c || !c->room)
        return;
    struct conf_tinfo *t = o->index ? &c->recv_t : &c->send_t;
    bool ok = status == 0 && resp->body_case == SFU__ENVELOPE__BODY_ICE_RESTARTED &&
              resp->ice_restarted->ice_ufrag && resp->ice_restarted->ice_pwd &&
              strlen(resp->ice_restarted->ice_ufrag) < sizeof(t->ufrag) &&
              strlen(resp->ice_restarted->ice_pwd) < sizeof(t->pwd);
    if (ok) {
        snprintf(t->ufrag, sizeof(t->ufrag), "%s", resp->ice_restarted->ice_ufrag);
        snprintf(t->pwd, sizeof(t->pwd), "%s", resp->ice_restarted->ice_pwd);
        conf__persist(c); /* the old credentials are no use to a process that takes over */
    } else {
        log_warn(TAG, "restart ICE: %s", conf__sfu_error(resp));
    }
    if (o->index == 0) {
        if (!c->offer)
            return;
        if (!ok) {
            conf__send_error(c, "unavailable", "the media server refused an ICE restart",
                             c->offer_re);
            free(c->offer);
            c->offer = NULL;
            c->offer_re = -1;
            return;
        }
        offer_answer(c);
        return;
    }
    if (ok)
        conf__renegotiate(c);
}

/* The browser now knows the SSRCs of the offer it answered: their consumers may send, starting
 * with a keyframe the SFU asks for as they resume. Sections the answer rejected stay paused. */
static void resume_answered(struct conf_conn *c, const struct sdp_remote *remote)
{
    for (size_t i = 0; i < c->offered_n && i < c->n_slots; i++) {
        struct conf_slot *s = &c->slots[i];
        if (!s->consumer_id || s->resumed || !c->offered[i].publish || remote->rejected[i] ||
            c->offered[i].ssrc != c->recv_media[i].ssrc)
            continue;
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__ResumeConsumerRequest req = SFU__RESUME_CONSUMER_REQUEST__INIT;
        req.room_id = c->room->room_id;
        req.consumer_id = s->consumer_id;
        env.body_case = SFU__ENVELOPE__BODY_RESUME_CONSUMER;
        env.resume_consumer = &req;
        if (conf__call(c->hub, &env, OP_OTHER, c->uid, i, c->room->room_id, "resume consumer") == 0)
            s->resumed = true;
    }
}

void conf__on_answer(struct conf_conn *c, const char *sdp, size_t len, uint32_t version, int64_t re)
{
    if (!c->offer_out || version != c->recv_version) {
        conf__send_error(c, "bad_message", "no receiving offer of that version is waiting", re);
        return;
    }
    struct sdp_remote remote;
    char err[256];
    int rc = sdp_answer_check(sdp, len, c->offered, c->offered_n, &remote, err, sizeof(err));
    if (rc == 0)
        resume_answered(c, &remote);
    /* Either way this offer is settled: a bad answer must not stop the next offer. */
    c->offer_out = false;
    free(c->offered);
    c->offered = NULL;
    c->offered_n = 0;
    if (rc < 0) {
        conf__send_error(c, "bad_sdp", err, re);
        c->dirty = true; /* offer again: the consumers of the refused offer wait for an answer */
    } else if (!c->recv_t.connected)
        connect_transport(c, &c->recv_t, remote.fingerprint);
    if (c->dirty)
        conf__renegotiate(c);
    else
        conf__persist(c);
}

/* --- the sending connection ----------------------------------------------------------------- */

static void close_producers(struct conf_conn *c)
{
    for (size_t i = 0; i < c->n_prod; i++)
        conf__close_producer(c->hub, c->room->room_id, c->prod[i].id);
    c->n_prod = 0;
}

static void offer_done(struct conf_conn *c)
{
    if (c->produce_failed) {
        conf__send_error(c, "bad_sdp", "the media server refused a track of this offer",
                         c->offer_re);
        close_producers(c); /* nobody is to wait on tracks that will never flow */
        free(c->offer);
        c->offer = NULL;
        c->offer_re = -1;
        conf__persist(c);
    } else {
        offer_answer(c);
    }
    if (c->admitted && c->n_prod > 0) {
        struct list *pos;
        list_for_each(pos, &c->room->members)
        {
            struct conf_conn *o = list_entry(pos, struct conf_conn, member_node);
            if (o == c || !o->admitted || !conf__media_live(o))
                continue;
            for (size_t k = 0; k < c->n_prod; k++)
                consume(o, c, &c->prod[k]);
            if (o->consume_pending == 0)
                conf__renegotiate(o);
        }
    }
}

static void produced(struct conf_hub *h, struct conf_op *o, int status, const Sfu__Envelope *resp)
{
    struct conf_conn *c = conf__conn_find(h, o->uid);
    if (!c || !c->room || !c->offer)
        return;
    if (status == 0 && resp->body_case == SFU__ENVELOPE__BODY_PRODUCED &&
        c->n_prod < CONF_MAX_PRODUCERS) {
        struct conf_producer *p = &c->prod[c->n_prod++];
        p->id = resp->produced->producer_id;
        p->media = c->offer->media[o->index];
    } else {
        log_warn(TAG, "produce: %s", conf__sfu_error(resp));
        c->produce_failed++;
    }
    if (--c->produce_pending == 0)
        offer_done(c);
}

/* Whether offer sends exactly the tracks c already produces (same MIDs and SSRCs). */
static bool same_tracks(const struct conf_conn *c, const struct sdp_publish *offer)
{
    size_t n = 0;
    if (c->n_prod == 0)
        return false;
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct sdp_media *m = &offer->media[i];
        if (!m->publish)
            continue;
        if (n >= c->n_prod || strcmp(m->mid, c->prod[n].media.mid) != 0 ||
            m->ssrc != c->prod[n].media.ssrc || m->kind != c->prod[n].media.kind)
            return false;
        n++;
    }
    return n == c->n_prod;
}

/* Answers c->offer on the sending transport as it is now, and forgets the offer. */
static void offer_answer(struct conf_conn *c)
{
    struct sdp_transport t;
    char *text = NULL;
    tinfo_view(&c->send_t, &t);
    if (sdp_answer_build(c->offer, &t, &text) < 0) {
        conf__send_error(c, "internal", "the answer could not be built", c->offer_re);
    } else {
        json_t *m = json_pack("{s:s, s:s, s:s}", "type", "answer", "pc", "send", "sdp", text);
        if (m && c->offer_re >= 0)
            json_object_set_new(m, "re", json_integer(c->offer_re));
        conf__send(c, m);
        free(text);
        snprintf(c->send_ufrag, sizeof(c->send_ufrag), "%s", c->offer->ufrag);
    }
    free(c->offer);
    c->offer = NULL;
    c->offer_re = -1;
    conf__persist(c);
}

void conf__on_offer(struct conf_conn *c, const char *sdp, size_t len, int64_t re)
{
    char err[256];
    if (!c->joined_sent || c->offer) {
        conf__send_error(c, "busy", "an offer is already being answered", re);
        return;
    }
    struct sdp_publish *offer = malloc(sizeof(*offer));
    if (!offer) {
        conf__send_error(c, "internal", "out of memory", re);
        return;
    }
    if (sdp_offer_parse(sdp, len, offer, err, sizeof(err)) < 0) {
        conf__send_error(c, "bad_sdp", err, re);
        free(offer);
        return;
    }
    size_t n_pub = 0;
    for (size_t i = 0; i < offer->n_media; i++)
        n_pub += offer->media[i].publish;
    if (n_pub == 0 || n_pub > CONF_MAX_PRODUCERS) {
        conf__send_error(c, "bad_sdp",
                         n_pub ? "too many sending tracks" : "no sending audio or video section",
                         re);
        free(offer);
        return;
    }
    if (same_tracks(c, offer)) {
        /* The tracks the SFU has already: an ICE restart (new credentials), or the same offer
         * sent again by a browser that resumed before it had the answer. */
        c->offer = offer;
        c->offer_re = re;
        if (strcmp(offer->ufrag, c->send_ufrag) == 0) {
            offer_answer(c);
        } else if (restart_ice(c, &c->send_t, re) < 0) { /* else answered by ice_restarted */
            free(c->offer);
            c->offer = NULL;
            c->offer_re = -1;
        }
        return;
    }
    /* A new offer replaces the tracks: their producers are made anew (the SFU closes the old
     * ones' consumers, and the others' receiving connections are renegotiated). */
    if (c->n_prod > 0)
        close_producers(c);
    if (!c->send_t.connected)
        connect_transport(c, &c->send_t, offer->fingerprint);
    c->offer = offer;
    c->offer_re = re;
    c->produce_pending = 0;
    c->produce_failed = 0;
    for (size_t i = 0; i < offer->n_media; i++) {
        struct sdp_media *m = &offer->media[i];
        if (!m->publish)
            continue;
        struct sdp_rtp_view v;
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__ProduceRequest req = SFU__PRODUCE_REQUEST__INIT;
        sdp_rtp_view_fill(&v, m);
        req.room_id = c->room->room_id;
        req.transport_id = c->send_t.id;
        req.kind = m->kind;
        req.rtp = &v.rtp;
        env.body_case = SFU__ENVELOPE__BODY_PRODUCE;
        env.produce = &req;
        if (conf__call(c->hub, &env, OP_PRODUCE, c->uid, i, c->room->room_id, "produce") < 0)
            c->produce_failed++;
        else
            c->produce_pending++;
    }
    if (c->produce_pending == 0)
        offer_done(c);
}

/* --- answers ------------------------------------------------------------------------------- */

void conf__on_sfu_answer(void *arg, int status, const Sfu__Envelope *resp)
{
    struct conf_op *o = arg;
    struct conf_hub *h = o->hub;
    switch (o->kind) {
    case OP_CREATE_ROOM:
        room_created(h, o, status, resp);
        break;
    case OP_CREATE_SEND:
    case OP_CREATE_RECV:
        transport_created(h, o, status, resp);
        break;
    case OP_PRODUCE:
        produced(h, o, status, resp);
        break;
    case OP_CONSUME:
        consumed(h, o, status, resp);
        break;
    case OP_CONNECT:
        connected(h, o, status, resp);
        break;
    case OP_CLAIM:
        conf__claimed(h, status, resp);
        break;
    case OP_RESTART:
        ice_restarted(h, o, status, resp);
        break;
    case OP_STATS:
        conf__stats_answered(h, o, status, resp);
        break;
    case OP_OTHER:
        if (status == 0 && resp->body_case == SFU__ENVELOPE__BODY_ERROR &&
            resp->error->code != SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND)
            log_warn(TAG, "%s: %s", o->what, conf__sfu_error(resp));
        break;
    }
    free(o);
}
