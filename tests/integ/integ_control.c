/* (g) The control protocol against the real SFU: bad frames and requests get the right Error
 * and the connection carries on; a dropped control connection leaves the call running until a
 * new connection claims its room, or until the grace period closes it; TCP control with the
 * shared secret. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "ctl_frame.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtp.h"

#define PAYLOAD_LEN 120
#define WINDOW      128
#define MAX_PACKETS 40000
#define PUB_SSRC    0x51a7e001u

#define E_BAD_MESSAGE     SFU__ERROR_CODE__ERROR_CODE_BAD_MESSAGE
#define E_UNKNOWN_REQUEST SFU__ERROR_CODE__ERROR_CODE_UNKNOWN_REQUEST
#define E_NOT_FOUND       SFU__ERROR_CODE__ERROR_CODE_NOT_FOUND
#define E_TOO_LARGE       SFU__ERROR_CODE__ERROR_CODE_TOO_LARGE
#define E_NOT_OWNER       SFU__ERROR_CODE__ERROR_CODE_NOT_OWNER

/* --- helpers -------------------------------------------------------------------------------- */

/* Sends a length prefix and body as they are. */
static int send_frame(struct ctl_client *c, const uint8_t *body, size_t len)
{
    uint8_t hdr[4];
    be32_store(hdr, (uint32_t)len);
    int rc = ctl_client_send_raw(c, hdr, sizeof(hdr));
    return rc < 0 || len == 0 ? rc : ctl_client_send_raw(c, body, len);
}

/* Receives the next envelope and checks it is an Error with code, id and a reason. */
static int expect_error(struct ctl_client *c, uint64_t id, Sfu__ErrorCode code)
{
    Sfu__Envelope *env = NULL;
    int ok;
    if (ctl_client_recv(c, &env, 5000) < 0 || !env)
        return -1;
    ok = env->body_case == SFU__ENVELOPE__BODY_ERROR && env->id == id && env->error->code == code &&
         env->error->reason && env->error->reason[0];
    if (!ok)
        fprintf(stderr, "wanted error %d for id %llu, got body %d id %llu code %d\n", (int)code,
                (unsigned long long)id, (int)env->body_case, (unsigned long long)env->id,
                env->body_case == SFU__ENVELOPE__BODY_ERROR ? (int)env->error->code : -1);
    sfu__envelope__free_unpacked(env, NULL);
    return ok ? 0 : -1;
}

/* Makes the call and checks the answer is an Error with code whose reason contains want
 * (when want is not NULL). */
static int call_error(struct ctl_client *c, Sfu__Envelope *req, Sfu__ErrorCode code,
                      const char *want)
{
    Sfu__Envelope *r = integ_call(c, req);
    int ok = r && r->body_case == SFU__ENVELOPE__BODY_ERROR && r->error->code == code &&
             r->error->reason && r->error->reason[0] && (!want || strstr(r->error->reason, want));
    if (!ok)
        fprintf(stderr, "request %d: wanted error %d (%s), got body %d code %d reason %s\n",
                (int)req->body_case, (int)code, want ? want : "", r ? (int)r->body_case : -1,
                r && r->body_case == SFU__ENVELOPE__BODY_ERROR ? (int)r->error->code : -1,
                r && r->body_case == SFU__ENVELOPE__BODY_ERROR ? r->error->reason : "");
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    return ok ? 0 : -1;
}

static const Sfu__RoomInfo *room_in(const Sfu__Envelope *rooms, const char *id)
{
    for (size_t k = 0; k < rooms->rooms->n_rooms; k++)
        if (strcmp(rooms->rooms->rooms[k]->room_id, id) == 0)
            return rooms->rooms->rooms[k];
    return NULL;
}

static Sfu__Envelope *claim_rooms(struct ctl_client *c, const char *room)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ClaimRoomsRequest req = SFU__CLAIM_ROOMS_REQUEST__INIT;
    char *ids[1] = {(char *)room};
    req.n_room_ids = 1;
    req.room_ids = ids;
    env.body_case = SFU__ENVELOPE__BODY_CLAIM_ROOMS;
    env.claim_rooms = &req;
    return integ_call(c, &env);
}

