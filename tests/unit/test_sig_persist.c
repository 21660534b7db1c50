/* A participant's media state as the store keeps it for the next signalling process
 * (conf_persist.c): written and read back the same, a consume in flight written as not, and
 * every blob this build did not write (another layout, a count out of range, a wrong length,
 * strings without their end) refused or made safe, never read past. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "harness.h"

static struct conf_conn *conn_new(void)
{
    struct conf_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->recv_media = calloc(SDP_MAX_MEDIA, sizeof(*c->recv_media));
    c->slots = calloc(SDP_MAX_MEDIA, sizeof(*c->slots));
    if (!c->recv_media || !c->slots) {
        free(c->recv_media);
        free(c->slots);
        free(c);
        return NULL;
    }
    return c;
}

static void conn_free(struct conf_conn *c)
{
    if (!c)
        return;
    free(c->recv_media);
    free(c->slots);
    free(c);
}

/* A participant in a call: two transports, two producers, three receiving sections. */
static void conn_fill(struct conf_conn *c)
{
    c->send_t.id = 11;
    snprintf(c->send_t.ufrag, sizeof(c->send_t.ufrag), "sendufrag");
    snprintf(c->send_t.pwd, sizeof(c->send_t.pwd), "sendpassword0123456789");
    snprintf(c->send_t.fingerprint, sizeof(c->send_t.fingerprint), "AB:CD");
    c->send_t.n_cands = 1;
    snprintf(c->send_t.cands[0].ip, sizeof(c->send_t.cands[0].ip), "10.1.0.1");
    c->send_t.cands[0].port = 41000;
    c->send_t.connected = true;
    c->recv_t = c->send_t;
    c->recv_t.id = 12;
    c->n_prod = 2;
    c->prod[0].id = 21;
    c->prod[0].media.kind = SFU__MEDIA_KIND__MEDIA_KIND_AUDIO;
    snprintf(c->prod[0].media.mid, sizeof(c->prod[0].media.mid), "0");
    c->prod[0].media.ssrc = 1111;
    c->prod[1].id = 22;
    c->prod[1].media.kind = SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    snprintf(c->prod[1].media.mid, sizeof(c->prod[1].media.mid), "1");
    c->prod[1].media.ssrc = 2222;
    c->n_slots = 3;
    for (size_t i = 0; i < 3; i++) {
        snprintf(c->recv_media[i].mid, sizeof(c->recv_media[i].mid), "r%zu", i);
        c->recv_media[i].publish = i < 2;
        c->slots[i].consumer_id = i < 2 ? 31 + i : 0;
        snprintf(c->slots[i].from, sizeof(c->slots[i].from), "%s", i < 2 ? "pat1" : "");
    }
    c->slots[1].pending = true;
    c->recv_version = 7;
    c->audio = true;
    snprintf(c->send_ufrag, sizeof(c->send_ufrag), "browserufrag");
}

static int test_persist_round_trip(void)
{
    struct conf_conn *a = conn_new(), *b = conn_new();
    CHECK(a && b);
    conn_fill(a);
    uint8_t *buf;
    size_t len;
    CHECK_EQ(conf__snapshot_write(a, &buf, &len), 0);
    CHECK_EQ(conf__snapshot_read(b, buf, len), 0);
    CHECK_EQ(b->send_t.id, 11);
    CHECK_EQ(b->recv_t.id, 12);
    CHECK(strcmp(b->recv_t.pwd, "sendpassword0123456789") == 0);
    CHECK_EQ(b->recv_t.cands[0].port, 41000);
    CHECK_EQ(b->n_prod, 2);
    CHECK_EQ(b->prod[1].id, 22);
    CHECK_EQ(b->prod[1].media.ssrc, 2222);
    CHECK_EQ(b->n_slots, 3);
    CHECK(strcmp(b->recv_media[2].mid, "r2") == 0);
    CHECK(b->recv_media[1].publish && !b->recv_media[2].publish);
    CHECK_EQ(b->slots[1].consumer_id, 32);
    CHECK(!b->slots[1].pending); /* its answer went with the process that asked */
    CHECK(strcmp(b->slots[0].from, "pat1") == 0);
    CHECK_EQ(b->recv_version, 7);
    CHECK(b->audio && !b->video);
    CHECK(strcmp(b->send_ufrag, "browserufrag") == 0);
    free(buf);
    conn_free(a);
    conn_free(b);
    return 0;
}

static int test_persist_refused(void)
{
    struct conf_conn *a = conn_new(), *b = conn_new();
    CHECK(a && b);
    conn_fill(a);
    uint8_t *buf;
    size_t len;
    CHECK_EQ(conf__snapshot_write(a, &buf, &len), 0);
    /* Truncated, longer, empty. */
    CHECK_EQ(conf__snapshot_read(b, buf, len - 1), -EINVAL);
    CHECK_EQ(conf__snapshot_read(b, buf, 0), -EINVAL);
    CHECK_EQ(conf__snapshot_read(b, buf, 8), -EINVAL);
    uint8_t *longer = calloc(1, len + 1);
    CHECK(longer);
    memcpy(longer, buf, len);
    CHECK_EQ(conf__snapshot_read(b, longer, len + 1), -EINVAL);
    free(longer);
    /* Another magic, version or record size (the header's first six words), or a count out of
     * range (the next two). */
    for (size_t word = 0; word < 8; word++) {
        uint32_t v, keep;
        memcpy(&keep, buf + word * 4, 4);
        v = word >= 6 ? 1000 : keep + 1;
        memcpy(buf + word * 4, &v, 4);
        CHECK_EQ(conf__snapshot_read(b, buf, len), -EINVAL);
        memcpy(buf + word * 4, &keep, 4);
    }
    CHECK_EQ(conf__snapshot_read(b, buf, len), 0);
    free(buf);
    conn_free(a);
    conn_free(b);
    return 0;
}

/* Strings that fill their fields to the last byte are cut there, not read past. */
static int test_persist_unterminated(void)
{
    struct conf_conn *a = conn_new(), *b = conn_new();
    CHECK(a && b);
    conn_fill(a);
    memset(a->recv_t.ufrag, 'u', sizeof(a->recv_t.ufrag));
    memset(a->recv_media[0].mid, 'm', sizeof(a->recv_media[0].mid));
    memset(a->slots[0].from, 'f', sizeof(a->slots[0].from));
    memset(a->prod[0].media.codec.fmtp, 'x', sizeof(a->prod[0].media.codec.fmtp));
    a->prod[0].media.n_exts = 1000;
    uint8_t *buf;
    size_t len;
    CHECK_EQ(conf__snapshot_write(a, &buf, &len), 0);
    CHECK_EQ(conf__snapshot_read(b, buf, len), 0);
    CHECK_EQ(strlen(b->recv_t.ufrag), sizeof(b->recv_t.ufrag) - 1);
    CHECK_EQ(strlen(b->recv_media[0].mid), sizeof(b->recv_media[0].mid) - 1);
    CHECK_EQ(strlen(b->slots[0].from), sizeof(b->slots[0].from) - 1);
    CHECK_EQ(strlen(b->prod[0].media.codec.fmtp), sizeof(b->prod[0].media.codec.fmtp) - 1);
    CHECK_EQ(b->prod[0].media.n_exts, SDP_MAX_EXTS);
    free(buf);
    conn_free(a);
    conn_free(b);
    return 0;
}

static const struct test_case cases[] = {
    {"persist_round_trip", test_persist_round_trip},
    {"persist_refused", test_persist_refused},
    {"persist_unterminated", test_persist_unterminated},
};

TEST_MAIN(cases)
