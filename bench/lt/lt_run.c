/* One measured run (lt_run.h). Three kinds of thread touch its state:
 *  - the control thread (lt_run's caller) opens rooms, joins and removes people, and opens and
 *    reads measurement windows;
 *  - the sender replays the clip for every live published stream, stamping each packet;
 *  - the targets' threads call rx_on_rtp for every packet a person receives: one thread per
 *    person at a time, so a person's receive state has a single writer, read by the others
 *    through relaxed atomics.
 *  - the sampler reads counters and /proc once a second.
 *
 * Loss, delay and jitter are counted per packet by lt_stats: one instance for the whole run (the
 * per-second samples, packets reaching someone outside their room) and one per measurement
 * window (a run's measured time, one ramp step, one ward-round consultation), each with the
 * window's (receiver, stream) subscriptions. Windows alternate between two slots, so that one is
 * read while the next fills; a window's instance is freed two windows later, when no thread can
 * still hold it. */
#include "lt_run.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lt_clip.h"
#include "lt_proc.h"
#include "lt_stamp.h"
#include "lt_stats.h"
#include "peer.h"

#define STREAMS_PER_INST (LT_ROOM_MAX * LT_TRACKS)
#define MAX_INSTS        LT_RUN_ROOMS_MAX
#define MAX_STREAMS      (MAX_INSTS * STREAMS_PER_INST)
#define MAX_RECEIVERS    (MAX_INSTS * LT_ROOM_MAX)
#define DRAIN_MS         1000 /* after a window closes, packets still on their way */
#define TICK_NS          1000000u
#define SAMPLES_MAX      (24 * 3600)
/* A packet sent this late against the clip's pace counts as late; more than LATE_BOUND_PCT of
 * a window's packets late means the bench, not the server, set the pace (one scheduling hiccup
 * of a busy machine is not that). */
#define LATE_NS        10000000u
#define LATE_BOUND_PCT 1.0
#define SLICE_NS       100000000u /* waits are cut in slices to notice a stop */

struct stream {
    bool on;   /* the slot publishes this track */
    bool live; /* the sender sends it (changed under run->lock) */
    void *tx;
    lt_send_fn send;
    struct lt_clip_rtp rtp;
    enum lt_track track;
    uint32_t id;
    /* Sender only: the next packet's index in the stream (the trailer's, contiguous), and its
     * place in the clip's endless replay, due at base_ns + the clip's offset of pos (a
     * keyframe request moves pos ahead to the next keyframe, as an encoder makes one at once). */
    uint64_t next;
    uint64_t pos;
    uint64_t base_ns;
    uint64_t key_at_ns; /* the last keyframe made on request */
    _Atomic bool key_wanted;
};

struct person {
    struct inst *inst;
    unsigned slot;
    struct lt_role role;
    struct lt_person *tp;
    bool joined;
    uint64_t join_start_ns;
    bool join_timed; /* someone's video was flowing when they joined */
    _Atomic uint64_t first_video_ns;
    struct lt_rx *rx_all;            /* in run->all */
    struct lt_rx *_Atomic rx_win[2]; /* in the windows' instances, NULL when not in one */
};

struct inst {        /* one room as the bench fills it */
    unsigned number; /* stream ids are number × STREAMS_PER_INST + slot × LT_TRACKS + track */
    struct lt_room *room;
    unsigned people;
    struct person person[LT_ROOM_MAX];
    struct stream stream[STREAMS_PER_INST];
    bool open;
};

struct run {
    const struct lt_run_cfg *cfg;
    const struct lt_target_ops *ops;
    struct lt_target *target;
    struct lt_target_cfg target_cfg; /* cfg's, with peer_loops */
    struct lt_peer_loops loops;
    pid_t server;
    pthread_mutex_t lock; /* the streams' live flags and the instance list */
    struct inst *insts[MAX_INSTS];
    unsigned n_insts;
    unsigned rooms_open;
    struct lt_stats *all;
    struct lt_stats *_Atomic win[2];
    struct lt_stats *retired[2]; /* window_retire */
    _Atomic bool stop;
    pthread_t sender, sampler;
    bool sender_started, sampler_started;
    uint64_t t0_ns;
    _Atomic uint64_t send_errors;
    _Atomic uint64_t late_max_ns; /* the sender's worst lateness since the window opened */
    _Atomic uint64_t late_pkts;   /* packets sent LATE_NS late or more, ever */
    _Atomic uint64_t rss_max;     /* the server's largest RSS since the window opened */
    struct lt_result *res;
    size_t samples_cap;
};

/* --- receiving ------------------------------------------------------------------------------ */

static void rx_on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct person *me = arg;
    uint64_t now = lt_now_ns();
    struct lt_stamp st;
    const struct lt_stamp *stamp = lt_stamp_get(buf, len, &st) ? &st : NULL;
    /* The trailer read once, counted in the run's instance and the open windows'. */
    lt_stats_rx_stamp(me->rx_all, stamp, len, now);
    for (int w = 0; w < 2; w++) {
        struct lt_rx *rx = atomic_load_explicit(&me->rx_win[w], memory_order_acquire);
        if (rx)
            lt_stats_rx_stamp(rx, stamp, len, now);
    }
    if (!atomic_load_explicit(&me->first_video_ns, memory_order_relaxed) && stamp &&
        st.stream / STREAMS_PER_INST == me->inst->number && st.stream % LT_TRACKS != LT_AUDIO)
        atomic_store_explicit(&me->first_video_ns, now, memory_order_relaxed);
}