static int claim_code(struct ctl_client *c, const char *room)
{
    Sfu__Envelope *r = claim_rooms(c, room);
    int rc = !r                                          ? -1
             : r->body_case == SFU__ENVELOPE__BODY_OK    ? 0
             : r->body_case == SFU__ENVELOPE__BODY_ERROR ? (int)r->error->code
                                                         : -1;
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    return rc;
}

/* GetStats on room: 0 when answered with stats, else the error code (or -1). */
static int stats_code(struct ctl_client *c, const char *room)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__GetStatsRequest req = SFU__GET_STATS_REQUEST__INIT;
    req.room_id = (char *)room;
    env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
    env.get_stats = &req;
    Sfu__Envelope *r = integ_call(c, &env);
    int rc = !r                                          ? -1
             : r->body_case == SFU__ENVELOPE__BODY_STATS ? 0
             : r->body_case == SFU__ENVELOPE__BODY_ERROR ? (int)r->error->code
                                                         : -1;
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    return rc;
}

/* --- a call: one publisher, one subscriber, paced by what arrives ---------------------------- */

struct call {
    struct peer *pub, *sub;
    uint64_t pub_t, sub_t, prod;
    _Atomic uint64_t received;
    _Atomic uint64_t bad;
    int32_t last_index;
    _Atomic uint32_t sent;
    atomic_bool stop;
    int err;
    pthread_t th;
};

static void make_payload(uint32_t i, uint8_t *out)
{
    out[0] = (i % 10 == 0) ? 0x10 : 0x00;
    out[1] = (i == 0) ? 0x00 : 0x01;
    be32_store(out + 2, i);
    for (size_t k = 6; k < PAYLOAD_LEN; k++)
        out[k] = (uint8_t)(i * 13 + k);
}

static void on_sub_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct call *c = arg;
    struct rtp_view v;
    uint8_t want[PAYLOAD_LEN];
    if (rtp_view_parse(&v, buf, len) < 0 || v.payload_len != PAYLOAD_LEN) {
        atomic_fetch_add(&c->bad, 1);
        return;
    }
    uint32_t i = be32_load(v.payload + 2);
    make_payload(i, want);
    uint64_t n = atomic_fetch_add(&c->received, 1);
    if (memcmp(v.payload, want, PAYLOAD_LEN) != 0 || (n == 0 && i != 0) ||
        (n > 0 && (int32_t)i != c->last_index + 1))
        atomic_fetch_add(&c->bad, 1);
    c->last_index = (int32_t)i;
}

static void *call_stream(void *arg)
{
    struct call *c = arg;
    uint8_t pkt[12 + PAYLOAD_LEN];
    for (uint32_t i = 0; i < MAX_PACKETS && !atomic_load(&c->stop); i++) {
        pkt[0] = 0x80;
        pkt[1] = (uint8_t)(96 | ((i % 10 == 9) ? 0x80 : 0));
        be16_store(pkt + 2, (uint16_t)(7 + i));
        be32_store(pkt + 4, 1234 + (i / 10) * 3000);
        be32_store(pkt + 8, PUB_SSRC);
        make_payload(i, pkt + 12);
        int rc = peer_send_rtp(c->pub, pkt, sizeof(pkt));
        if (rc < 0) {
            c->err = rc;
            break;
        }
        atomic_store(&c->sent, i + 1);
        for (int spin = 0; spin < 2000 && !atomic_load(&c->stop); spin++) {
            if (i + 1 < WINDOW + atomic_load(&c->received))
                break;
            integ_sleep_us(100);
        }
        integ_sleep_us(1000);
    }
    return NULL;
}

/* Joins a publisher and a subscriber to room, produces, consumes, and starts the stream; returns
 * once the subscriber has 100 packets. */
