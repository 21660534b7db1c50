/* The janus target (bench/lt/lt_janus.c) against the real Janus: two rooms, people who publish
 * and subscribe, a late joiner and a leaver, synthetic stamped RTP. Every subscriber must get
 * every other person's packets of its own room exactly once, trailer intact, and nothing else;
 * afterwards no janus process may remain. Skipped (77) where Janus is not installed. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lt.h"
#include "lt_netns.h"
#include "lt_stamp.h"

#define JANUS_BIN   "/usr/bin/janus"
#define PEOPLE      5 /* a0 a1 in room A (2 places), b0 b1 b2 in room B (3 places) */
#define MAX_PKTS    512
#define TICK_NS     10000000L /* 100 packets/s per track */
#define JOIN_MS     20000
#define VIDEO_BYTES 120
#define AUDIO_BYTES 60

/* What one subscriber got, per sender stream (stream id = person * LT_TRACKS + track). */
struct rx {
    pthread_mutex_t mu;
    uint8_t count[PEOPLE * LT_TRACKS][MAX_PKTS];
    unsigned bad;     /* no trailer, unknown stream, index out of range, wrong payload length */
    unsigned packets; /* all of them */
};

struct who {
    const char *name;
    unsigned room; /* 0: A, 1: B */
    bool publish[LT_TRACKS];
    struct lt_person *person;
    struct lt_person_media media;
    bool present;
    uint16_t seq[LT_TRACKS];
    uint32_t sent[LT_TRACKS];
};

/* The packets of s's track k that r must receive: [lo, hi) of s's stream indices, the span
 * both were in the room (the test sends only while membership is still). */
struct span {
    uint32_t lo, hi;
    bool open;
};

struct scene {
    const struct lt_target_ops *ops;
    struct lt_target *t;
    struct lt_room *rooms[2];
    struct who who[PEOPLE];
    struct rx rx[PEOPLE];
    struct span span[PEOPLE][LT_TRACKS][PEOPLE];
    char dir[64];
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t payload_bytes(int k)
{
    return k == LT_AUDIO ? AUDIO_BYTES : VIDEO_BYTES;
}

/* The receiver: trailer, stream and length; counts each index. */
static void on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct rx *rx = arg;
    struct lt_stamp st;
    size_t hdr = 12;
    bool ok = len >= 12 && lt_stamp_get(buf, len, &st);
    if (ok) {
        hdr += 4u * (buf[0] & 0x0f);
        if ((buf[0] & 0x10) && len >= hdr + 4)
            hdr += 4 + 4u * ((size_t)buf[hdr + 2] << 8 | buf[hdr + 3]);
        ok = st.stream < PEOPLE * LT_TRACKS && st.index < MAX_PKTS && st.sent_ns != 0 &&
             len > hdr && len - hdr == payload_bytes((int)(st.stream % LT_TRACKS));
    }
    pthread_mutex_lock(&rx->mu);
    rx->packets++;
    if (!ok)
        rx->bad++;
    else if (rx->count[st.stream][st.index] < 255)
        rx->count[st.stream][st.index]++;
    pthread_mutex_unlock(&rx->mu);
}

/* One packet: RTP header, a payload that looks like the codec's (a VP8 keyframe start for
 * video, so no server waits for one), then the trailer. */
