/* The gpsfu target (bench/lt/lt_gpsfu.c) against the real SFU and signalling: two rooms of two
 * people joining as browsers do, 2 s of stamped RTP both ways on audio and video, every packet
 * delivered exactly once and intact to the other person of its room and to nobody else; no
 * server process left after stop; and a clear refusal for a patient joining before the host. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lt.h"
#include "lt_stamp.h"

#ifndef LT_BUILD_DIR
#error "LT_BUILD_DIR must name the build folder"
#endif

#define ROOMS       2
#define PER_ROOM    2
#define PEOPLE      (ROOMS * PER_ROOM)
#define TRACKS      2                     /* audio and video */
#define STREAMS     (PEOPLE * TRACKS + 1) /* stream ids 1..8 */
#define RATE        100                   /* packets a second per track */
#define PACKETS     (2 * RATE)            /* 2 s */
#define WARM_BASE   1000                  /* stream ids of the warm-up packets */
#define JOIN_MS     30000
#define WARM_MS     10000
#define DRAIN_MS    3000
#define PAYLOAD_LEN 160

static const char *const build_dir = LT_BUILD_DIR;

struct rx_log {
    atomic_uint warm[STREAMS];      /* warm-up packets seen per stream */
    atomic_uint total[STREAMS];     /* measured packets per stream, duplicates included */
    uint8_t seen[STREAMS][PACKETS]; /* times each index arrived (the receiving peer's thread) */
    atomic_uint bad;                /* no trailer, a damaged payload, or an index out of range */
};

struct who {
    struct lt_person *p;
    struct lt_person_media media;
    struct rx_log *rx;
    int room;
    uint16_t seq[TRACKS];
    uint32_t ts[TRACKS];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = {(time_t)(t_ns / 1000000000ull), (long)(t_ns % 1000000000ull)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int stream_of(int person, int track)
{
    return 1 + person * TRACKS + track;
}

static uint8_t pattern(uint32_t stream, uint32_t index, size_t i)
{
    return (uint8_t)(stream * 31u + index * 7u + i);
}

/* A VP8 payload starts with a descriptor (S=1, partition 0) and a frame tag with P=0: every
 * video packet is a keyframe start, so the SFU forwards from the first one it sees. */
static size_t payload_head(int track)
{
    return track == 1 ? 2 : 0;
}

static void on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct rx_log *log = arg;
    struct lt_stamp st;
    size_t off;
    if (!lt_stamp_get(buf, len, &st)) {
        atomic_fetch_add(&log->bad, 1);
        return;
    }
    off = 12 + 4 * (size_t)(buf[0] & 0x0f);
    if ((buf[0] & 0x10) && len >= off + 4)
        off += 4 + 4 * (size_t)(buf[off + 2] << 8 | buf[off + 3]);
    bool warm = st.stream >= WARM_BASE;
    uint32_t s = warm ? st.stream - WARM_BASE : st.stream;
    if (s == 0 || s >= STREAMS || off > len - LT_STAMP_LEN) {
        atomic_fetch_add(&log->bad, 1);
        return;
    }
    int track = (int)((s - 1) % TRACKS);
    size_t head = payload_head(track);
    for (size_t i = off + head; i < len - LT_STAMP_LEN; i++) {
        if (buf[i] != pattern(st.stream, st.index, i - off)) {
            atomic_fetch_add(&log->bad, 1);
            return;
        }
    }
    if (warm) {
        atomic_fetch_add(&log->warm[s], 1);
        return;
    }
    if (st.index >= PACKETS) {
        atomic_fetch_add(&log->bad, 1);
        return;
    }
    log->seen[s][st.index]++;
    atomic_fetch_add(&log->total[s], 1);
}

/* One RTP packet of person i's track with a stamp for stream (whose index is index). */
static int send_one(struct who *w, int person, int track, uint32_t stream, uint32_t index)
{
    uint8_t pkt[12 + PAYLOAD_LEN + LT_STAMP_LEN];
    const struct lt_pub_track *tr = &w->media.tracks[track];
    size_t head = payload_head(track);
    struct lt_stamp st = {.stream = stream, .index = index, .sent_ns = now_ns()};
    (void)person;
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)((track == 1 ? 0x80 : 0) | tr->pt);
    pkt[2] = (uint8_t)(w->seq[track] >> 8);
    pkt[3] = (uint8_t)w->seq[track];
    for (int b = 0; b < 4; b++) {
        pkt[4 + b] = (uint8_t)(w->ts[track] >> (24 - 8 * b));
        pkt[8 + b] = (uint8_t)(tr->ssrc >> (24 - 8 * b));
    }
    if (head) {
        pkt[12] = 0x10;
        pkt[13] = 0x00;
    }
    for (size_t i = head; i < PAYLOAD_LEN; i++)
        pkt[12 + i] = pattern(stream, index, i);
    lt_stamp_put(pkt + 12 + PAYLOAD_LEN, &st);
    w->seq[track]++;
    w->ts[track] += track == 0 ? 480 : 900;
    return w->media.send(w->media.tx, pkt, sizeof(pkt));
}