static int call_start(struct call *c, struct ctl_client *ctl, const char *room)
{
    struct peer_cbs none = {0}, subcbs = {.on_rtp = on_sub_rtp};
    memset(c, 0, sizeof(*c));
    if (bench_ctl_create_room(ctl, room) != 0 ||
        bench_ctl_join(ctl, room, &none, NULL, &c->pub, &c->pub_t) < 0)
        return -1;
    c->prod = bench_ctl_produce(ctl, room, c->pub_t, PUB_SSRC, PUB_SSRC + 1);
    if (!c->prod || bench_ctl_join(ctl, room, &subcbs, c, &c->sub, &c->sub_t) < 0)
        return -1;
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, room, c->sub_t, c->prod, "0");
    int ok = r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED;
    if (r)
        sfu__envelope__free_unpacked(r, NULL);
    if (!ok || pthread_create(&c->th, NULL, call_stream, c) != 0)
        return -1;
    for (int w = 0; w < 5000 && atomic_load(&c->received) < 100; w += 10)
        integ_sleep_ms(10);
    return atomic_load(&c->received) >= 100 ? 0 : -1;
}

static void call_stop(struct call *c)
{
    atomic_store(&c->stop, true);
    pthread_join(c->th, NULL);
}

static void call_free(struct call *c)
{
    peer_free(c->pub);
    peer_free(c->sub);
}

/* --- the tests ------------------------------------------------------------------------------- */

