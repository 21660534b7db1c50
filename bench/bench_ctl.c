/* Control-protocol calls that set up rooms, transports, simulated peers, producers and
 * consumers on an SFU, through proto/ctl_client: shared by the benchmarks and the integration
 * tests. */
#include "bench_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BENCH_CTL_TIMEOUT_MS 5000

/* One request; the response (caller frees) or NULL on a transport error or an Error answer,
 * which is printed with what. */
static Sfu__Envelope *bench_ctl_do(struct ctl_client *c, Sfu__Envelope *req, const char *what)
{
    Sfu__Envelope *resp = NULL;
    int rc = ctl_client_call(c, req, &resp, BENCH_CTL_TIMEOUT_MS);
    if (rc < 0) {
        fprintf(stderr, "bench: %s: %s\n", what, strerror(-rc));
        return NULL;
    }
    if (resp->body_case == SFU__ENVELOPE__BODY_ERROR) {
        fprintf(stderr, "bench: %s: error %d %s\n", what, (int)resp->error->code,
                resp->error->reason ? resp->error->reason : "");
        sfu__envelope__free_unpacked(resp, NULL);
        return NULL;
    }
    return resp;
}

/* Sends req and expects an answer with body want. Returns the answer or NULL. */
static Sfu__Envelope *bench_ctl_expect(struct ctl_client *c, Sfu__Envelope *req,
                                       Sfu__Envelope__BodyCase want, const char *what)
{
    Sfu__Envelope *resp = bench_ctl_do(c, req, what);
    if (resp && resp->body_case != want) {
        fprintf(stderr, "bench: %s: unexpected answer %d\n", what, (int)resp->body_case);
        sfu__envelope__free_unpacked(resp, NULL);
        return NULL;
    }
    return resp;
}

/* 0 for an Ok answer, the error code for an Error answer, -EIO without an answer. */
static int bench_ctl_ok_or_code(struct ctl_client *c, Sfu__Envelope *req)
{
    Sfu__Envelope *resp = NULL;
    int rc = -EIO;
    if (ctl_client_call(c, req, &resp, BENCH_CTL_TIMEOUT_MS) < 0)
        return -EIO;
    if (resp->body_case == SFU__ENVELOPE__BODY_OK)
        rc = 0;
    else if (resp->body_case == SFU__ENVELOPE__BODY_ERROR)
        rc = (int)resp->error->code;
    sfu__envelope__free_unpacked(resp, NULL);
    return rc;
}

int bench_ctl_create_room(struct ctl_client *c, const char *room)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateRoomRequest req = SFU__CREATE_ROOM_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
    env.create_room = &req;
    return bench_ctl_ok_or_code(c, &env);
}

/* Closes the room before the SFU is stopped, so that its shutdown has no room left to keep for a
 * reconnecting controller. */
void bench_ctl_close_room(struct ctl_client *c, const char *room)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CloseRoomRequest req = SFU__CLOSE_ROOM_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_CLOSE_ROOM;
    env.close_room = &req;
    Sfu__Envelope *r = bench_ctl_do(c, &env, "close room");
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
}

int bench_ctl_create_transport(struct ctl_client *c, const char *room, struct bench_transport *t)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__CreateTransportRequest ct = SFU__CREATE_TRANSPORT_REQUEST__INIT;
    ct.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_CREATE_TRANSPORT;
    env.create_transport = &ct;
    Sfu__Envelope *r =
        bench_ctl_expect(c, &env, SFU__ENVELOPE__BODY_TRANSPORT_CREATED, "create transport");
    if (!r)
        return -EIO;
    Sfu__CreateTransportResponse *tr = r->transport_created;
    if (tr->n_candidates == 0 || !tr->fingerprint) {
        sfu__envelope__free_unpacked(r, NULL);
        return -EPROTO;
    }
    memset(t, 0, sizeof(*t));
    t->id = tr->transport_id;
    snprintf(t->ufrag, sizeof(t->ufrag), "%s", tr->ice_ufrag);
    snprintf(t->pwd, sizeof(t->pwd), "%s", tr->ice_pwd);
    snprintf(t->fingerprint, sizeof(t->fingerprint), "%s", tr->fingerprint->value);
    snprintf(t->cand.ip, sizeof(t->cand.ip), "%s", tr->candidates[0]->ip);
    t->cand.port = (uint16_t)tr->candidates[0]->port;
    t->cand.priority = tr->candidates[0]->priority;
    snprintf(t->cand.foundation, sizeof(t->cand.foundation), "%s", tr->candidates[0]->foundation);
    sfu__envelope__free_unpacked(r, NULL);
    return 0;
}

