/* Rooms: a set of transports, producers and consumers on one worker. Media never leaves a
 * room: every lookup a request makes goes through its room. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"
#include "router/router_int.h"

static uint64_t room_hash(const char *id)
{
    return hmap_hash_bytes(id, strlen(id));
}

struct room *room_find(struct worker *w, const char *id)
{
    uint64_t h = room_hash(id);
    for (struct hmap_node *n = hmap_first(&w->rooms, h); n; n = hmap_next(n)) {
        struct room *r = (struct room *)((char *)n - offsetof(struct room, node));
        if (strcmp(r->id, id) == 0)
            return r;
    }
    return NULL;
}

int room_new(struct room **out, struct worker *w, const char *id, uint64_t gen)
{
    struct room *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->w = w;
    r->gen = gen;
    list_init(&r->transports);
    list_init(&r->producers);
    list_init(&r->consumers);
    hmap_insert(&w->rooms, &r->node, room_hash(id));
    *out = r;
    return 0;
}

void room_free(struct room *r)
{
    struct list *pos, *tmp;
    if (!r)
        return;
    list_for_each_safe(pos, tmp, &r->transports)
    {
        transport_close(list_entry(pos, struct transport, room_node), "room closed");
    }
    hmap_remove(&r->w->rooms, &r->node);
    free(r);
}

struct transport *room_transport_find(struct room *r, uint64_t id)
{
    struct list *pos;
    list_for_each(pos, &r->transports)
    {
        struct transport *t = list_entry(pos, struct transport, room_node);
        if (t->id == id)
            return t;
    }
    return NULL;
}

struct producer *room_producer_find(struct room *r, uint64_t id)
{
    struct list *pos;
    list_for_each(pos, &r->producers)
    {
        struct producer *p = list_entry(pos, struct producer, room_node);
        if (p->id == id)
            return p;
    }
    return NULL;
}

struct consumer *room_consumer_find(struct room *r, uint64_t id)
{
    struct list *pos;
    list_for_each(pos, &r->consumers)
    {
        struct consumer *c = list_entry(pos, struct consumer, room_node);
        if (c->id == id)
            return c;
    }
    return NULL;
}

void router_room_close(struct worker *w, const char *room_id, const char *reason)
{
    struct room *r = room_find(w, room_id);
    if (!r)
        return;
    log_info("room", "closing a room: %s", reason);
    room_free(r);
}

void router_close_all(struct worker *w)
{
    for (size_t b = 0; b <= w->rooms.mask; b++) {
        while (w->rooms.buckets[b]) {
            struct hmap_node *n = w->rooms.buckets[b];
            room_free((struct room *)((char *)n - offsetof(struct room, node)));
        }
    }
}

void router_tick(struct worker *w, uint64_t now_ms)
{
    for (size_t b = 0; b <= w->rooms.mask; b++) {
        for (struct hmap_node *n = w->rooms.buckets[b]; n; n = n->next) {
            struct room *r = (struct room *)((char *)n - offsetof(struct room, node));
            struct list *pos, *tmp;
            list_for_each_safe(pos, tmp, &r->transports)
            {
                transport_tick(list_entry(pos, struct transport, room_node), now_ms);
            }
        }
    }
}