static int test_bad_requests(void)
{
    struct integ_sfu sfu;
    struct ctl_client *c;
    uint8_t junk[64 * 1024];

    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &c), 0);

    /* A length prefix over the limit: TOO_LARGE, the announced bytes are skipped, and the next
     * request on the same connection is served. */
    uint32_t big = sfu.cfg.control_max_msg + 1;
    uint8_t hdr[4];
    be32_store(hdr, big);
    CHECK_EQ(ctl_client_send_raw(c, hdr, 4), 0);
    memset(junk, 0xa5, sizeof(junk));
    for (uint32_t left = big; left > 0;) {
        uint32_t n = left < sizeof(junk) ? left : (uint32_t)sizeof(junk);
        CHECK_EQ(ctl_client_send_raw(c, junk, n), 0);
        left -= n;
    }
    CHECK_EQ(expect_error(c, 0, E_TOO_LARGE), 0);
    CHECK_EQ(bench_ctl_create_room(c, "ctl-room"), 0);

    /* Bytes that do not decode as an Envelope (an unterminated varint): BAD_MESSAGE. */
    static const uint8_t garbage[] = {0x08, 0xff};
    CHECK_EQ(send_frame(c, garbage, sizeof(garbage)), 0);
    CHECK_EQ(expect_error(c, 0, E_BAD_MESSAGE), 0);
    /* An Envelope whose body is a field this SFU does not know (49, in the request range). */
    static const uint8_t unknown[] = {0x08, 0x07, 0x8a, 0x03, 0x00};
    CHECK_EQ(send_frame(c, unknown, sizeof(unknown)), 0);
    CHECK_EQ(expect_error(c, 7, E_UNKNOWN_REQUEST), 0);
    /* A response body sent as a request, and an empty Envelope. */
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__Ok ok = SFU__OK__INIT;
        uint8_t *frame;
        size_t len;
        env.id = 9;
        env.body_case = SFU__ENVELOPE__BODY_OK;
        env.ok = &ok;
        CHECK_EQ(ctl_frame_pack(&env, &frame, &len), 0);
        int rc = ctl_client_send_raw(c, frame, len);
        free(frame);
        CHECK_EQ(rc, 0);
        CHECK_EQ(expect_error(c, 9, E_UNKNOWN_REQUEST), 0);
        CHECK_EQ(send_frame(c, NULL, 0), 0);
        CHECK_EQ(expect_error(c, 0, E_UNKNOWN_REQUEST), 0);
    }
    /* Still serving. */
    struct bench_transport t;
    CHECK_EQ(bench_ctl_create_transport(c, "ctl-room", &t), 0);

    /* Ids that do not exist: NOT_FOUND, with a reason naming what is missing. */
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__GetStatsRequest gs = SFU__GET_STATS_REQUEST__INIT;
        gs.room_id = "no-such-room";
        env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
        env.get_stats = &gs;
        CHECK_EQ(call_error(c, &env, E_NOT_FOUND, "no-such-room"), 0);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CloseRoomRequest cr = SFU__CLOSE_ROOM_REQUEST__INIT;
        cr.room_id = "no-such-room";
        env.body_case = SFU__ENVELOPE__BODY_CLOSE_ROOM;
        env.close_room = &cr;
        CHECK_EQ(call_error(c, &env, E_NOT_FOUND, "no-such-room"), 0);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__ConnectTransportRequest ct = SFU__CONNECT_TRANSPORT_REQUEST__INIT;
        Sfu__DtlsFingerprint fp = SFU__DTLS_FINGERPRINT__INIT;
        fp.algorithm = "sha-256";
        fp.value = t.fingerprint;
        ct.room_id = "ctl-room";
        ct.transport_id = 0x4242;
        ct.fingerprint = &fp;
        env.body_case = SFU__ENVELOPE__BODY_CONNECT_TRANSPORT;
        env.connect_transport = &ct;
        CHECK_EQ(call_error(c, &env, E_NOT_FOUND, "4242"), 0);
    }
    {
        Sfu__Envelope *r = bench_ctl_consume_vp8(c, "ctl-room", 0x4343, 0x4444, "0");
        CHECK(r && r->body_case == SFU__ENVELOPE__BODY_ERROR);
        CHECK_EQ(r->error->code, E_NOT_FOUND);
        CHECK(strstr(r->error->reason, "4343") != NULL);
        sfu__envelope__free_unpacked(r, NULL);
        r = bench_ctl_consume_vp8(c, "ctl-room", t.id, 0x4444, "0");
        CHECK(r && r->body_case == SFU__ENVELOPE__BODY_ERROR);
        CHECK_EQ(r->error->code, E_NOT_FOUND);
        CHECK(strstr(r->error->reason, "4444") != NULL);
        sfu__envelope__free_unpacked(r, NULL);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__PauseConsumerRequest pc = SFU__PAUSE_CONSUMER_REQUEST__INIT;
        pc.room_id = "ctl-room";
        pc.consumer_id = 0x4545;
        env.body_case = SFU__ENVELOPE__BODY_PAUSE_CONSUMER;
        env.pause_consumer = &pc;
        CHECK_EQ(call_error(c, &env, E_NOT_FOUND, "4545"), 0);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CloseProducerRequest cp = SFU__CLOSE_PRODUCER_REQUEST__INIT;
        cp.room_id = "ctl-room";
        cp.producer_id = 0x4646;
        env.body_case = SFU__ENVELOPE__BODY_CLOSE_PRODUCER;
        env.close_producer = &cp;
        CHECK_EQ(call_error(c, &env, E_NOT_FOUND, "4646"), 0);
    }
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CloseTransportRequest ct = SFU__CLOSE_TRANSPORT_REQUEST__INIT;
        ct.room_id = "ctl-room";
        ct.transport_id = 0x4747;
        env.body_case = SFU__ENVELOPE__BODY_CLOSE_TRANSPORT;
        env.close_transport = &ct;
        CHECK_EQ(call_error(c, &env, E_NOT_FOUND, "4747"), 0);
    }
    CHECK_EQ(claim_code(c, "no-such-room"), E_NOT_FOUND);

    /* Room ids that are not ids: BAD_MESSAGE, for a new room and for an existing one's requests. */
    {
        static const char *bad[] = {"bad room!", "", "a/b",
                                    "0123456789012345678901234567890123456789012345678901234567890"
                                    "1234"};
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            Sfu__Envelope env = SFU__ENVELOPE__INIT;
            Sfu__CreateRoomRequest cr = SFU__CREATE_ROOM_REQUEST__INIT;
            Sfu__GetStatsRequest gs = SFU__GET_STATS_REQUEST__INIT;
            cr.room_id = (char *)bad[k];
            env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
            env.create_room = &cr;
            CHECK_EQ(call_error(c, &env, E_BAD_MESSAGE, "room_id"), 0);
            gs.room_id = (char *)bad[k];
            env.body_case = SFU__ENVELOPE__BODY_GET_STATS;
            env.get_stats = &gs;
            CHECK_EQ(call_error(c, &env, E_BAD_MESSAGE, "room_id"), 0);
        }
    }

    /* After all of it: one room, with its one transport, on a connection that still works. */
    Sfu__Envelope *rooms = integ_list_rooms(c);
    CHECK(rooms != NULL);
    CHECK_EQ(rooms->rooms->n_rooms, 1);
    const Sfu__RoomInfo *ri = room_in(rooms, "ctl-room");
    CHECK(ri != NULL);
    CHECK_EQ(ri->n_transports, 1);
    CHECK_EQ(ri->transports[0]->id, t.id);
    sfu__envelope__free_unpacked(rooms, NULL);

    ctl_client_free(c);
    integ_sfu_stop(&sfu);
    return 0;
}

