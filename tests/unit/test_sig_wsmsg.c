/* Browser messages: every type accepted with its members, and every way a message is refused,
 * with the error code, a message naming the member (never its value) and the id kept as "re". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wsmsg.h"

/* Printable ASCII only: an error is shown to people and written to logs. */
static int err_is_plain(const char *err)
{
    if (err[0] == '\0')
        return 0;
    for (const char *p = err; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return 0;
    return 1;
}

/* Nothing but the id may be left in a refused message. */
static int wsmsg_is_empty(const struct wsmsg *m)
{
    return m->type == 0 && m->pc == 0 && !m->token && !m->resume && !m->sdp && m->sdp_len == 0 &&
           m->version == 0 && !m->participant && !m->audio && !m->video && !m->text &&
           m->text_len == 0 && !m->json && m->level == 0 && m->loss == 0 && m->rtt == 0;
}

/* Parses len bytes of s and expects rc with want in the error; the struct is checked and freed.
 * Returns 0, or -1 after saying what came back. */
static int refused_len(const char *s, size_t len, int rc, const char *want, int line)
{
    struct wsmsg m;
    char err[256];
    memset(&m, 0x5a, sizeof(m));
    memset(err, 0x5a, sizeof(err));
    int got = wsmsg_parse(s, len, &m, err, sizeof(err));
    if (got != rc || !strstr(err, want) || !err_is_plain(err) || !wsmsg_is_empty(&m)) {
        fprintf(stderr, "line %d: rc %d (want %d), err \"%.200s\" (want \"%s\")%s\n", line, got, rc,
                got == 0 ? "" : err, want, got < 0 && !wsmsg_is_empty(&m) ? ", not empty" : "");
        wsmsg_free(&m);
        return -1;
    }
    wsmsg_free(&m);
    return 0;
}

#define REFUSED(s, rc, want) CHECK_EQ(refused_len((s), strlen(s), (rc), (want), __LINE__), 0)

static int parse(const char *s, struct wsmsg *m)
{
    char err[256];
    int rc = wsmsg_parse(s, strlen(s), m, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "refused (%d): %s\n  %.200s\n", rc, err, s);
    return rc;
}

/* A message of count copies of unit in a member of a message: prefix unit*count suffix. */
static char *repeat(const char *prefix, const char *unit, size_t count, const char *suffix)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *s = malloc(pl + ul * count + sl + 1);
    if (!s)
        return NULL;
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < count; i++)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * count, suffix, sl + 1);
    return s;
}

static int test_wsmsg_join(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"join\",\"token\":\"abc.def.ghi\",\"id\":7}", &m), 0);
    CHECK_EQ(m.type, WSMSG_JOIN);
    CHECK(strcmp(m.token, "abc.def.ghi") == 0);
    CHECK(m.has_id);
    CHECK_EQ(m.id, 7);
    CHECK(m.json != NULL);
    wsmsg_free(&m);
    CHECK(wsmsg_is_empty(&m) && !m.has_id);

    /* Members in any order, whitespace anywhere JSON allows it; no id. */
    CHECK_EQ(parse(" {\n\t\"token\" : \"t\" , \"type\" : \"join\" }\r\n ", &m), 0);
    CHECK_EQ(m.type, WSMSG_JOIN);
    CHECK(strcmp(m.token, "t") == 0);
    CHECK(!m.has_id);
    wsmsg_free(&m);

    /* The token limit is token_verify's: 2048 bytes. */
    char *s = repeat("{\"type\":\"join\",\"token\":\"", "A", 2048, "\"}");
    CHECK(s);
    int rc = parse(s, &m);
    free(s);
    CHECK_EQ(rc, 0);
    CHECK_EQ(strlen(m.token), 2048);
    wsmsg_free(&m);
    s = repeat("{\"type\":\"join\",\"token\":\"", "A", 2049, "\"}");
    CHECK(s);
    rc = refused_len(s, strlen(s), -EINVAL, "member \"token\" must be 1..2048 bytes", __LINE__);
    free(s);
    CHECK_EQ(rc, 0);
    REFUSED("{\"type\":\"join\",\"token\":\"\"}", -EINVAL, "member \"token\" must be 1..2048");
    REFUSED("{\"type\":\"join\",\"token\":42}", -EINVAL, "member \"token\" must be a string");
    REFUSED("{\"type\":\"join\",\"token\":null}", -EINVAL, "member \"token\" must be a string");
    REFUSED("{\"type\":\"join\"}", -EINVAL, "missing member \"token\"");
    return 0;
}

/* join's optional resume key, and restart_ice (only for the receiving connection). */
static int test_wsmsg_resume_restart(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"join\",\"token\":\"t\",\"resume\":\"k3y_-Z9\"}", &m), 0);
    CHECK_EQ(m.type, WSMSG_JOIN);
    CHECK(m.resume && strcmp(m.resume, "k3y_-Z9") == 0);
    wsmsg_free(&m);
    CHECK_EQ(parse("{\"type\":\"join\",\"token\":\"t\"}", &m), 0);
    CHECK(m.resume == NULL);
    wsmsg_free(&m);
    REFUSED("{\"type\":\"join\",\"token\":\"t\",\"resume\":true}", -EINVAL,
            "member \"resume\" must be 1..64 characters");
    REFUSED("{\"type\":\"join\",\"token\":\"t\",\"resume\":\"\"}", -EINVAL,
            "member \"resume\" must be 1..64 characters");
    REFUSED("{\"type\":\"join\",\"token\":\"t\",\"resume\":\"a b\"}", -EINVAL,
            "member \"resume\" must be 1..64 characters");
    REFUSED("{\"type\":\"join\",\"resume\":\"k\"}", -EINVAL, "missing member \"token\"");
    REFUSED("{\"type\":\"ping\",\"resume\":\"k\"}", -EINVAL,
            "unknown member \"resume\" for type ping");

    CHECK_EQ(parse("{\"type\":\"restart_ice\",\"pc\":\"recv\",\"id\":3}", &m), 0);
    CHECK_EQ(m.type, WSMSG_RESTART_ICE);
    CHECK_EQ(m.pc, WSMSG_PC_RECV);
    wsmsg_free(&m);
    REFUSED("{\"type\":\"restart_ice\",\"pc\":\"send\"}", -EINVAL,
            "member \"pc\" must be \"recv\" in restart_ice");
    REFUSED("{\"type\":\"restart_ice\"}", -EINVAL, "missing member \"pc\"");
    return 0;
}

