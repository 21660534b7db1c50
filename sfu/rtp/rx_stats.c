/* Receive statistics after RFC 3550 appendix A, in our own words. */
#include "rtp/rx_stats.h"

#include <errno.h>
#include <string.h>

#define SEQ_MOD      (1u << 16)
#define MAX_DROPOUT  3000
#define MAX_MISORDER 100

void rx_stats_init(struct rx_stats *s, uint32_t ssrc, uint32_t clock_rate)
{
    memset(s, 0, sizeof(*s));
    s->ssrc = ssrc;
    s->clock_rate = clock_rate ? clock_rate : 90000;
    s->bad_seq = SEQ_MOD + 1; /* matches no seq */
}

static void seq_restart(struct rx_stats *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SEQ_MOD + 1;
    s->cycles = 0;
    s->received = 0;
    s->expected_prior = 0;
    s->received_prior = 0;
    s->have_transit = false;
}

/* Arrival time in RTP timestamp units, split so that the product cannot overflow. Only
 * differences are used, so the 32-bit wrap is harmless. */
static uint32_t arrival_ts(const struct rx_stats *s, uint64_t arrival_us)
{
    uint64_t sec = arrival_us / 1000000, frac = arrival_us % 1000000;
    return (uint32_t)(sec * s->clock_rate + frac * s->clock_rate / 1000000);
}

static void jitter_update(struct rx_stats *s, uint32_t rtp_ts, uint64_t arrival_us)
{
    uint32_t transit = arrival_ts(s, arrival_us) - rtp_ts;
    if (s->have_transit) {
        int32_t d = (int32_t)(transit - s->transit);
        uint32_t ad = d < 0 ? (uint32_t) - (int64_t)d : (uint32_t)d;
        /* Clamped so the value scaled by 16 cannot overflow: a jump this large (over an hour
         * at 90 kHz) is a broken stream, not jitter. */
        if (ad > (1u << 27))
            ad = 1u << 27;
        /* J += (|D| - J) / 16, kept scaled by 16 to avoid losing the fraction (A.8). */
        s->jitter_q4 += ad - ((s->jitter_q4 + 8) >> 4);
    }
    s->transit = transit;
    s->have_transit = true;
}

int rx_stats_on_packet(struct rx_stats *s, uint16_t seq, uint32_t rtp_ts, uint64_t arrival_us)
{
    if (!s->started) {
        s->started = true;
        seq_restart(s, seq);
        s->received = 1;
        jitter_update(s, rtp_ts, arrival_us);
        return 0;
    }
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    bool advanced = false;
    if (udelta != 0 && udelta < MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += SEQ_MOD;
        s->max_seq = seq;
        advanced = true;
    } else if (udelta == 0 || udelta > SEQ_MOD - MAX_MISORDER) {
        /* A duplicate or a reordered packet: counted, no change to the highest. */
    } else {
        /* A big jump: believe it only when the next packet follows on from it. */
        if (seq == s->bad_seq) {
            seq_restart(s, seq);
            advanced = true;
        } else {
            s->bad_seq = (uint32_t)(uint16_t)(seq + 1);
            return -ERANGE;
        }
    }
    s->received++;
    if (advanced)
        jitter_update(s, rtp_ts, arrival_us);
    return 0;
}

void rx_stats_on_sr(struct rx_stats *s, uint64_t ntp, uint64_t arrival_us)
{
    s->have_sr = true;
    s->last_sr = (uint32_t)(ntp >> 16);
    s->last_sr_arrival_us = arrival_us;
}

uint32_t rx_stats_ext_highest(const struct rx_stats *s)
{
    return s->cycles + s->max_seq;
}

uint32_t rx_stats_expected(const struct rx_stats *s)
{
    if (!s->started)
        return 0;
    return rx_stats_ext_highest(s) - s->base_seq + 1;
}

int64_t rx_stats_lost(const struct rx_stats *s)
{
    return (int64_t)rx_stats_expected(s) - (int64_t)s->received;
}

uint32_t rx_stats_jitter(const struct rx_stats *s)
{
    return s->jitter_q4 >> 4;
}

void rx_stats_fill_report_block(struct rx_stats *s, uint64_t now_us, struct rtcp_report_block *rb)
{
    uint32_t expected = rx_stats_expected(s);
    int64_t lost = rx_stats_lost(s);
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    uint32_t exp_int = expected - s->expected_prior;
    uint32_t rec_int = s->received - s->received_prior;
    s->expected_prior = expected;
    s->received_prior = s->received;
    int64_t lost_int = (int64_t)exp_int - (int64_t)rec_int;

    rb->ssrc = s->ssrc;
    /* Everything lost reads 256/256, which the 8-bit field cannot carry: 255. */
    int64_t frac = (exp_int == 0 || lost_int <= 0) ? 0 : (lost_int << 8) / exp_int;
    rb->fraction_lost = (uint8_t)(frac > 255 ? 255 : frac);
    rb->cumulative_lost = (int32_t)lost;
    rb->ext_highest_seq = rx_stats_ext_highest(s);
    rb->jitter = rx_stats_jitter(s);
    if (s->have_sr) {
        uint64_t delay = now_us > s->last_sr_arrival_us ? now_us - s->last_sr_arrival_us : 0;
        rb->lsr = s->last_sr;
        uint64_t dlsr = delay / 1000000 * 65536 + delay % 1000000 * 65536 / 1000000;
        rb->dlsr = dlsr > UINT32_MAX ? UINT32_MAX : (uint32_t)dlsr;
    } else {
        rb->lsr = 0;
        rb->dlsr = 0;
    }
}
