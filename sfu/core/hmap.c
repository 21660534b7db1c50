/* The intrusive hash map. */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>

int hmap_init(struct hmap *m, size_t initial_buckets)
{
    size_t n = 8;
    while (n < initial_buckets)
        n *= 2;
    m->buckets = calloc(n, sizeof(*m->buckets));
    if (!m->buckets)
        return -ENOMEM;
    m->mask = n - 1;
    m->count = 0;
    return 0;
}

void hmap_destroy(struct hmap *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->count = 0;
}

static int hmap_grow(struct hmap *m)
{
    size_t n = (m->mask + 1) * 2;
    struct hmap_node **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return -ENOMEM;
    for (size_t i = 0; i <= m->mask; i++) {
        struct hmap_node *node = m->buckets[i];
        while (node) {
            struct hmap_node *next = node->next;
            size_t b = node->hash & (n - 1);
            node->next = nb[b];
            nb[b] = node;
            node = next;
        }
    }
    free(m->buckets);
    m->buckets = nb;
    m->mask = n - 1;
    return 0;
}

int hmap_insert(struct hmap *m, struct hmap_node *node, uint64_t hash)
{
    int err = 0;
    if (m->count >= m->mask + 1)
        err = hmap_grow(m);
    size_t b = hash & m->mask;
    node->hash = hash;
    node->next = m->buckets[b];
    m->buckets[b] = node;
    m->count++;
    return err;
}

void hmap_remove(struct hmap *m, struct hmap_node *node)
{
    struct hmap_node **pp = &m->buckets[node->hash & m->mask];
    while (*pp) {
        if (*pp == node) {
            *pp = node->next;
            node->next = NULL;
            m->count--;
            return;
        }
        pp = &(*pp)->next;
    }
}

struct hmap_node *hmap_first(const struct hmap *m, uint64_t hash)
{
    struct hmap_node *node = m->buckets[hash & m->mask];
    while (node && node->hash != hash)
        node = node->next;
    return node;
}

struct hmap_node *hmap_next(const struct hmap_node *node)
{
    uint64_t hash = node->hash;
    node = node->next;
    while (node && node->hash != hash)
        node = node->next;
    return (struct hmap_node *)node;
}
