/* A WebSocket client for the load tester: one libwebsockets context and one service thread
 * carrying any number of text-message sockets. libwebsockets is not thread-safe, so every call
 * here only queues work under a lock and wakes the service thread (lws_cancel_service); the
 * socket's callbacks run on that thread. */
#ifndef BENCH_LT_WS_H
#define BENCH_LT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lt_ws;
struct lt_ws_conn;

/* A socket's events, on the service thread, one at a time per socket. None is called once
 * lt_ws_conn_release has returned. */
struct lt_ws_conn_cbs {
    /* The handshake is done; messages queued before it go out now. May be NULL. */
    void (*on_open)(void *arg);
    /* One whole text message (fragments joined); text is NUL-terminated and borrowed. */
    void (*on_text)(void *arg, const char *text, size_t len);
    /* The socket is gone (refused, failed or closed by either side); why says which. Called
     * once, and last. May be NULL. */
    void (*on_close)(void *arg, const char *why);
};

/* Where to connect: plain ws:// only (the bench's servers listen on loopback without TLS).
 * Every string is copied. */
struct lt_ws_dest {
    const char *address; /* "127.0.0.1" */
    int port;
    const char *path;     /* "/ws" */
    const char *host;     /* the Host header, e.g. "127.0.0.1:8480" */
    const char *origin;   /* the Origin header, or NULL */
    const char *protocol; /* the subprotocol asked for, or NULL */
    const char *cookie;   /* the Cookie header's value ("name=value"), or NULL */
};

/* Called on the service thread every tick_ms (keep-alives and other timers). */
typedef void (*lt_ws_tick_cb)(void *arg);

/* Creates the context and starts its service thread. tick may be NULL. Writes *out only on
 * success. Errors: -ENOMEM, -EIO (libwebsockets or thread failure). */
int lt_ws_new(struct lt_ws **out, lt_ws_tick_cb tick, void *tick_arg, unsigned tick_ms);

/* Stops the service thread and destroys the context, closing every socket still open (their
 * on_close is called, from the caller's thread, unless released). Frees every socket. Accepts
 * NULL. Call it from a thread that is not the service thread. */
void lt_ws_free(struct lt_ws *ws);

/* Starts connecting a socket. The socket belongs to ws; the caller gives it up with
 * lt_ws_conn_release. Errors: -ENOMEM, -EINVAL. */
int lt_ws_connect(struct lt_ws *ws, const struct lt_ws_dest *dest, const struct lt_ws_conn_cbs *cbs,
                  void *arg, struct lt_ws_conn **out);

/* Queues a text message (copied); it is sent once the socket is open, in order. Any thread,
 * the service thread included. Errors: -ENOMEM, -ENOTCONN (closing or closed). */
int lt_ws_send(struct lt_ws_conn *c, const char *text, size_t len);

/* Closes the socket once what is queued has been sent (a normal close). Any thread. */
void lt_ws_close(struct lt_ws_conn *c);

/* The caller is done with c: no callback runs after this returns (it waits for one running on
 * the service thread to finish), the socket is closed if still open and freed by ws. Call it
 * from a thread other than the service thread. Accepts NULL. */
void lt_ws_conn_release(struct lt_ws_conn *c);

#endif