int bench_ctl_connect_transport(struct ctl_client *c, const char *room, uint64_t tid,
                                const char *fingerprint)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ConnectTransportRequest conn = SFU__CONNECT_TRANSPORT_REQUEST__INIT;
    Sfu__DtlsFingerprint dfp = SFU__DTLS_FINGERPRINT__INIT;
    dfp.algorithm = "sha-256";
    dfp.value = (char *)fingerprint;
    conn.room_id = (char *)room;
    conn.transport_id = tid;
    conn.fingerprint = &dfp;
    env.body_case = SFU__ENVELOPE__BODY_CONNECT_TRANSPORT;
    env.connect_transport = &conn;
    return bench_ctl_ok_or_code(c, &env);
}

int bench_ctl_join(struct ctl_client *c, const char *room, const struct peer_cbs *cbs, void *arg,
                   struct peer **out_peer, uint64_t *out_tid)
{
    struct bench_transport t;
    struct peer *p = NULL;
    int rc;

    if ((rc = bench_ctl_create_transport(c, room, &t)) < 0)
        return rc;
    if ((rc = peer_new(&p, NULL, cbs, arg)) < 0) {
        fprintf(stderr, "bench: peer_new: %s\n", strerror(-rc));
        return rc;
    }
    if ((rc = bench_ctl_connect_transport(c, room, t.id, peer_fingerprint(p))) != 0) {
        fprintf(stderr, "bench: connect transport: %d\n", rc);
        peer_free(p);
        return -EIO;
    }
    if ((rc = peer_set_remote(p, t.ufrag, t.pwd, &t.cand, 1, t.fingerprint)) < 0 ||
        (rc = peer_wait_state(p, PEER_STATE_CONNECTED, 10000)) < 0) {
        fprintf(stderr, "bench: peer did not connect: %s\n", strerror(-rc));
        peer_free(p);
        return rc;
    }
    *out_peer = p;
    *out_tid = t.id;
    return 0;
}

static const char *const uri_mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
static const char *const uri_twcc =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/* VP8 pt 96 (RTX 97) with MID (id 1) and transport-cc (id 3), as Chrome offers. Returns the
 * producer id or 0. */
uint64_t bench_ctl_produce_bwe(struct ctl_client *c, const char *room, uint64_t tid, uint32_t ssrc,
                               uint32_t rtx_ssrc, enum bench_bwe bwe)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ProduceRequest req = SFU__PRODUCE_REQUEST__INIT;
    Sfu__RtpParameters rtp = SFU__RTP_PARAMETERS__INIT;
    Sfu__Codec codec = SFU__CODEC__INIT;
    Sfu__Codec *codecs[1] = {&codec};
    Sfu__Encoding enc = SFU__ENCODING__INIT;
    Sfu__Encoding *encs[1] = {&enc};
    Sfu__HeaderExtension mid = SFU__HEADER_EXTENSION__INIT, twcc = SFU__HEADER_EXTENSION__INIT;
    Sfu__HeaderExtension *exts[2] = {&mid, &twcc};
    char *fb[] = {"nack", "nack pli", "ccm fir",
                  bwe == BENCH_BWE_REMB ? "goog-remb" : "transport-cc"};
    codec.name = "VP8";
    codec.payload_type = 96;
    codec.clock_rate = 90000;
    codec.rtx_payload_type = 97;
    codec.n_rtcp_fb = 4;
    codec.rtcp_fb = fb;
    enc.ssrc = ssrc;
    enc.rtx_ssrc = rtx_ssrc;
    mid.id = 1;
    mid.uri = (char *)uri_mid;
    twcc.id = 3;
    twcc.uri = (char *)uri_twcc;
    rtp.mid = "0";
    rtp.n_codecs = 1;
    rtp.codecs = codecs;
    rtp.n_encodings = 1;
    rtp.encodings = encs;
    /* With REMB the transport-wide sequence extension is not negotiated at all. */
    rtp.n_header_extensions = bwe == BENCH_BWE_REMB ? 1 : 2;
    rtp.header_extensions = exts;
    req.room_id = (char *)room;
    req.transport_id = tid;
    req.kind = SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    req.rtp = &rtp;
    env.body_case = SFU__ENVELOPE__BODY_PRODUCE;
    env.produce = &req;
    Sfu__Envelope *r = bench_ctl_expect(c, &env, SFU__ENVELOPE__BODY_PRODUCED, "produce");
    if (!r)
        return 0;
    uint64_t id = r->produced->producer_id;
    sfu__envelope__free_unpacked(r, NULL);
    return id;
}

