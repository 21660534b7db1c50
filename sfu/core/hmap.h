/* An intrusive chained hash map: the node lives in the member, the caller hashes and compares,
 * so one small structure serves every key type (ufrags, addresses, ids). Lookups walk one
 * bucket; the table grows by doubling on insert (control path), never on the packet path. */
#ifndef SFU_HMAP_H
#define SFU_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_node {
    struct hmap_node *next;
    uint64_t hash;
};

struct hmap {
    struct hmap_node **buckets; /* owned */
    size_t mask;                /* bucket count - 1 */
    size_t count;
};

/* Returns 0 or -ENOMEM. */
int hmap_init(struct hmap *m, size_t initial_buckets);
/* Frees the buckets; the members are the caller's. */
void hmap_destroy(struct hmap *m);
/* Inserts node under hash (duplicates allowed; the caller checks first when it must not).
 * Returns 0, or -ENOMEM only if growing failed (the node is inserted anyway). */
int hmap_insert(struct hmap *m, struct hmap_node *node, uint64_t hash);
void hmap_remove(struct hmap *m, struct hmap_node *node);
/* The first node of hash's bucket with that hash; continue with hmap_next. */
struct hmap_node *hmap_first(const struct hmap *m, uint64_t hash);
struct hmap_node *hmap_next(const struct hmap_node *node);

/* FNV-1a, enough for keys chosen by us or checked before use. */
static inline uint64_t hmap_hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static inline uint64_t hmap_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

#endif
