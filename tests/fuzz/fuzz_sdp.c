/* Fuzzes SDP from browsers: any bytes as a sending offer (sdp_offer_parse); an accepted offer is
 * answered and the answer must parse back as an answer to our own offer would, and the same
 * bytes are checked as a receiving connection's answer (sdp_answer_check). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void transport_fill(struct sdp_transport *t)
{
    memset(t, 0, sizeof(*t));
    t->ufrag = "sfuU";
    t->pwd = "sfupasswordsfupassword";
    t->fingerprint = "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:"
                     "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9";
    t->cands[0].foundation = "1";
    t->cands[0].priority = 1;
    t->cands[0].ip = "127.0.0.1";
    t->cands[0].port = 40000;
    t->n_cands = 1;
}

/* The answer we wrote names the same sending MIDs with the codec we took. */
static void answer_round_trip(const struct sdp_publish *p)
{
    struct sdp_transport t;
    struct sdp_remote r;
    char *answer = NULL, err[256];
    transport_fill(&t);
    if (sdp_answer_build(p, &t, &answer) != 0)
        __builtin_trap();
    /* Our answer is passive: as a browser's answer (setup:active required) it is refused. */
    if (sdp_answer_check(answer, strlen(answer), p->media, p->n_media, &r, err, sizeof(err)) !=
        -EINVAL)
        __builtin_trap();
    free(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sdp_publish p;
    struct sdp_media m;
    struct sdp_remote r;
    char err[256];
    if (sdp_offer_parse((const char *)data, size, &p, err, sizeof(err)) == 0)
        answer_round_trip(&p);
    else if (err[0] == '\0')
        __builtin_trap();
    memset(&m, 0, sizeof(m));
    m.publish = true;
    m.kind = SFU__MEDIA_KIND__MEDIA_KIND_VIDEO;
    strcpy(m.mid, "0");
    strcpy(m.codec.name, "VP8");
    m.codec.pt = 96;
    m.codec.clock_rate = 90000;
    sdp_answer_check((const char *)data, size, &m, 1, &r, err, sizeof(err));
    return 0;
}
