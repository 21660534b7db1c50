/* A producer's recent packets by sequence number, so NACKs from subscribers are answered from
 * memory: the history holds a reference to each pool buffer, never a copy. */
#ifndef SFU_RTP_NACK_HISTORY_H
#define SFU_RTP_NACK_HISTORY_H

#include <stdint.h>

#include "core/pkt.h"

struct nack_history;

/* Makes a history of size slots (a power of two, 1..32768; 1024 suits video at a few
 * hundred packets per second) that answers for packets at most max_age_us old. Returns 0,
 * -EINVAL for a bad size, or -ENOMEM. */
int nack_history_new(struct nack_history **out, uint32_t size, uint64_t max_age_us);
/* Drops every reference the history holds, then frees it. Accepts NULL. */
void nack_history_free(struct nack_history *h);

/* Stores p under seq, taking a reference (pkt_ref), and drops the reference to whatever the
 * slot held before. p->arrival_us is the time its age is measured from. p may be NULL, which
 * only empties the slot. */
void nack_history_put(struct nack_history *h, uint16_t seq, struct pkt *p);

/* The packet stored under seq, borrowed (valid until the next put or free; take a reference
 * to keep it), or NULL when the slot holds another seq, is empty, or the packet arrived more
 * than max_age_us before now_us. */
struct pkt *nack_history_get(const struct nack_history *h, uint16_t seq, uint64_t now_us);

/* Drops every reference, as after a stream restart. */
void nack_history_clear(struct nack_history *h);

/* Drops the references of packets older than max_age_us among the next n slots (a cursor goes
 * round the ring), and returns how many it dropped. A packet too old to be resent must not
 * hold its pool buffer until its slot is reused: with many producers on a worker, their full
 * rings would hold more buffers than the pool has. Called from the producer's tick with n
 * sized so that the ring is gone round about once a second. */
uint32_t nack_history_expire(struct nack_history *h, uint64_t now_us, uint32_t n);

/* The slots (its size). */
uint32_t nack_history_size(const struct nack_history *h);

#endif