static int send_one(struct who *w, unsigned person, int k)
{
    uint8_t pkt[12 + VIDEO_BYTES];
    size_t plen = payload_bytes(k);
    const struct lt_pub_track *tr = &w->media.tracks[k];
    uint32_t idx = w->sent[k];
    uint32_t ts = idx * (k == LT_AUDIO ? 480u : 900u);
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)((k == LT_AUDIO ? 0 : 0x80) | tr->pt); /* video: one packet per frame */
    pkt[2] = (uint8_t)(w->seq[k] >> 8);
    pkt[3] = (uint8_t)w->seq[k];
    for (int b = 0; b < 4; b++) {
        pkt[4 + b] = (uint8_t)(ts >> (24 - 8 * b));
        pkt[8 + b] = (uint8_t)(tr->ssrc >> (24 - 8 * b));
    }
    uint8_t *p = pkt + 12;
    memset(p, (int)(idx & 0xff), plen);
    if (k != LT_AUDIO) {
        static const uint8_t vp8_key[] = {0x10, 0x50, 0x02, 0x00, 0x9d, 0x01,
                                          0x2a, 0x40, 0x01, 0xf0, 0x00};
        memcpy(p, vp8_key, sizeof(vp8_key));
    }
    struct lt_stamp st = {
        .stream = person * LT_TRACKS + (unsigned)k, .index = idx, .sent_ns = mono_ns()};
    lt_stamp_put(p + plen - LT_STAMP_LEN, &st);
    int rc = w->media.send(w->media.tx, pkt, 12 + plen);
    if (rc == 0) {
        w->seq[k]++;
        w->sent[k]++;
    }
    return rc;
}

/* Every present publisher sends every track at 100 packets/s for ms. */
static int send_for(struct scene *s, unsigned ms)
{
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (unsigned tick = 0; tick < ms / 10; tick++) {
        for (unsigned i = 0; i < PEOPLE; i++) {
            struct who *w = &s->who[i];
            if (!w->present || !w->media.send)
                continue;
            for (int k = 0; k < LT_TRACKS; k++)
                if (w->media.tracks[k].on && w->sent[k] < MAX_PKTS && send_one(w, i, k) < 0) {
                    fprintf(stderr, "send %s track %d failed\n", w->name, k);
                    return -1;
                }
        }
        next.tv_nsec += TICK_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    usleep(400 * 1000); /* what is in flight arrives */
    return 0;
}

static int join(struct scene *s, unsigned i)
{
    struct who *w = &s->who[i];
    struct lt_role role = {.subscribe = true};
    memcpy(role.publish, w->publish, sizeof(role.publish));
    struct lt_rx_cbs cbs = {.on_rtp = on_rtp};
    char err[LT_ERR_LEN] = "";
    uint64_t t0 = mono_ns();
    int rc = s->ops->person_join(s->rooms[w->room], &role, &cbs, &s->rx[i], JOIN_MS, &w->person,
                                 &w->media, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "join %s: %d %s\n", w->name, rc, err);
        return rc;
    }
    printf("# %s joined in %.0f ms\n", w->name, (double)(mono_ns() - t0) / 1e6);
    for (unsigned j = 0; j < PEOPLE; j++) {
        struct who *o = &s->who[j];
        if (j == i || !o->present || o->room != w->room)
            continue;
        for (int k = 0; k < LT_TRACKS; k++) {
            s->span[i][k][j] = (struct span){.lo = w->sent[k], .open = true};
            s->span[j][k][i] = (struct span){.lo = o->sent[k], .open = true};
        }
    }
    w->present = true;
    return 0;
}

static void leave(struct scene *s, unsigned i)
{
    struct who *w = &s->who[i];
    if (!w->present)
        return;
    for (unsigned j = 0; j < PEOPLE; j++)
        for (int k = 0; k < LT_TRACKS; k++) {
            if (s->span[i][k][j].open)
                s->span[i][k][j] = (struct span){s->span[i][k][j].lo, w->sent[k], false};
            if (s->span[j][k][i].open)
                s->span[j][k][i] = (struct span){s->span[j][k][i].lo, s->who[j].sent[k], false};
        }
    s->ops->person_leave(w->person);
    w->person = NULL;
    w->present = false;
}

