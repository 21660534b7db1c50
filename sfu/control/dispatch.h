/* Requests from signalling, executed on the worker that owns the room: Envelope in, router
 * calls, one response Envelope out (an Error with a reason when the request cannot be done). */
#ifndef SFU_DISPATCH_H
#define SFU_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "sfu.pb-c.h"

struct worker;

/* Runs one request and posts its response for conn_id. Takes ownership of env. room_gen is the
 * directory's generation for a create_room (stamped on the room's events). */
void dispatch_request(struct worker *w, uint64_t conn_id, Sfu__Envelope *env, uint64_t room_gen);

/* This worker's rooms as a packed ListRoomsResponse (no length prefix) in a new buffer.
 * Returns 0 or -ENOMEM. */
int dispatch_list_rooms(struct worker *w, uint8_t **out, size_t *len);

/* Sends every room's counters as a stats event to its owner (the periodic stats). */
void dispatch_stats_events(struct worker *w);

/* The room a request names, or NULL for requests that name none (list, claim) or a body that
 * is not a request. Borrowed from env. */
const char *dispatch_room_id(const Sfu__Envelope *env);

/* Room ids are chosen by signalling: 1..64 characters of [A-Za-z0-9_.:-], so they are safe to
 * log and never carry patient data by accident of format. */
int dispatch_room_id_valid(const char *id);

#endif
