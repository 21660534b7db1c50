/* The signalling service's asynchronous client of the SFU control protocol (proto/README.md) on a
 * libuv loop: connect (and, over TCP, the shared-secret handshake), pipelined requests matched
 * by id with a deadline each, events, and reconnection with backoff for as long as the link
 * lives. One link per SFU; for the loop's thread only. */
#ifndef SIG_SFU_LINK_H
#define SIG_SFU_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h" /* struct sig_sfu_addr */
#include "sfu.pb-c.h"

/* A request not answered within this long is answered -ETIMEDOUT. Connecting and the TCP
 * handshake get the same bound (then the attempt counts as failed). */
#define SFU_LINK_TIMEOUT_MS 5000
/* The wait before a reconnect attempt: the first after a drop or failure, doubling per failed
 * attempt up to the maximum, and back to the minimum once the link is up again. The maximum is
 * short because a restarted SFU must be back in service at once (browsers rejoin within 5 s of
 * its return), and an attempt a second costs nothing. */
#define SFU_LINK_BACKOFF_MIN_MS 100
#define SFU_LINK_BACKOFF_MAX_MS 1000
/* Largest message taken from the SFU: a ListRooms answer for a busy SFU can be large. Larger
 * ones are skipped (and logged), as are their requests' answers, which then time out. */
#define SFU_LINK_MAX_MSG (16u * 1024u * 1024u)

struct sfu_link;

/* The answer to one request: status 0 with resp (the response Envelope, borrowed for the call:
 * an Error body is still status 0, the caller looks at resp->body_case), or a negative errno
 * with resp NULL: -ECONNRESET (the connection dropped before the answer came), -ETIMEDOUT (no
 * answer within SFU_LINK_TIMEOUT_MS), -ECANCELED (the link is being freed). */
typedef void (*sfu_link_resp_cb)(void *arg, int status, const Sfu__Envelope *resp);

/* The owner's side of the link. Any member may be NULL. Each may call sfu_link_call, and
 * sfu_link_free (the link then stops calling back at once). */
struct sfu_link_cbs {
    /* Connected (first time or after a reconnect), handshake done, and ListRooms answered:
     * rooms is the SFU's ListRoomsResponse (borrowed for the call). The owner claims its rooms
     * (ClaimRooms) and re-creates those that are missing (the SFU restarted). From this call
     * on, sfu_link_call is accepted. */
    void (*up)(void *arg, const Sfu__ListRoomsResponse *rooms);
    /* The link was up and its connection dropped (the SFU hung up, a read or write failed, or
     * the ListRooms check failed); reconnecting has started by itself. Every pending request has
     * been answered -ECONNRESET before this. reason is a negative errno (-ECONNRESET when the
     * SFU hung up). up and down alternate: attempts that fail while the link is already down are
     * not reported here (they are logged, each kind of failure once per outage). */
    void (*down)(void *arg, int reason);
    /* An event (body field number >= 90), borrowed for the call. */
    void (*event)(void *arg, const Sfu__Envelope *ev);
};

/* Starts connecting to addr (unix: or tcp: with the shared secret, the handshake of
 * proto/README.md done asynchronously, checking the SFU's answer too) on loop, reconnecting
 * with backoff (SFU_LINK_BACKOFF_MIN_MS doubling to SFU_LINK_BACKOFF_MAX_MS) for as long as the
 * link lives. The first attempt starts from the loop, so no callback runs inside this call.
 * secret is copied (ignored for unix:; required for tcp:, at most 1024 bytes). addr is copied.
 * cbs and arg are borrowed for the link's life. Writes *out only on success.
 * Returns 0, -EINVAL (NULL argument, no address, a tcp: host that is not an IP literal, or a
 * missing or oversized secret for tcp:), -ENOMEM, or libuv's error initialising a timer. */
int sfu_link_new(struct sfu_link **out, uv_loop_t *loop, const struct sig_sfu_addr *addr,
                 const uint8_t *secret, size_t secret_len, const struct sfu_link_cbs *cbs,
                 void *arg);

/* Sends req (its id is set here, never 0; req stays the caller's) and calls cb once with the
 * answer, never from inside this call. Returns 0, or -ENOTCONN when the link is not up (before
 * up() or after down(), or once sfu_link_free has started; cb is then never called), -EINVAL
 * (NULL l, req or cb), -EMSGSIZE (req packs larger than CTL_FRAME_MAX_DEFAULT, the SFU's default
 * limit), -ENOMEM. A write that fails is not reported here: the connection drops and cb gets
 * -ECONNRESET. */
int sfu_link_call(struct sfu_link *l, Sfu__Envelope *req, sfu_link_resp_cb cb, void *arg);

/* True between up() and down() (and before sfu_link_free). Accepts NULL (false). */
bool sfu_link_is_up(const struct sfu_link *l);

/* Stops everything: answers pending requests -ECANCELED, closes the handles; the memory is
 * released from the last close callback, so the loop must run a little afterwards (the caller
 * runs uv_run until it has no more handles, as at shutdown). No callback runs after this returns.
 * Accepts NULL. */
void sfu_link_free(struct sfu_link *l);

/* For tests only: closes the link's connection as if the SFU had hung up (pending requests get
 * -ECONNRESET, down() is called when the link was up, reconnecting starts), all before this
 * returns. Nothing happens when there is no connection. Accepts NULL. */
void sfu_link__drop(struct sfu_link *l);

#endif