static void rx_on_key_request(void *arg, enum lt_track track)
{
    struct person *me = arg;
    atomic_store(&me->inst->stream[me->slot * LT_TRACKS + track].key_wanted, true);
}

/* --- sending -------------------------------------------------------------------------------- */

/* Browsers make at most a few keyframes a second however often they are asked. */
#define KEY_MIN_GAP_NS 300000000u

/* A keyframe now: the replay jumps to the clip's next keyframe and goes on from there. */
static void stream_key(struct stream *s, const struct lt_clip *clip, uint64_t now)
{
    /* Too soon after the last one: the request waits (it is not dropped, or a new receiver
     * would wait for the clip's own next keyframe). */
    if (now - s->key_at_ns < KEY_MIN_GAP_NS)
        return;
    atomic_store(&s->key_wanted, false);
    if (s->track == LT_AUDIO)
        return;
    struct lt_clip_info ci;
    lt_clip_track_info(clip, s->track, &ci);
    for (uint64_t p = s->pos; p < s->pos + ci.packets; p++) {
        if (!lt_clip_keyframe(clip, s->track, p))
            continue;
        s->base_ns = now - lt_clip_offset_us(clip, s->track, p) * 1000u;
        s->pos = p;
        s->key_at_ns = now;
        return;
    }
}

static void *sender_main(void *arg)
{
    struct run *run = arg;
    const struct lt_clip *clip = run->cfg->clip;
    static uint8_t buf[LT_CLIP_PKT_MAX];
    while (!atomic_load(&run->stop)) {
        uint64_t now = lt_now_ns();
        uint64_t next_due = now + 5 * TICK_NS;
        struct lt_stats *win[2] = {atomic_load_explicit(&run->win[0], memory_order_acquire),
                                   atomic_load_explicit(&run->win[1], memory_order_acquire)};
        pthread_mutex_lock(&run->lock);
        for (unsigned k = 0; k < run->n_insts; k++) {
            struct inst *in = run->insts[k];
            if (!in->open)
                continue;
            for (unsigned i = 0; i < STREAMS_PER_INST; i++) {
                struct stream *s = &in->stream[i];
                if (!s->live)
                    continue;
                if (atomic_load_explicit(&s->key_wanted, memory_order_relaxed))
                    stream_key(s, clip, now);
                for (;;) {
                    uint64_t due = s->base_ns + lt_clip_offset_us(clip, s->track, s->pos) * 1000u;
                    if (due > now) {
                        if (due < next_due)
                            next_due = due;
                        break;
                    }
                    struct lt_stamp st = {
                        .stream = s->id, .index = (uint32_t)s->next, .sent_ns = lt_now_ns()};
                    s->rtp.seq = (uint16_t)s->next;
                    ssize_t len = lt_clip_render(clip, s->track, s->pos, &s->rtp, &st, buf,
                                                 sizeof(buf), NULL);
                    s->next++;
                    s->pos++;
                    /* Behind the clip's pace: the sender (the bench) cannot keep up. */
                    uint64_t late = st.sent_ns - due;
                    if (late > atomic_load_explicit(&run->late_max_ns, memory_order_relaxed))
                        atomic_store_explicit(&run->late_max_ns, late, memory_order_relaxed);
                    if (late >= LATE_NS)
                        atomic_store_explicit(&run->late_pkts, run->late_pkts + 1,
                                              memory_order_relaxed);
                    /* A packet that could not be handed over still counts as sent: it is then
                     * lost at every receiver, and the window's send_errors say where. */
                    if (len < 0 || s->send(s->tx, buf, (size_t)len) < 0)
                        atomic_fetch_add(&run->send_errors, 1);
                    if (len < 0)
                        continue;
                    lt_stats_sent(run->all, &st, (size_t)len);
                    for (int w = 0; w < 2; w++)
                        if (win[w])
                            lt_stats_sent(win[w], &st, (size_t)len);
                }
            }
        }
        pthread_mutex_unlock(&run->lock);
        uint64_t until = next_due - now > 5 * TICK_NS ? now + 5 * TICK_NS : next_due;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u),
                              .tv_nsec = (long)(until % 1000000000u)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    return NULL;
}

/* --- counters over everyone ----------------------------------------------------------------- */

struct totals {
    struct lt_stats_totals st;
    double server_cpu_s, bench_cpu_s;
    double loop_cpu_s[LT_PEER_LOOPS_MAX]; /* each peer loop's thread */
    uint64_t server_rss;
    bool server_gone; /* the server process has exited */
    uint64_t at_ns;
};

