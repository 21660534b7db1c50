/* Two simulated peers in one process over loopback: full ICE, a real DTLS handshake, SRTP both
 * ways with each profile, fingerprint checks, and the counters for rejected input. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "peer.h"

#define NPKT        1000
#define BURST       50
#define CONNECT_MS  5000
#define SSRC_A      0x11223344u
#define SSRC_B      0x55667788u
#define GCM_TAG     16
#define SHA1_80_TAG 10

/* What one peer's callbacks saw (called on that peer's thread). */
struct side {
    struct peer *p;
    uint32_t ssrc_in; /* the remote's SSRC, which every packet must carry */
    atomic_int rtp_ok;
    atomic_int rtp_bad; /* wrong bytes or out of order */
    atomic_int rtcp_ok;
    atomic_int rtcp_bad;
    atomic_int nstates;
    enum peer_state states[8]; /* what on_state reported, in order */
};

/* Packet i of a stream: an RTP header (V=2, PT 96, seq i, ts 3000*i) and a payload whose length
 * and bytes vary with i. */
static size_t make_rtp(uint8_t *buf, uint32_t ssrc, unsigned i)
{
    size_t len = 12 + 20 + (i * 37) % 1100;

    buf[0] = 0x80;
    buf[1] = 96;
    buf[2] = (uint8_t)(i >> 8);
    buf[3] = (uint8_t)i;
    buf[4] = (uint8_t)((i * 3000) >> 24);
    buf[5] = (uint8_t)((i * 3000) >> 16);
    buf[6] = (uint8_t)((i * 3000) >> 8);
    buf[7] = (uint8_t)(i * 3000);
    buf[8] = (uint8_t)(ssrc >> 24);
    buf[9] = (uint8_t)(ssrc >> 16);
    buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    for (size_t k = 12; k < len; k++)
        buf[k] = (uint8_t)(k * 7 + i * 13);
    return len;
}

/* An RTCP receiver report with no report blocks (RFC 3550 6.4.2). */
static size_t make_rr(uint8_t *buf, uint32_t ssrc)
{
    buf[0] = 0x80;
    buf[1] = 201;
    buf[2] = 0;
    buf[3] = 1;
    buf[4] = (uint8_t)(ssrc >> 24);
    buf[5] = (uint8_t)(ssrc >> 16);
    buf[6] = (uint8_t)(ssrc >> 8);
    buf[7] = (uint8_t)ssrc;
    return 8;
}

static void on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct side *s = arg;
    uint8_t want[1600];
    unsigned i = (unsigned)atomic_load(&s->rtp_ok);
    size_t n = make_rtp(want, s->ssrc_in, i);

    if (len == n && memcmp(buf, want, n) == 0)
        atomic_fetch_add(&s->rtp_ok, 1);
    else
        atomic_fetch_add(&s->rtp_bad, 1);
}

static void on_rtcp(void *arg, const uint8_t *buf, size_t len)
{
    struct side *s = arg;
    uint8_t want[8];

    make_rr(want, s->ssrc_in);
    if (len == sizeof(want) && memcmp(buf, want, sizeof(want)) == 0)
        atomic_fetch_add(&s->rtcp_ok, 1);
    else
        atomic_fetch_add(&s->rtcp_bad, 1);
}

static void on_state(void *arg, enum peer_state st)
{
    struct side *s = arg;
    int i = atomic_load(&s->nstates);

    if (i < 8) {
        s->states[i] = st;
        atomic_store(&s->nstates, i + 1);
    }
}

static const struct peer_cbs cbs = {.on_rtp = on_rtp, .on_rtcp = on_rtcp, .on_state = on_state};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Waits until *v reaches want, up to timeout_ms. */
static int wait_count(atomic_int *v, int want, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 2) {
        if (atomic_load(v) >= want)
            return 0;
        sleep_ms(2);
    }
    return atomic_load(v) >= want ? 0 : -ETIMEDOUT;
}

/* Hands each peer the other's credentials, candidates and fingerprint (or fp_for_x instead). */
static int exchange(struct side *a, struct side *b, const char *fp_for_a, const char *fp_for_b)
{
    struct peer_candidate ca[8], cb[8];
    int na = peer_local_candidates(a->p, ca, 8);
    int nb = peer_local_candidates(b->p, cb, 8);

    CHECK(na >= 1);
    CHECK(nb >= 1);
    CHECK_EQ(strcmp(ca[0].ip, "127.0.0.1"), 0);
    CHECK(ca[0].port != 0);
    CHECK_EQ(peer_set_remote(a->p, peer_ice_ufrag(b->p), peer_ice_pwd(b->p), cb, (size_t)nb,
                             fp_for_a ? fp_for_a : peer_fingerprint(b->p)),
             0);
    CHECK_EQ(peer_set_remote(b->p, peer_ice_ufrag(a->p), peer_ice_pwd(a->p), ca, (size_t)na,
                             fp_for_b ? fp_for_b : peer_fingerprint(a->p)),
             0);
    return 0;
}