uint64_t bench_ctl_produce(struct ctl_client *c, const char *room, uint64_t tid, uint32_t ssrc,
                           uint32_t rtx_ssrc)
{
    return bench_ctl_produce_bwe(c, room, tid, ssrc, rtx_ssrc, BENCH_BWE_TWCC);
}

Sfu__Envelope *bench_ctl_consume_vp8(struct ctl_client *c, const char *room, uint64_t tid,
                                     uint64_t producer, const char *mid_value)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ConsumeRequest req = SFU__CONSUME_REQUEST__INIT;
    Sfu__Codec codec = SFU__CODEC__INIT;
    Sfu__Codec *codecs[1] = {&codec};
    Sfu__HeaderExtension mid = SFU__HEADER_EXTENSION__INIT, twcc = SFU__HEADER_EXTENSION__INIT;
    Sfu__HeaderExtension *exts[2] = {&mid, &twcc};
    codec.name = "VP8";
    codec.payload_type = 100;
    codec.clock_rate = 90000;
    codec.rtx_payload_type = 101;
    mid.id = 4;
    mid.uri = (char *)uri_mid;
    twcc.id = 5;
    twcc.uri = (char *)uri_twcc;
    req.room_id = (char *)room;
    req.transport_id = tid;
    req.producer_id = producer;
    req.mid = (char *)mid_value;
    req.n_codecs = 1;
    req.codecs = codecs;
    req.n_header_extensions = 2;
    req.header_extensions = exts;
    env.body_case = SFU__ENVELOPE__BODY_CONSUME;
    env.consume = &req;
    Sfu__Envelope *resp = NULL;
    if (ctl_client_call(c, &env, &resp, BENCH_CTL_TIMEOUT_MS) < 0)
        return NULL;
    return resp;
}

int bench_ctl_consume(struct ctl_client *c, const char *room, uint64_t tid, uint64_t producer)
{
    Sfu__Envelope *r = bench_ctl_consume_vp8(c, room, tid, producer, "0");
    int rc = r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED ? 0 : -EIO;
    if (r && r->body_case == SFU__ENVELOPE__BODY_ERROR)
        fprintf(stderr, "bench: consume: error %d %s\n", (int)r->error->code,
                r->error->reason ? r->error->reason : "");
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    return rc;
}

/* Sums the consumers' forwarded and dropped counters of room. Returns 0 or -EIO. */
int bench_ctl_forwarded(struct ctl_client *c, const char *room, bool verbose, uint64_t *fwd,
                        uint64_t *dropped)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &req;
    Sfu__Envelope *r = bench_ctl_expect(c, &env, SFU__ENVELOPE__BODY_STATS, "get stats");
    if (!r)
        return -EIO;
    *fwd = 0;
    *dropped = 0;
    if (verbose) {
        for (size_t k = 0; k < r->stats->n_producers; k++)
            if (r->stats->producers[k]->counters)
                fprintf(stderr, "  producer %zu: packets %llu lost %llu dropped %llu\n", k,
                        (unsigned long long)r->stats->producers[k]->counters->packets,
                        (unsigned long long)r->stats->producers[k]->counters->packets_lost,
                        (unsigned long long)r->stats->producers[k]->counters->dropped);
        for (size_t k = 0; k < r->stats->n_transports; k++) {
            Sfu__TransportStats *t = r->stats->transports[k];
            if (t->rx && t->tx)
                fprintf(stderr, "  transport %zu: rx %llu dropped %llu, tx %llu dropped %llu\n", k,
                        (unsigned long long)t->rx->packets, (unsigned long long)t->rx->dropped,
                        (unsigned long long)t->tx->packets, (unsigned long long)t->tx->dropped);
        }
        for (size_t k = 0; k < r->stats->n_consumers; k++)
            if (r->stats->consumers[k]->counters)
                fprintf(stderr,
                        "  consumer %zu: forwarded %llu dropped %llu nacks %llu plis %llu\n", k,
                        (unsigned long long)r->stats->consumers[k]->counters->forwarded,
                        (unsigned long long)r->stats->consumers[k]->counters->dropped,
                        (unsigned long long)r->stats->consumers[k]->counters->nacks,
                        (unsigned long long)r->stats->consumers[k]->counters->plis);
    }
    for (size_t k = 0; k < r->stats->n_consumers; k++) {
        if (!r->stats->consumers[k]->counters)
            continue;
        *fwd += r->stats->consumers[k]->counters->forwarded;
        *dropped += r->stats->consumers[k]->counters->dropped;
    }
    sfu__envelope__free_unpacked(r, NULL);
    return 0;
}