static int test_wsmsg_offer(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"offer\",\"pc\":\"send\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 "
                   "0.0.0.0\\r\\n\",\"id\":1}",
                   &m),
             0);
    CHECK_EQ(m.type, WSMSG_OFFER);
    CHECK_EQ(m.pc, WSMSG_PC_SEND);
    /* Escapes are decoded: the length is the SDP's, not the JSON's. */
    CHECK_EQ(m.sdp_len, strlen("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"));
    CHECK(strcmp(m.sdp, "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n") == 0);
    wsmsg_free(&m);

    /* A large SDP (the whole message stays within 64 KiB). */
    char *s = repeat("{\"type\":\"offer\",\"pc\":\"send\",\"sdp\":\"", "a=x\\r\\n", 9000, "\"}");
    CHECK(s);
    int rc = parse(s, &m);
    free(s);
    CHECK_EQ(rc, 0);
    CHECK_EQ(m.sdp_len, 9000 * 5);
    wsmsg_free(&m);

    REFUSED("{\"type\":\"offer\",\"pc\":\"recv\",\"sdp\":\"v=0\"}", -EINVAL,
            "member \"pc\" must be \"send\" in an offer");
    REFUSED("{\"type\":\"offer\",\"pc\":\"SEND\",\"sdp\":\"v=0\"}", -EINVAL, "member \"pc\"");
    REFUSED("{\"type\":\"offer\",\"pc\":1,\"sdp\":\"v=0\"}", -EINVAL, "member \"pc\"");
    REFUSED("{\"type\":\"offer\",\"pc\":\"send\",\"sdp\":\"\"}", -EINVAL,
            "member \"sdp\" must be 1..65536 bytes");
    REFUSED("{\"type\":\"offer\",\"pc\":\"send\",\"sdp\":{}}", -EINVAL,
            "member \"sdp\" must be a string");
    REFUSED("{\"type\":\"offer\",\"sdp\":\"v=0\"}", -EINVAL, "missing member \"pc\"");
    REFUSED("{\"type\":\"offer\",\"pc\":\"send\"}", -EINVAL, "missing member \"sdp\"");
    REFUSED("{\"type\":\"offer\",\"pc\":\"send\",\"sdp\":\"v=0\",\"version\":1}", -EINVAL,
            "unknown member \"version\" for type offer");
    return 0;
}

static int test_wsmsg_answer(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"answer\",\"pc\":\"recv\",\"sdp\":\"v=0\",\"version\":3}", &m), 0);
    CHECK_EQ(m.type, WSMSG_ANSWER);
    CHECK_EQ(m.pc, WSMSG_PC_RECV);
    CHECK(strcmp(m.sdp, "v=0") == 0);
    CHECK_EQ(m.sdp_len, 3);
    CHECK_EQ(m.version, 3);
    wsmsg_free(&m);
    CHECK_EQ(parse("{\"type\":\"answer\",\"pc\":\"recv\",\"sdp\":\"v=0\",\"version\":1}", &m), 0);
    CHECK_EQ(m.version, 1);
    wsmsg_free(&m);
    CHECK_EQ(
        parse("{\"type\":\"answer\",\"pc\":\"recv\",\"sdp\":\"v=0\",\"version\":4294967295}", &m),
        0);
    CHECK_EQ(m.version, UINT32_MAX);
    wsmsg_free(&m);

    static const char *const bad_versions[] = {"0",     "-1",   "4294967296", "1.0", "1e2",
                                               "\"1\"", "true", "null",       "[1]"};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        char s[128];
        snprintf(s, sizeof(s),
                 "{\"type\":\"answer\",\"pc\":\"recv\",\"sdp\":\"v=0\",\"version\":%s}",
                 bad_versions[i]);
        REFUSED(s, -EINVAL, "member \"version\" must be an integer 1..4294967295");
    }
    REFUSED("{\"type\":\"answer\",\"pc\":\"send\",\"sdp\":\"v=0\",\"version\":1}", -EINVAL,
            "member \"pc\" must be \"recv\" in an answer");
    REFUSED("{\"type\":\"answer\",\"pc\":\"recv\",\"sdp\":\"v=0\"}", -EINVAL,
            "missing member \"version\"");
    return 0;
}

static int test_wsmsg_candidate(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"candidate\",\"pc\":\"send\",\"candidate\":{\"candidate\":"
                   "\"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\",\"sdpMid\":\"0\","
                   "\"sdpMLineIndex\":0,\"usernameFragment\":\"abcd\"}}",
                   &m),
             0);
    CHECK_EQ(m.type, WSMSG_CANDIDATE);
    CHECK_EQ(m.pc, WSMSG_PC_SEND);
    wsmsg_free(&m);
    /* The end of gathering, on the receiving connection. */
    CHECK_EQ(parse("{\"type\":\"candidate\",\"pc\":\"recv\",\"candidate\":null,\"id\":9}", &m), 0);
    CHECK_EQ(m.pc, WSMSG_PC_RECV);
    CHECK_EQ(m.id, 9);
    wsmsg_free(&m);
    /* Its content is not looked at. */
    CHECK_EQ(parse("{\"type\":\"candidate\",\"pc\":\"recv\",\"candidate\":{\"x\":[1,{}]}}", &m), 0);
    wsmsg_free(&m);

    REFUSED("{\"type\":\"candidate\",\"pc\":\"send\",\"candidate\":\"candidate:1 1 udp\"}", -EINVAL,
            "member \"candidate\" must be an object or null");
    REFUSED("{\"type\":\"candidate\",\"pc\":\"send\",\"candidate\":[]}", -EINVAL,
            "member \"candidate\" must be an object or null");
    REFUSED("{\"type\":\"candidate\",\"pc\":\"send\"}", -EINVAL, "missing member \"candidate\"");
    REFUSED("{\"type\":\"candidate\",\"pc\":\"both\",\"candidate\":null}", -EINVAL,
            "member \"pc\" must be \"send\" or \"recv\"");
    REFUSED("{\"type\":\"candidate\",\"pc\":null,\"candidate\":null}", -EINVAL,
            "member \"pc\" must be \"send\" or \"recv\"");
    /* A duplicate key inside the candidate is still a duplicate. */
    REFUSED("{\"type\":\"candidate\",\"pc\":\"send\",\"candidate\":{\"a\":1,\"a\":2}}", -EBADMSG,
            "a member appears twice");
    return 0;
}