static bool warm_done(struct who *w)
{
    for (int r = 0; r < PEOPLE; r++) {
        for (int q = 0; q < PEOPLE; q++) {
            if (q == r || w[q].room != w[r].room)
                continue;
            for (int k = 0; k < TRACKS; k++) {
                if (atomic_load(&w[r].rx->warm[stream_of(q, k)]) == 0)
                    return false;
            }
        }
    }
    return true;
}

static bool drained(struct who *w)
{
    for (int r = 0; r < PEOPLE; r++) {
        for (int q = 0; q < PEOPLE; q++) {
            if (q == r || w[q].room != w[r].room)
                continue;
            for (int k = 0; k < TRACKS; k++) {
                if (atomic_load(&w[r].rx->total[stream_of(q, k)]) < PACKETS)
                    return false;
            }
        }
    }
    return true;
}

/* Children of this process (the servers are ours): none may remain after stop. */
static int children_left(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    pid_t self = getpid();
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char path[300], buf[512];
        FILE *f;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof(buf), f)) {
            /* The command may hold spaces and parentheses: fields follow the last ')'. */
            const char *rp = strrchr(buf, ')');
            char state;
            int ppid;
            if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == self) {
                fprintf(stderr, "a child remains: %s", buf);
                n++;
            }
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* LT_KEEP=1 keeps the servers' logs and data for a look after the run. */
static void work_dir_remove(const char *dir)
{
    if (getenv("LT_KEEP"))
        fprintf(stderr, "kept %s\n", dir);
    else
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int work_dir_make(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/lt-gpsfu-test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int test_media(void)
{
    const struct lt_target_ops *ops = &lt_target_gpsfu;
    char dir[64], err[LT_ERR_LEN] = "";
    struct lt_target *t = NULL;
    struct lt_room *rooms[ROOMS] = {NULL};
    struct who w[PEOPLE];
    struct rx_log *logs = calloc(PEOPLE, sizeof(*logs));
    pid_t sfu_pid;
    int rc;

    CHECK(logs);
    memset(w, 0, sizeof(w));
    CHECK(work_dir_make(dir, sizeof(dir)) == 0);
    struct lt_target_cfg cfg = {
        .build_dir = build_dir, .cpus = NULL, .workers = 1, .work_dir = dir, .verbose = false};
    rc = ops->start(&t, &cfg, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "start: %s\n", err);
    CHECK_EQ(rc, 0);
    sfu_pid = ops->server_pid(t);
    CHECK(sfu_pid > 0);
    CHECK_EQ(kill(sfu_pid, 0), 0);

    for (int r = 0; r < ROOMS; r++) {
        rc = ops->room_open(t, (unsigned)r, PER_ROOM, &rooms[r], err, sizeof(err));
        if (rc < 0)
            fprintf(stderr, "room_open: %s\n", err);
        CHECK_EQ(rc, 0);
    }
    for (int i = 0; i < PEOPLE; i++) {
        struct lt_role role = {
            .host = i % PER_ROOM == 0, .publish = {true, true, false}, .subscribe = true};
        struct lt_rx_cbs rx = {.on_rtp = on_rtp};
        w[i].room = i / PER_ROOM;
        w[i].rx = &logs[i];
        w[i].seq[0] = (uint16_t)(i * 1000);
        w[i].seq[1] = (uint16_t)(65500 + i); /* wraps during the run */
        rc = ops->person_join(rooms[w[i].room], &role, &rx, &logs[i], JOIN_MS, &w[i].p, &w[i].media,
                              err, sizeof(err));
        if (rc < 0)
            fprintf(stderr, "person_join %d: %s\n", i, err);
        CHECK_EQ(rc, 0);
        CHECK(w[i].media.send != NULL);
        CHECK(w[i].media.tracks[LT_AUDIO].on && w[i].media.tracks[LT_VIDEO].on);
        CHECK(!w[i].media.tracks[LT_SCREEN].on);
        CHECK_EQ(w[i].media.tracks[LT_AUDIO].pt, 111);
        CHECK_EQ(w[i].media.tracks[LT_VIDEO].pt, 96);
        CHECK(w[i].media.tracks[LT_AUDIO].ssrc != w[i].media.tracks[LT_VIDEO].ssrc);
    }

    /* Consumers resume a moment after their offer is answered: warm up until every path has
     * carried a packet, then count. */
    uint64_t start = now_ns(), tick = start;
    uint32_t warm_index = 0;
    while (!warm_done(w)) {
        CHECK(now_ns() - start < (uint64_t)WARM_MS * 1000000ull);
        for (int i = 0; i < PEOPLE; i++)
            for (int k = 0; k < TRACKS; k++)
                CHECK_EQ(send_one(&w[i], i, k, WARM_BASE + (uint32_t)stream_of(i, k), warm_index),
                         0);
        warm_index++;
        tick += 1000000000ull / RATE;
        sleep_until(tick);
    }
    fprintf(stderr, "every path carried a packet after %u warm-up rounds (%.0f ms)\n", warm_index,
            (double)(now_ns() - start) / 1e6);
    tick = now_ns();
    for (uint32_t n = 0; n < PACKETS; n++) {
        for (int i = 0; i < PEOPLE; i++)
            for (int k = 0; k < TRACKS; k++)
                CHECK_EQ(send_one(&w[i], i, k, (uint32_t)stream_of(i, k), n), 0);
        tick += 1000000000ull / RATE;
        sleep_until(tick);
    }
    start = now_ns();
    while (!drained(w) && now_ns() - start < (uint64_t)DRAIN_MS * 1000000ull)
        sleep_until(now_ns() + 10000000ull);
    /* A little longer: a duplicate or a stray from another room would come now. */
    sleep_until(now_ns() + 200000000ull);

    for (int i = 0; i < PEOPLE; i++)
        ops->person_leave(w[i].p);
    for (int r = 0; r < ROOMS; r++)
        ops->room_close(rooms[r]);
    ops->stop(t);

    int failures = 0;
    for (int r = 0; r < PEOPLE; r++) {
        if (atomic_load(&logs[r].bad)) {
            fprintf(stderr, "person %d: %u damaged or unstamped packets\n", r,
                    atomic_load(&logs[r].bad));
            failures++;
        }
        for (int q = 0; q < PEOPLE; q++) {
            for (int k = 0; k < TRACKS; k++) {
                int s = stream_of(q, k);
                bool expected = q != r && w[q].room == w[r].room;
                unsigned total = atomic_load(&logs[r].total[s]), once = 0;
                for (int n = 0; n < PACKETS; n++)
                    once += logs[r].seen[s][n] == 1;
                if (expected && (total != PACKETS || once != PACKETS)) {
                    fprintf(stderr,
                            "person %d from person %d track %d: %u packets, %u once, of %d\n", r, q,
                            k, total, once, PACKETS);
                    failures++;
                }
                if (!expected && (total || atomic_load(&logs[r].warm[s]))) {
                    fprintf(stderr, "person %d got %u packets of person %d track %d (room %d)\n", r,
                            total + atomic_load(&logs[r].warm[s]), q, k, w[q].room);
                    failures++;
                }
            }
        }
    }
    for (int r = 0; r < PEOPLE; r++) {
        unsigned got = 0;
        for (int s = 1; s < STREAMS; s++)
            got += atomic_load(&logs[r].total[s]);
        fprintf(stderr, "person %d (room %d) received %u stamped packets\n", r, w[r].room, got);
    }
    CHECK_EQ(failures, 0);
    CHECK(kill(sfu_pid, 0) < 0 && errno == ESRCH);
    CHECK_EQ(children_left(), 0);
    free(logs);
    work_dir_remove(dir);
    return 0;
}

static int test_refusals(void)
{
    const struct lt_target_ops *ops = &lt_target_gpsfu;
    char dir[64], err[LT_ERR_LEN] = "";
    struct lt_target *t = NULL;
    struct lt_room *room = NULL, *big = NULL;
    struct lt_person *p = NULL;
    struct lt_person_media media;
    int rc;

    CHECK(work_dir_make(dir, sizeof(dir)) == 0);
    struct lt_target_cfg cfg = {.build_dir = build_dir, .cpus = "0", .workers = 0, .work_dir = dir};
    rc = ops->start(&t, &cfg, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "start: %s\n", err);
    CHECK_EQ(rc, 0);

    rc = ops->room_open(t, 0, 2, &room, err, sizeof(err));
    CHECK_EQ(rc, 0);
    /* A patient before any host: they would wait for ever; the target says so at once. */
    struct lt_role patient = {.host = false, .publish = {true, false, false}, .subscribe = true};
    err[0] = '\0';
    rc = ops->person_join(room, &patient, NULL, NULL, 5000, &p, &media, err, sizeof(err));
    fprintf(stderr, "(expected) %s\n", err);
    CHECK(rc < 0);
    CHECK(p == NULL);
    CHECK(strstr(err, "host") != NULL);

    /* More people than one consultation can have links for. */
    err[0] = '\0';
    rc = ops->room_open(t, 1, 50, &big, err, sizeof(err));
    fprintf(stderr, "(expected) %s\n", err);
    CHECK(rc < 0);
    CHECK(big == NULL);
    CHECK(strstr(err, "capacity") != NULL);

    ops->room_close(room);
    ops->stop(t);
    CHECK_EQ(children_left(), 0);
    work_dir_remove(dir);
    return 0;
}

static const struct test_case cases[] = {
    {"media both ways, rooms isolated", test_media},
    {"refusals: host first, capacity", test_refusals},
};

TEST_MAIN(cases)