/* Each receiver's counts against the spans: exactly once inside, never outside. */
static int check_rx(struct scene *s)
{
    int bad = 0;
    for (unsigned r = 0; r < PEOPLE; r++) {
        struct rx *rx = &s->rx[r];
        pthread_mutex_lock(&rx->mu);
        if (rx->bad) {
            fprintf(stderr, "%s: %u damaged or foreign packets\n", s->who[r].name, rx->bad);
            bad++;
        }
        for (unsigned i = 0; i < PEOPLE; i++)
            for (int k = 0; k < LT_TRACKS; k++) {
                struct span sp = s->span[i][k][r];
                uint32_t hi = sp.open ? s->who[i].sent[k] : sp.hi;
                unsigned missing = 0, extra = 0, got = 0;
                for (uint32_t x = 0; x < MAX_PKTS; x++) {
                    unsigned want = (i != r && x >= sp.lo && x < hi) ? 1 : 0;
                    unsigned c = rx->count[i * LT_TRACKS + (unsigned)k][x];
                    got += c;
                    if (c < want)
                        missing++;
                    else if (c > want)
                        extra += c - want;
                }
                if (missing || extra) {
                    fprintf(stderr,
                            "%s from %s track %d: want [%u,%u), got %u, %u missing, %u "
                            "extra\n",
                            s->who[r].name, s->who[i].name, k, sp.lo, hi, got, missing, extra);
                    bad++;
                }
            }
        pthread_mutex_unlock(&rx->mu);
    }
    return bad ? -1 : 0;
}