static int test_wsmsg_participant(void)
{
    static const char *const names[] = {"admit", "deny", "remove", "mute"};
    static const enum wsmsg_type want[] = {WSMSG_ADMIT, WSMSG_DENY, WSMSG_REMOVE, WSMSG_MUTE};
    struct wsmsg m;
    char s[256];
    for (size_t i = 0; i < 4; i++) {
        snprintf(s, sizeof(s), "{\"type\":\"%s\",\"participant\":\"p_01-Az\",\"id\":%zu}", names[i],
                 i);
        CHECK_EQ(parse(s, &m), 0);
        CHECK_EQ(m.type, want[i]);
        CHECK(strcmp(m.participant, "p_01-Az") == 0);
        CHECK_EQ(m.id, i);
        wsmsg_free(&m);
    }
    char *big = repeat("{\"type\":\"admit\",\"participant\":\"", "x", WSMSG_ID_MAX, "\"}");
    CHECK(big);
    int rc = parse(big, &m);
    free(big);
    CHECK_EQ(rc, 0);
    CHECK_EQ(strlen(m.participant), WSMSG_ID_MAX);
    wsmsg_free(&m);
    big = repeat("{\"type\":\"admit\",\"participant\":\"", "x", WSMSG_ID_MAX + 1, "\"}");
    CHECK(big);
    rc = refused_len(big, strlen(big), -EINVAL, "member \"participant\" must be 1..64 characters",
                     __LINE__);
    free(big);
    CHECK_EQ(rc, 0);

    static const char *const bad[] = {"",       "a b",   "a.b",     "../etc", "p\\u00e9",
                                      "p\\n",   "a/b",   "a+b",     "a=",     "\\u0410",
                                      "a\\\"b", "a\\\\", "<script>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(s, sizeof(s), "{\"type\":\"deny\",\"participant\":\"%s\"}", bad[i]);
        REFUSED(s, -EINVAL, "member \"participant\" must be 1..64 characters of A-Z a-z 0-9 _ -");
    }
    REFUSED("{\"type\":\"remove\",\"participant\":7}", -EINVAL,
            "member \"participant\" must be a string");
    REFUSED("{\"type\":\"remove\"}", -EINVAL, "missing member \"participant\"");
    return 0;
}

static int test_wsmsg_media(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"media\",\"audio\":true,\"video\":false}", &m), 0);
    CHECK_EQ(m.type, WSMSG_MEDIA);
    CHECK(m.audio && !m.video);
    wsmsg_free(&m);
    CHECK_EQ(parse("{\"type\":\"media\",\"video\":true,\"audio\":false}", &m), 0);
    CHECK(!m.audio && m.video);
    wsmsg_free(&m);
    REFUSED("{\"type\":\"media\",\"audio\":true}", -EINVAL, "missing member \"video\"");
    REFUSED("{\"type\":\"media\",\"video\":true}", -EINVAL, "missing member \"audio\"");
    REFUSED("{\"type\":\"media\",\"audio\":1,\"video\":true}", -EINVAL,
            "member \"audio\" must be true or false");
    REFUSED("{\"type\":\"media\",\"audio\":true,\"video\":\"false\"}", -EINVAL,
            "member \"video\" must be true or false");
    REFUSED("{\"type\":\"media\",\"audio\":true,\"video\":null}", -EINVAL,
            "member \"video\" must be true or false");
    return 0;
}

/* The pre-call connection test: a link token and an offer, both checked as join's and offer's. */
static int test_wsmsg_probe(void)
{
    struct wsmsg m;
    CHECK_EQ(
        parse("{\"type\":\"probe\",\"token\":\"abc.def.ghi\",\"sdp\":\"v=0\\r\\n\",\"id\":3}", &m),
        0);
    CHECK_EQ(m.type, WSMSG_PROBE);
    CHECK(strcmp(m.token, "abc.def.ghi") == 0);
    CHECK(strcmp(m.sdp, "v=0\r\n") == 0);
    CHECK_EQ(m.sdp_len, 5);
    CHECK_EQ(m.pc, 0);
    CHECK(m.has_id && m.id == 3);
    wsmsg_free(&m);
    REFUSED("{\"type\":\"probe\",\"sdp\":\"v=0\"}", -EINVAL,
            "missing member \"token\" for type probe");
    REFUSED("{\"type\":\"probe\",\"token\":\"a\"}", -EINVAL,
            "missing member \"sdp\" for type probe");
    REFUSED("{\"type\":\"probe\",\"token\":\"\",\"sdp\":\"v=0\"}", -EINVAL,
            "member \"token\" must be 1..");
    REFUSED("{\"type\":\"probe\",\"token\":\"a\",\"sdp\":\"\"}", -EINVAL,
            "member \"sdp\" must be 1..");
    REFUSED("{\"type\":\"probe\",\"token\":\"a\",\"sdp\":7}", -EINVAL,
            "member \"sdp\" must be a string");
    /* No pc: a probe has one connection of its own. */
    REFUSED("{\"type\":\"probe\",\"token\":\"a\",\"sdp\":\"v=0\",\"pc\":\"send\"}", -EINVAL,
            "unknown member \"pc\" for type probe");
    return 0;
}

