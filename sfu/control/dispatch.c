/* The worker side of the control protocol: each request becomes router calls and exactly one
 * response. */
#include "dispatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "core/pkt.h"
#include "dtls/dtls.h"
#include "loop/udp.h"
#include "loop/worker.h"
#include "router/router_int.h"

int dispatch_room_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > ROOM_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

const char *dispatch_room_id(const Sfu__Envelope *env)
{
    switch (env->body_case) {
    case SFU__ENVELOPE__BODY_CREATE_ROOM:
        return env->create_room->room_id;
    case SFU__ENVELOPE__BODY_CLOSE_ROOM:
        return env->close_room->room_id;
    case SFU__ENVELOPE__BODY_CREATE_TRANSPORT:
        return env->create_transport->room_id;
    case SFU__ENVELOPE__BODY_CONNECT_TRANSPORT:
        return env->connect_transport->room_id;
    case SFU__ENVELOPE__BODY_RESTART_ICE:
        return env->restart_ice->room_id;
    case SFU__ENVELOPE__BODY_PRODUCE:
        return env->produce->room_id;
    case SFU__ENVELOPE__BODY_CONSUME:
        return env->consume->room_id;
    case SFU__ENVELOPE__BODY_PAUSE_CONSUMER:
        return env->pause_consumer->room_id;
    case SFU__ENVELOPE__BODY_RESUME_CONSUMER:
        return env->resume_consumer->room_id;
    case SFU__ENVELOPE__BODY_REQUEST_KEYFRAME:
        return env->request_keyframe->room_id;
    case SFU__ENVELOPE__BODY_CLOSE_PRODUCER:
        return env->close_producer->room_id;
    case SFU__ENVELOPE__BODY_CLOSE_CONSUMER:
        return env->close_consumer->room_id;
    case SFU__ENVELOPE__BODY_CLOSE_TRANSPORT:
        return env->close_transport->room_id;
    case SFU__ENVELOPE__BODY_GET_STATS:
        return env->get_stats->room_id;
    default:
        return NULL;
    }
}

static void reply_error(struct worker *w, uint64_t conn_id, uint64_t id, Sfu__ErrorCode code,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void reply_error(struct worker *w, uint64_t conn_id, uint64_t id, Sfu__ErrorCode code,
                        const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__Error e = SFU__ERROR__INIT;
    e.code = code;
    e.reason = reason;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_ERROR;
    env.error = &e;
    worker_send_response(w, conn_id, &env);
}

static void reply_ok(struct worker *w, uint64_t conn_id, uint64_t id)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__Ok ok = SFU__OK__INIT;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_OK;
    env.ok = &ok;
    worker_send_response(w, conn_id, &env);
}

#define E_NOT_FOUND    SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND
#define E_INVALID      SFU__ERROR_CODE__ERROR_CODE_INVALID
#define E_EXISTS       SFU__ERROR_CODE__ERROR_CODE_EXISTS
#define E_NO_RESOURCES SFU__ERROR_CODE__ERROR_CODE_NO_RESOURCES
#define E_BAD_MESSAGE  SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE

static void do_create_transport(struct worker *w, uint64_t conn, uint64_t id, struct room *r)
{
    struct transport *t;
    int rc = transport_new(&t, r);
    if (rc < 0) {
        reply_error(w, conn, id, E_NO_RESOURCES, "transport could not be made: %s", strerror(-rc));
        return;
    }
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateTransportResponse resp = SFU__CREATE_TRANSPORT_RESPONSE__INIT;
    Sfu__IceCandidate cand = SFU__ICE_CANDIDATE__INIT;
    Sfu__IceCandidate *cands[1] = {&cand};
    Sfu__DtlsFingerprint fp = SFU__DTLS_FINGERPRINT__INIT;
    cand.foundation = "udpcand";
    /* RFC 8445 5.1.2.1 for a host candidate, component 1. */
    cand.priority = (126u << 24) | (65535u << 8) | (256u - 1u);
    cand.ip = (char *)w->cfg->announced_ip;
    cand.port = w->port;
    cand.protocol = "udp";
    cand.type = "host";
    fp.algorithm = "sha-256";
    fp.value = (char *)dtls_ctx_fingerprint(w->dtls);
    resp.transport_id = t->id;
    resp.ice_ufrag = t->ufrag;
    resp.ice_pwd = t->pwd;
    resp.n_candidates = 1;
    resp.candidates = cands;
    resp.fingerprint = &fp;
    resp.ice_lite = 1;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_TRANSPORT_CREATED;
    env.transport_created = &resp;
    worker_send_response(w, conn, &env);
}

