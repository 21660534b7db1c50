/* A blocking control-protocol client (plain sockets and poll, no event loop) for the tests,
 * tools and the bench: connect, handshake, call a request, wait for events. Not thread-safe. */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "sfu.pb-c.h"

/* Largest message the client accepts from the SFU (a ListRooms answer can be large). */
#define CTL_CLIENT_MAX_MSG (16u * 1024u * 1024u)
/* Envelopes held for later (events while a call waits, and the like) before -ENOBUFS. */
#define CTL_CLIENT_MAX_QUEUED 4096
/* Bound on connect, the handshake and each send, so that nothing blocks for ever. */
#define CTL_CLIENT_IO_TIMEOUT_MS 10000

struct ctl_client;

/* Connects to the SFU's Unix socket at path. Writes *out only on success.
 * Returns 0, -ENAMETOOLONG, -ENOMEM, or the negative errno of socket/connect. */
int ctl_client_connect_unix(struct ctl_client **out, const char *path);

/* Connects over TCP (host: a name or literal) and does the handshake: reads CTL_AUTH_MAGIC and
 * the nonce, answers HMAC-SHA256(secret, nonce). A wrong secret is not detected here: the
 * server closes the connection, which the next receive reports as -ECONNRESET.
 * Returns 0, -EINVAL (no secret), -EPROTO (not our server's greeting), -ETIMEDOUT,
 * -ECONNRESET, -ENOMEM, or a negative errno of getaddrinfo-resolved connect (-EHOSTUNREACH
 * when the name does not resolve). */
int ctl_client_connect_tcp(struct ctl_client **out, const char *host, uint16_t port,
                           const uint8_t *secret, size_t secret_len);

/* Closes the connection and frees every queued envelope. Accepts NULL. */
void ctl_client_free(struct ctl_client *c);

/* Sets req->id from the client's counter (never 0), sends req, and waits up to timeout_ms
 * (negative: no limit) for the envelope carrying that id, returned in *resp (free it with
 * sfu__envelope__free_unpacked(*resp, NULL)). Whatever else arrives meanwhile is queued for
 * ctl_client_next_event and ctl_client_recv. Returns 0, -ETIMEDOUT, -ECONNRESET (the server
 * closed), -EPIPE, -EBADMSG or -EMSGSIZE (the server sent something unreadable; it is
 * skipped), -ENOBUFS (queue full), -ENOMEM. */
int ctl_client_call(struct ctl_client *c, Sfu__Envelope *req, Sfu__Envelope **resp, int timeout_ms);

/* Returns in *ev the oldest envelope with an event body (field numbers 90 and up), queued or
 * newly received, waiting up to timeout_ms (negative: no limit; 0: only what is already there).
 * Other envelopes stay queued for ctl_client_recv. Errors as ctl_client_call. */
int ctl_client_next_event(struct ctl_client *c, Sfu__Envelope **ev, int timeout_ms);

/* Returns in *env the oldest envelope of any kind, queued or newly received; waits as
 * ctl_client_next_event. Errors as ctl_client_call. */
int ctl_client_recv(struct ctl_client *c, Sfu__Envelope **env, int timeout_ms);

/* Sends len bytes as they are (no framing): for tests of bad input. Returns 0, -ETIMEDOUT
 * after CTL_CLIENT_IO_TIMEOUT_MS, or the negative errno of send (-EPIPE, -ECONNRESET). */
int ctl_client_send_raw(struct ctl_client *c, const void *buf, size_t len);

/* The socket, for poll() beside other work. Reading from it directly desynchronises the
 * client. */
int ctl_client_fd(const struct ctl_client *c);

#endif
