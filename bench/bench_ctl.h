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
int bench_ctl_create_room(struct ctl_client *c, const char *room);

/* Closes room, ignoring the outcome (used on the way out). */
void bench_ctl_close_room(struct ctl_client *c, const char *room);

/* Creates a transport in room, a peer (default config) with cbs/arg for it, gives each the
 * other's parameters and waits up to 10 s for the peer to be CONNECTED (ICE, DTLS, SRTP).
 * Returns 0 with *out_peer (the caller frees it with peer_free) and *out_tid, or -EIO, -EPROTO
 * (an answer without candidates or fingerprint) or the peer's negative errno. */
int bench_ctl_join(struct ctl_client *c, const char *room, const struct peer_cbs *cbs, void *arg,
                   struct peer **out_peer, uint64_t *out_tid);

/* Produces VP8 (pt 96, RTX 97) with the MID (id 1) and transport-cc (id 3) extensions, as Chrome
 * offers, on transport tid, with ssrc and rtx_ssrc. Returns the producer id or 0. */
uint64_t bench_ctl_produce(struct ctl_client *c, const char *room, uint64_t tid, uint32_t ssrc,
                           uint32_t rtx_ssrc);

/* Consumes producer on transport tid as a subscriber that negotiated VP8 as pt 100 (RTX 101),
 * MID id 4 and transport-cc id 5. Returns 0 or -EIO. */
int bench_ctl_consume(struct ctl_client *c, const char *room, uint64_t tid, uint64_t producer);

/* Sums the consumers' forwarded and dropped counters of room (GetStats); with verbose, also
 * prints every producer, transport and consumer counter on stderr. Returns 0 or -EIO. */
int bench_ctl_forwarded(struct ctl_client *c, const char *room, bool verbose, uint64_t *fwd,
                        uint64_t *dropped);

#endif
