/* Connection quality as each browser sees its own (PROTOCOL.md `quality`), for the hosts: the
 * latest report is kept per participant and put in the rosters sent to hosts, never in anyone
 * else's. Browsers report every few seconds; hosts get a new roster when someone's level
 * changes, and with fresh numbers at most every QUALITY_RESEND_MS. */
#include "conf_int.h"

#include "core/clock.h"
#include "wsmsg.h"

/* Reports closer together than this are ignored (silently: a report is a courtesy, and an
 * error would only bother the person). The client sends one every few seconds at most. */
#define QUALITY_MIN_MS 1000
/* The same level with new numbers goes to the hosts no more often than this. */
#define QUALITY_RESEND_MS 10000

void conf__on_quality(struct conf_conn *c, int level, double loss, uint32_t rtt)
{
    struct conf_quality *q = &c->quality;
    uint64_t now = clock_mono_ms();
    if (q->at_ms && now - q->at_ms < QUALITY_MIN_MS)
        return;
    q->level = level;
    q->loss = loss;
    q->rtt = rtt;
    q->at_ms = now;
    if (!c->joined_sent || !c->room)
        return; /* the first roster after joined carries it */
    if (level == q->sent_level && now - q->sent_ms < QUALITY_RESEND_MS)
        return;
    q->sent_level = level;
    q->sent_ms = now;
    conf__roster_send_hosts(c->room);
}

void conf__quality_put(json_t *entry, const struct conf_conn *m)
{
    static const char *const names[] = {
        [WSMSG_LEVEL_GOOD] = "good",
        [WSMSG_LEVEL_FAIR] = "fair",
        [WSMSG_LEVEL_POOR] = "poor",
    };
    const struct conf_quality *q = &m->quality;
    if (q->level < WSMSG_LEVEL_GOOD || q->level > WSMSG_LEVEL_POOR)
        return;
    /* One decimal is all a person reads; 0..100 was checked by wsmsg. */
    double loss = (double)(long)(q->loss * 10 + 0.5) / 10;
    json_object_set_new(entry, "quality",
                        json_pack("{s:s, s:f, s:I}", "level", names[q->level], "loss", loss, "rtt",
                                  (json_int_t)q->rtt));
}