/* A browser's report of its own connection: a level and two numbers, each in range. */
static int test_wsmsg_quality(void)
{
    struct wsmsg m;
    CHECK_EQ(
        parse("{\"type\":\"quality\",\"level\":\"poor\",\"loss\":10.5,\"rtt\":42,\"id\":8}", &m),
        0);
    CHECK_EQ(m.type, WSMSG_QUALITY);
    CHECK_EQ(m.level, WSMSG_LEVEL_POOR);
    CHECK(m.loss == 10.5);
    CHECK_EQ(m.rtt, 42);
    CHECK(m.has_id && m.id == 8);
    wsmsg_free(&m);
    /* Integers and reals both; rtt rounds to the nearest millisecond; the bounds are in. */
    CHECK_EQ(parse("{\"type\":\"quality\",\"level\":\"good\",\"loss\":0,\"rtt\":12.6}", &m), 0);
    CHECK_EQ(m.level, WSMSG_LEVEL_GOOD);
    CHECK(m.loss == 0);
    CHECK_EQ(m.rtt, 13);
    wsmsg_free(&m);
    CHECK_EQ(parse("{\"type\":\"quality\",\"level\":\"fair\",\"loss\":100,\"rtt\":60000.0}", &m),
             0);
    CHECK_EQ(m.level, WSMSG_LEVEL_FAIR);
    CHECK(m.loss == 100);
    CHECK_EQ(m.rtt, 60000);
    wsmsg_free(&m);
    CHECK_EQ(parse("{\"rtt\":0,\"loss\":0.01,\"level\":\"fair\",\"type\":\"quality\"}", &m), 0);
    CHECK_EQ(m.rtt, 0);
    wsmsg_free(&m);

    REFUSED("{\"type\":\"quality\",\"level\":\"bad\",\"loss\":1,\"rtt\":1}", -EINVAL,
            "member \"level\" must be \"good\", \"fair\" or \"poor\"");
    REFUSED("{\"type\":\"quality\",\"level\":\"Poor\",\"loss\":1,\"rtt\":1}", -EINVAL,
            "member \"level\"");
    REFUSED("{\"type\":\"quality\",\"level\":3,\"loss\":1,\"rtt\":1}", -EINVAL, "member \"level\"");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":100.01,\"rtt\":1}", -EINVAL,
            "member \"loss\" must be a number 0..100");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":-0.5,\"rtt\":1}", -EINVAL,
            "member \"loss\" must be a number 0..100");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":\"3\",\"rtt\":1}", -EINVAL,
            "member \"loss\" must be a number 0..100");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":null,\"rtt\":1}", -EINVAL,
            "member \"loss\"");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":1,\"rtt\":60000.5}", -EINVAL,
            "member \"rtt\" must be a number 0..60000");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":1,\"rtt\":-1}", -EINVAL,
            "member \"rtt\" must be a number 0..60000");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":1,\"rtt\":true}", -EINVAL,
            "member \"rtt\"");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":1e400,\"rtt\":1}", -EBADMSG,
            "bad JSON");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"rtt\":1}", -EINVAL,
            "missing member \"loss\" for type quality");
    REFUSED("{\"type\":\"quality\",\"loss\":1,\"rtt\":1}", -EINVAL,
            "missing member \"level\" for type quality");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":1}", -EINVAL,
            "missing member \"rtt\" for type quality");
    REFUSED("{\"type\":\"quality\",\"level\":\"good\",\"loss\":1,\"rtt\":1,\"jitter\":3}", -EINVAL,
            "unknown member \"jitter\" for type quality");
    /* Its members belong to it alone. */
    REFUSED("{\"type\":\"ping\",\"level\":\"good\"}", -EINVAL,
            "unknown member \"level\" for type ping");
    return 0;
}

static int test_wsmsg_chat(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"chat\",\"text\":\"Hello,\\ndoctor \\u00e9\",\"id\":2}", &m), 0);
    CHECK_EQ(m.type, WSMSG_CHAT);
    CHECK(strcmp(m.text, "Hello,\ndoctor \xc3\xa9") == 0);
    CHECK_EQ(m.text_len, 16);
    wsmsg_free(&m);
    /* Raw UTF-8 in the message counts the same as escapes. */
    CHECK_EQ(parse("{\"type\":\"chat\",\"text\":\" \xe2\x9c\x93 ok\"}", &m), 0);
    CHECK_EQ(m.text_len, 7);
    wsmsg_free(&m);
    /* One visible character among whitespace is enough. */
    CHECK_EQ(parse("{\"type\":\"chat\",\"text\":\"\\n\\n .\\n\"}", &m), 0);
    wsmsg_free(&m);

    /* 2000 code points of 1, 2, 3 and 4 bytes (the last also as surrogate-pair escapes) are
     * accepted; one more is not. */
    static const char *const units[] = {
        "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\u00e9"};
    static const size_t unit_bytes[] = {1, 2, 3, 4, 4, 2};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        char *s = repeat("{\"type\":\"chat\",\"text\":\"", units[i], WSMSG_CHAT_MAX, "\"}");
        CHECK(s);
        int rc = parse(s, &m);
        free(s);
        CHECK_EQ(rc, 0);
        CHECK_EQ(m.text_len, WSMSG_CHAT_MAX * unit_bytes[i]);
        CHECK_EQ(strlen(m.text), m.text_len);
        wsmsg_free(&m);
        s = repeat("{\"type\":\"chat\",\"text\":\"", units[i], WSMSG_CHAT_MAX + 1, "\"}");
        CHECK(s);
        rc = refused_len(s, strlen(s), -EINVAL,
                         "member \"text\" is longer than 2000 characters (it has 2001)", __LINE__);
        free(s);
        CHECK_EQ(rc, 0);
    }

    REFUSED("{\"type\":\"chat\",\"text\":\"\"}", -EINVAL, "member \"text\" is empty");
    static const char *const blank[] = {" ",
                                        "\\n",
                                        "  \\n\\n  ",
                                        "\\u00a0",
                                        "\\u3000\\u2003",
                                        "\\ufeff",
                                        "\\u2028 \\u2029",
                                        "\\u202f\\u205f\\u1680"};
    for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
        char s[128];
        snprintf(s, sizeof(s), "{\"type\":\"chat\",\"text\":\"%s\"}", blank[i]);
        REFUSED(s, -EINVAL, "member \"text\" holds only whitespace");
    }
    static const char *const control[] = {"a\\tb",    "a\\rb",      "a\\r\\n",  "\\u0001",
                                          "x\\u007f", "x\\u0085",   "x\\u009f", "\\b",
                                          "\\f",      "x\\u001b[2J"};
    for (size_t i = 0; i < sizeof(control) / sizeof(control[0]); i++) {
        char s[128];
        snprintf(s, sizeof(s), "{\"type\":\"chat\",\"text\":\"%s\"}", control[i]);
        REFUSED(s, -EINVAL, "member \"text\" holds a control character (only newline is allowed)");
    }
    /* NUL is refused by the JSON parser itself (no JSON_ALLOW_NUL), so strings are C strings. */
    REFUSED("{\"type\":\"chat\",\"text\":\"a\\u0000b\"}", -EBADMSG, "NUL");
    REFUSED("{\"type\":\"chat\",\"text\":[\"hi\"]}", -EINVAL, "member \"text\" must be a string");
    REFUSED("{\"type\":\"chat\"}", -EINVAL, "missing member \"text\"");
    REFUSED("{\"type\":\"chat\",\"text\":\"hi\",\"to\":\"p1\"}", -EINVAL,
            "unknown member \"to\" for type chat");
    return 0;
}