static void do_consume(struct worker *w, uint64_t conn, uint64_t id, struct room *r,
                       const Sfu__ConsumeRequest *req)
{
    char err[200];
    struct transport *t = room_transport_find(r, req->transport_id);
    struct producer *p = room_producer_find(r, req->producer_id);
    struct consumer *c;
    if (!t) {
        reply_error(w, conn, id, E_NOT_FOUND, "transport %llx is not in room %s",
                    (unsigned long long)req->transport_id, r->id);
        return;
    }
    if (!p) {
        reply_error(w, conn, id, E_NOT_FOUND, "producer %llx is not in room %s",
                    (unsigned long long)req->producer_id, r->id);
        return;
    }
    int rc = consumer_new(&c, t, p, req, err, sizeof(err));
    if (rc < 0) {
        reply_error(w, conn, id, rc == -ENOMEM ? E_NO_RESOURCES : E_INVALID, "%s",
                    rc == -ENOMEM ? "out of memory" : err);
        return;
    }
    /* The subscriber's view: its payload types, our SSRCs, the extensions we will write. */
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ConsumeResponse resp = SFU__CONSUME_RESPONSE__INIT;
    Sfu__RtpParameters rtp = SFU__RTP_PARAMETERS__INIT;
    Sfu__Encoding enc = SFU__ENCODING__INIT;
    Sfu__Encoding *encs[1] = {&enc};
    Sfu__Codec codecs[ROUTER_MAX_CODECS];
    Sfu__Codec *codec_ptrs[ROUTER_MAX_CODECS];
    Sfu__HeaderExtension exts[ROUTER_MAX_EXTS + 2];
    Sfu__HeaderExtension *ext_ptrs[ROUTER_MAX_EXTS + 2];
    size_t nc = 0, nx = 0;
    for (unsigned i = 0; i < p->ncodecs; i++) {
        uint8_t spt = c->pt_map[p->codecs[i].pt];
        if (spt == 0xff)
            continue;
        sfu__codec__init(&codecs[nc]);
        codecs[nc].name = p->codecs[i].name;
        codecs[nc].payload_type = spt;
        codecs[nc].clock_rate = p->codecs[i].clock_rate;
        codecs[nc].channels = p->codecs[i].channels;
        codecs[nc].rtx_payload_type = c->rtx_pt_of[spt];
        codec_ptrs[nc] = &codecs[nc];
        nc++;
    }
    for (unsigned i = 0; i < p->nexts; i++) {
        uint8_t sid = c->ext_map[p->exts[i].id];
        if (!sid)
            continue;
        sfu__header_extension__init(&exts[nx]);
        exts[nx].id = sid;
        exts[nx].uri = p->exts[i].uri;
        ext_ptrs[nx] = &exts[nx];
        nx++;
    }
    if (c->mid_ext_id) {
        sfu__header_extension__init(&exts[nx]);
        exts[nx].id = c->mid_ext_id;
        exts[nx].uri = URI_MID;
        ext_ptrs[nx] = &exts[nx];
        nx++;
    }
    if (c->twcc_ext_id) {
        sfu__header_extension__init(&exts[nx]);
        exts[nx].id = c->twcc_ext_id;
        exts[nx].uri = URI_TWCC;
        ext_ptrs[nx] = &exts[nx];
        nx++;
    }
    enc.ssrc = c->ssrc;
    enc.rtx_ssrc = c->rtx_ssrc;
    rtp.mid = c->mid;
    rtp.n_codecs = nc;
    rtp.codecs = codec_ptrs;
    rtp.n_encodings = 1;
    rtp.encodings = encs;
    rtp.n_header_extensions = nx;
    rtp.header_extensions = ext_ptrs;
    resp.consumer_id = c->id;
    resp.kind = p->kind;
    resp.rtp = &rtp;
    resp.paused = c->paused;
    env.id = id;
    env.body_case = SFU__ENVELOPE__BODY_CONSUMED;
    env.consumed = &resp;
    worker_send_response(w, conn, &env);
}

static void counters_to_proto(Sfu__Counters *out, const struct counters *c)
{
    sfu__counters__init(out);
    out->packets = c->packets;
    out->bytes = c->bytes;
    out->packets_lost = c->lost;
    out->nacks = c->nacks;
    out->plis = c->plis;
    out->forwarded = c->forwarded;
    out->dropped = c->dropped;
    out->retransmitted = c->retransmitted;
}