static int test_drop_and_claim(void)
{
    struct integ_sfu sfu;
    struct ctl_client *c1, *c2, *c3;
    static struct call call;

    CHECK_EQ(integ_sfu_start(&sfu, 2), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &c1), 0);
    CHECK_EQ(call_start(&call, c1, "drop-room"), 0);

    /* The control connection goes; the media does not. */
    ctl_client_free(c1);
    uint64_t r0 = atomic_load(&call.received);
    integ_sleep_ms(2000);
    uint64_t r1 = atomic_load(&call.received);
    fprintf(stderr, "subscriber: %llu packets before the drop, %llu two seconds after\n",
            (unsigned long long)r0, (unsigned long long)r1);
    CHECK(r1 >= r0 + 300);

    CHECK_EQ(integ_ctl_connect(&sfu, &c2), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &c3), 0);
    Sfu__Envelope *rooms = integ_list_rooms(c2);
    CHECK(rooms != NULL);
    const Sfu__RoomInfo *ri = room_in(rooms, "drop-room");
    CHECK(ri != NULL);
    CHECK(!ri->claimed);
    CHECK_EQ(ri->n_transports, 2);
    CHECK(ri->transports[0]->id == call.pub_t || ri->transports[1]->id == call.pub_t);
    CHECK(ri->transports[0]->id == call.sub_t || ri->transports[1]->id == call.sub_t);
    CHECK_EQ(ri->transports[0]->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED);
    CHECK_EQ(ri->transports[1]->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED);
    CHECK_EQ(ri->n_producers, 1);
    CHECK_EQ(ri->producers[0]->id, call.prod);
    CHECK_EQ(ri->producers[0]->transport_id, call.pub_t);
    CHECK_EQ(ri->n_consumers, 1);
    CHECK_EQ(ri->consumers[0]->producer_id, call.prod);
    CHECK_EQ(ri->consumers[0]->transport_id, call.sub_t);
    sfu__envelope__free_unpacked(rooms, NULL);

    /* The new connection claims it; ListRooms says so; requests on the room work. */
    CHECK_EQ(claim_code(c2, "drop-room"), 0);
    rooms = integ_list_rooms(c2);
    CHECK(rooms != NULL);
    ri = room_in(rooms, "drop-room");
    CHECK(ri != NULL && ri->claimed);
    sfu__envelope__free_unpacked(rooms, NULL);
    CHECK_EQ(stats_code(c2, "drop-room"), 0);
    struct bench_transport t;
    CHECK_EQ(bench_ctl_create_transport(c2, "drop-room", &t), 0);

    /* Another live connection may neither claim nor use it. */
    CHECK_EQ(claim_code(c3, "drop-room"), E_NOT_OWNER);
    CHECK_EQ(stats_code(c3, "drop-room"), E_NOT_OWNER);
    {
        Sfu__Envelope *r = bench_ctl_consume_vp8(c3, "drop-room", call.sub_t, call.prod, "1");
        CHECK(r && r->body_case == SFU__ENVELOPE__BODY_ERROR);
        CHECK_EQ(r->error->code, E_NOT_OWNER);
        sfu__envelope__free_unpacked(r, NULL);
    }

    /* The room's events now go to the new owner only. */
    {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CloseTransportRequest ct = SFU__CLOSE_TRANSPORT_REQUEST__INIT;
        ct.room_id = "drop-room";
        ct.transport_id = t.id;
        env.body_case = SFU__ENVELOPE__BODY_CLOSE_TRANSPORT;
        env.close_transport = &ct;
        Sfu__Envelope *r = integ_call(c2, &env);
        CHECK(r && r->body_case == SFU__ENVELOPE__BODY_OK);
        sfu__envelope__free_unpacked(r, NULL);
        Sfu__Envelope *ev = NULL;
        CHECK_EQ(ctl_client_next_event(c2, &ev, 3000), 0);
        CHECK(ev && ev->body_case == SFU__ENVELOPE__BODY_TRANSPORT_STATE);
        CHECK_EQ(ev->transport_state->transport_id, t.id);
        CHECK_EQ(ev->transport_state->state, SFU__TRANSPORT_STATE__TRANSPORT_STATE_CLOSED);
        sfu__envelope__free_unpacked(ev, NULL);
        ev = NULL;
        CHECK_EQ(ctl_client_next_event(c3, &ev, 300), -ETIMEDOUT);
    }

    /* The call lost nothing across the drop and the claim. */
    call_stop(&call);
    CHECK_EQ(call.err, 0);
    uint32_t sent = atomic_load(&call.sent);
    for (int w = 0; w < 5000 && atomic_load(&call.received) < sent; w += 10)
        integ_sleep_ms(10);
    fprintf(stderr, "sent %u, received %llu\n", sent,
            (unsigned long long)atomic_load(&call.received));
    CHECK_EQ(atomic_load(&call.received), sent);
    CHECK_EQ(atomic_load(&call.bad), 0);

    call_free(&call);
    ctl_client_free(c2);
    ctl_client_free(c3);
    integ_sfu_stop(&sfu);
    return 0;
}

