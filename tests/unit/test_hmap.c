/* The intrusive hash map: lookups by hash, collisions kept apart, growth keeps every member. */
#include <stdlib.h>

#include "core/hmap.h"
#include "harness.h"

struct item {
    struct hmap_node node;
    int key;
};

static struct item *find(struct hmap *m, int key, uint64_t hash)
{
    for (struct hmap_node *n = hmap_first(m, hash); n; n = hmap_next(n)) {
        struct item *it = (struct item *)n;
        if (it->key == key)
            return it;
    }
    return NULL;
}

static int test_hmap_grow_and_remove(void)
{
    struct hmap m;
    enum { N = 1000 };
    struct item *items = calloc(N, sizeof(*items));
    CHECK(items != NULL);
    CHECK_EQ(hmap_init(&m, 4), 0);
    for (int i = 0; i < N; i++) {
        items[i].key = i;
        CHECK_EQ(hmap_insert(&m, &items[i].node, hmap_hash_u64((uint64_t)i)), 0);
    }
    CHECK_EQ(m.count, N);
    CHECK(m.mask + 1 >= N);
    for (int i = 0; i < N; i++)
        CHECK(find(&m, i, hmap_hash_u64((uint64_t)i)) == &items[i]);
    for (int i = 0; i < N; i += 2)
        hmap_remove(&m, &items[i].node);
    CHECK_EQ(m.count, N / 2);
    for (int i = 0; i < N; i++)
        CHECK((find(&m, i, hmap_hash_u64((uint64_t)i)) != NULL) == (i % 2 == 1));
    hmap_destroy(&m);
    free(items);
    return 0;
}

static int test_hmap_same_hash(void)
{
    struct hmap m;
    struct item a = {.key = 1}, b = {.key = 2}, c = {.key = 3};
    CHECK_EQ(hmap_init(&m, 8), 0);
    /* Three keys under one hash: each is found by walking the chain and comparing. */
    hmap_insert(&m, &a.node, 42);
    hmap_insert(&m, &b.node, 42);
    hmap_insert(&m, &c.node, 42 + 8); /* same bucket, other hash: never yielded for 42 */
    CHECK(find(&m, 1, 42) == &a);
    CHECK(find(&m, 2, 42) == &b);
    CHECK(find(&m, 3, 42) == NULL);
    CHECK(find(&m, 3, 50) == &c);
    hmap_remove(&m, &b.node);
    CHECK(find(&m, 2, 42) == NULL);
    CHECK(find(&m, 1, 42) == &a);
    hmap_destroy(&m);
    return 0;
}

static const struct test_case cases[] = {
    {"hmap_grow_and_remove", test_hmap_grow_and_remove},
    {"hmap_same_hash", test_hmap_same_hash},
};

TEST_MAIN(cases)
