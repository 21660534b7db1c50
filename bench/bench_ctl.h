/* Control-protocol calls for the benchmarks: create and close a room, join a simulated peer to a
 * new transport, produce VP8, consume it, read the forwarding counters. Each call waits at most
 * 5 s for its answer and prints what went wrong on stderr. */
#ifndef BENCH_CTL_H
#define BENCH_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_client.h"
#include "peer.h"

/* Creates room. Returns 0, or -EIO (refused or no answer). */
/* What CreateTransport answered: enough for a peer to connect. */
struct bench_transport {
    uint64_t id;
    char ufrag[64];
    char pwd[64];
    char fingerprint[128];
    struct peer_candidate cand;
};

/* 0 when the SFU answered Ok, its error code when it answered an Error, -EIO without an
 * answer. */
int bench_ctl_create_room(struct ctl_client *c, const char *room);
void bench_ctl_close_room(struct ctl_client *c, const char *room);
/* CreateTransport. Returns 0, -EIO or -EPROTO (an answer without a candidate or fingerprint). */
int bench_ctl_create_transport(struct ctl_client *c, const char *room, struct bench_transport *t);
/* ConnectTransport with the peer's sha-256 fingerprint: as bench_ctl_create_room. */
int bench_ctl_connect_transport(struct ctl_client *c, const char *room, uint64_t tid,
                                const char *fingerprint);
/* Creates a transport, a peer for it with cbs/arg, connects both and waits (up to 10 s) for the
 * peer to be CONNECTED. Returns 0 with *out_peer (the caller frees it) and *out_tid, or
 * negative. */
int bench_ctl_join(struct ctl_client *c, const char *room, const struct peer_cbs *cbs, void *arg,
                   struct peer **out_peer, uint64_t *out_tid);
/* Produces VP8 (pt 96, RTX 97) with the MID (id 1) and transport-cc (id 3) extensions, as
 * Chrome offers. Returns the producer id or 0. */
uint64_t bench_ctl_produce(struct ctl_client *c, const char *room, uint64_t tid, uint32_t ssrc,
                           uint32_t rtx_ssrc);
/* How the publisher lets the SFU drive its bandwidth estimate. */
enum bench_bwe { BENCH_BWE_TWCC, BENCH_BWE_REMB };
/* bench_ctl_produce with a choice: transport-cc (as above) or REMB, with "goog-remb" in the
 * codec's rtcp-fb and no transport-wide sequence extension. */
uint64_t bench_ctl_produce_bwe(struct ctl_client *c, const char *room, uint64_t tid, uint32_t ssrc,
                               uint32_t rtx_ssrc, enum bench_bwe bwe);
/* Consumes with the subscriber's side negotiated as VP8 pt 100 (RTX 101), MID id 4,
 * transport-cc id 5, and the m-section MID mid. Returns the SFU's answer whatever it is (the
 * caller frees it), or NULL without one. */
Sfu__Envelope *bench_ctl_consume_vp8(struct ctl_client *c, const char *room, uint64_t tid,
                                     uint64_t producer, const char *mid);
/* bench_ctl_consume_vp8 with MID "0": 0 when consumed, -EIO otherwise. */
int bench_ctl_consume(struct ctl_client *c, const char *room, uint64_t tid, uint64_t producer);
/* Sums the consumers' forwarded and dropped counters of room (printing every counter when
 * verbose). Returns 0 or -EIO. */
int bench_ctl_forwarded(struct ctl_client *c, const char *room, bool verbose, uint64_t *fwd,
                        uint64_t *dropped);

#endif