static void short_grace(struct sfu_config *cfg, void *arg)
{
    (void)arg;
    cfg->grace_ms = 1500;
}

static int test_grace_expires(void)
{
    struct integ_sfu sfu;
    struct ctl_client *c1, *c2;
    static struct call call;

    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, short_grace, NULL), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &c1), 0);
    CHECK_EQ(call_start(&call, c1, "grace-room"), 0);
    ctl_client_free(c1);

    /* Within the grace period: listed, unclaimed (ListRooms does not claim), media flowing. */
    CHECK_EQ(integ_ctl_connect(&sfu, &c2), 0);
    uint64_t r0 = atomic_load(&call.received);
    integ_sleep_ms(500);
    Sfu__Envelope *rooms = integ_list_rooms(c2);
    CHECK(rooms != NULL);
    const Sfu__RoomInfo *ri = room_in(rooms, "grace-room");
    CHECK(ri != NULL && !ri->claimed);
    sfu__envelope__free_unpacked(rooms, NULL);
    CHECK(atomic_load(&call.received) > r0 + 200);

    /* Past it: the room is gone, its peers are told, and the subscriber hears nothing more. */
    integ_sleep_ms(1800);
    rooms = integ_list_rooms(c2);
    CHECK(rooms != NULL);
    CHECK(room_in(rooms, "grace-room") == NULL);
    sfu__envelope__free_unpacked(rooms, NULL);
    CHECK_EQ(stats_code(c2, "grace-room"), E_NOT_FOUND);
    uint64_t r1 = atomic_load(&call.received);
    integ_sleep_ms(1000);
    uint64_t r2 = atomic_load(&call.received);
    fprintf(stderr, "subscriber after the grace period: %llu, a second later %llu\n",
            (unsigned long long)r1, (unsigned long long)r2);
    CHECK_EQ(r2, r1);
    /* Both browsers were told at once (DTLS close_notify) rather than left to time out: the
     * publisher's sends now fail, and both peers are closed. */
    CHECK_EQ(peer_state_get(call.pub), PEER_STATE_CLOSED);
    CHECK_EQ(peer_state_get(call.sub), PEER_STATE_CLOSED);

    call_stop(&call);
    CHECK_EQ(call.err, -ENOTCONN);
    CHECK_EQ(atomic_load(&call.bad), 0);
    call_free(&call);
    ctl_client_free(c2);
    integ_sfu_stop(&sfu);
    return 0;
}

