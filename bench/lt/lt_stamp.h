/* The trailer the bench appends to every RTP payload it sends: which published stream the packet
 * belongs to, its index in that stream (0, 1, 2, ... with no gap, whatever the RTP sequence
 * number became on the way), and when it was sent (CLOCK_MONOTONIC, ns; sender and receivers are
 * threads of one process, so one clock). Servers forward payloads untouched, so the receiver
 * finds it at the end of what it decrypts: delay and loss are counted per packet, never from
 * averages. Big-endian, after the codec's own payload; receivers do not decode the media. */
#ifndef BENCH_LT_STAMP_H
#define BENCH_LT_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_STAMP_LEN   20
#define LT_STAMP_MAGIC 0x47505342u /* "GPSB" */

struct lt_stamp {
    uint32_t stream;  /* the bench's id of the published track */
    uint32_t index;   /* the packet's number in that stream */
    uint64_t sent_ns; /* CLOCK_MONOTONIC when the bench handed it to the target */
};

static inline void lt_stamp_put(uint8_t *p, const struct lt_stamp *s)
{
    const uint32_t w[3] = {LT_STAMP_MAGIC, s->stream, s->index};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++)
            p[4 * i + b] = (uint8_t)(w[i] >> (24 - 8 * b));
    for (int b = 0; b < 8; b++)
        p[12 + b] = (uint8_t)(s->sent_ns >> (56 - 8 * b));
}

/* Reads the trailer from the last LT_STAMP_LEN bytes of an RTP packet. False when the packet is
 * too short for one or the magic is not there (a packet the bench did not send, or damaged). */
static inline bool lt_stamp_get(const uint8_t *pkt, size_t len, struct lt_stamp *s)
{
    if (len < 12 + LT_STAMP_LEN)
        return false;
    const uint8_t *p = pkt + len - LT_STAMP_LEN;
    uint32_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    if (w[0] != LT_STAMP_MAGIC)
        return false;
    s->stream = w[1];
    s->index = w[2];
    s->sent_ns = 0;
    for (int b = 0; b < 8; b++)
        s->sent_ns = s->sent_ns << 8 | p[12 + b];
    return true;
}

#endif