/* a: controlling, DTLS client (the browser); b: controlled, DTLS server, ICE-lite if b_lite. */
/* When set, make_pair_lite puts both peers on this loop (one thread for both). */
static struct peer_loop *pair_loop;

static int make_pair_lite(struct side *a, struct side *b, const char *profiles_a, bool b_lite)
{
    struct peer_cfg cfg;

    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    a->ssrc_in = SSRC_B;
    b->ssrc_in = SSRC_A;
    peer_cfg_init(&cfg);
    cfg.loop = pair_loop;
    if (profiles_a)
        cfg.srtp_profiles = profiles_a;
    CHECK_EQ(peer_new(&a->p, &cfg, &cbs, a), 0);
    peer_cfg_init(&cfg);
    cfg.loop = pair_loop;
    cfg.controlling = false;
    cfg.dtls_server = true;
    cfg.ice_lite = b_lite;
    CHECK_EQ(peer_new(&b->p, &cfg, &cbs, b), 0);
    CHECK_EQ(peer_state_get(a->p), PEER_STATE_NEW);
    CHECK_EQ(strlen(peer_fingerprint(a->p)), 95);
    CHECK(strcmp(peer_fingerprint(a->p), peer_fingerprint(b->p)) != 0);
    return 0;
}

static int make_pair(struct side *a, struct side *b, const char *profiles_a)
{
    return make_pair_lite(a, b, profiles_a, false);
}

static void free_pair(struct side *a, struct side *b)
{
    peer_free(a->p);
    peer_free(b->p);
    a->p = b->p = NULL;
}

/* Sends NPKT packets each way in paced bursts (loopback drops what a socket buffer cannot hold,
 * and this test is about bytes, not load) and checks every byte, the order and the counters.
 * tag is the SRTP tag length the negotiated profile must add to each packet. */
static int stream_both_ways(struct side *a, struct side *b, size_t tag)
{
    uint8_t pkt[1600], copy[1600];
    uint64_t plain_bytes = 0;
    struct peer_stats sa, sb;

    for (unsigned i = 0; i < NPKT; i++) {
        size_t len = make_rtp(pkt, SSRC_A, i);

        memcpy(copy, pkt, len);
        CHECK_EQ(peer_send_rtp(a->p, pkt, len), 0);
        CHECK_MEM(pkt, copy, len); /* the caller's bytes are never encrypted in place */
        len = make_rtp(pkt, SSRC_B, i);
        CHECK_EQ(peer_send_rtp(b->p, pkt, len), 0);
        plain_bytes += len;
        if ((i + 1) % BURST == 0) {
            CHECK_EQ(wait_count(&b->rtp_ok, (int)i + 1, 3000), 0);
            CHECK_EQ(wait_count(&a->rtp_ok, (int)i + 1, 3000), 0);
        }
    }
    CHECK_EQ(atomic_load(&a->rtp_ok), NPKT);
    CHECK_EQ(atomic_load(&b->rtp_ok), NPKT);
    CHECK_EQ(atomic_load(&a->rtp_bad), 0);
    CHECK_EQ(atomic_load(&b->rtp_bad), 0);

    CHECK_EQ(peer_send_rtcp(a->p, pkt, make_rr(pkt, SSRC_A)), 0);
    CHECK_EQ(peer_send_rtcp(b->p, pkt, make_rr(pkt, SSRC_B)), 0);
    CHECK_EQ(wait_count(&a->rtcp_ok, 1, 3000), 0);
    CHECK_EQ(wait_count(&b->rtcp_ok, 1, 3000), 0);
    CHECK_EQ(atomic_load(&a->rtcp_bad), 0);
    CHECK_EQ(atomic_load(&b->rtcp_bad), 0);

    peer_stats_get(a->p, &sa);
    peer_stats_get(b->p, &sb);
    CHECK_EQ(sa.tx_rtp_packets, NPKT);
    CHECK_EQ(sb.rx_rtp_packets, NPKT);
    CHECK_EQ(sb.rx_rtcp_packets, 1);
    CHECK_EQ(sb.rx_rtcp_bytes, 8);
    CHECK_EQ(sa.rx_unprotect_failed, 0);
    CHECK_EQ(sb.rx_unprotect_failed, 0);
    CHECK_EQ(sa.tx_failed, 0);
    /* The SRTP tag length tells which profile was negotiated. */
    CHECK_EQ(sb.tx_rtp_bytes, plain_bytes + tag * NPKT);
    CHECK_EQ(sa.rx_rtp_bytes, plain_bytes);
    return 0;
}

