/* The SFU's end of the control socket: listens on a Unix socket (mode 0600) and/or loopback TCP
 * (after the shared-secret handshake), frames and unpacks Envelopes, answers bad input with an
 * Error, and hands requests to the dispatcher. Runs on one uv loop; not thread-safe. */
#ifndef SFU_CTL_SERVER_H
#define SFU_CTL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "sfu.pb-c.h"

/* Output a connection may have queued in libuv before it counts as stuck and is closed. */
#define CTL_SERVER_MAX_QUEUED_DEFAULT (8u * 1024u * 1024u)
/* Time a TCP peer has to answer the handshake. */
#define CTL_SERVER_AUTH_TIMEOUT_MS_DEFAULT 5000u
/* Connections beyond this many (authenticated or not) are accepted and closed at once. */
#define CTL_SERVER_MAX_CONNS    64
#define CTL_SERVER_MAX_UNAUTHED 8 /* TCP connections in the handshake at once */
/* Shortest shared secret accepted for TCP. */
#define CTL_SERVER_SECRET_MIN 16

struct ctl_server;

struct ctl_server_cfg {
    const char *unix_path; /* borrowed; NULL: no Unix socket */
    const char *tcp_host;  /* borrowed; NULL: no TCP. A loopback literal (127.0.0.0/8 or ::1) */
    uint16_t tcp_port;     /* 0: an ephemeral port (see ctl_server_tcp_port) */
    const uint8_t *secret; /* borrowed (copied); required with tcp_host, 16..1024 bytes */
    size_t secret_len;
    size_t max_msg;           /* largest message accepted; 0: CTL_FRAME_MAX_DEFAULT */
    size_t max_queued;        /* 0: CTL_SERVER_MAX_QUEUED_DEFAULT */
    unsigned auth_timeout_ms; /* 0: CTL_SERVER_AUTH_TIMEOUT_MS_DEFAULT */
};

/* Called on the loop's thread. Each may call ctl_server_send*() and ctl_server_close(). */
struct ctl_server_cbs {
    /* env is a request (its body is one of the request bodies, field numbers 10..49). Ownership
     * passes to the callee, who frees it with sfu__envelope__free_unpacked(env, NULL). */
    void (*on_request)(void *arg, uint64_t conn_id, Sfu__Envelope *env);
    /* A connection is ready for frames: at once on the Unix socket, after the handshake on
     * TCP. May be NULL. */
    void (*on_conn_open)(void *arg, uint64_t conn_id);
    /* A connection that was opened is gone (peer hung up, error, stuck, or ctl_server_close);
     * sends to it fail with -ENOTCONN from now on. May be NULL. */
    void (*on_conn_close)(void *arg, uint64_t conn_id);
};

/* Creates the listeners on loop. Unix: a stale socket file at unix_path is replaced (a live
 * server there gives -EADDRINUSE, a file that is not a socket -EEXIST); the new one is created
 * with mode 0600 inside a private directory and renamed into place, so it is never reachable
 * by others. TCP: tcp_host must be a loopback literal, else -EINVAL; a secret is required.
 * cbs is copied; arg is borrowed and passed to every callback. Writes *out only on success.
 * Returns 0, -EINVAL (bad cfg), -ENAMETOOLONG, -EADDRINUSE, -EEXIST, -ENOMEM, or the negative
 * errno of a failed socket call. */
int ctl_server_new(struct ctl_server **out, uv_loop_t *loop, const struct ctl_server_cfg *cfg,
                   const struct ctl_server_cbs *cbs, void *arg);

/* Packs env with its length prefix and queues it on connection conn_id (env is borrowed for
 * the call). Returns 0, -ENOTCONN when that connection is gone or not yet authenticated,
 * -ENOMEM, or -ENOBUFS when the peer has stopped reading (its queued output passed max_queued):
 * the connection is then closed. */
int ctl_server_send(struct ctl_server *s, uint64_t conn_id, const Sfu__Envelope *env);

/* Queues frame, a complete frame as ctl_frame_pack makes it (length prefix and packed
 * Envelope, malloc()ed), for a caller that packed on another thread. Takes ownership of frame
 * whatever the outcome. Returns as ctl_server_send, or -EMSGSIZE when len is shorter than the
 * prefix or over 4 GiB. The frame is not checked against its prefix: pass what ctl_frame_pack
 * gave. */
int ctl_server_send_frame(struct ctl_server *s, uint64_t conn_id, uint8_t *frame, size_t len);

/* Sends Envelope{id, Error{code, reason formatted from fmt}} (the reason is cut at 255 bytes).
 * Returns as ctl_server_send. */
int ctl_server_send_error(struct ctl_server *s, uint64_t conn_id, uint64_t id, Sfu__ErrorCode code,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The bound TCP port (useful with tcp_port 0), or -ENOTCONN without a TCP listener. */
int ctl_server_tcp_port(const struct ctl_server *s);

/* Closes the listeners and every connection (on_conn_close fires for the open ones), removes
 * the Unix socket file, and frees s from the last close callback: run the loop until it has no
 * handles left. s must not be used afterwards. Accepts NULL. */
void ctl_server_close(struct ctl_server *s);

#endif