static bool janus_child_alive(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof(buf), f)) {
            char *rp = strrchr(buf, ')');
            int ppid = 0;
            if (strstr(buf, "(janus)") && rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 &&
                ppid == getpid())
                found = true;
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

static void dir_remove(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static int start(struct scene *s, const char *cpus)
{
    snprintf(s->dir, sizeof(s->dir), "/tmp/lt_janus_XXXXXX");
    if (!mkdtemp(s->dir))
        return -errno;
    struct lt_target_cfg cfg = {.cpus = cpus,
                                .work_dir = s->dir,
                                .verbose = getenv("LT_VERBOSE") != NULL,
                                .media_ip = LT_NETNS_IP};
    char err[LT_ERR_LEN] = "";
    s->ops = &lt_target_janus;
    int rc = s->ops->start(&s->t, &cfg, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "start: %d %s\n", rc, err);
    return rc;
}

/* Stops the target and checks Janus is gone. */
static int stop(struct scene *s)
{
    pid_t pid = s->ops->server_pid(s->t);
    s->ops->stop(s->t);
    s->t = NULL;
    CHECK(pid > 0);
    CHECK(kill(pid, 0) < 0 && errno == ESRCH);
    CHECK(!janus_child_alive());
    return 0;
}

/* Janus's CPU time so far (user + system), in microseconds. */
static double proc_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static unsigned rx_total(struct scene *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < PEOPLE; i++) {
        pthread_mutex_lock(&s->rx[i].mu);
        n += s->rx[i].packets;
        pthread_mutex_unlock(&s->rx[i].mu);
    }
    return n;
}

static int test_rooms(void)
{
    static struct scene sc; /* large: counts for every receiver */
    struct scene *s = &sc;
    memset(s, 0, sizeof(*s));
    static const char *const names[PEOPLE] = {"a0", "a1", "b0", "b1", "b2"};
    for (unsigned i = 0; i < PEOPLE; i++) {
        pthread_mutex_init(&s->rx[i].mu, NULL);
        s->who[i].name = names[i];
        s->who[i].room = i < 2 ? 0 : 1;
        s->who[i].publish[LT_AUDIO] = s->who[i].publish[LT_VIDEO] = true;
    }
    s->who[4].publish[LT_SCREEN] = true; /* the late joiner also shares a screen */

    CHECK(start(s, NULL) == 0);
    char err[LT_ERR_LEN] = "";
    CHECK(s->ops->room_open(s->t, 0, 2, &s->rooms[0], err, sizeof(err)) == 0);
    CHECK(s->ops->room_open(s->t, 1, 3, &s->rooms[1], err, sizeof(err)) == 0);
    for (unsigned i = 0; i < 4; i++)
        CHECK(join(s, i) == 0);
    CHECK(s->who[0].media.tracks[LT_AUDIO].on && s->who[0].media.tracks[LT_VIDEO].on);
    CHECK(!s->who[0].media.tracks[LT_SCREEN].on);
    CHECK(send_for(s, 1000) == 0);

    /* The late joiner: the earlier two of room B must start receiving it. */
    CHECK(join(s, 4) == 0);
    CHECK(s->who[4].media.tracks[LT_SCREEN].on);
    /* Not a benchmark (too few packets, 10 ms clock ticks), a sanity figure for the log. */
    double cpu0 = proc_cpu_us(s->ops->server_pid(s->t));
    unsigned rx0 = rx_total(s);
    CHECK(send_for(s, 2000) == 0);
    double cpu = proc_cpu_us(s->ops->server_pid(s->t)) - cpu0;
    unsigned fwd = rx_total(s) - rx0;
    printf("# janus: %u packets forwarded, %.0f ms CPU, %.1f us per forwarded packet\n", fwd,
           cpu / 1e3, fwd ? cpu / fwd : 0.0);
    for (int k = 0; k < LT_TRACKS; k++)
        CHECK_EQ(s->who[4].sent[k], 200);

    /* Someone leaves: Janus renegotiates the others' subscriptions; their media goes on. */
    leave(s, 2);
    usleep(300 * 1000);
    CHECK(send_for(s, 500) == 0);
    int rc = check_rx(s);

    for (unsigned i = 0; i < PEOPLE; i++)
        leave(s, i);
    s->ops->room_close(s->rooms[0]);
    s->ops->room_close(s->rooms[1]);
    CHECK(stop(s) == 0);
    for (unsigned i = 0; i < PEOPLE; i++)
        pthread_mutex_destroy(&s->rx[i].mu);
    if (rc == 0 && !getenv("LT_KEEP"))
        dir_remove(s->dir);
    else
        fprintf(stderr, "janus's log and config kept in %s\n", s->dir);
    CHECK(rc == 0);
    return 0;
}

/* The generated config follows cfg: one event loop per pinned CPU, and Janus runs on them. */
static int test_pinned(void)
{
    static struct scene sc;
    struct scene *s = &sc;
    memset(s, 0, sizeof(*s));
    CHECK(start(s, "0") == 0);
    char path[128], line[256];
    snprintf(path, sizeof(path), "%s/janus-conf/janus.jcfg", s->dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    bool loops = false, lite = false, lo = false;
    while (fgets(line, sizeof(line), f)) {
        loops |= strstr(line, "event_loops = 1\n") != NULL;
        lite |= strstr(line, "ice_lite = true") != NULL;
        lo |= strstr(line, "ice_enforce_list = \"") != NULL;
    }
    fclose(f);
    cpu_set_t set;
    CHECK(sched_getaffinity(s->ops->server_pid(s->t), sizeof(set), &set) == 0);
    CHECK_EQ(CPU_COUNT(&set), 1);
    CHECK(CPU_ISSET(0, &set));
    CHECK(stop(s) == 0);
    dir_remove(s->dir);
    CHECK(loops && lite && lo);
    return 0;
}

static const struct test_case cases[] = {
    {"janus_pinned", test_pinned},
    {"janus_rooms", test_rooms},
};

int main(int argc, char **argv)
{
    if (access(JANUS_BIN, X_OK) != 0) {
        printf("skipped: %s is not installed (apt install janus)\n", JANUS_BIN);
        return 77;
    }
    /* Janus's media needs an address that is not loopback: a dummy interface in a namespace of
     * the test's own, as sfu-bench makes one. */
    char err[256];
    if (lt_netns_enter(err, sizeof(err)) < 0) {
        printf("skipped: %s\n", err);
        return 77;
    }
    return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
