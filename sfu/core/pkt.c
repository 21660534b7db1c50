/* The packet pool. Under AddressSanitizer every get is a real malloc and every last unref a
 * real free, so use-after-unref and leaks are caught rather than hidden by recycling. */
#include "pkt.h"

#include <errno.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define PKT_POOL_REAL_ALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PKT_POOL_REAL_ALLOC 1
#endif
#endif

struct pkt_pool {
    struct list free_list;
    struct pkt *slab; /* owned; NULL under ASan */
    uint32_t count;
    uint64_t in_use;
    uint64_t exhausted;
};

int pkt_pool_new(struct pkt_pool **out, uint32_t count)
{
    struct pkt_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;
    list_init(&pool->free_list);
    pool->count = count;
#ifndef PKT_POOL_REAL_ALLOC
    pool->slab = calloc(count, sizeof(struct pkt));
    if (!pool->slab) {
        free(pool);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        pool->slab[i].pool = pool;
        list_insert_tail(&pool->free_list, &pool->slab[i].node);
    }
#endif
    *out = pool;
    return 0;
}

void pkt_pool_free(struct pkt_pool *pool)
{
    if (!pool)
        return;
    free(pool->slab);
    free(pool);
}

struct pkt *pkt_get(struct pkt_pool *pool)
{
    struct pkt *p;
    if (pool->in_use >= pool->count) {
        pool->exhausted++;
        return NULL;
    }
#ifdef PKT_POOL_REAL_ALLOC
    p = malloc(sizeof(*p));
    if (!p) {
        pool->exhausted++;
        return NULL;
    }
    list_init(&p->node);
    p->pool = pool;
#else
    struct list *n = pool->free_list.next;
    list_remove(n);
    p = list_entry(n, struct pkt, node);
#endif
    pool->in_use++;
    p->refs = 1;
    p->len = 0;
    p->arrival_us = 0;
    return p;
}

void pkt_ref(struct pkt *p)
{
    p->refs++;
}

void pkt_unref(struct pkt *p)
{
    if (!p || --p->refs > 0)
        return;
    struct pkt_pool *pool = p->pool;
    pool->in_use--;
#ifdef PKT_POOL_REAL_ALLOC
    free(p);
#else
    list_insert_tail(&pool->free_list, &p->node);
#endif
}

void pkt_pool_stats_get(const struct pkt_pool *pool, struct pkt_pool_stats *st)
{
    st->in_use = pool->in_use;
    st->capacity = pool->count;
    st->exhausted = pool->exhausted;
}