static void totals_read(struct run *run, struct totals *t, struct lt_hist *hist)
{
    memset(t, 0, sizeof(*t));
    lt_stats_totals_get(run->all, &t->st);
    if (hist)
        lt_stats_hist_get(run->all, false, hist);
    double cpu;
    uint64_t rss;
    int rc = lt_proc_sample(run->server, &cpu, &rss);
    if (rc == 0) {
        t->server_cpu_s = cpu;
        t->server_rss = rss;
        if (rss > atomic_load(&run->rss_max))
            atomic_store(&run->rss_max, rss);
    }
    t->server_gone = rc == -ESRCH || rc == -ENOENT;
    if (lt_proc_sample(getpid(), &cpu, &rss) == 0)
        t->bench_cpu_s = cpu;
    for (unsigned k = 0; k < run->loops.n; k++)
        peer_loop_cpu_s(run->loops.loop[k], &t->loop_cpu_s[k]);
    t->at_ns = lt_now_ns();
}

static void *sampler_main(void *arg)
{
    struct run *run = arg;
    struct lt_result *res = run->res;
    struct lt_hist *prev = malloc(sizeof(*prev)), *cur = malloc(sizeof(*cur)),
                   *diff = malloc(sizeof(*diff));
    struct totals a, b;
    if (!prev || !cur || !diff)
        goto out;
    totals_read(run, &a, prev);
    uint64_t next = a.at_ns + 1000000000u;
    while (!atomic_load(&run->stop)) {
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000u),
                              .tv_nsec = (long)(next % 1000000000u)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        next += 1000000000u;
        totals_read(run, &b, cur);
        double dt = (double)(b.at_ns - a.at_ns) / 1e9;
        lt_hist_diff(diff, cur, prev);
        if (res->n_samples < run->samples_cap) {
            struct lt_sample *s = &res->samples[res->n_samples++];
            s->t_s = (double)(b.at_ns - run->t0_ns) / 1e9;
            s->rooms = run->rooms_open;
            s->pps_in = (double)(b.st.tx_packets - a.st.tx_packets) / dt;
            s->pps_out = (double)(b.st.rx_packets - a.st.rx_packets) / dt;
            s->mbps_in = (double)(b.st.tx_bytes - a.st.tx_bytes) * 8 / dt / 1e6;
            s->mbps_out = (double)(b.st.rx_bytes - a.st.rx_bytes) * 8 / dt / 1e6;
            s->p50_ms = (double)lt_hist_percentile(diff, 50) / 1000.0;
            s->p99_ms = (double)lt_hist_percentile(diff, 99) / 1000.0;
            s->server_cpu_pct = (b.server_cpu_s - a.server_cpu_s) / dt * 100;
            s->bench_cpu_pct = (b.bench_cpu_s - a.bench_cpu_s) / dt * 100;
            s->server_rss_mb = (double)b.server_rss / 1048576.0;
            if (run->cfg->progress) {
                fprintf(stderr,
                        "\r[%s] %4.0f s  rooms %3u  in %7.0f pkt/s %6.1f Mbit/s  out %7.0f pkt/s "
                        "%6.1f Mbit/s  delay p50 %5.2f p99 %6.2f ms  cpu %5.1f%% (bench %5.1f%%) ",
                        run->ops->name, s->t_s, s->rooms, s->pps_in, s->mbps_in, s->pps_out,
                        s->mbps_out, s->p50_ms, s->p99_ms, s->server_cpu_pct, s->bench_cpu_pct);
                fflush(stderr);
            }
        }
        a = b;
        struct lt_hist *t = prev;
        prev = cur;
        cur = t;
    }
out:
    free(prev);
    free(cur);
    free(diff);
    return NULL;
}

/* --- rooms and people ----------------------------------------------------------------------- */

