/* NACK history: references are taken and released exactly, a slot answers only for its own
 * seq, packets past the maximum age are not resent, and their buffers go back to the pool. */
#include <errno.h>
#include <stdint.h>

#include "core/pkt.h"
#include "harness.h"
#include "rtp/nack_history.h"

static struct pkt *pkt_with(struct pkt_pool *pool, uint16_t seq, uint64_t at)
{
    struct pkt *p = pkt_get(pool);
    if (p) {
        p->data[0] = (uint8_t)(seq >> 8);
        p->data[1] = (uint8_t)seq;
        p->len = 2;
        p->arrival_us = at;
    }
    return p;
}

static uint64_t in_use(const struct pkt_pool *pool)
{
    struct pkt_pool_stats st;
    pkt_pool_stats_get(pool, &st);
    return st.in_use;
}

static int test_history_refcounts(void)
{
    struct pkt_pool *pool;
    struct nack_history *h;
    CHECK_EQ(pkt_pool_new(&pool, 64), 0);
    CHECK_EQ(nack_history_new(&h, 16, 1000000), 0);
    /* 40 packets through 16 slots: the first 24 are released as their slots are reused. */
    for (uint16_t s = 0; s < 40; s++) {
        struct pkt *p = pkt_with(pool, s, 1000 + s);
        CHECK(p != NULL);
        nack_history_put(h, s, p);
        pkt_unref(p); /* the caller's own reference */
    }
    CHECK_EQ(in_use(pool), 16);
    struct pkt *p = nack_history_get(h, 39, 2000);
    CHECK(p != NULL);
    CHECK_EQ(p->data[1], 39);
    CHECK_EQ(p->refs, 1);
    /* 23 shares slot 7 with 39: it was replaced, so no answer rather than the wrong packet. */
    CHECK(nack_history_get(h, 23, 2000) == NULL);
    CHECK(nack_history_get(h, 24, 2000) != NULL);
    CHECK(nack_history_get(h, 40, 2000) == NULL); /* slot 8 holds 24 */
    /* Putting the same packet again keeps one reference. */
    nack_history_put(h, 39, p);
    CHECK_EQ(p->refs, 1);
    CHECK_EQ(in_use(pool), 16);
    /* NULL empties a slot. */
    nack_history_put(h, 38, NULL);
    CHECK(nack_history_get(h, 38, 2000) == NULL);
    CHECK_EQ(in_use(pool), 15);
    nack_history_free(h);
    CHECK_EQ(in_use(pool), 0);
    nack_history_free(NULL);
    pkt_pool_free(pool);
    return 0;
}

static int test_history_wrap_and_age(void)
{
    struct pkt_pool *pool;
    struct nack_history *h;
    CHECK_EQ(pkt_pool_new(&pool, 8), 0);
    CHECK_EQ(nack_history_new(&h, 1024, 1000000), 0);
    const uint16_t seqs[] = {65534, 65535, 0, 1};
    for (size_t i = 0; i < 4; i++) {
        struct pkt *p = pkt_with(pool, seqs[i], 5000000 + i * 100000);
        nack_history_put(h, seqs[i], p);
        pkt_unref(p);
    }
    for (size_t i = 0; i < 4; i++) {
        struct pkt *p = nack_history_get(h, seqs[i], 5500000);
        CHECK(p != NULL);
        CHECK_EQ(p->data[0] << 8 | p->data[1], seqs[i]);
    }
    /* 1.05 s after 65534 arrived: too old; 65535 (at 5.1 s) is just within 1 s. */
    CHECK(nack_history_get(h, 65534, 6050000) == NULL);
    CHECK(nack_history_get(h, 65535, 6100000) != NULL);
    CHECK(nack_history_get(h, 65535, 6100001) == NULL);
    /* 1024 apart share a slot. */
    CHECK(nack_history_get(h, 1023, 5500000) == NULL);
    nack_history_clear(h);
    CHECK_EQ(in_use(pool), 0);
    CHECK(nack_history_get(h, 0, 5500000) == NULL);
    nack_history_free(h);
    pkt_pool_free(pool);
    return 0;
}

static int test_history_bad_size(void)
{
    struct nack_history *h = (struct nack_history *)0x1;
    CHECK_EQ(nack_history_new(&h, 0, 1), -EINVAL);
    CHECK_EQ(nack_history_new(&h, 1000, 1), -EINVAL);
    CHECK_EQ(nack_history_new(&h, 65536, 1), -EINVAL);
    CHECK(h == (struct nack_history *)0x1); /* untouched on failure */
    CHECK_EQ(nack_history_new(&h, 1, 1), 0);
    nack_history_free(h);
    return 0;
}

/* Packets too old to resend give their buffers back although nothing overwrites their slots:
 * many producers on one worker once held a whole pool in their rings and stalled it (found by
 * bench/lt). The sweep covers the ring in steps of n slots. */
static int test_history_expire(void)
{
    struct pkt_pool *pool;
    struct nack_history *h;
    CHECK_EQ(pkt_pool_new(&pool, 64), 0);
    CHECK_EQ(nack_history_new(&h, 64, 1000000), 0);
    CHECK_EQ(nack_history_size(h), 64);
    /* 40 packets, one every 10 ms from t = 0: all held. */
    for (uint16_t s = 0; s < 40; s++) {
        struct pkt *p = pkt_with(pool, s, (uint64_t)s * 10000);
        nack_history_put(h, s, p);
        pkt_unref(p);
    }
    CHECK_EQ(in_use(pool), 40);
    /* At 1.2 s the packets of the first 0.2 s (0..19) are older than 1 s. A sweep of 16 slots
     * frees 0..15 only; the next 48 (the ring's rest) free 16..19, and nothing younger. */
    CHECK_EQ(nack_history_expire(h, 1200000, 16), 16);
    CHECK_EQ(in_use(pool), 24);
    CHECK_EQ(nack_history_expire(h, 1200000, 48), 4);
    CHECK_EQ(in_use(pool), 20);
    CHECK(nack_history_get(h, 19, 1000000) == NULL);
    CHECK(nack_history_get(h, 20, 1000000) != NULL);
    /* n beyond the ring is one full turn; a packet from the future is never expired. */
    struct pkt *p = pkt_with(pool, 50, 9000000);
    nack_history_put(h, 50, p);
    pkt_unref(p);
    CHECK_EQ(nack_history_expire(h, 5000000, 1000), 20);
    CHECK_EQ(in_use(pool), 1);
    CHECK(nack_history_get(h, 50, 5000000) != NULL);
    nack_history_free(h);
    CHECK_EQ(in_use(pool), 0);
    pkt_pool_free(pool);
    return 0;
}

static const struct test_case cases[] = {
    {"history_expire", test_history_expire},
    {"history_refcounts", test_history_refcounts},
    {"history_wrap_and_age", test_history_wrap_and_age},
    {"history_bad_size", test_history_bad_size},
};

TEST_MAIN(cases)
