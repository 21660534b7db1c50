/* One measured run of a scenario against one target: people join, the clip is replayed by
 * every publisher, each packet is accounted for at every receiver, and the server's CPU and
 * memory are sampled each second. With ramp, rooms are added step by step until the loss or
 * delay limit is passed. */
#ifndef BENCH_LT_RUN_H
#define BENCH_LT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signal.h>

#include "lt.h"
#include "lt_scenario.h"

/* Rooms in one run (a ward round's consultations count one each), and ramp steps. */
#define LT_RUN_ROOMS_MAX 256
#define LT_RUN_STEPS_MAX 256

struct lt_clip;

struct lt_run_cfg {
    const struct lt_target_ops *target;
    struct lt_target_cfg target_cfg;
    const struct lt_scenario *scenario;
    const struct lt_clip *clip;
    unsigned duration_s; /* measured time after everyone joined (each step with ramp) */
    unsigned settle_ms;  /* after the joins, before the measured window opens */
    int join_timeout_ms;
    bool ramp;
    unsigned ramp_step;          /* rooms added per step */
    unsigned ramp_max;           /* rooms at most */
    double ramp_loss_pct;        /* a step over this loss ends the ramp (0.5) */
    double ramp_p99_ms;          /* ... or over this p99 delay (50) */
    const char *bench_cpus;      /* the bench's own CPUs (taskset syntax) or NULL */
    bool progress;               /* the one-line live display on stderr */
    volatile sig_atomic_t *stop; /* set (by a signal handler) to end the run early; may be NULL */
};

/* One second of the run. */
struct lt_sample {
    double t_s;               /* since the first join */
    unsigned rooms;           /* rooms with people in them */
    double pps_in, pps_out;   /* packets/s the bench sent to the server / received */
    double mbps_in, mbps_out; /* Mbit/s, RTP sizes before SRTP */
    double p50_ms, p99_ms;    /* forwarding delay of the packets received in that second */
    double server_cpu_pct;    /* of one core */
    double bench_cpu_pct;     /* of one core */
    double server_rss_mb;
};

/* The figures of a measured window (the whole run, or one ramp step). */
struct lt_figures {
    unsigned rooms;
    unsigned people;
    double window_s;
    uint64_t sent;     /* packets the publishers sent in the window */
    uint64_t expected; /* copies that should have arrived: sent × their receivers */
    uint64_t received; /* copies that did (unique) */
    uint64_t duplicates;
    double loss_pct;
    double delay_p50_ms, delay_p99_ms, delay_max_ms;
    double jitter_ms, jitter_max_ms; /* mean over stream copies, and the worst */
    double pps_in, pps_out, mbps_in, mbps_out;
    double server_cpu_pct, server_cpu_s, bench_cpu_pct;
    double server_rss_mb_max;
    uint64_t delivered;    /* unique copies received during the window's wall-clock time */
    double fwd_per_cpu_s;  /* delivered per second of server CPU: packets per CPU-second */
    uint64_t send_errors;  /* packets the bench could not hand over (counted as sent and lost) */
    double bench_late_ms;  /* how far the bench's sender fell behind the clip's pace, at worst */
    double bench_late_pct; /* packets it sent 10 ms late or more */
    double bench_loop_pct; /* the busiest of the peers' loop threads, % of one CPU */
    bool bench_bound;      /* the bench, not the server, limited this window */
    char bench_why[96];    /* why it is thought so */
};

struct lt_result {
    char target[16];
    bool ok;                         /* ran to the end */
    char error[512];                 /* why not, when !ok */
    unsigned joins;                  /* people who joined */
    unsigned join_errors;            /* people who could not */
    double join_p50_ms, join_p95_ms; /* link opened to first video packet from someone else */
    unsigned join_samples;
    uint64_t foreign;   /* packets that reached someone outside their room: must be 0 */
    uint64_t unstamped; /* packets without the bench's trailer */
    uint64_t send_errors;
    struct lt_figures total; /* the measured window (the last passing step with ramp) */
    struct lt_figures steps[LT_RUN_STEPS_MAX]; /* ramp steps, in order */
    unsigned n_steps;
    unsigned capacity;     /* ramp: rooms of the last step within the limits (0: none was) */
    bool capacity_limited; /* ramp: a step passed a limit (else it stopped at ramp_max) */
    char limit_reason[320];
    bool bench_bound;          /* the bench's own CPU was the bottleneck */
    struct lt_sample *samples; /* owned */
    size_t n_samples;
};

/* Runs cfg; fills *res (free it with lt_result_free). Returns 0 when the run completed (res->ok),
 * else a negative errno with res->error set. */
int lt_run(const struct lt_run_cfg *cfg, struct lt_result *res);

void lt_result_free(struct lt_result *res);

#endif
