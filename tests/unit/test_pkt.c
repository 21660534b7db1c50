/* The packet pool: exhaustion is reported, not hidden; references keep a buffer alive. */
#include "core/pkt.h"
#include "harness.h"

static int test_pkt_exhaustion(void)
{
    struct pkt_pool *pool;
    struct pkt *a, *b, *c;
    struct pkt_pool_stats st;
    CHECK_EQ(pkt_pool_new(&pool, 2), 0);
    a = pkt_get(pool);
    b = pkt_get(pool);
    CHECK(a && b && a != b);
    c = pkt_get(pool);
    CHECK(c == NULL);
    pkt_pool_stats_get(pool, &st);
    CHECK_EQ(st.in_use, 2);
    CHECK_EQ(st.exhausted, 1);
    pkt_unref(a);
    c = pkt_get(pool);
    CHECK(c != NULL);
    pkt_unref(b);
    pkt_unref(c);
    pkt_pool_stats_get(pool, &st);
    CHECK_EQ(st.in_use, 0);
    pkt_pool_free(pool);
    return 0;
}

static int test_pkt_refcount(void)
{
    struct pkt_pool *pool;
    struct pkt_pool_stats st;
    CHECK_EQ(pkt_pool_new(&pool, 1), 0);
    struct pkt *a = pkt_get(pool);
    CHECK(a != NULL);
    a->data[0] = 0x80;
    a->len = 1;
    pkt_ref(a);
    pkt_unref(a);
    /* Still held once: the pool must not hand it out again. */
    CHECK(pkt_get(pool) == NULL);
    CHECK_EQ(a->data[0], 0x80);
    pkt_unref(a);
    pkt_pool_stats_get(pool, &st);
    CHECK_EQ(st.in_use, 0);
    pkt_unref(NULL);
    pkt_pool_free(pool);
    return 0;
}

static const struct test_case cases[] = {
    {"pkt_exhaustion", test_pkt_exhaustion},
    {"pkt_refcount", test_pkt_refcount},
};

TEST_MAIN(cases)