static void run_fail(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keeps the first reason the run failed. */
static void run_fail(struct run *run, const char *fmt, ...)
{
    if (run->res->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->res->error, sizeof(run->res->error), fmt, ap);
    va_end(ap);
}

static bool run_stopped(const struct run *run)
{
    return run->cfg->stop && *run->cfg->stop;
}

static struct inst *inst_new(struct run *run)
{
    if (run->n_insts >= MAX_INSTS)
        return NULL;
    struct inst *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->number = run->n_insts;
    in->people = run->cfg->scenario->people;
    for (unsigned j = 0; j < in->people; j++) {
        struct person *p = &in->person[j];
        p->inst = in;
        p->slot = j;
        p->role = run->cfg->scenario->roles[j];
        for (int k = 0; k < LT_TRACKS; k++) {
            struct stream *s = &in->stream[j * LT_TRACKS + (unsigned)k];
            s->on = p->role.publish[k];
            s->track = (enum lt_track)k;
            s->id = in->number * STREAMS_PER_INST + j * LT_TRACKS + (unsigned)k;
        }
    }
    /* In the run's accounting everyone receives their own room's streams and nothing else: a
     * packet from another room shows as unsubscribed. */
    for (unsigned j = 0; j < in->people; j++) {
        struct person *p = &in->person[j];
        unsigned id;
        if (lt_stats_rx_add(run->all, &p->rx_all, &id) < 0) {
            free(in);
            return NULL;
        }
        for (unsigned i = 0; p->role.subscribe && i < STREAMS_PER_INST; i++)
            if (in->stream[i].on && i / LT_TRACKS != j)
                lt_stats_subscribe(p->rx_all, in->stream[i].id);
    }
    pthread_mutex_lock(&run->lock);
    run->insts[run->n_insts++] = in;
    pthread_mutex_unlock(&run->lock);
    return in;
}

/* Opens the room and joins its people in order (the host first). */
static int inst_fill(struct run *run, struct inst *in, unsigned room_index)
{
    char err[LT_ERR_LEN];
    int rc = run->ops->room_open(run->target, room_index, in->people, &in->room, err, sizeof(err));
    if (rc < 0) {
        run_fail(run, "opening a room: %s", err);
        return rc;
    }
    in->open = true;
    run->rooms_open++;
    static const struct lt_rx_cbs rx = {.on_rtp = rx_on_rtp, .on_key_request = rx_on_key_request};
    for (unsigned j = 0; j < in->people; j++) {
        struct person *p = &in->person[j];
        struct lt_person_media media;
        bool video_flowing = false;
        for (unsigned i = 0; i < STREAMS_PER_INST; i++)
            video_flowing |= in->stream[i].live && in->stream[i].track != LT_AUDIO;
        p->join_timed = video_flowing && p->role.subscribe;
        p->join_start_ns = lt_now_ns();
        rc = run->ops->person_join(in->room, &p->role, &rx, p, run->cfg->join_timeout_ms, &p->tp,
                                   &media, err, sizeof(err));
        if (rc < 0) {
            run->res->join_errors++;
            run_fail(run, "a join failed: %s", err);
            return rc;
        }
        p->joined = true;
        run->res->joins++;
        if (run->cfg->target_cfg.verbose)
            fprintf(stderr, "lt: room %u person %u joined in %.0f ms\n", in->number, j,
                    (double)(lt_now_ns() - p->join_start_ns) / 1e6);
        uint64_t start = lt_now_ns();
        pthread_mutex_lock(&run->lock);
        for (int k = 0; k < LT_TRACKS; k++) {
            struct stream *s = &in->stream[j * LT_TRACKS + (unsigned)k];
            if (!s->on || !media.tracks[k].on || !media.send)
                continue;
            s->send = media.send;
            s->tx = media.tx;
            s->rtp = (struct lt_clip_rtp){.ssrc = media.tracks[k].ssrc,
                                          .pt = media.tracks[k].pt,
                                          .ts_base = (uint32_t)rand()};
            /* Publishers do not start in step: a few ms apart, as real people would. */
            s->base_ns = start + (uint64_t)(rand() % 20) * TICK_NS;
            s->live = true;
        }
        pthread_mutex_unlock(&run->lock);
    }
    return 0;
}

/* Stops the room's streams, lets what is in flight arrive, and has everyone leave. */
static void inst_empty(struct run *run, struct inst *in)
{
    pthread_mutex_lock(&run->lock);
    for (unsigned i = 0; i < STREAMS_PER_INST; i++)
        in->stream[i].live = false;
    pthread_mutex_unlock(&run->lock);
    for (unsigned j = 0; j < in->people; j++) {
        if (in->person[j].joined)
            run->ops->person_leave(in->person[j].tp);
        in->person[j].joined = false;
    }
    if (in->open) {
        run->ops->room_close(in->room);
        run->rooms_open--;
    }
    in->open = false;
}

/* --- windows -------------------------------------------------------------------------------- */

/* Takes window slot w's instance away from the sender and the receivers (they stop using it at
 * their next packet); it is freed only when the slot is next opened, a whole window later, when
 * no thread can still be inside it. */
static void window_retire(struct run *run, int w)
{
    run->retired[w] = atomic_exchange(&run->win[w], NULL);
    pthread_mutex_lock(&run->lock);
    for (unsigned k = 0; k < run->n_insts; k++)
        for (unsigned j = 0; j < run->insts[k]->people; j++)
            atomic_store(&run->insts[k]->person[j].rx_win[w], NULL);
    pthread_mutex_unlock(&run->lock);
}

/* Makes window slot w's instance, with every (receiver, stream) pair of the open rooms, and
 * publishes it to the sender and the receivers; its window is set afterwards (window_measure),
 * so that no packet stamped inside it can be sent before the sender sees the instance. On
 * failure nothing is published. */
static int window_open(struct run *run, int w, struct lt_stats **out)
{
    lt_stats_free(run->retired[w]);
    run->retired[w] = NULL;
    struct lt_stats *st;
    int rc = lt_stats_new(&st, MAX_STREAMS, MAX_RECEIVERS);
    if (rc < 0)
        return rc;
    struct {
        struct person *p;
        struct lt_rx *rx;
    } *made = calloc((size_t)run->n_insts * LT_ROOM_MAX + 1, sizeof(*made));
    size_t n = 0;
    if (!made)
        rc = -ENOMEM;
    pthread_mutex_lock(&run->lock);
    for (unsigned k = 0; k < run->n_insts && rc == 0; k++) {
        struct inst *in = run->insts[k];
        if (!in->open)
            continue;
        for (unsigned j = 0; j < in->people && rc == 0; j++) {
            struct person *p = &in->person[j];
            struct lt_rx *rx;
            unsigned id;
            if (!p->joined || !p->role.subscribe || (rc = lt_stats_rx_add(st, &rx, &id)) < 0)
                continue;
            for (unsigned i = 0; i < STREAMS_PER_INST; i++)
                if (in->stream[i].live && i / LT_TRACKS != j)
                    lt_stats_subscribe(rx, in->stream[i].id);
            made[n].p = p;
            made[n++].rx = rx;
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            atomic_store_explicit(&made[i].p->rx_win[w], made[i].rx, memory_order_release);
        atomic_store_explicit(&run->win[w], st, memory_order_release);
    }
    pthread_mutex_unlock(&run->lock);
    free(made);
    if (rc < 0) {
        lt_stats_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* Sleeps until t (CLOCK_MONOTONIC ns), in slices so that a stop is noticed. False when the run
 * was stopped. */
static bool sleep_until(const struct run *run, uint64_t t)
{
    for (;;) {
        uint64_t now = lt_now_ns();
        if (run_stopped(run))
            return false;
        if (now >= t)
            return true;
        uint64_t until = t - now > SLICE_NS ? now + SLICE_NS : t;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u),
                              .tv_nsec = (long)(until % 1000000000u)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* Whether the bench limited the window: its sender fell behind the clip's pace, it could not
 * hand packets over, or its CPUs were full (its own when pinned; the machine's when it shares
 * them with the server). */
static void window_bench_check(const struct run *run, struct lt_figures *f)
{
    unsigned bench_cpus = lt_cpus_count(run->cfg->bench_cpus);
    if (f->bench_late_pct > LATE_BOUND_PCT)
        snprintf(f->bench_why, sizeof(f->bench_why),
                 "its sender sent %.1f%% of the packets %u ms or more late", f->bench_late_pct,
                 LATE_NS / 1000000u);
    else if (f->send_errors)
        snprintf(f->bench_why, sizeof(f->bench_why), "it could not send %llu packets",
                 (unsigned long long)f->send_errors);
    else if (f->bench_loop_pct > 85.0)
        snprintf(f->bench_why, sizeof(f->bench_why),
                 "one of its peer loops (one thread each) was at %.0f%% of a CPU",
                 f->bench_loop_pct);
    else if (run->cfg->bench_cpus && f->bench_cpu_pct > 85.0 * bench_cpus)
        snprintf(f->bench_why, sizeof(f->bench_why), "its CPU was at %.0f%% of %u CPU%s",
                 f->bench_cpu_pct, bench_cpus, bench_cpus == 1 ? "" : "s");
    else if (!run->cfg->bench_cpus &&
             f->bench_cpu_pct + f->server_cpu_pct > 90.0 * lt_cpus_count(NULL))
        snprintf(f->bench_why, sizeof(f->bench_why),
                 "bench and server shared %u CPUs, all busy (%.0f%% + %.0f%%)", lt_cpus_count(NULL),
                 f->bench_cpu_pct, f->server_cpu_pct);
    f->bench_bound = f->bench_why[0] != 0;
}

/* Measures one window: opens it settle_ms from now for duration_s, waits it out and the drain,
 * and fills f. The window's delays are also added to acc when given (a ward round's
 * consultations, whose percentiles are those of all their packets together). */
static int window_measure(struct run *run, int w, struct lt_figures *f, struct lt_hist *acc)
{
    const struct lt_run_cfg *cfg = run->cfg;
    memset(f, 0, sizeof(*f));
    struct lt_stats *st;
    int rc = window_open(run, w, &st);
    if (rc < 0) {
        run_fail(run, "a measurement window could not be opened (out of memory)");
        return rc;
    }
    /* The window starts once the instance is visible to the sender (a packet stamped inside it
     * but sent before would be received but never counted as sent), with 100 ms to spare for
     * the sender's tick. */
    uint64_t from = lt_now_ns() + (uint64_t)cfg->settle_ms * 1000000u + 100000000u;
    uint64_t to = from + (uint64_t)cfg->duration_s * 1000000000u;
    lt_stats_window_set(st, from, to);
    struct totals a, b;
    uint64_t errors0 = 0, late0 = 0;
    bool on = sleep_until(run, from);
    if (on) {
        totals_read(run, &a, NULL);
        errors0 = atomic_load(&run->send_errors);
        late0 = atomic_load(&run->late_pkts);
        atomic_store(&run->late_max_ns, 0);
        atomic_store(&run->rss_max, a.server_rss);
        on = sleep_until(run, to);
    }
    if (on) {
        totals_read(run, &b, NULL);
        f->send_errors = atomic_load(&run->send_errors) - errors0;
        f->bench_late_ms = (double)atomic_load(&run->late_max_ns) / 1e6;
        uint64_t sent = b.st.tx_packets - a.st.tx_packets;
        f->bench_late_pct =
            sent ? 100.0 * (double)(atomic_load(&run->late_pkts) - late0) / (double)sent : 0;
        f->server_rss_mb_max = (double)atomic_load(&run->rss_max) / 1048576.0;
        on = sleep_until(run, to + (uint64_t)DRAIN_MS * 1000000u);
    }
    window_retire(run, w);
    if (!on) {
        run_fail(run, "interrupted");
        return -EINTR;
    }
    if (b.server_gone) {
        run_fail(run, "the %s server (pid %d) exited during the run: see its log", run->ops->name,
                 (int)run->server);
        return -ESRCH;
    }

    pthread_mutex_lock(&run->lock);
    for (unsigned k = 0; k < run->n_insts; k++) {
        struct inst *in = run->insts[k];
        if (!in->open)
            continue;
        f->rooms++;
        for (unsigned j = 0; j < in->people; j++)
            f->people += in->person[j].joined;
        for (unsigned i = 0; i < STREAMS_PER_INST; i++)
            if (in->stream[i].on)
                f->sent += lt_stats_window_sent(st, in->stream[i].id, NULL);
    }
    pthread_mutex_unlock(&run->lock);
    struct lt_stats_loss loss;
    lt_stats_loss_get(st, &loss);
    struct lt_stats_totals tot;
    lt_stats_totals_get(st, &tot);
    struct lt_stats_jitter jit;
    lt_stats_jitter_get(st, &jit);
    struct lt_hist *h = malloc(sizeof(*h));
    if (!h) {
        run_fail(run, "out of memory");
        return -ENOMEM;
    }
    lt_stats_hist_get(st, true, h);
    f->delay_p50_ms = (double)lt_hist_percentile(h, 50) / 1000.0;
    f->delay_p99_ms = (double)lt_hist_percentile(h, 99) / 1000.0;
    f->delay_max_ms = (double)h->max_us / 1000.0;
    if (acc)
        lt_hist_merge(acc, h);
    free(h);
    char err[LT_ERR_LEN];
    if (lt_stats_check(st, err, sizeof(err)) < 0)
        run_fail(run, "the accounting overflowed: %s", err);
    f->expected = loss.expected;
    f->received = loss.received;
    f->duplicates = tot.rx_dups;
    f->loss_pct = loss.expected ? 100.0 * (double)loss.lost / (double)loss.expected : 0;
    f->jitter_ms = jit.mean_ms;
    f->jitter_max_ms = jit.max_ms;
    f->window_s = (double)(to - from) / 1e9;
    double dt = (double)(b.at_ns - a.at_ns) / 1e9;
    f->pps_in = (double)(b.st.tx_packets - a.st.tx_packets) / dt;
    f->pps_out = (double)(b.st.rx_packets - a.st.rx_packets) / dt;
    f->mbps_in = (double)(b.st.tx_bytes - a.st.tx_bytes) * 8 / dt / 1e6;
    f->mbps_out = (double)(b.st.rx_bytes - a.st.rx_bytes) * 8 / dt / 1e6;
    f->server_cpu_s = b.server_cpu_s - a.server_cpu_s;
    f->server_cpu_pct = f->server_cpu_s / dt * 100;
    f->bench_cpu_pct = (b.bench_cpu_s - a.bench_cpu_s) / dt * 100;
    for (unsigned k = 0; k < run->loops.n; k++)
        f->bench_loop_pct = fmax(f->bench_loop_pct, (b.loop_cpu_s[k] - a.loop_cpu_s[k]) / dt * 100);
    /* Unique copies delivered per second of server CPU, both over the same wall-clock time. */
    f->delivered = b.st.rx_unique - a.st.rx_unique;
    f->fwd_per_cpu_s = f->server_cpu_s > 0 ? (double)f->delivered / f->server_cpu_s : 0;
    window_bench_check(run, f);
    return 0;
}

/* --- the run -------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void join_times(struct run *run, struct lt_result *res)
{
    double *v = calloc((size_t)run->n_insts * LT_ROOM_MAX + 1, sizeof(double));
    unsigned n = 0;
    for (unsigned k = 0; v && k < run->n_insts; k++) {
        struct inst *in = run->insts[k];
        for (unsigned j = 0; j < in->people; j++) {
            const struct person *p = &in->person[j];
            if (p->join_timed && p->first_video_ns > p->join_start_ns)
                v[n++] = (double)(p->first_video_ns - p->join_start_ns) / 1e6;
        }
    }
    if (n) {
        qsort(v, n, sizeof(*v), cmp_double);
        res->join_p50_ms = v[(n - 1) / 2];
        res->join_p95_ms = v[(size_t)ceil(0.95 * n) - 1];
    }
    res->join_samples = n;
    free(v);
}

/* The rooms of a ramp step, or of the whole run. */
static int rooms_add(struct run *run, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (run_stopped(run)) {
            run_fail(run, "interrupted");
            return -EINTR;
        }
        struct inst *in = inst_new(run);
        if (!in) {
            run_fail(run, "out of memory");
            return -ENOMEM;
        }
        int rc = inst_fill(run, in, in->number);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int run_static(struct run *run)
{
    int rc = rooms_add(run, run->cfg->scenario->rooms);
    if (rc < 0)
        return rc;
    return window_measure(run, 0, &run->res->total, NULL);
}

/* A ward round: each room moves through its consultations one after another, all rounds in
 * step; each consultation is measured on its own and the figures added up (the delays of all
 * their packets together for the percentiles). */
static int run_moves(struct run *run)
{
    struct lt_figures sum = {0};
    unsigned moves = run->cfg->scenario->moves;
    struct lt_hist *all = calloc(1, sizeof(*all));
    if (!all) {
        run_fail(run, "out of memory");
        return -ENOMEM;
    }
    int rc = 0;
    for (unsigned m = 0; m < moves && rc == 0; m++) {
        unsigned first = run->n_insts;
        if ((rc = rooms_add(run, run->cfg->scenario->rooms)) < 0)
            break;
        struct lt_figures f;
        if ((rc = window_measure(run, (int)(m & 1), &f, all)) < 0)
            break;
        for (unsigned k = first; k < run->n_insts; k++)
            inst_empty(run, run->insts[k]);
        sum.rooms = f.rooms;
        sum.people = f.people;
        sum.window_s += f.window_s;
        sum.sent += f.sent;
        sum.expected += f.expected;
        sum.received += f.received;
        sum.duplicates += f.duplicates;
        sum.delivered += f.delivered;
        sum.send_errors += f.send_errors;
        sum.server_cpu_s += f.server_cpu_s;
        sum.jitter_ms += f.jitter_ms / moves;
        sum.jitter_max_ms = fmax(sum.jitter_max_ms, f.jitter_max_ms);
        sum.pps_in += f.pps_in / moves;
        sum.pps_out += f.pps_out / moves;
        sum.mbps_in += f.mbps_in / moves;
        sum.mbps_out += f.mbps_out / moves;
        sum.bench_cpu_pct += f.bench_cpu_pct / moves;
        sum.bench_late_ms = fmax(sum.bench_late_ms, f.bench_late_ms);
        sum.bench_loop_pct = fmax(sum.bench_loop_pct, f.bench_loop_pct);
        sum.server_rss_mb_max = fmax(sum.server_rss_mb_max, f.server_rss_mb_max);
        if (f.bench_bound && !sum.bench_bound) {
            sum.bench_bound = true;
            snprintf(sum.bench_why, sizeof(sum.bench_why), "%s", f.bench_why);
        }
    }
    if (rc == 0) {
        sum.delay_p50_ms = (double)lt_hist_percentile(all, 50) / 1000.0;
        sum.delay_p99_ms = (double)lt_hist_percentile(all, 99) / 1000.0;
        sum.delay_max_ms = (double)all->max_us / 1000.0;
        sum.loss_pct =
            sum.expected ? 100.0 * (double)(sum.expected - sum.received) / (double)sum.expected : 0;
        sum.server_cpu_pct = sum.window_s > 0 ? sum.server_cpu_s / sum.window_s * 100 : 0;
        sum.fwd_per_cpu_s = sum.server_cpu_s > 0 ? (double)sum.delivered / sum.server_cpu_s : 0;
        run->res->total = sum;
    }
    free(all);
    return rc;
}

static int run_ramp(struct run *run)
{
    const struct lt_run_cfg *cfg = run->cfg;
    struct lt_result *res = run->res;
    unsigned rooms = 0;
    unsigned step = cfg->ramp_step ? cfg->ramp_step : 1;
    unsigned first = cfg->scenario->rooms ? cfg->scenario->rooms : step;
    for (unsigned s = 0; s < LT_RUN_STEPS_MAX; s++) {
        unsigned add = s == 0 ? first : step;
        if (rooms + add > cfg->ramp_max) {
            snprintf(res->limit_reason, sizeof(res->limit_reason),
                     "stopped at --ramp-max %u rooms without passing a limit: the capacity is "
                     "at least that",
                     cfg->ramp_max);
            return 0;
        }
        int rc = rooms_add(run, add);
        if (rc < 0 && run_stopped(run))
            return rc;
        if (rc < 0) {
            snprintf(res->limit_reason, sizeof(res->limit_reason),
                     "a join failed at %u rooms: %.200s", rooms + add, res->error);
            res->capacity_limited = true;
            res->error[0] = 0; /* the ramp's end, not the run's failure */
            return 0;
        }
        rooms += add;
        struct lt_figures *f = &res->steps[res->n_steps++];
        if ((rc = window_measure(run, (int)(s & 1), f, NULL)) < 0)
            return rc;
        if (cfg->progress)
            fprintf(stderr,
                    "\n[%s] step %u: %u rooms, loss %.3f%%, delay p99 %.2f ms, server cpu %.1f%%\n",
                    run->ops->name, s + 1, f->rooms, f->loss_pct, f->delay_p99_ms,
                    f->server_cpu_pct);
        if (f->bench_bound) {
            /* Past here the figures would be the bench's: the capacity found is a floor. */
            res->bench_bound = true;
            snprintf(res->limit_reason, sizeof(res->limit_reason),
                     "at %u rooms the bench was the bottleneck (%s): the server's capacity is "
                     "at least %u rooms",
                     f->rooms, f->bench_why, res->capacity);
            return 0;
        }
        if (f->loss_pct > cfg->ramp_loss_pct || f->delay_p99_ms > cfg->ramp_p99_ms) {
            res->capacity_limited = true;
            snprintf(res->limit_reason, sizeof(res->limit_reason),
                     "at %u rooms: loss %.3f%% (limit %.2f%%), p99 delay %.2f ms (limit %.0f ms)",
                     f->rooms, f->loss_pct, cfg->ramp_loss_pct, f->delay_p99_ms, cfg->ramp_p99_ms);
            return 0;
        }
        res->capacity = f->rooms;
        res->total = *f;
    }
    snprintf(res->limit_reason, sizeof(res->limit_reason),
             "stopped after %u steps: the capacity is at least %u rooms", res->n_steps,
             res->capacity);
    return 0;
}

int lt_run(const struct lt_run_cfg *cfg, struct lt_result *res)
{
    memset(res, 0, sizeof(*res));
    snprintf(res->target, sizeof(res->target), "%s", cfg->target->name);
    struct run *run = calloc(1, sizeof(*run));
    if (!run) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return -ENOMEM;
    }
    run->cfg = cfg;
    run->ops = cfg->target;
    run->res = res;
    pthread_mutex_init(&run->lock, NULL);
    run->samples_cap = SAMPLES_MAX;
    res->samples = calloc(run->samples_cap, sizeof(*res->samples));
    int rc = 0;
    char err[LT_ERR_LEN];
    if (cfg->bench_cpus) {
        cpu_set_t set;
        if (lt_cpus_parse(cfg->bench_cpus, &set) == 0)
            sched_setaffinity(0, sizeof(set), &set);
    }
    if (!res->samples || lt_stats_new(&run->all, MAX_STREAMS, MAX_RECEIVERS) < 0) {
        rc = -ENOMEM;
        snprintf(res->error, sizeof(res->error), "out of memory");
        goto out;
    }
    /* After the affinity above, which the loops' threads inherit. */
    run->target_cfg = cfg->target_cfg;
    run->target_cfg.peer_loops = &run->loops;
    for (unsigned n = lt_cpus_count(cfg->bench_cpus);
         run->loops.n < n && run->loops.n < LT_PEER_LOOPS_MAX; run->loops.n++)
        if (peer_loop_new(&run->loops.loop[run->loops.n]) < 0) {
            rc = -EAGAIN;
            snprintf(res->error, sizeof(res->error), "could not start the peers' threads");
            goto out;
        }
    if ((rc = cfg->target->start(&run->target, &run->target_cfg, err, sizeof(err))) < 0) {
        snprintf(res->error, sizeof(res->error), "%s did not start: %s", cfg->target->name, err);
        goto out;
    }
    run->server = cfg->target->server_pid(run->target);
    run->t0_ns = lt_now_ns();
    lt_stats_window_set(run->all, run->t0_ns, UINT64_MAX);
    if (pthread_create(&run->sender, NULL, sender_main, run) == 0)
        run->sender_started = true;
    if (pthread_create(&run->sampler, NULL, sampler_main, run) == 0)
        run->sampler_started = true;
    if (!run->sender_started || !run->sampler_started) {
        rc = -EAGAIN;
        snprintf(res->error, sizeof(res->error), "could not start the bench's threads");
        goto out;
    }
    if (cfg->ramp)
        rc = run_ramp(run);
    else if (cfg->scenario->moves)
        rc = run_moves(run);
    else
        rc = run_static(run);
    join_times(run, res);
    struct totals t;
    totals_read(run, &t, NULL);
    res->foreign = t.st.rx_unsubscribed;
    res->unstamped = t.st.rx_errors;
    if (lt_stats_check(run->all, err, sizeof(err)) < 0)
        run_fail(run, "the accounting overflowed: %s", err);
    res->send_errors = atomic_load(&run->send_errors);
    if (!cfg->ramp)
        res->bench_bound = res->total.bench_bound;
out:
    atomic_store(&run->stop, true);
    if (run->sender_started)
        pthread_join(run->sender, NULL);
    if (run->sampler_started)
        pthread_join(run->sampler, NULL);
    if (cfg->progress)
        fprintf(stderr, "\n");
    for (unsigned k = 0; k < run->n_insts; k++)
        inst_empty(run, run->insts[k]);
    for (unsigned k = 0; k < run->n_insts; k++)
        free(run->insts[k]);
    for (int w = 0; w < 2; w++) {
        lt_stats_free(run->win[w]);
        lt_stats_free(run->retired[w]);
    }
    lt_stats_free(run->all);
    if (run->target)
        cfg->target->stop(run->target);
    for (unsigned k = 0; k < run->loops.n; k++)
        peer_loop_free(run->loops.loop[k]);
    pthread_mutex_destroy(&run->lock);
    free(run);
    res->ok = rc == 0 && !res->error[0];
    return res->ok ? 0 : (rc < 0 ? rc : -EIO);
}

void lt_result_free(struct lt_result *res)
{
    free(res->samples);
    res->samples = NULL;
}