static int test_wsmsg_leave_ping(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"leave\"}", &m), 0);
    CHECK_EQ(m.type, WSMSG_LEAVE);
    CHECK(!m.has_id);
    wsmsg_free(&m);
    CHECK_EQ(parse("{\"id\":0,\"type\":\"ping\"}", &m), 0);
    CHECK_EQ(m.type, WSMSG_PING);
    CHECK(m.has_id);
    CHECK_EQ(m.id, 0);
    wsmsg_free(&m);
    REFUSED("{\"type\":\"leave\",\"reason\":\"bye\"}", -EINVAL,
            "unknown member \"reason\" for type leave");
    REFUSED("{\"type\":\"ping\",\"text\":\"x\"}", -EINVAL, "unknown member \"text\" for type ping");
    return 0;
}

static int test_wsmsg_bad_json(void)
{
    REFUSED("", -EBADMSG, "bad JSON");
    REFUSED("   ", -EBADMSG, "bad JSON: the JSON ends early");
    REFUSED("not json", -EBADMSG, "bad JSON: not valid JSON (at byte");
    REFUSED("{", -EBADMSG, "bad JSON");
    REFUSED("{\"type\":\"ping\"", -EBADMSG, "bad JSON: the JSON ends early");
    REFUSED("{'type':'ping'}", -EBADMSG, "bad JSON");
    REFUSED("{\"type\":\"ping\",}", -EBADMSG, "bad JSON");
    REFUSED("{type:\"ping\"}", -EBADMSG, "bad JSON");
    /* Not an object. */
    REFUSED("[{\"type\":\"ping\"}]", -EBADMSG, "bad JSON: the message must be a JSON object");
    REFUSED("[]", -EBADMSG, "must be a JSON object");
    REFUSED("\"ping\"", -EBADMSG, "must be a JSON object");
    REFUSED("5", -EBADMSG, "must be a JSON object");
    REFUSED("null", -EBADMSG, "must be a JSON object");
    REFUSED("true", -EBADMSG, "must be a JSON object");
    /* Trailing garbage, a second message, a NUL after the object. */
    REFUSED("{\"type\":\"ping\"} x", -EBADMSG, "bad JSON: trailing data after the JSON value");
    REFUSED("{\"type\":\"ping\"}{\"type\":\"ping\"}", -EBADMSG, "trailing data");
    REFUSED("{\"type\":\"ping\"},", -EBADMSG, "trailing data");
    CHECK_EQ(refused_len("{\"type\":\"ping\"}\0", 16, -EBADMSG, "bad JSON", __LINE__), 0);
    CHECK_EQ(refused_len("{\"type\":\0\"ping\"}", 16, -EBADMSG, "bad JSON", __LINE__), 0);
    /* Duplicate keys, including "type" and "id" with the same value. */
    REFUSED("{\"type\":\"ping\",\"type\":\"ping\"}", -EBADMSG, "bad JSON: a member appears twice");
    REFUSED("{\"type\":\"ping\",\"id\":1,\"id\":1}", -EBADMSG, "a member appears twice");
    REFUSED("{\"type\":\"media\",\"audio\":true,\"video\":true,\"audio\":false}", -EBADMSG,
            "a member appears twice");
    /* Invalid UTF-8, raw or through a lone surrogate escape; a BOM is not JSON. */
    REFUSED("{\"type\":\"chat\",\"text\":\"\xc3\x28\"}", -EBADMSG, "bad JSON: not valid UTF-8");
    REFUSED("{\"type\":\"chat\",\"text\":\"\xed\xa0\x80\"}", -EBADMSG, "bad JSON");
    REFUSED("{\"type\":\"chat\",\"text\":\"\xc0\xaf\"}", -EBADMSG, "bad JSON");
    REFUSED("{\"type\":\"chat\",\"text\":\"\\ud800\"}", -EBADMSG, "bad JSON");
    REFUSED("\xef\xbb\xbf{\"type\":\"ping\"}", -EBADMSG, "bad JSON");
    /* A raw control character inside a string is not JSON either. */
    REFUSED("{\"type\":\"chat\",\"text\":\"a\tb\"}", -EBADMSG, "bad JSON");
    /* jansson's own message would quote the input: ours names the place only. */
    char s[] = "{\"type\":\"chat\",\"text\":\"my-secret-diagnosis\" oops}";
    CHECK_EQ(refused_len(s, strlen(s), -EBADMSG, "(at byte", __LINE__), 0);
    struct wsmsg m;
    char err[256];
    CHECK_EQ(wsmsg_parse(s, strlen(s), &m, err, sizeof(err)), -EBADMSG);
    CHECK(!strstr(err, "secret") && !strstr(err, "oops"));
    /* Nesting deep enough to exhaust jansson's depth limit is refused, not a crash. */
    char *deep = repeat("{\"type\":\"candidate\",\"pc\":\"send\",\"candidate\":", "[", 5000, "");
    CHECK(deep);
    int rc = refused_len(deep, strlen(deep), -EBADMSG, "bad JSON", __LINE__);
    free(deep);
    CHECK_EQ(rc, 0);
    /* Trailing whitespace is fine, and so is a buffer that is not NUL-terminated. */
    CHECK_EQ(parse("{\"type\":\"ping\"} \r\n\t", &m), 0);
    wsmsg_free(&m);
    static const char more[] = "{\"type\":\"ping\"}garbage";
    CHECK_EQ(wsmsg_parse(more, 15, &m, err, sizeof(err)), 0);
    CHECK_EQ(m.type, WSMSG_PING);
    wsmsg_free(&m);
    return 0;
}