struct tcp_cfg {
    char secret_file[128];
};

static void tcp_control(struct sfu_config *cfg, void *arg)
{
    struct tcp_cfg *t = arg;
    snprintf(cfg->control_tcp_host, sizeof(cfg->control_tcp_host), "127.0.0.1");
    cfg->control_tcp_port = 0;
    snprintf(cfg->control_secret_file, sizeof(cfg->control_secret_file), "%s", t->secret_file);
}

static int test_tcp_secret(void)
{
    static const char secret[] = "correct-horse-battery-staple-0123";
    static const char wrong[] = "correct-horse-battery-staple-0124";
    struct integ_sfu sfu;
    struct ctl_client *good, *bad, *ux;
    struct tcp_cfg tc;
    char dir[] = "/tmp/gpsfu-tcp-XXXXXX";

    CHECK(mkdtemp(dir) != NULL);
    snprintf(tc.secret_file, sizeof(tc.secret_file), "%s/secret", dir);
    FILE *f = fopen(tc.secret_file, "w");
    CHECK(f != NULL);
    fprintf(f, "%s\n", secret);
    fclose(f);
    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, tcp_control, &tc), 0);
    int port = integ_sfu_control_tcp_port(&sfu);
    CHECK(port > 0);

    /* The right secret: requests flow over TCP. */
    CHECK_EQ(ctl_client_connect_tcp(&good, "127.0.0.1", (uint16_t)port, (const uint8_t *)secret,
                                    strlen(secret)),
             0);
    CHECK_EQ(bench_ctl_create_room(good, "tcp-room"), 0);
    struct bench_transport t;
    CHECK_EQ(bench_ctl_create_transport(good, "tcp-room", &t), 0);
    CHECK(t.cand.port > 0);

    /* A wrong secret: the server hangs up; nothing it sent was acted on. */
    int rc = ctl_client_connect_tcp(&bad, "127.0.0.1", (uint16_t)port, (const uint8_t *)wrong,
                                    strlen(wrong));
    if (rc == 0) {
        Sfu__Envelope env = SFU__ENVELOPE__INIT;
        Sfu__CreateRoomRequest cr = SFU__CREATE_ROOM_REQUEST__INIT;
        Sfu__Envelope *resp = NULL;
        cr.room_id = "evil-room";
        env.body_case = SFU__ENVELOPE__BODY_CREATE_ROOM;
        env.create_room = &cr;
        rc = ctl_client_call(bad, &env, &resp, 5000);
        CHECK(resp == NULL);
        ctl_client_free(bad);
    }
    CHECK(rc == -ECONNRESET || rc == -EPIPE);

    Sfu__Envelope *rooms = integ_list_rooms(good);
    CHECK(rooms != NULL);
    CHECK(room_in(rooms, "tcp-room") != NULL);
    CHECK(room_in(rooms, "evil-room") == NULL);
    sfu__envelope__free_unpacked(rooms, NULL);
    /* The Unix socket serves beside it (and the room belongs to the TCP connection). */
    CHECK_EQ(integ_ctl_connect(&sfu, &ux), 0);
    CHECK_EQ(stats_code(ux, "tcp-room"), E_NOT_OWNER);
    CHECK_EQ(stats_code(good, "tcp-room"), 0);

    ctl_client_free(ux);
    ctl_client_free(good);
    integ_sfu_stop(&sfu);
    unlink(tc.secret_file);
    rmdir(dir);
    return 0;
}

static const struct test_case cases[] = {
    {"bad_requests", test_bad_requests},
    {"drop_and_claim", test_drop_and_claim},
    {"grace_expires", test_grace_expires},
    {"tcp_secret", test_tcp_secret},
};

TEST_MAIN(cases)
