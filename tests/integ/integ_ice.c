/* ICE-lite over time: consent freshness (RFC 7675) reported both ways, an ICE restart that
 * retires the old credentials, and a network change that moves a transport to a new address. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "harness.h"
#include "integ_util.h"
#include "rtp/rtp.h"

#define ROOM     "ice-room"
#define PUB_SSRC 0x0a0b0c0du

static _Atomic uint64_t sub_received;

static void on_sub_rtp(void *arg, const uint8_t *buf, size_t len)
{
    (void)arg;
    (void)buf;
    (void)len;
    atomic_fetch_add(&sub_received, 1);
}

/* Sends n packets of a VP8 stream that starts on a keyframe, from packet index *next. */
static int send_stream(struct peer *pub, uint32_t *next, unsigned n)
{
    uint8_t pkt[12 + 100];
    for (unsigned k = 0; k < n; k++, (*next)++) {
        uint32_t i = *next;
        memset(pkt, 0, sizeof(pkt));
        pkt[0] = 0x80;
        pkt[1] = 96;
        be16_store(pkt + 2, (uint16_t)(100 + i));
        be32_store(pkt + 4, i * 3000);
        be32_store(pkt + 8, PUB_SSRC);
        pkt[12] = 0x10;                   /* S=1: every packet starts a frame */
        pkt[13] = (i == 0) ? 0x00 : 0x01; /* only the first is a keyframe */
        if (peer_send_rtp(pub, pkt, sizeof(pkt)) < 0)
            return -1;
        integ_sleep_ms(2);
    }
    return 0;
}

static void short_consent(struct sfu_config *cfg, void *arg)
{
    (void)arg;
    /* Above the 4-6 s between a browser's consent checks (RFC 7675 section 5.1). */
    cfg->consent_timeout_ms = 7000;
}

/* A device that goes silent for longer than the consent timeout is reported disconnected, and
 * connected again when its checks resume, with media flowing again. */