static int test_wsmsg_too_large(void)
{
    /* A valid ping padded with whitespace to exactly 64 KiB is accepted; one byte more is
     * refused. */
    char *buf = malloc(WSMSG_MAX + 2);
    CHECK(buf);
    memset(buf, ' ', WSMSG_MAX + 1);
    memcpy(buf, "{\"type\":\"ping\",\"id\":3}", 22);
    struct wsmsg m;
    char err[256];
    int rc = wsmsg_parse(buf, WSMSG_MAX, &m, err, sizeof(err));
    if (rc == 0)
        wsmsg_free(&m);
    int rc2 = wsmsg_parse(buf, WSMSG_MAX + 1, &m, err, sizeof(err));
    /* Garbage over the limit is too_large, not bad_json: the length is checked first. */
    memset(buf, 0xff, WSMSG_MAX + 1);
    int rc3 = wsmsg_parse(buf, WSMSG_MAX + 1, &m, err, sizeof(err));
    free(buf);
    CHECK_EQ(rc, 0);
    CHECK_EQ(rc2, -EMSGSIZE);
    CHECK(!m.has_id); /* not parsed, so no id */
    CHECK_EQ(rc3, -EMSGSIZE);
    CHECK(strcmp(err, "the message is over 65536 bytes") == 0);
    CHECK(wsmsg_is_empty(&m));
    /* Not a byte is read: a length alone decides. */
    CHECK_EQ(wsmsg_parse(NULL, SIZE_MAX, &m, err, sizeof(err)), -EMSGSIZE);
    CHECK_EQ(wsmsg_parse(NULL, 0, &m, err, sizeof(err)), -EBADMSG);
    return 0;
}

