/* Fixed-size packet buffers from a per-worker pool, reference counted, so that the packet path
 * never calls malloc and the NACK history can hold a packet without copying it. A pool belongs
 * to one worker thread and is never touched from another. */
#ifndef SFU_PKT_H
#define SFU_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"

/* Room for a full Ethernet-MTU datagram plus SRTP's tag and MKI, with slack for RTX's two
 * extra bytes. */
#define PKT_CAP 1600

struct pkt_pool;

struct pkt {
    struct list node;      /* free list membership, while free */
    struct pkt_pool *pool; /* borrowed */
    uint32_t refs;
    uint32_t len;
    uint64_t arrival_us; /* monotonic receive time */
    uint8_t data[PKT_CAP];
};

struct pkt_pool_stats {
    uint64_t in_use;
    uint64_t capacity;
    uint64_t exhausted; /* times a get found the pool empty */
};

/* Makes a pool of count buffers, all allocated now. Returns 0 or -ENOMEM. */
int pkt_pool_new(struct pkt_pool **out, uint32_t count);
/* Frees the pool; every packet must have been put back. Accepts NULL. */
void pkt_pool_free(struct pkt_pool *pool);

/* A buffer with one reference and len 0, or NULL when the pool is empty (the caller drops the
 * packet and counts it). */
struct pkt *pkt_get(struct pkt_pool *pool);
void pkt_ref(struct pkt *p);
/* Drops one reference; the last returns the buffer to its pool. Accepts NULL. */
void pkt_unref(struct pkt *p);

void pkt_pool_stats_get(const struct pkt_pool *pool, struct pkt_pool_stats *st);

#endif