static int test_consent_expiry_and_regain(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *sub;
    uint64_t pub_t, sub_t;
    struct peer_cbs none = {0}, subcbs = {.on_rtp = on_sub_rtp};
    struct integ_evlog log = {0};
    uint32_t next = 0;

    atomic_store(&sub_received, 0);
    CHECK_EQ(integ_sfu_start_cfg(&sfu, 1, short_consent, NULL), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, ROOM), 0);
    CHECK_EQ(bench_ctl_join(ctl, ROOM, &none, NULL, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, ROOM, pub_t, PUB_SSRC, 0);
    CHECK(prod != 0);
    CHECK_EQ(bench_ctl_join(ctl, ROOM, &subcbs, NULL, &sub, &sub_t), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, ROOM, sub_t, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    sfu__envelope__free_unpacked(r, NULL);
    CHECK_EQ(integ_wait_state_event(ctl, &log, pub_t,
                                    SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED, 3000),
             0);
    CHECK_EQ(send_stream(pub, &next, 50), 0);
    integ_sleep_ms(200);
    CHECK(atomic_load(&sub_received) >= 45);

    /* Silent for 9 s against a 7 s consent timeout; the subscriber's checks keep it alive. */
    CHECK_EQ(peer_stall(pub, 9000), 0);
    CHECK_EQ(integ_wait_state_event(ctl, &log, pub_t,
                                    SFU__TRANSPORT_STATE__TRANSPORT_STATE_DISCONNECTED, 1000),
             0);
    /* Its checks resume (libnice's consent checks) and consent is regained. */
    int regained = -ETIMEDOUT;
    for (int waited = 0; waited < 8000 && regained != 0; waited += 200) {
        /* The CONNECTED event that counts is one that follows the DISCONNECTED one. */
        unsigned disc = 0;
        for (unsigned k = 0; k < log.n; k++) {
            if (log.tid[k] != pub_t)
                continue;
            if (log.state[k] == SFU__TRANSPORT_STATE__TRANSPORT_STATE_DISCONNECTED)
                disc = k + 1;
            else if (disc && log.state[k] == SFU__TRANSPORT_STATE__TRANSPORT_STATE_CONNECTED)
                regained = 0;
        }
        if (regained != 0)
            integ_wait_state_event(ctl, &log, 0, -1, 200); /* collect events */
    }
    CHECK_EQ(regained, 0);
    uint64_t before = atomic_load(&sub_received);
    CHECK_EQ(send_stream(pub, &next, 50), 0);
    integ_sleep_ms(200);
    if (atomic_load(&sub_received) < before + 45) {
        Sfu__Envelope *st = integ_get_stats(ctl, ROOM);
        for (size_t k = 0; st && k < st->stats->n_transports; k++)
            fprintf(stderr, "transport %zu state %d rx %llu dropped %llu tx %llu dropped %llu\n", k,
                    st->stats->transports[k]->state,
                    (unsigned long long)st->stats->transports[k]->rx->packets,
                    (unsigned long long)st->stats->transports[k]->rx->dropped,
                    (unsigned long long)st->stats->transports[k]->tx->packets,
                    (unsigned long long)st->stats->transports[k]->tx->dropped);
        for (size_t k = 0; st && k < st->stats->n_consumers; k++)
            fprintf(stderr, "consumer fwd %llu dropped %llu\n",
                    (unsigned long long)st->stats->consumers[k]->counters->forwarded,
                    (unsigned long long)st->stats->consumers[k]->counters->dropped);
        for (size_t k = 0; st && k < st->stats->n_producers; k++)
            fprintf(stderr, "producer packets %llu dropped %llu\n",
                    (unsigned long long)st->stats->producers[k]->counters->packets,
                    (unsigned long long)st->stats->producers[k]->counters->dropped);
        if (st)
            sfu__envelope__free_unpacked(st, NULL);
    }
    CHECK(atomic_load(&sub_received) >= before + 45);

    peer_free(pub);
    peer_free(sub);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

static Sfu__Envelope *restart_ice(struct ctl_client *c, uint64_t tid)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__RestartIceRequest req = SFU__RESTART_ICE_REQUEST__INIT;
    req.room_id = ROOM;
    req.transport_id = tid;
    env.body_case = SFU__ENVELOPE__BODY_RESTART_ICE;
    env.restart_ice = &req;
    return integ_call(c, &env);
}

/* ICE restart gives new credentials and retires the old ones; a nominating check with the new
 * ones from a new address (the browser's new network) moves the transport there: the media
 * that follows goes to the new address, not the old one. */
static int test_restart_and_network_change(void)
{
    struct integ_sfu sfu;
    struct ctl_client *ctl;
    struct peer *pub, *sub;
    uint64_t pub_t;
    struct bench_transport st;
    struct peer_cbs none = {0}, subcbs = {.on_rtp = on_sub_rtp};
    struct peer_cfg cfg;
    uint32_t next = 0;
    uint8_t buf[1500];

    atomic_store(&sub_received, 0);
    CHECK_EQ(integ_sfu_start(&sfu, 1), 0);
    CHECK_EQ(integ_ctl_connect(&sfu, &ctl), 0);
    CHECK_EQ(bench_ctl_create_room(ctl, ROOM), 0);
    CHECK_EQ(bench_ctl_join(ctl, ROOM, &none, NULL, &pub, &pub_t), 0);
    uint64_t prod = bench_ctl_produce(ctl, ROOM, pub_t, PUB_SSRC, 0);
    CHECK(prod != 0);
    /* The subscriber joined by hand, so the test knows its transport's credentials. */
    CHECK_EQ(bench_ctl_create_transport(ctl, ROOM, &st), 0);
    peer_cfg_init(&cfg);
    CHECK_EQ(peer_new(&sub, &cfg, &subcbs, NULL), 0);
    CHECK_EQ(bench_ctl_connect_transport(ctl, ROOM, st.id, peer_fingerprint(sub)), 0);
    CHECK_EQ(peer_set_remote(sub, st.ufrag, st.pwd, &st.cand, 1, st.fingerprint), 0);
    CHECK_EQ(peer_wait_state(sub, PEER_STATE_CONNECTED, 10000), 0);
    Sfu__Envelope *r = bench_ctl_consume_vp8(ctl, ROOM, st.id, prod, "0");
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_CONSUMED);
    sfu__envelope__free_unpacked(r, NULL);
    CHECK_EQ(send_stream(pub, &next, 30), 0);
    integ_sleep_ms(200);
    CHECK(atomic_load(&sub_received) >= 25);

    r = restart_ice(ctl, st.id);
    CHECK(r && r->body_case == SFU__ENVELOPE__BODY_ICE_RESTARTED);
    char ufrag[64], pwd[64];
    snprintf(ufrag, sizeof(ufrag), "%s", r->ice_restarted->ice_ufrag);
    snprintf(pwd, sizeof(pwd), "%s", r->ice_restarted->ice_pwd);
    sfu__envelope__free_unpacked(r, NULL);
    CHECK(strcmp(ufrag, st.ufrag) != 0 && strcmp(pwd, st.pwd) != 0);

    int fd = integ_udp_open();
    CHECK(fd >= 0);
    /* The old credentials: no answer. */
    size_t n = integ_stun_check_full(buf, sizeof(buf), st.ufrag, st.pwd, true);
    CHECK(n > 0);
    CHECK_EQ(integ_udp_send_to(fd, &st, buf, n), 0);
    CHECK(integ_udp_recv_within(fd, buf, sizeof(buf), 300) < 0);
    /* The new ones, nominating: a success response (class bits 0x0101). */
    n = integ_stun_check_full(buf, sizeof(buf), ufrag, pwd, true);
    CHECK(n > 0);
    CHECK_EQ(integ_udp_send_to(fd, &st, buf, n), 0);
    ssize_t got = integ_udp_recv_within(fd, buf, sizeof(buf), 1000);
    CHECK(got >= 20);
    CHECK_EQ(be16_load(buf), 0x0101);

    /* Media now goes to the new address: SRTP there, nothing more to the old peer. */
    uint64_t old_count = atomic_load(&sub_received);
    CHECK_EQ(send_stream(pub, &next, 40), 0);
    unsigned srtp = 0;
    while (integ_udp_recv_within(fd, buf, sizeof(buf), 300) > 12)
        if (buf[0] >= 128 && buf[0] <= 191)
            srtp++;
    CHECK(srtp >= 35);
    CHECK_EQ(atomic_load(&sub_received), old_count);

    close(fd);
    peer_free(pub);
    peer_free(sub);
    ctl_client_free(ctl);
    integ_sfu_stop(&sfu);
    return 0;
}

static const struct test_case cases[] = {
    {"consent_expiry_and_regain", test_consent_expiry_and_regain},
    {"restart_and_network_change", test_restart_and_network_change},
};

TEST_MAIN(cases)