static int test_wsmsg_type(void)
{
    REFUSED("{\"type\":\"shout\"}", -ENOENT, "unknown type \"shout\"");
    REFUSED("{\"type\":\"Ping\"}", -ENOENT, "unknown type \"Ping\"");
    REFUSED("{\"type\":\"pong\",\"id\":1}", -ENOENT, "unknown type \"pong\"");
    REFUSED("{\"type\":\"joined\"}", -ENOENT, "unknown type \"joined\"");
    /* Names that are not plain words are not repeated. */
    REFUSED("{\"type\":\"\"}", -ENOENT, "unknown type (its name is not shown");
    REFUSED("{\"type\":\"ping \"}", -ENOENT, "unknown type (its name is not shown");
    REFUSED("{\"type\":\"<img src=x>\"}", -ENOENT, "unknown type (its name is not shown");
    REFUSED("{\"type\":\"\\u001b[31m\"}", -ENOENT, "unknown type (its name is not shown");
    REFUSED("{\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", -ENOENT,
            "unknown type (its name is not shown");
    REFUSED("{\"type\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", -ENOENT,
            "unknown type \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    /* Missing, or not a string. */
    REFUSED("{}", -EINVAL, "missing member \"type\"");
    REFUSED("{\"token\":\"t\"}", -EINVAL, "missing member \"type\"");
    REFUSED("{\"type\":1}", -EINVAL, "member \"type\" must be a string");
    REFUSED("{\"type\":null}", -EINVAL, "member \"type\" must be a string");
    REFUSED("{\"type\":[\"ping\"]}", -EINVAL, "member \"type\" must be a string");
    REFUSED("{\"type\":{\"name\":\"ping\"}}", -EINVAL, "member \"type\" must be a string");
    return 0;
}

static int test_wsmsg_unknown_member(void)
{
    REFUSED("{\"type\":\"ping\",\"x\":1}", -EINVAL, "unknown member \"x\" for type ping");
    /* A typo is named as the unknown member it is, not as a missing one. */
    REFUSED("{\"type\":\"join\",\"tokn\":\"t\"}", -EINVAL, "unknown member \"tokn\" for type join");
    /* Members of other types are unknown here. */
    REFUSED("{\"type\":\"join\",\"token\":\"t\",\"sdp\":\"v=0\"}", -EINVAL,
            "unknown member \"sdp\" for type join");
    REFUSED("{\"type\":\"chat\",\"text\":\"hi\",\"pc\":\"send\"}", -EINVAL,
            "unknown member \"pc\" for type chat");
    /* Case matters. */
    REFUSED("{\"type\":\"join\",\"Token\":\"t\"}", -EINVAL, "unknown member \"Token\"");
    REFUSED("{\"Type\":\"ping\",\"type\":\"ping\"}", -EINVAL, "unknown member \"Type\"");
    /* Names that are not plain words, or long ones, are not repeated: a client that sent its
     * token as a key must not see it in a log. */
    static const char key_token[] =
        "{\"type\":\"join\",\"token\":\"t\",\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\":1}";
    REFUSED(key_token, -EINVAL, "unknown member for type join (its name is not shown");
    struct wsmsg m;
    char err[256];
    CHECK_EQ(wsmsg_parse(key_token, strlen(key_token), &m, err, sizeof(err)), -EINVAL);
    CHECK(!strstr(err, "eyJ"));
    REFUSED("{\"type\":\"ping\",\"\":1}", -EINVAL, "unknown member for type ping (its name");
    REFUSED("{\"type\":\"ping\",\"a b\":1}", -EINVAL, "unknown member for type ping (its");
    REFUSED("{\"type\":\"ping\",\"\\u00e9\":1}", -EINVAL, "unknown member for type ping (its");
    REFUSED("{\"type\":\"ping\",\"\\n\":1}", -EINVAL, "unknown member for type ping (its");
    /* The first unknown member in the message's order is the one named. */
    REFUSED("{\"type\":\"ping\",\"b\":1,\"a\":2}", -EINVAL, "unknown member \"b\"");
    return 0;
}

static int test_wsmsg_id(void)
{
    struct wsmsg m;
    CHECK_EQ(parse("{\"type\":\"ping\",\"id\":9007199254740992}", &m), 0);
    CHECK(m.has_id);
    CHECK_EQ(m.id, 9007199254740992LL);
    wsmsg_free(&m);
    CHECK_EQ(parse("{\"type\":\"ping\",\"id\":-0}", &m), 0);
    CHECK_EQ(m.id, 0);
    wsmsg_free(&m);

    static const char *const bad[] = {"-1",
                                      "9007199254740993",
                                      "9223372036854775807",
                                      "1.5",
                                      "1.0",
                                      "1e3",
                                      "\"7\"",
                                      "true",
                                      "null",
                                      "[1]",
                                      "{}",
                                      "-9223372036854775808"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char s[128];
        snprintf(s, sizeof(s), "{\"type\":\"ping\",\"id\":%s}", bad[i]);
        REFUSED(s, -EINVAL, "member \"id\" must be an integer 0..9007199254740992");
    }
    /* Past jansson's integers (64 bits) the number cannot be read at all: bad JSON. */
    REFUSED("{\"type\":\"ping\",\"id\":99999999999999999999}", -EBADMSG,
            "bad JSON: a number is out of range");
    REFUSED("{\"type\":\"ping\",\"id\":1e400}", -EBADMSG, "a number is out of range");
    return 0;
}

/* Every error after the object is read carries the id back; a bad id or bad JSON has none. */
static int test_wsmsg_re_kept(void)
{
    static const struct {
        const char *msg;
        int rc;
        int64_t id;
    } cases[] = {
        {"{\"type\":\"nope\",\"id\":12}", -ENOENT, 12},
        {"{\"id\":5,\"type\":\"chat\",\"text\":\"\"}", -EINVAL, 5},
        {"{\"type\":\"ping\",\"id\":6,\"x\":1}", -EINVAL, 6},
        {"{\"id\":7}", -EINVAL, 7},
        {"{\"id\":8,\"type\":8}", -EINVAL, 8},
        {"{\"type\":\"join\",\"id\":9007199254740992}", -EINVAL, 9007199254740992LL},
        {"{\"type\":\"media\",\"audio\":true,\"video\":0,\"id\":0}", -EINVAL, 0},
        {"{\"type\":\"admit\",\"participant\":\"a b\",\"id\":44}", -EINVAL, 44},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsmsg m;
        char err[256];
        CHECK_EQ(wsmsg_parse(cases[i].msg, strlen(cases[i].msg), &m, err, sizeof(err)),
                 cases[i].rc);
        CHECK(m.has_id);
        CHECK_EQ(m.id, cases[i].id);
        CHECK(m.json == NULL && m.type == 0);
        wsmsg_free(&m);
    }
    static const char *const none[] = {
        "{\"type\":\"nope\",\"id\":-1}",         "{\"type\":\"ping\",\"id\":\"3\"}",
        "{\"type\":\"ping\",\"id\":3",           "{\"type\":\"ping\",\"id\":3,\"id\":3}",
        "{\"type\":\"ping\",\"id\":3} trailing",
    };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        struct wsmsg m;
        char err[256];
        memset(&m, 0x5a, sizeof(m));
        CHECK(wsmsg_parse(none[i], strlen(none[i]), &m, err, sizeof(err)) < 0);
        CHECK(!m.has_id);
        CHECK_EQ(m.id, 0);
        CHECK(wsmsg_is_empty(&m));
    }
    return 0;
}

/* Refused values never appear in the error, whatever the member. */
static int test_wsmsg_no_echo(void)
{
    static const char *const msgs[] = {
        "{\"type\":\"chat\",\"text\":\"SECRET diagnosis\\t\"}",
        "{\"type\":\"chat\",\"text\":\"SECRET\",\"id\":\"SECRET\"}",
        "{\"type\":\"admit\",\"participant\":\"SECRET id\"}",
        "{\"type\":\"offer\",\"pc\":\"SECRET\",\"sdp\":\"v=0\"}",
        "{\"type\":\"answer\",\"pc\":\"recv\",\"sdp\":\"v=0\",\"version\":\"SECRET\"}",
        "{\"type\":\"media\",\"audio\":\"SECRET\",\"video\":true}",
        "{\"type\":\"join\",\"token\":[\"SECRET\"]}",
        "{\"type\":\"SECRET type with spaces\"}",
        "{\"type\":\"ping\",\"SECRET key with spaces\":1}",
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        struct wsmsg m;
        char err[256];
        CHECK(wsmsg_parse(msgs[i], strlen(msgs[i]), &m, err, sizeof(err)) < 0);
        CHECK(err_is_plain(err));
        if (strstr(err, "SECRET")) {
            fprintf(stderr, "echoed: %s\n", err);
            return -1;
        }
        wsmsg_free(&m);
    }
    return 0;
}

