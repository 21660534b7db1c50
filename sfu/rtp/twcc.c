/* Transport-cc receiver: a ring of arrival times by unwrapped sequence number, and a feedback
 * builder that picks run-length or status-vector chunks as it goes. */
#include "rtp/twcc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/bytes.h"
#include "rtp/rtcp.h"

#define RING_MASK    (TWCC_RECORDER_RING - 1)
#define FB_FIXED_LEN 20 /* header, two SSRCs, base seq, status count, ref time, fb count */
#define REF_TIME_US  64000
#define DELTA_US     250
#define RUN_MAX      8191

enum { SYM_NONE = 0, SYM_SMALL = 1, SYM_LARGE = 2 };

struct twcc_slot {
    int64_t ext; /* which unwrapped seq the slot holds; INT64_MIN when none */
    uint64_t arrival_us;
};

struct twcc_recorder {
    bool started;
    uint8_t fb_count;
    int64_t base_ext;  /* first pending seq */
    int64_t max_ext;   /* highest recorded seq; always received */
    int64_t floor_ext; /* seqs below this were reported or dropped */
    struct twcc_recorder_stats st;
    struct twcc_slot ring[TWCC_RECORDER_RING];
};

int twcc_recorder_new(struct twcc_recorder **out)
{
    struct twcc_recorder *rec = calloc(1, sizeof(*rec));
    if (!rec)
        return -ENOMEM;
    for (size_t i = 0; i < TWCC_RECORDER_RING; i++)
        rec->ring[i].ext = INT64_MIN;
    rec->floor_ext = INT64_MIN;
    *out = rec;
    return 0;
}

void twcc_recorder_free(struct twcc_recorder *rec)
{
    free(rec);
}

void twcc_recorder_on_packet(struct twcc_recorder *rec, uint16_t seq, uint64_t arrival_us)
{
    int64_t ext;
    if (!rec->started) {
        rec->started = true;
        ext = seq;
        rec->base_ext = rec->max_ext = ext;
    } else {
        /* The nearest unwrapping of seq to the highest one seen. */
        ext = rec->max_ext + (int16_t)(uint16_t)(seq - (uint16_t)rec->max_ext);
        if (ext < rec->floor_ext || ext <= rec->max_ext - TWCC_RECORDER_RING) {
            rec->st.late++;
            return;
        }
    }
    struct twcc_slot *s = &rec->ring[ext & RING_MASK];
    if (s->ext == ext) {
        rec->st.duplicates++;
        return;
    }
    if (ext > rec->max_ext) {
        rec->max_ext = ext;
        int64_t lowest = ext - TWCC_RECORDER_RING + 1;
        if (rec->base_ext < lowest) {
            rec->st.overflowed += (uint64_t)(lowest - rec->base_ext);
            rec->base_ext = rec->floor_ext = lowest;
        }
    } else if (ext < rec->base_ext) {
        /* Only before the first feedback (floor_ext still open): an early packet overtaken
         * by a later one widens what the first feedback covers. */
        rec->base_ext = ext;
    }
    s->ext = ext;
    s->arrival_us = arrival_us;
    rec->st.recorded++;
}

/* Streaming chunk encoder: holds up to 14 symbols not yet written (or a longer run of one
 * symbol, as a count), and writes a chunk when the next symbol no longer fits any encoding of
 * what it holds. Small enough to copy, so the builder can keep a snapshot at the last
 * received packet. */
struct chunker {
    uint8_t sym[14];
    uint32_t n;
    bool same;  /* all n symbols equal sym[0] */
    bool large; /* some symbol is SYM_LARGE */
    size_t emitted;
};

static void chunk_store(uint8_t *chunks, size_t i, uint16_t c)
{
    be16_store(chunks + 2 * i, c);
}

/* Writes one chunk of what the chunker holds. Mid-stream (final false) every chunk must be
 * full, since unused vector slots would read as "not received"; at the end of a feedback the
 * parser ignores slots past the status count, so a partial vector is fine. */
static void chunker_emit(struct chunker *ck, uint8_t *chunks, bool final)
{
    uint16_t c;
    uint32_t used;
    if (ck->same) {
        c = (uint16_t)(ck->sym[0] << 13 | ck->n);
        used = ck->n;
    } else if (ck->n >= 14 || (final && !ck->large && ck->n > 7)) {
        c = 0x8000;
        used = ck->n < 14 ? ck->n : 14;
        for (uint32_t i = 0; i < used; i++)
            c |= (uint16_t)(ck->sym[i] << (13 - i));
    } else {
        /* A large delta among them, or a 1-bit vector cannot be filled: seven 2-bit symbols
         * (the chunker only gets here holding at least seven, or at the final flush). */
        c = 0xc000;
        used = ck->n < 7 ? ck->n : 7;
        for (uint32_t i = 0; i < used; i++)
            c |= (uint16_t)(ck->sym[i] << (12 - 2 * i));
    }
    chunk_store(chunks, ck->emitted++, c);
    /* Keep what the chunk did not take (after a 2-bit vector of a longer mix). */
    uint32_t rest = ck->n - used;
    bool same = true, large = false;
    for (uint32_t i = 0; i < rest; i++) {
        ck->sym[i] = ck->sym[used + i];
        same = same && ck->sym[i] == ck->sym[0];
        large = large || ck->sym[i] == SYM_LARGE;
    }
    ck->n = rest;
    ck->same = same;
    ck->large = large;
}

