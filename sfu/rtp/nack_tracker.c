/* NACK tracker: a fixed array of missing seqs in arrival order, compacted as entries leave. */
#include "rtp/nack_tracker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct nack_entry {
    uint16_t seq;
    uint8_t retries;
    bool gone; /* recovered: removed at the next compaction */
    uint64_t found_us;
    uint64_t sent_us;
};

struct nack_tracker {
    struct nack_tracker_config cfg;
    uint64_t rtt_us;
    bool started;
    uint16_t highest;
    size_t count;
    struct nack_tracker_stats st;
    struct nack_entry e[NACK_TRACKER_CAP];
};

int nack_tracker_new(struct nack_tracker **out, const struct nack_tracker_config *cfg)
{
    struct nack_tracker *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    if (cfg)
        t->cfg = *cfg;
    if (!t->cfg.max_retries)
        t->cfg.max_retries = 10;
    if (t->cfg.max_retries > 255)
        t->cfg.max_retries = 255;
    if (!t->cfg.retry_interval_us)
        t->cfg.retry_interval_us = 20000;
    if (!t->cfg.max_age_us)
        t->cfg.max_age_us = 1000000;
    if (!t->cfg.max_gap || t->cfg.max_gap > NACK_TRACKER_CAP)
        t->cfg.max_gap = NACK_TRACKER_CAP;
    *out = t;
    return 0;
}

void nack_tracker_free(struct nack_tracker *t)
{
    free(t);
}

static void compact(struct nack_tracker *t)
{
    size_t w = 0;
    for (size_t r = 0; r < t->count; r++)
        if (!t->e[r].gone)
            t->e[w++] = t->e[r];
    t->count = w;
}

void nack_tracker_on_packet(struct nack_tracker *t, uint16_t seq, uint64_t now_us)
{
    if (!t->started) {
        t->started = true;
        t->highest = seq;
        return;
    }
    int16_t diff = (int16_t)(uint16_t)(seq - t->highest);
    if (diff == 0)
        return;
    if (diff < 0) {
        /* Older than the highest: a retransmission or a late original. */
        for (size_t i = 0; i < t->count; i++) {
            struct nack_entry *en = &t->e[i];
            if (en->gone || en->seq != seq)
                continue;
            en->gone = true;
            if (en->retries)
                t->st.recovered++;
            else
                t->st.reordered++;
            break;
        }
        return;
    }
    if ((uint32_t)diff > t->cfg.max_gap) {
        /* A jump this big is a restart or a sender-side discontinuity, not loss worth
         * asking for: NACKing hundreds of packets would only add load. */
        t->count = 0;
        t->highest = seq;
        t->st.resets++;
        return;
    }
    /* Make room for the whole gap at once: entry by entry, a full table would be compacted for
     * every missing packet, and a sender jumping by the maximum gap on every packet would cost
     * a worker a quadratic amount of copying. */
    size_t add = (size_t)diff - 1;
    uint16_t first = (uint16_t)(t->highest + 1);
    if (add > NACK_TRACKER_CAP) {
        /* The gap alone overflows: only its newest packets are worth asking for. */
        t->st.given_up += t->count + (add - NACK_TRACKER_CAP);
        t->count = 0;
        first = (uint16_t)(seq - NACK_TRACKER_CAP);
        add = NACK_TRACKER_CAP;
    } else if (t->count + add > NACK_TRACKER_CAP) {
        compact(t);
        if (t->count + add > NACK_TRACKER_CAP) {
            /* The oldest are the least likely to be useful. */
            size_t drop = t->count + add - NACK_TRACKER_CAP;
            memmove(t->e, t->e + drop, (t->count - drop) * sizeof(t->e[0]));
            t->count -= drop;
            t->st.given_up += drop;
        }
    }
    for (size_t i = 0; i < add; i++)
        t->e[t->count++] = (struct nack_entry){.seq = (uint16_t)(first + i), .found_us = now_us};
    t->highest = seq;
}

size_t nack_tracker_collect(struct nack_tracker *t, uint64_t now_us, uint16_t *out, size_t max)
{
    uint64_t interval = t->cfg.retry_interval_us;
    if (t->rtt_us > interval)
        interval = t->rtt_us;
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++) {
        struct nack_entry *en = &t->e[i];
        if (en->gone)
            continue;
        bool waited = en->retries == 0 || now_us - en->sent_us >= interval;
        /* Give up only once the last NACK had its interval to be answered. */
        if ((en->retries >= t->cfg.max_retries && waited) ||
            now_us - en->found_us > t->cfg.max_age_us) {
            en->gone = true;
            t->st.given_up++;
            continue;
        }
        if (!waited || n == max)
            continue;
        out[n++] = en->seq;
        en->retries++;
        en->sent_us = now_us;
        t->st.nacked++;
    }
    compact(t);
    return n;
}

void nack_tracker_set_rtt(struct nack_tracker *t, uint64_t rtt_us)
{
    t->rtt_us = rtt_us;
}

size_t nack_tracker_pending(const struct nack_tracker *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += !t->e[i].gone;
    return n;
}

void nack_tracker_stats_get(const struct nack_tracker *t, struct nack_tracker_stats *st)
{
    *st = t->st;
}