static size_t list_count(const struct list *head)
{
    size_t n = 0;
    const struct list *pos;
    list_for_each(pos, head) n++;
    return n;
}

/* The room's counters as a response to conn (event false) or as a stats event to the room's
 * owner (event true). */
static void do_get_stats(struct worker *w, uint64_t conn, uint64_t id, struct room *r, bool event)
{
    size_t nt = list_count(&r->transports), np = list_count(&r->producers),
           nc = list_count(&r->consumers);
    /* One block for every message and pointer array of the response. */
    size_t size = nt * (sizeof(Sfu__TransportStats) + 2 * sizeof(Sfu__Counters) + sizeof(void *)) +
                  np * (sizeof(Sfu__ProducerStats) + sizeof(Sfu__Counters) + sizeof(void *)) +
                  nc * (sizeof(Sfu__ConsumerStats) + sizeof(Sfu__Counters) + sizeof(void *));
    uint8_t *mem = calloc(1, size ? size : 1);
    if (!mem) {
        if (!event)
            reply_error(w, conn, id, E_NO_RESOURCES, "out of memory");
        return;
    }
    Sfu__TransportStats *ts = (Sfu__TransportStats *)mem;
    Sfu__ProducerStats *ps = (Sfu__ProducerStats *)(ts + nt);
    Sfu__ConsumerStats *cs = (Sfu__ConsumerStats *)(ps + np);
    Sfu__Counters *cnt = (Sfu__Counters *)(cs + nc);
    void **ptrs = (void **)(cnt + 2 * nt + np + nc);
    Sfu__TransportStats **tsp = (Sfu__TransportStats **)ptrs;
    Sfu__ProducerStats **psp = (Sfu__ProducerStats **)(ptrs + nt);
    Sfu__ConsumerStats **csp = (Sfu__ConsumerStats **)(ptrs + nt + np);
    size_t i = 0;
    struct list *pos;
    list_for_each(pos, &r->transports)
    {
        struct transport *t = list_entry(pos, struct transport, room_node);
        sfu__transport_stats__init(&ts[i]);
        ts[i].id = t->id;
        ts[i].state = (Sfu__TransportState)t->state;
        counters_to_proto(cnt, &t->rx);
        ts[i].rx = cnt++;
        counters_to_proto(cnt, &t->tx);
        ts[i].tx = cnt++;
        tsp[i] = &ts[i];
        i++;
    }
    i = 0;
    list_for_each(pos, &r->producers)
    {
        struct producer *p = list_entry(pos, struct producer, room_node);
        sfu__producer_stats__init(&ps[i]);
        ps[i].id = p->id;
        counters_to_proto(cnt, &p->counters);
        ps[i].counters = cnt++;
        psp[i] = &ps[i];
        i++;
    }
    i = 0;
    list_for_each(pos, &r->consumers)
    {
        struct consumer *c = list_entry(pos, struct consumer, room_node);
        sfu__consumer_stats__init(&cs[i]);
        cs[i].id = c->id;
        counters_to_proto(cnt, &c->counters);
        cs[i].counters = cnt++;
        csp[i] = &cs[i];
        i++;
    }
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__StatsResponse st = SFU__STATS_RESPONSE__INIT;
    st.room_id = r->id;
    st.n_transports = nt;
    st.transports = tsp;
    st.n_producers = np;
    st.producers = psp;
    st.n_consumers = nc;
    st.consumers = csp;
    env.id = id;
    if (event) {
        env.body_case = SFU__ENVELOPE__BODY_STATS_EVENT;
        env.stats_event = &st;
        worker_send_event(w, r->id, r->gen, &env);
    } else {
        env.body_case = SFU__ENVELOPE__BODY_STATS;
        env.stats = &st;
        worker_send_response(w, conn, &env);
    }
    free(mem);
}

void dispatch_stats_events(struct worker *w)
{
    for (size_t b = 0; b <= w->rooms.mask; b++) {
        for (struct hmap_node *n = w->rooms.buckets[b]; n; n = n->next)
            do_get_stats(w, 0, 0, (struct room *)((char *)n - offsetof(struct room, node)), true);
    }
}

