/* Fuzzes the media-state reader (conf__snapshot_read): the blob a signalling process reads
 * from the store to take over a room after a restart. Whatever the bytes, nothing is read past
 * the input or a field; an accepted blob keeps the limits (producers, sections, every string
 * ending in its field) and reads back the same once written out again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static struct conf_conn *conn_new(void)
{
    struct conf_conn *c = calloc(1, sizeof(*c));
    check(c != NULL);
    c->recv_media = calloc(SDP_MAX_MEDIA, sizeof(*c->recv_media));
    c->slots = calloc(SDP_MAX_MEDIA, sizeof(*c->slots));
    check(c->recv_media && c->slots);
    return c;
}

static void conn_free(struct conf_conn *c)
{
    free(c->recv_media);
    free(c->slots);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf_conn *a = conn_new();
    if (conf__snapshot_read(a, data, size) == 0) {
        check(a->n_prod <= CONF_MAX_PRODUCERS && a->n_slots <= SDP_MAX_MEDIA);
        check(strlen(a->send_t.ufrag) < sizeof(a->send_t.ufrag));
        check(strlen(a->recv_t.pwd) < sizeof(a->recv_t.pwd));
        check(a->recv_t.n_cands <= SDP_MAX_CANDS);
        for (size_t i = 0; i < a->n_slots; i++) {
            check(strlen(a->recv_media[i].mid) < sizeof(a->recv_media[i].mid));
            check(strlen(a->slots[i].from) < sizeof(a->slots[i].from));
            check(a->recv_media[i].n_exts <= SDP_MAX_EXTS && !a->slots[i].pending);
        }
        uint8_t *one, *two;
        size_t one_len, two_len;
        check(conf__snapshot_write(a, &one, &one_len) == 0);
        struct conf_conn *b = conn_new();
        check(conf__snapshot_read(b, one, one_len) == 0);
        check(conf__snapshot_write(b, &two, &two_len) == 0);
        check(one_len == two_len && memcmp(one, two, one_len) == 0);
        free(one);
        free(two);
        conn_free(b);
    }
    conn_free(a);
    return 0;
}
