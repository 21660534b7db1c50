/* The router as the worker sees it: datagrams in, the periodic tick, rooms closed from outside.
 * Requests from signalling reach it through control/dispatch.c. */
#ifndef SFU_ROUTER_H
#define SFU_ROUTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct worker;

/* A STUN datagram (first byte 0..3): an ICE connectivity check for one of the worker's
 * transports, routed by the USERNAME's local ufrag. Checks that fail get no answer. */
void router_on_stun(struct worker *w, uint8_t *buf, size_t len, const struct sockaddr *from);
/* A DTLS, RTP or RTCP datagram, routed by its source address to the transport whose selected
 * path it is; others are dropped and counted. */
void router_on_datagram(struct worker *w, uint8_t *buf, size_t len, const struct sockaddr *from);
/* Timers of every room: RTCP, NACKs, transport-cc feedback, consent. */
void router_tick(struct worker *w, uint64_t now_ms);
/* Closes a room and all in it, with events to its owner. Unknown ids are ignored. */
void router_room_close(struct worker *w, const char *room_id, const char *reason);
/* Closes every room (shutdown). */
void router_close_all(struct worker *w);

#endif