static void dispatch_in_room(struct worker *w, uint64_t conn, const Sfu__Envelope *env,
                             struct room *r)
{
    uint64_t id = env->id;
    char err[200];
    int rc;
    switch (env->body_case) {
    case SFU__ENVELOPE__BODY_CLOSE_ROOM:
        room_free(r);
        reply_ok(w, conn, id);
        return;
    case SFU__ENVELOPE__BODY_CREATE_TRANSPORT:
        do_create_transport(w, conn, id, r);
        return;
    case SFU__ENVELOPE__BODY_CONNECT_TRANSPORT: {
        const Sfu__ConnectTransportRequest *req = env->connect_transport;
        struct transport *t = room_transport_find(r, req->transport_id);
        if (!t) {
            reply_error(w, conn, id, E_NOT_FOUND, "transport %llx is not in room %s",
                        (unsigned long long)req->transport_id, r->id);
            return;
        }
        if (!req->fingerprint || !req->fingerprint->algorithm || !req->fingerprint->value) {
            reply_error(w, conn, id, E_INVALID, "fingerprint: algorithm and value needed");
            return;
        }
        rc = transport_connect(t, req->fingerprint->algorithm, req->fingerprint->value);
        if (rc == -EINVAL)
            reply_error(w, conn, id, E_INVALID,
                        "fingerprint: unknown algorithm or malformed value");
        else if (rc == -EALREADY)
            reply_error(w, conn, id, E_INVALID, "fingerprint: the transport is already connected");
        else if (rc == -EPIPE)
            reply_error(w, conn, id, E_INVALID,
                        "fingerprint: DTLS on this transport has failed or "
                        "closed");
        else if (rc < 0)
            reply_error(w, conn, id, E_INVALID, "fingerprint: %s", strerror(-rc));
        else
            reply_ok(w, conn, id);
        return;
    }
    case SFU__ENVELOPE__BODY_RESTART_ICE: {
        struct transport *t = room_transport_find(r, env->restart_ice->transport_id);
        if (!t) {
            reply_error(w, conn, id, E_NOT_FOUND, "transport %llx is not in room %s",
                        (unsigned long long)env->restart_ice->transport_id, r->id);
            return;
        }
        rc = transport_restart_ice(t);
        if (rc < 0) {
            reply_error(w, conn, id, E_NO_RESOURCES, "new ICE credentials: %s", strerror(-rc));
            return;
        }
        Sfu__Envelope out = SFU__ENVELOPE__INIT;
        Sfu__RestartIceResponse resp = SFU__RESTART_ICE_RESPONSE__INIT;
        resp.ice_ufrag = t->ufrag;
        resp.ice_pwd = t->pwd;
        out.id = id;
        out.body_case = SFU__ENVELOPE__BODY_ICE_RESTARTED;
        out.ice_restarted = &resp;
        worker_send_response(w, conn, &out);
        return;
    }
    case SFU__ENVELOPE__BODY_PRODUCE: {
        struct transport *t = room_transport_find(r, env->produce->transport_id);
        struct producer *p;
        if (!t) {
            reply_error(w, conn, id, E_NOT_FOUND, "transport %llx is not in room %s",
                        (unsigned long long)env->produce->transport_id, r->id);
            return;
        }
        rc = producer_new(&p, t, env->produce, err, sizeof(err));
        if (rc < 0) {
            reply_error(w, conn, id, rc == -ENOMEM ? E_NO_RESOURCES : E_INVALID, "%s", err);
            return;
        }
        Sfu__Envelope out = SFU__ENVELOPE__INIT;
        Sfu__ProduceResponse resp = SFU__PRODUCE_RESPONSE__INIT;
        resp.producer_id = p->id;
        out.id = id;
        out.body_case = SFU__ENVELOPE__BODY_PRODUCED;
        out.produced = &resp;
        worker_send_response(w, conn, &out);
        return;
    }
    case SFU__ENVELOPE__BODY_CONSUME:
        do_consume(w, conn, id, r, env->consume);
        return;
    case SFU__ENVELOPE__BODY_PAUSE_CONSUMER:
    case SFU__ENVELOPE__BODY_RESUME_CONSUMER: {
        bool pause = env->body_case == SFU__ENVELOPE__BODY_PAUSE_CONSUMER;
        uint64_t cid = pause ? env->pause_consumer->consumer_id : env->resume_consumer->consumer_id;
        struct consumer *c = room_consumer_find(r, cid);
        if (!c) {
            reply_error(w, conn, id, E_NOT_FOUND, "consumer %llx is not in room %s",
                        (unsigned long long)cid, r->id);
            return;
        }
        consumer_pause(c, pause);
        reply_ok(w, conn, id);
        return;
    }
    case SFU__ENVELOPE__BODY_REQUEST_KEYFRAME: {
        struct producer *p = room_producer_find(r, env->request_keyframe->producer_id);
        if (!p) {
            reply_error(w, conn, id, E_NOT_FOUND, "producer %llx is not in room %s",
                        (unsigned long long)env->request_keyframe->producer_id, r->id);
            return;
        }
        producer_request_keyframe(p, false);
        reply_ok(w, conn, id);
        return;
    }
    case SFU__ENVELOPE__BODY_CLOSE_PRODUCER: {
        struct producer *p = room_producer_find(r, env->close_producer->producer_id);
        if (!p) {
            reply_error(w, conn, id, E_NOT_FOUND, "producer %llx is not in room %s",
                        (unsigned long long)env->close_producer->producer_id, r->id);
            return;
        }
        producer_free(p);
        reply_ok(w, conn, id);
        return;
    }
    case SFU__ENVELOPE__BODY_CLOSE_CONSUMER: {
        struct consumer *c = room_consumer_find(r, env->close_consumer->consumer_id);
        if (!c) {
            reply_error(w, conn, id, E_NOT_FOUND, "consumer %llx is not in room %s",
                        (unsigned long long)env->close_consumer->consumer_id, r->id);
            return;
        }
        consumer_free(c);
        reply_ok(w, conn, id);
        return;
    }
    case SFU__ENVELOPE__BODY_CLOSE_TRANSPORT: {
        struct transport *t = room_transport_find(r, env->close_transport->transport_id);
        if (!t) {
            reply_error(w, conn, id, E_NOT_FOUND, "transport %llx is not in room %s",
                        (unsigned long long)env->close_transport->transport_id, r->id);
            return;
        }
        transport_close(t, "closed by request");
        reply_ok(w, conn, id);
        return;
    }
    case SFU__ENVELOPE__BODY_GET_STATS:
        do_get_stats(w, conn, id, r, false);
        return;
    default:
        reply_error(w, conn, id, SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST,
                    "request %d is not handled by a worker", (int)env->body_case);
        return;
    }
}

