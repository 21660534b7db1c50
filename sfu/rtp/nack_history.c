/* NACK history: a power-of-two ring of packet references indexed by sequence number. */
#include "rtp/nack_history.h"

#include <errno.h>
#include <stdlib.h>

struct nack_slot {
    struct pkt *p; /* owned: one reference */
    uint16_t seq;  /* which seq p is, since seq and seq + size share the slot */
};

struct nack_history {
    uint32_t mask;
    uint64_t max_age_us;
    uint32_t cursor;         /* nack_history_expire's next slot */
    struct nack_slot *slots; /* owned */
};

int nack_history_new(struct nack_history **out, uint32_t size, uint64_t max_age_us)
{
    if (size == 0 || size > 32768 || (size & (size - 1)) != 0)
        return -EINVAL;
    struct nack_history *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->slots = calloc(size, sizeof(*h->slots));
    if (!h->slots) {
        free(h);
        return -ENOMEM;
    }
    h->mask = size - 1;
    h->max_age_us = max_age_us;
    *out = h;
    return 0;
}

void nack_history_clear(struct nack_history *h)
{
    for (uint32_t i = 0; i <= h->mask; i++) {
        pkt_unref(h->slots[i].p);
        h->slots[i].p = NULL;
    }
}

void nack_history_free(struct nack_history *h)
{
    if (!h)
        return;
    nack_history_clear(h);
    free(h->slots);
    free(h);
}

void nack_history_put(struct nack_history *h, uint16_t seq, struct pkt *p)
{
    struct nack_slot *s = &h->slots[seq & h->mask];
    /* Reference the new packet before dropping the old one: they may be the same buffer. */
    if (p)
        pkt_ref(p);
    pkt_unref(s->p);
    s->p = p;
    s->seq = seq;
}

struct pkt *nack_history_get(const struct nack_history *h, uint16_t seq, uint64_t now_us)
{
    const struct nack_slot *s = &h->slots[seq & h->mask];
    if (!s->p || s->seq != seq)
        return NULL;
    /* A packet from the future (clock handed in out of order) counts as fresh. */
    if (now_us > s->p->arrival_us && now_us - s->p->arrival_us > h->max_age_us)
        return NULL;
    return s->p;
}

uint32_t nack_history_expire(struct nack_history *h, uint64_t now_us, uint32_t n)
{
    uint32_t dropped = 0;
    if (n > h->mask + 1)
        n = h->mask + 1;
    for (uint32_t i = 0; i < n; i++) {
        struct nack_slot *s = &h->slots[h->cursor];
        h->cursor = (h->cursor + 1) & h->mask;
        if (s->p && now_us > s->p->arrival_us && now_us - s->p->arrival_us > h->max_age_us) {
            pkt_unref(s->p);
            s->p = NULL;
            dropped++;
        }
    }
    return dropped;
}

uint32_t nack_history_size(const struct nack_history *h)
{
    return h->mask + 1;
}