static int test_wsmsg_free_and_err_buffer(void)
{
    struct wsmsg m;
    memset(&m, 0, sizeof(m));
    wsmsg_free(&m); /* zeroed */
    wsmsg_free(NULL);
    CHECK_EQ(parse("{\"type\":\"chat\",\"text\":\"hi\"}", &m), 0);
    wsmsg_free(&m);
    CHECK(wsmsg_is_empty(&m));
    wsmsg_free(&m); /* already freed */
    /* No error buffer, or a tiny one (always NUL-terminated). */
    static const char bad[] = "{\"type\":\"chat\",\"text\":\"\"}";
    CHECK_EQ(wsmsg_parse(bad, strlen(bad), &m, NULL, 0), -EINVAL);
    wsmsg_free(&m);
    char err[8];
    memset(err, 'x', sizeof(err));
    CHECK_EQ(wsmsg_parse(bad, strlen(bad), &m, err, 0), -EINVAL);
    CHECK_EQ(err[0], 'x');
    CHECK_EQ(wsmsg_parse(bad, strlen(bad), &m, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "member ") == 0);
    /* A success clears an error buffer left from before. */
    CHECK_EQ(wsmsg_parse("{\"type\":\"ping\"}", 15, &m, err, sizeof(err)), 0);
    CHECK_EQ(err[0], '\0');
    wsmsg_free(&m);
    return 0;
}

static int test_wsmsg_error_code(void)
{
    CHECK(strcmp(wsmsg_error_code(-EMSGSIZE), "too_large") == 0);
    CHECK(strcmp(wsmsg_error_code(-EBADMSG), "bad_json") == 0);
    CHECK(strcmp(wsmsg_error_code(-ENOENT), "unknown_type") == 0);
    CHECK(strcmp(wsmsg_error_code(-EINVAL), "bad_message") == 0);
    CHECK(strcmp(wsmsg_error_code(-ENOMEM), "internal") == 0);
    CHECK(strcmp(wsmsg_error_code(0), "internal") == 0);
    return 0;
}

/* A small deterministic generator, so a failure reproduces. */
static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Valid messages with bytes changed, cut or inserted: every outcome is a known code with an
 * error that is plain text, and nothing leaks on any path (the ASan build checks). */
static int test_wsmsg_mutations(void)
{
    static const char *const seeds[] = {
        "{\"type\":\"join\",\"token\":\"abc.def.ghi\",\"id\":1}",
        "{\"type\":\"offer\",\"pc\":\"send\",\"sdp\":\"v=0\\r\\n\"}",
        "{\"type\":\"answer\",\"pc\":\"recv\",\"sdp\":\"v=0\",\"version\":2}",
        "{\"type\":\"candidate\",\"pc\":\"recv\",\"candidate\":{\"sdpMid\":\"0\"}}",
        "{\"type\":\"admit\",\"participant\":\"p1\"}",
        "{\"type\":\"media\",\"audio\":true,\"video\":false}",
        "{\"type\":\"chat\",\"text\":\"h\\u00e9llo \xe2\x82\xac\"}",
        "{\"type\":\"leave\",\"id\":4}",
        "{\"type\":\"quality\",\"level\":\"fair\",\"loss\":2.5,\"rtt\":120}",
        "{\"type\":\"probe\",\"token\":\"a.b.c\",\"sdp\":\"v=0\"}",
    };
    static const char alpha[] = "{}[]\":,\\ \n0123456789-+.eEtrufalsny\x80\xc3\xa9\xff";
    char buf[256];
    uint32_t s = 0x2545f491u;
    unsigned ok = 0, refused = 0;
    for (int i = 0; i < 40000; i++) {
        const char *seed = seeds[i % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int edits = 1 + (int)(rng_next(&s) % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            uint32_t r = rng_next(&s);
            size_t at = r % len;
            char ch = alpha[(r >> 16) % (sizeof(alpha) - 1)];
            switch ((r >> 8) % 3) {
            case 0:
                buf[at] = ch;
                break;
            case 1:
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default:
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = ch;
                    len++;
                }
                break;
            }
        }
        struct wsmsg m;
        char err[256];
        int rc = wsmsg_parse(buf, len, &m, err, sizeof(err));
        if (rc == 0) {
            CHECK(m.type >= WSMSG_JOIN && m.type <= WSMSG_QUALITY && m.json);
            ok++;
        } else {
            CHECK(rc == -EBADMSG || rc == -EINVAL || rc == -ENOENT);
            CHECK(err_is_plain(err));
            CHECK(wsmsg_is_empty(&m));
            refused++;
        }
        wsmsg_free(&m);
        wsmsg_free(&m);
    }
    CHECK(ok > 100 && refused > 1000); /* both paths were exercised */
    return 0;
}

static const struct test_case cases[] = {
    {"wsmsg_join", test_wsmsg_join},
    {"wsmsg_resume_restart", test_wsmsg_resume_restart},
    {"wsmsg_offer", test_wsmsg_offer},
    {"wsmsg_answer", test_wsmsg_answer},
    {"wsmsg_candidate", test_wsmsg_candidate},
    {"wsmsg_participant", test_wsmsg_participant},
    {"wsmsg_media", test_wsmsg_media},
    {"wsmsg_probe", test_wsmsg_probe},
    {"wsmsg_quality", test_wsmsg_quality},
    {"wsmsg_chat", test_wsmsg_chat},
    {"wsmsg_leave_ping", test_wsmsg_leave_ping},
    {"wsmsg_bad_json", test_wsmsg_bad_json},
    {"wsmsg_too_large", test_wsmsg_too_large},
    {"wsmsg_type", test_wsmsg_type},
    {"wsmsg_unknown_member", test_wsmsg_unknown_member},
    {"wsmsg_id", test_wsmsg_id},
    {"wsmsg_re_kept", test_wsmsg_re_kept},
    {"wsmsg_no_echo", test_wsmsg_no_echo},
    {"wsmsg_free_and_err_buffer", test_wsmsg_free_and_err_buffer},
    {"wsmsg_error_code", test_wsmsg_error_code},
    {"wsmsg_mutations", test_wsmsg_mutations},
};

TEST_MAIN(cases)