void dispatch_request(struct worker *w, uint64_t conn_id, Sfu__Envelope *env, uint64_t room_gen)
{
    const char *room_id = dispatch_room_id(env);
    if (!room_id || !dispatch_room_id_valid(room_id)) {
        reply_error(w, conn_id, env->id, E_BAD_MESSAGE,
                    "room_id: 1 to %d characters of A-Z a-z 0-9 _ . : - needed", ROOM_ID_MAX);
    } else if (env->body_case == SFU__ENVELOPE__BODY_CREATE_ROOM) {
        struct room *r;
        if (room_find(w, room_id)) {
            reply_error(w, conn_id, env->id, E_EXISTS, "room %s exists", room_id);
            worker_send_room_closed(w, room_id, room_gen);
        } else if (room_new(&r, w, room_id, room_gen) < 0) {
            reply_error(w, conn_id, env->id, E_NO_RESOURCES, "out of memory");
            worker_send_room_closed(w, room_id, room_gen);
        } else {
            reply_ok(w, conn_id, env->id);
        }
    } else {
        struct room *r = room_find(w, room_id);
        if (!r)
            reply_error(w, conn_id, env->id, E_NOT_FOUND, "room %s does not exist", room_id);
        else
            dispatch_in_room(w, conn_id, env, r);
    }
    sfu__envelope__free_unpacked(env, NULL);
}

