/* Each participant's media state in the store, so that the SFU outlives signalling (DESIGN.md,
 * "Failure model"): a new process takes over the rooms the SFU kept, with the transports,
 * producers and receiving sections their browsers already negotiated, and the browsers resume
 * on new sockets without a new admission or a new peer connection.
 *
 * The state is a header and the participant's fixed-size records as this build lays them out.
 * A record layout that changed (another build) is refused by the header's sizes: those
 * browsers then rejoin with new connections, as they did before this existed. */
#include "conf_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

#define TAG "conf"

#define SNAP_MAGIC   0x4d535047u /* "GPSM" */
#define SNAP_VERSION 2u

struct snap_header {
    uint32_t magic, version;
    uint32_t size_tinfo, size_producer, size_media, size_slot;
    uint32_t n_prod, n_slots;
    uint32_t recv_version;
    uint8_t audio, video, pad[2];
    char send_ufrag[SDP_UFRAG_LEN];
    char resume_key[CONF_RESUME_KEY_LEN + 1];
};

/* Records follow in this order: send_t, recv_t, prod[n_prod], recv_media[n_slots],
 * slots[n_slots]. */
static size_t snap_size(uint32_t n_prod, uint32_t n_slots)
{
    return sizeof(struct snap_header) + 2 * sizeof(struct conf_tinfo) +
           n_prod * sizeof(struct conf_producer) +
           n_slots * (sizeof(struct sdp_media) + sizeof(struct conf_slot));
}

int conf__snapshot_write(const struct conf_conn *c, uint8_t **out, size_t *out_len)
{
    size_t len = snap_size((uint32_t)c->n_prod, (uint32_t)c->n_slots);
    uint8_t *buf = calloc(1, len);
    if (!buf)
        return -ENOMEM;
    struct snap_header *hd = (struct snap_header *)buf;
    hd->magic = SNAP_MAGIC;
    hd->version = SNAP_VERSION;
    hd->size_tinfo = sizeof(struct conf_tinfo);
    hd->size_producer = sizeof(struct conf_producer);
    hd->size_media = sizeof(struct sdp_media);
    hd->size_slot = sizeof(struct conf_slot);
    hd->n_prod = (uint32_t)c->n_prod;
    hd->n_slots = (uint32_t)c->n_slots;
    hd->recv_version = c->recv_version;
    hd->audio = c->audio;
    hd->video = c->video;
    memcpy(hd->send_ufrag, c->send_ufrag, sizeof(hd->send_ufrag));
    memcpy(hd->resume_key, c->resume_key, sizeof(hd->resume_key));
    uint8_t *p = buf + sizeof(*hd);
    memcpy(p, &c->send_t, sizeof(c->send_t));
    p += sizeof(c->send_t);
    memcpy(p, &c->recv_t, sizeof(c->recv_t));
    p += sizeof(c->recv_t);
    memcpy(p, c->prod, c->n_prod * sizeof(*c->prod));
    p += c->n_prod * sizeof(*c->prod);
    memcpy(p, c->recv_media, c->n_slots * sizeof(*c->recv_media));
    p += c->n_slots * sizeof(*c->recv_media);
    /* A consume in flight is not written as such: the next process sees its slot free. (The
     * records are unaligned in the blob: copied, never addressed in place.) */
    for (size_t i = 0; i < c->n_slots; i++) {
        struct conf_slot slot = c->slots[i];
        slot.pending = false;
        memcpy(p + i * sizeof(slot), &slot, sizeof(slot));
    }
    *out = buf;
    *out_len = len;
    return 0;
}

void conf__persist(struct conf_conn *c)
{
    struct conf_hub *h = c->hub;
    uint8_t *buf;
    size_t len;
    if (!c->room || !c->joined_sent || h->stopping)
        return;
    if (conf__snapshot_write(c, &buf, &len) < 0) {
        log_error(TAG, "media state not written: out of memory");
        return;
    }
    if (store_media_put(h->p.store, c->id, c->room->consultation_id, c->room->room_id, buf, len,
                        conf__now(h)) < 0)
        log_error(TAG, "media state not written: %s", store_errmsg(h->p.store));
    free(buf);
}