static int connect_pair(struct side *a, struct side *b)
{
    CHECK_EQ(exchange(a, b, NULL, NULL), 0);
    CHECK_EQ(peer_wait_state(a->p, PEER_STATE_CONNECTED, CONNECT_MS), 0);
    CHECK_EQ(peer_wait_state(b->p, PEER_STATE_CONNECTED, CONNECT_MS), 0);
    /* on_state runs just after the state is visible: let it finish. */
    CHECK_EQ(wait_count(&a->nstates, 2, 1000), 0);
    CHECK_EQ(wait_count(&b->nstates, 2, 1000), 0);
    CHECK_EQ(atomic_load(&a->nstates), 2);
    CHECK_EQ(a->states[0], PEER_STATE_CONNECTING);
    CHECK_EQ(a->states[1], PEER_STATE_CONNECTED);
    CHECK_EQ(b->states[0], PEER_STATE_CONNECTING);
    CHECK_EQ(b->states[1], PEER_STATE_CONNECTED);
    return 0;
}

/* A pair on GCM: connected, media each way, then freeing one side sends close_notify and the
 * other reads CLOSED. */
static int gcm_lifecycle(void)
{
    struct side a, b;
    int rc = make_pair(&a, &b, NULL);

    if (rc == 0)
        rc = connect_pair(&a, &b);
    if (rc == 0)
        rc = stream_both_ways(&a, &b, GCM_TAG);
    peer_free(a.p);
    a.p = NULL;
    if (rc == 0 && peer_wait_state(b.p, PEER_STATE_CLOSED, 2000) != 0) {
        fprintf(stderr, "remote close not seen: state %d\n", (int)peer_state_get(b.p));
        rc = -1;
    }
    free_pair(&a, &b);
    return rc;
}

static int test_gcm_both_ways(void)
{
    return gcm_lifecycle();
}

/* The same with both peers on one shared loop, as sfu-bench runs its simulated people; the
 * loop is freed once both are gone. */
static int test_shared_loop(void)
{
    CHECK_EQ(peer_loop_new(&pair_loop), 0);
    int rc = gcm_lifecycle();
    peer_loop_free(pair_loop);
    pair_loop = NULL;
    return rc;
}

static int test_sha1_80_both_ways(void)
{
    struct side a, b;
    int rc;

    if (make_pair(&a, &b, "SRTP_AES128_CM_SHA1_80") != 0)
        return -1;
    rc = connect_pair(&a, &b);
    if (rc == 0)
        rc = stream_both_ways(&a, &b, SHA1_80_TAG);
    free_pair(&a, &b);
    return rc;
}

/* The SFU's arrangement: the full peer against an ICE-lite, always-DTLS-server counterpart. */
static int test_against_lite(void)
{
    struct side a, b;
    int rc;

    if (make_pair_lite(&a, &b, NULL, true) != 0)
        return -1;
    rc = connect_pair(&a, &b);
    if (rc == 0)
        rc = stream_both_ways(&a, &b, GCM_TAG);
    free_pair(&a, &b);
    return rc;
}

/* One of the fingerprints differs from the real one in its last digit. */
static int wrong_fingerprint(bool server_checks_wrong)
{
    struct side a, b;
    char bad[PEER_FINGERPRINT_LEN];
    struct peer *checker, *other;
    int rc = -1;

    if (make_pair(&a, &b, NULL) != 0)
        return -1;
    checker = server_checks_wrong ? b.p : a.p;
    other = server_checks_wrong ? a.p : b.p;
    strcpy(bad, peer_fingerprint(other));
    bad[94] = bad[94] == '0' ? '1' : '0';
    if (exchange(&a, &b, server_checks_wrong ? NULL : bad, server_checks_wrong ? bad : NULL) != 0)
        goto out;
    if (peer_wait_state(checker, PEER_STATE_FAILED, CONNECT_MS) != 0) {
        fprintf(stderr, "checker state %d\n", (int)peer_state_get(checker));
        goto out;
    }
    /* The other side gets the alert, and in any case never reaches CONNECTED. */
    if (peer_wait_state(other, PEER_STATE_CONNECTED, 1000) != -ECONNABORTED &&
        peer_state_get(other) == PEER_STATE_CONNECTED)
        goto out;
    if (peer_send_rtp(checker, (const uint8_t *)"\x80\x60\0\0\0\0\0\0\0\0\0\0", 12) != -ENOTCONN)
        goto out;
    rc = 0;
out:
    free_pair(&a, &b);
    return rc;
}