static bool chunker_fits(const struct chunker *ck, uint8_t sym)
{
    if (ck->n == 0)
        return true;
    if (ck->same && sym == ck->sym[0] && ck->n < RUN_MAX)
        return true;
    if (ck->n >= 14)
        return false;
    if (!ck->large && sym != SYM_LARGE)
        return true;
    return ck->n < 7;
}

static void chunker_add(struct chunker *ck, uint8_t *chunks, uint8_t sym)
{
    while (!chunker_fits(ck, sym))
        chunker_emit(ck, chunks, false);
    if (ck->n < 14)
        ck->sym[ck->n] = sym;
    ck->same = ck->n == 0 || (ck->same && sym == ck->sym[0]);
    ck->large = ck->large || sym == SYM_LARGE;
    ck->n++;
}

/* Chunks once everything held is written. */
static size_t chunker_total(const struct chunker *ck)
{
    return ck->emitted + (ck->n ? 1 : 0);
}

static size_t padded(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

int twcc_recorder_build(struct twcc_recorder *rec, uint32_t sender_ssrc, uint32_t media_ssrc,
                        uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (!rec->started || rec->base_ext > rec->max_ext)
        return 0;
    int64_t base = rec->base_ext;
    int64_t avail = rec->max_ext - base + 1;
    if (avail > 0xffff)
        avail = 0xffff;
    uint8_t *chunks = buf + FB_FIXED_LEN;

    /* First pass: classify symbols, feed the chunker, and stop before a delta that does not
     * fit in 16 bits or a symbol that would overrun cap. snap is the state just after the
     * last received packet, where the feedback will end. */
    struct chunker ck = {.same = true}, snap = ck, trial;
    size_t delta_bytes = 0;
    int64_t snap_k = 0, prev_units = 0;
    uint64_t ref_time = 0;
    bool have_ref = false;
    for (int64_t i = 0; i < avail; i++) {
        const struct twcc_slot *s = &rec->ring[(base + i) & RING_MASK];
        uint8_t sym = SYM_NONE;
        int64_t units = 0;
        if (s->ext == base + i) {
            units = (int64_t)(s->arrival_us / DELTA_US);
            if (!have_ref) {
                ref_time = s->arrival_us / REF_TIME_US;
                prev_units = (int64_t)ref_time * (REF_TIME_US / DELTA_US);
            }
            int64_t d = units - prev_units;
            if (d < INT16_MIN || d > INT16_MAX)
                break;
            sym = d >= 0 && d <= 255 ? SYM_SMALL : SYM_LARGE;
        }
        size_t db = delta_bytes + (sym == SYM_SMALL ? 1 : sym == SYM_LARGE ? 2 : 0);
        trial = ck;
        /* The chunker writes into buf only below its own total, which the check below keeps
         * inside cap; chunks written past the snapshot are rewritten by the final flush. */
        if (cap < FB_FIXED_LEN + 2 * (chunker_total(&trial) + 1) + db)
            break;
        chunker_add(&trial, chunks, sym);
        if (padded(FB_FIXED_LEN + 2 * chunker_total(&trial) + db) > cap)
            break;
        ck = trial;
        delta_bytes = db;
        if (sym != SYM_NONE) {
            have_ref = true;
            prev_units = units;
            snap = ck;
            snap_k = i + 1;
        }
    }
    if (snap_k == 0)
        return -ENOSPC;

    ck = snap;
    while (ck.n)
        chunker_emit(&ck, chunks, true);

    /* Second pass: the receive deltas, recomputed exactly as above. */
    uint8_t *d = chunks + 2 * ck.emitted;
    prev_units = (int64_t)ref_time * (REF_TIME_US / DELTA_US);
    for (int64_t i = 0; i < snap_k; i++) {
        const struct twcc_slot *s = &rec->ring[(base + i) & RING_MASK];
        if (s->ext != base + i)
            continue;
        int64_t units = (int64_t)(s->arrival_us / DELTA_US);
        int64_t dv = units - prev_units;
        prev_units = units;
        if (dv >= 0 && dv <= 255) {
            *d++ = (uint8_t)dv;
        } else {
            be16_store(d, (uint16_t)(int16_t)dv);
            d += 2;
        }
    }
    size_t body_end = (size_t)(d - buf);
    size_t total = padded(body_end);
    /* Zero fill rather than the RTCP padding bit, so the packet may sit anywhere in a
     * compound; the parser ignores bytes after the last delta. */
    while (body_end < total)
        buf[body_end++] = 0;

    rtcp__fb_header_store(buf, RTCP_PT_RTPFB, RTCP_RTPFB_TWCC, total, sender_ssrc, media_ssrc);
    be16_store(buf + 12, (uint16_t)base);
    be16_store(buf + 14, (uint16_t)snap_k);
    be24_store(buf + 16, (uint32_t)ref_time & 0xffffff);
    buf[19] = rec->fb_count++;

    rec->base_ext = rec->floor_ext = base + snap_k;
    rec->st.feedbacks++;
    *len = total;
    return 0;
}

void twcc_recorder_stats_get(const struct twcc_recorder *rec, struct twcc_recorder_stats *st)
{
    *st = rec->st;
}