void conf__persist_forget(struct conf_conn *c)
{
    struct conf_hub *h = c->hub;
    if (h->stopping || !c->id[0])
        return;
    if (store_media_delete(h->p.store, c->id) < 0)
        log_error(TAG, "media state not forgotten: %s", store_errmsg(h->p.store));
}

/* Every string of what was read ends within its field, whatever the bytes. */
#define TERMINATE(a) ((a)[sizeof(a) - 1] = '\0')

static void media_terminate(struct sdp_media *m)
{
    TERMINATE(m->media);
    TERMINATE(m->proto);
    TERMINATE(m->fmt0);
    TERMINATE(m->mid);
    TERMINATE(m->cname);
    TERMINATE(m->codec.name);
    TERMINATE(m->codec.fmtp);
    if (m->codec.n_rtcp_fb > SDP_MAX_FB)
        m->codec.n_rtcp_fb = SDP_MAX_FB;
    for (size_t i = 0; i < SDP_MAX_FB; i++)
        TERMINATE(m->codec.rtcp_fb[i]);
    if (m->n_exts > SDP_MAX_EXTS)
        m->n_exts = SDP_MAX_EXTS;
    for (size_t i = 0; i < SDP_MAX_EXTS; i++)
        TERMINATE(m->exts[i].uri);
    if (m->n_rids > SDP_MAX_RIDS)
        m->n_rids = SDP_MAX_RIDS;
    for (size_t i = 0; i < SDP_MAX_RIDS; i++)
        TERMINATE(m->rids[i]);
}

static void tinfo_terminate(struct conf_tinfo *t)
{
    TERMINATE(t->ufrag);
    TERMINATE(t->pwd);
    TERMINATE(t->fingerprint);
    if (t->n_cands > SDP_MAX_CANDS)
        t->n_cands = SDP_MAX_CANDS;
    for (size_t i = 0; i < SDP_MAX_CANDS; i++) {
        TERMINATE(t->cands[i].foundation);
        TERMINATE(t->cands[i].ip);
    }
}

int conf__snapshot_read(struct conf_conn *c, const void *state, size_t len)
{
    const uint8_t *buf = state;
    struct snap_header hd;
    if (len < sizeof(hd))
        return -EINVAL;
    memcpy(&hd, buf, sizeof(hd));
    if (hd.magic != SNAP_MAGIC || hd.version != SNAP_VERSION ||
        hd.size_tinfo != sizeof(struct conf_tinfo) ||
        hd.size_producer != sizeof(struct conf_producer) ||
        hd.size_media != sizeof(struct sdp_media) || hd.size_slot != sizeof(struct conf_slot) ||
        hd.n_prod > CONF_MAX_PRODUCERS || hd.n_slots > SDP_MAX_MEDIA ||
        len != snap_size(hd.n_prod, hd.n_slots))
        return -EINVAL;
    const uint8_t *p = buf + sizeof(hd);
    memcpy(&c->send_t, p, sizeof(c->send_t));
    p += sizeof(c->send_t);
    memcpy(&c->recv_t, p, sizeof(c->recv_t));
    p += sizeof(c->recv_t);
    memcpy(c->prod, p, hd.n_prod * sizeof(*c->prod));
    p += hd.n_prod * sizeof(*c->prod);
    memcpy(c->recv_media, p, hd.n_slots * sizeof(*c->recv_media));
    p += hd.n_slots * sizeof(*c->recv_media);
    memcpy(c->slots, p, hd.n_slots * sizeof(*c->slots));
    c->n_prod = hd.n_prod;
    c->n_slots = hd.n_slots;
    c->recv_version = hd.recv_version;
    c->audio = hd.audio != 0;
    c->video = hd.video != 0;
    memcpy(c->send_ufrag, hd.send_ufrag, sizeof(c->send_ufrag));
    TERMINATE(c->send_ufrag);
    memcpy(c->resume_key, hd.resume_key, sizeof(c->resume_key));
    TERMINATE(c->resume_key);
    tinfo_terminate(&c->send_t);
    tinfo_terminate(&c->recv_t);
    for (size_t i = 0; i < c->n_prod; i++)
        media_terminate(&c->prod[i].media);
    for (size_t i = 0; i < c->n_slots; i++) {
        media_terminate(&c->recv_media[i]);
        TERMINATE(c->slots[i].from);
        TERMINATE(c->slots[i].codec.name);
        TERMINATE(c->slots[i].codec.fmtp);
        c->slots[i].pending = false;
    }
    return 0;
}