int dispatch_list_rooms(struct worker *w, uint8_t **out, size_t *len)
{
    Sfu__ListRoomsResponse resp = SFU__LIST_ROOMS_RESPONSE__INIT;
    size_t nrooms = w->rooms.count, ri = 0;
    int rc = -ENOMEM;
    Sfu__RoomInfo *rooms = calloc(nrooms ? nrooms : 1, sizeof(*rooms));
    Sfu__RoomInfo **room_ptrs = calloc(nrooms ? nrooms : 1, sizeof(*room_ptrs));
    if (!rooms || !room_ptrs)
        goto out;
    for (size_t b = 0; b <= w->rooms.mask; b++) {
        for (struct hmap_node *n = w->rooms.buckets[b]; n; n = n->next) {
            struct room *r = (struct room *)((char *)n - offsetof(struct room, node));
            Sfu__RoomInfo *ri_ = &rooms[ri];
            sfu__room_info__init(ri_);
            ri_->room_id = r->id;
            ri_->worker = w->index;
            ri_->n_transports = list_count(&r->transports);
            ri_->n_producers = list_count(&r->producers);
            ri_->n_consumers = list_count(&r->consumers);
            ri_->transports =
                calloc(ri_->n_transports + 1, sizeof(void *) + sizeof(Sfu__TransportInfo));
            ri_->producers =
                calloc(ri_->n_producers + 1, sizeof(void *) + sizeof(Sfu__ProducerInfo));
            ri_->consumers =
                calloc(ri_->n_consumers + 1, sizeof(void *) + sizeof(Sfu__ConsumerInfo));
            room_ptrs[ri++] = ri_;
            if (!ri_->transports || !ri_->producers || !ri_->consumers)
                goto out;
            Sfu__TransportInfo *ti =
                (Sfu__TransportInfo *)(ri_->transports + ri_->n_transports + 1);
            Sfu__ProducerInfo *pi = (Sfu__ProducerInfo *)(ri_->producers + ri_->n_producers + 1);
            Sfu__ConsumerInfo *ci = (Sfu__ConsumerInfo *)(ri_->consumers + ri_->n_consumers + 1);
            size_t i = 0;
            struct list *pos;
            list_for_each(pos, &r->transports)
            {
                struct transport *t = list_entry(pos, struct transport, room_node);
                sfu__transport_info__init(&ti[i]);
                ti[i].id = t->id;
                ti[i].state = (Sfu__TransportState)t->state;
                ti[i].ice_ufrag = t->ufrag;
                ri_->transports[i] = &ti[i];
                i++;
            }
            i = 0;
            list_for_each(pos, &r->producers)
            {
                struct producer *p = list_entry(pos, struct producer, room_node);
                sfu__producer_info__init(&pi[i]);
                pi[i].id = p->id;
                pi[i].transport_id = p->transport->id;
                pi[i].kind = p->kind;
                pi[i].mid = p->mid;
                ri_->producers[i] = &pi[i];
                i++;
            }
            i = 0;
            list_for_each(pos, &r->consumers)
            {
                struct consumer *c = list_entry(pos, struct consumer, room_node);
                sfu__consumer_info__init(&ci[i]);
                ci[i].id = c->id;
                ci[i].transport_id = c->transport->id;
                ci[i].producer_id = c->producer->id;
                ci[i].paused = c->paused;
                ri_->consumers[i] = &ci[i];
                i++;
            }
        }
    }
    resp.n_rooms = ri;
    resp.rooms = room_ptrs;
    Sfu__WorkerStats ws = SFU__WORKER_STATS__INIT;
    Sfu__WorkerStats *ws_ptr = &ws;
    struct udp_stats us;
    struct pkt_pool_stats ps;
    udp_port_stats_get(w->udp, &us);
    pkt_pool_stats_get(w->pool, &ps);
    ws.index = w->index;
    ws.port = w->port;
    ws.rx_datagrams = us.rx_packets;
    ws.rx_stun = w->counters.rx_stun;
    ws.rx_dtls = w->counters.rx_dtls;
    ws.rx_srtp = w->counters.rx_srtp;
    ws.rx_unknown = w->counters.rx_unknown;
    ws.rx_no_transport = w->counters.rx_no_transport;
    ws.stun_refused = w->counters.stun_refused;
    ws.srtp_failed = w->counters.srtp_failed;
    ws.pool_empty = w->counters.pool_empty + ps.exhausted;
    ws.pool_in_use = ps.in_use;
    ws.tx_datagrams = us.tx_packets;
    ws.tx_dropped = us.tx_dropped;
    ws.rx_batches = us.rx_batches;
    ws.tx_batches = us.tx_batches;
    resp.n_workers = 1;
    resp.workers = &ws_ptr;
    *len = sfu__list_rooms_response__get_packed_size(&resp);
    *out = malloc(*len ? *len : 1);
    if (*out) {
        sfu__list_rooms_response__pack(&resp, *out);
        rc = 0;
    }
out:
    for (size_t i = 0; rooms && i < ri; i++) {
        free(rooms[i].transports);
        free(rooms[i].producers);
        free(rooms[i].consumers);
    }
    free(rooms);
    free(room_ptrs);
    return rc;
}