static int test_wrong_fingerprint_server(void)
{
    return wrong_fingerprint(true);
}

static int test_wrong_fingerprint_client(void)
{
    return wrong_fingerprint(false);
}

/* The API's refusals, and tampered or unprotected packets counted and dropped, never delivered. */
static int bad_input_checks(struct side *a, struct side *b)
{
    uint8_t pkt[1600];
    struct peer_stats sb;
    size_t len;
    struct peer_candidate c = {.ip = "127.0.0.1", .port = 9};

    CHECK_EQ(peer_set_remote(a->p, "u", "p", &c, 1, peer_fingerprint(b->p)), -EALREADY);
    CHECK_EQ(peer_send_rtp(a->p, pkt, PEER_PKT_MAX + 1), -EMSGSIZE);
    CHECK_EQ(peer_send_rtp(a->p, pkt, 4), -EBADMSG); /* shorter than an RTP header */

    /* Packet 0 sent plain: fails authentication at b. */
    len = make_rtp(pkt, SSRC_A, 0);
    CHECK_EQ(peer_send_raw(a->p, pkt, len), 0);
    /* Then a protected packet 0 arrives intact, so b's counter of good packets proves the
     * bad one was dropped before it. */
    CHECK_EQ(peer_send_rtp(a->p, pkt, len), 0);
    CHECK_EQ(wait_count(&b->rtp_ok, 1, 3000), 0);
    /* A byte that no RFC 7983 range claims. */
    pkt[0] = 70;
    CHECK_EQ(peer_send_raw(a->p, pkt, 20), 0);
    /* An RTCP packet sent plain. */
    CHECK_EQ(peer_send_raw(a->p, pkt, make_rr(pkt, SSRC_A)), 0);
    for (int t = 0; t < 3000; t += 2) {
        peer_stats_get(b->p, &sb);
        if (sb.rx_unprotect_failed >= 2 && sb.rx_dropped >= 1)
            break;
        sleep_ms(2);
    }
    peer_stats_get(b->p, &sb);
    CHECK_EQ(sb.rx_unprotect_failed, 2);
    CHECK_EQ(sb.rx_dropped, 1);
    CHECK_EQ(sb.rx_rtp_packets, 1);
    CHECK_EQ(sb.rx_rtcp_packets, 0);
    CHECK_EQ(atomic_load(&b->rtp_ok), 1);
    CHECK_EQ(atomic_load(&b->rtp_bad), 0);
    CHECK_EQ(atomic_load(&b->rtcp_ok), 0);
    return 0;
}

static int test_bad_input(void)
{
    struct side a, b;
    struct peer_candidate c = {.ip = "127.0.0.1", .port = 9};
    uint8_t pkt[16] = {0x80};
    int rc = -1;

    if (make_pair(&a, &b, NULL) != 0)
        return -1;
    if (peer_send_rtp(a.p, pkt, sizeof(pkt)) != -ENOTCONN ||
        peer_send_raw(a.p, pkt, sizeof(pkt)) != -ENOTCONN ||
        peer_set_remote(a.p, "u", "p", &c, 1, "AB:CD") != -EINVAL ||
        peer_set_remote(a.p, "u", "p", &c, 0, peer_fingerprint(b.p)) != -EINVAL)
        goto out;
    if (connect_pair(&a, &b) != 0)
        goto out;
    rc = bad_input_checks(&a, &b);
out:
    free_pair(&a, &b);
    return rc;
}

static int test_bad_config(void)
{
    struct peer_cfg cfg;
    struct peer *p = NULL;

    peer_cfg_init(&cfg);
    cfg.srtp_profiles = "SRTP_NO_SUCH_PROFILE";
    CHECK_EQ(peer_new(&p, &cfg, NULL, NULL), -EINVAL);
    CHECK(p == NULL);
    peer_cfg_init(&cfg);
    cfg.local_ip = "not-an-address";
    CHECK_EQ(peer_new(&p, &cfg, NULL, NULL), -EINVAL);
    CHECK(p == NULL);
    peer_free(NULL);
    return 0;
}

static const struct test_case cases[] = {
    {"gcm_both_ways", test_gcm_both_ways},
    {"sha1_80_both_ways", test_sha1_80_both_ways},
    {"shared_loop", test_shared_loop},
    {"against_lite", test_against_lite},
    {"wrong_fingerprint_server", test_wrong_fingerprint_server},
    {"wrong_fingerprint_client", test_wrong_fingerprint_client},
    {"bad_input", test_bad_input},
    {"bad_config", test_bad_config},
};

TEST_MAIN(cases)
