/* sfu-bench's "limit" target: the real bench/udp_relay in --rooms mode. Every packet a person
 * sends reaches every other receiving person of their room once, byte for byte; a receive-only
 * person gets everything and a send-only person nothing; nothing crosses rooms; after a leave the
 * relay stops sending to that person; the relay process is gone after stop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lt.h"
#include "lt_proc.h"
#include "lt_stamp.h"

#define PACKETS 500
#define PEOPLE  3

struct who {
    unsigned room;
    _Atomic unsigned got[2][PEOPLE]; /* by the sender's room and slot (from the trailer) */
    _Atomic unsigned bad;
};

/* Stream ids: room × 16 + slot. The payload after the header is the index repeated, so that a
 * damaged byte shows. */
static void on_rtp(void *arg, const uint8_t *buf, size_t len)
{
    struct who *w = arg;
    struct lt_stamp st;
    if (!lt_stamp_get(buf, len, &st) || st.stream / 16 > 1 || st.stream % 16 >= PEOPLE) {
        atomic_fetch_add(&w->bad, 1);
        return;
    }
    for (size_t i = 12; i < len - LT_STAMP_LEN; i++)
        if (buf[i] != (uint8_t)st.index) {
            atomic_fetch_add(&w->bad, 1);
            return;
        }
    atomic_fetch_add(&w->got[st.stream / 16][st.stream % 16], 1);
}

static size_t packet(uint8_t *buf, uint32_t stream, uint32_t index)
{
    memset(buf, 0, 12);
    buf[0] = 0x80;
    buf[1] = 96;
    memset(buf + 12, (uint8_t)index, 100);
    struct lt_stamp st = {.stream = stream, .index = index, .sent_ns = lt_now_ns()};
    lt_stamp_put(buf + 112, &st);
    return 112 + LT_STAMP_LEN;
}

/* Waits until the counts stop changing (nothing arrived for 20 ms), 3 s at most. */
static void settle(struct who *w, unsigned n)
{
    unsigned last = 0;
    for (int i = 0; i < 150; i++) {
        unsigned total = 0;
        for (unsigned k = 0; k < n; k++)
            for (int r = 0; r < 2; r++)
                for (int s = 0; s < PEOPLE; s++)
                    total += w[k].got[r][s];
        if (i > 0 && total == last)
            return;
        last = total;
        poll(NULL, 0, 20);
    }
}

static int test_rooms(void)
{
    const char *build = getenv("LT_BUILD_DIR");
    CHECK(build);
    char work[] = "/tmp/test-lt-limit-XXXXXX";
    CHECK(mkdtemp(work));
    struct lt_target_cfg cfg = {.build_dir = build, .work_dir = work};
    char err[LT_ERR_LEN];
    struct lt_target *t;
    int rc = lt_target_limit.start(&t, &cfg, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "start: %s\n", err);
    CHECK_EQ(rc, 0);
    pid_t relay = lt_target_limit.server_pid(t);
    CHECK(relay > 0);

    /* Room 0: two people who send and receive, one who only receives. Room 1: one who sends
     * and receives, one who only sends. */
    struct lt_room *room[2];
    CHECK_EQ(lt_target_limit.room_open(t, 0, PEOPLE, &room[0], err, sizeof(err)), 0);
    CHECK_EQ(lt_target_limit.room_open(t, 1, PEOPLE, &room[1], err, sizeof(err)), 0);
    static struct who w[5];
    const struct {
        unsigned room;
        bool send, receive;
    } spec[5] = {
        {0, true, true}, {0, true, true}, {0, false, true}, {1, true, true}, {1, true, false}};
    struct lt_person *p[5];
    struct lt_person_media media[5];
    const struct lt_rx_cbs cbs = {.on_rtp = on_rtp};
    for (int i = 0; i < 5; i++) {
        struct lt_role role = {.subscribe = spec[i].receive};
        role.publish[LT_VIDEO] = spec[i].send;
        w[i].room = spec[i].room;
        CHECK_EQ(lt_target_limit.person_join(room[spec[i].room], &role, &cbs, &w[i], 2000, &p[i],
                                             &media[i], err, sizeof(err)),
                 0);
        CHECK_EQ(media[i].send != NULL, spec[i].send);
        CHECK_EQ(media[i].tracks[LT_VIDEO].on, spec[i].send);
    }
    /* Slots within a room: 0, 1, 2 in room 0; 0, 1 in room 1. */
    const unsigned slot[5] = {0, 1, 2, 0, 1};
    uint8_t buf[256];
    for (uint32_t n = 0; n < PACKETS; n++) {
        for (int i = 0; i < 5; i++) {
            if (!spec[i].send)
                continue;
            size_t len = packet(buf, spec[i].room * 16 + slot[i], n);
            CHECK_EQ(media[i].send(media[i].tx, buf, len), 0);
        }
        if (n % 50 == 49)
            poll(NULL, 0, 5); /* paced: the test measures delivery, not socket buffers */
    }
    settle(w, 5);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(w[i].bad, 0);
        for (int j = 0; j < 5; j++) {
            unsigned want =
                spec[j].send && spec[i].receive && j != i && spec[j].room == spec[i].room ? PACKETS
                                                                                          : 0;
            CHECK_EQ(w[i].got[spec[j].room][slot[j]], want);
        }
    }

    /* After person 1 leaves, the others of room 0 still get person 0's packets; person 1 none. */
    lt_target_limit.person_leave(p[1]);
    p[1] = NULL;
    unsigned before = w[1].got[0][0];
    for (uint32_t n = 0; n < 100; n++)
        CHECK_EQ(media[0].send(media[0].tx, buf, packet(buf, 0, n)), 0);
    settle(w, 5);
    CHECK_EQ(w[1].got[0][0], before);
    CHECK_EQ(w[2].got[0][0], PACKETS + 100);

    for (int i = 0; i < 5; i++)
        lt_target_limit.person_leave(p[i]);
    lt_target_limit.room_close(room[0]);
    lt_target_limit.room_close(room[1]);
    lt_target_limit.stop(t);
    CHECK(kill(relay, 0) < 0 && errno == ESRCH);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
    CHECK_EQ(system(cmd), 0);
    return 0;
}

static int test_bad_build_dir(void)
{
    char work[] = "/tmp/test-lt-limit-XXXXXX";
    CHECK(mkdtemp(work));
    struct lt_target_cfg cfg = {.build_dir = "/nonexistent", .work_dir = work};
    char err[LT_ERR_LEN] = "";
    struct lt_target *t = NULL;
    CHECK(lt_target_limit.start(&t, &cfg, err, sizeof(err)) < 0);
    CHECK(strstr(err, "cannot run /nonexistent/bench/udp_relay"));
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
    CHECK_EQ(system(cmd), 0);
    return 0;
}

static const struct test_case cases[] = {
    {"rooms", test_rooms},
    {"bad_build_dir", test_bad_build_dir},
};

TEST_MAIN(cases)