static bool transport_is(const Sfu__RoomInfo *ri, const struct conf_tinfo *t)
{
    for (size_t j = 0; j < ri->n_transports; j++) {
        const Sfu__TransportInfo *ti = ri->transports[j];
        if (ti->id == t->id && ti->ice_ufrag && strcmp(ti->ice_ufrag, t->ufrag) == 0)
            return true;
    }
    return false;
}

struct restore {
    struct conf_hub *h;
    const Sfu__RoomInfo *ri;
    struct conf_room *r;
    size_t members;
};

static int restore_member(const char *pid, const char *cid, const void *state, size_t len,
                          void *arg)
{
    struct restore *x = arg;
    struct conf_hub *h = x->h;
    int64_t now = conf__now(h);
    if (!x->r) {
        struct store_consultation cons;
        if (store_consultation_get(h->p.store, cid, &cons) < 0 || cons.ended_at ||
            cons.expires_at <= now || strcmp(cons.room_id, x->ri->room_id) != 0)
            return 1; /* nothing live to carry on */
        if (!(x->r = conf__room_new(h, &cons)))
            return 1;
        x->r->sfu = CONF_SFU_READY;
    }
    struct store_participant part;
    if (store_participant_get(h->p.store, pid, &part) < 0 ||
        strcmp(part.consultation_id, cid) != 0 ||
        (strcmp(part.state, "admitted") != 0 && strcmp(part.state, "waiting") != 0)) {
        store_media_delete(h->p.store, pid); /* they left, or were removed, meanwhile */
        return 0;
    }
    struct conf_conn *c = conf_conn_open(h, NULL, "");
    if (!c)
        return 1;
    c->recv_media = calloc(SDP_MAX_MEDIA, sizeof(*c->recv_media));
    c->slots = calloc(SDP_MAX_MEDIA, sizeof(*c->slots));
    if (!c->recv_media || !c->slots || conf__snapshot_read(c, state, len) < 0) {
        if (c->recv_media && c->slots)
            log_warn(TAG, "a media state written by another build was not used: that browser "
                          "joins again");
        conf_conn_closed(c);
        return 0;
    }
    /* Its transports must be the SFU's, with the ICE credentials written: a room made again
     * under the same id (the SFU restarted while signalling was down) reuses transport ids. */
    if (!transport_is(x->ri, &c->send_t) || !transport_is(x->ri, &c->recv_t)) {
        store_media_delete(h->p.store, pid);
        conf_conn_closed(c);
        return 0;
    }
    snprintf(c->id, sizeof(c->id), "%s", pid);
    snprintf(c->role, sizeof(c->role), "%s", part.role);
    conf__member_label(h, cid, c);
    c->admitted = strcmp(part.state, "admitted") == 0;
    c->since = part.state_at;
    c->joined_sent = true;
    c->closing = true;
    c->detached = true;
    c->detached_ms = clock_mono_ms();
    c->room = x->r;
    list_insert_tail(&x->r->members, &c->member_node);
    x->members++;
    return 0;
}

struct conf_room *conf__room_restore(struct conf_hub *h, const Sfu__RoomInfo *ri)
{
    struct restore x = {.h = h, .ri = ri};
    if (!ri->room_id || store_media_list(h->p.store, ri->room_id, restore_member, &x) < 0) {
        log_error(TAG, "media states not read: %s", store_errmsg(h->p.store));
        return NULL;
    }
    if (x.r && x.members == 0) {
        conf__room_free(x.r);
        return NULL;
    }
    if (x.r)
        log_info(TAG, "a room the SFU kept was taken over with %zu participant(s) to resume",
                 x.members);
    return x.r;
}

static bool room_kept(const char *room_id, void *arg)
{
    struct conf_hub *h = arg;
    struct list *pos;
    list_for_each(pos, &h->rooms)
    {
        if (strcmp(list_entry(pos, struct conf_room, node)->room_id, room_id) == 0)
            return true;
    }
    return false;
}

void conf__persist_prune(struct conf_hub *h)
{
    if (store_media_prune(h->p.store, room_kept, h) < 0)
        log_error(TAG, "old media states not forgotten: %s", store_errmsg(h->p.store));
}
