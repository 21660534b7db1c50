/* The web server: libwebsockets on the service's libuv loop, serving the HTTP API (api.c),
 * join links (link.c), the web client's files, a health check, and one WebSocket per browser
 * (handed to conf.c). */
#ifndef SIG_SERVER_H
#define SIG_SERVER_H

#include <stddef.h>

#include <uv.h>

struct sig_config;
struct store;
struct conf_hub;
struct conf_conn_ops;
struct api_ctx;
struct sfu_link;
struct server;

struct server_params {
    const struct sig_config *cfg; /* borrowed, for the server's life */
    uv_loop_t *loop;
    struct store *store;
    struct conf_hub *hub;
    const struct api_ctx *api;
    struct sfu_link *link; /* for the health check; may be NULL */
    const char *tls_cert;  /* NULL: plain HTTP (tls = off) */
    const char *tls_key;
};

/* The operations conf.c uses to write to and close a browser's WebSocket (its handle is the
 * server's per-connection state). */
const struct conf_conn_ops *server_conn_ops(void);

/* Listens on cfg->listen. Returns 0, or -EIO with a reason in err (the certificate does not
 * load, the web folder is missing; *out is not written), or -EADDRINUSE (the address cannot be
 * bound: *out is written, and holds loop handles to be stopped and freed as after a run). */
int server_new(struct server **out, const struct server_params *p, char *err, size_t err_len);

/* The bound port (for listen ports of 0 in tests). */
int server_port(const struct server *s);

/* Closes every connection (each browser's conf connection with it) and the listener. The
 * loop must run afterwards until libwebsockets' handles have closed, and only then may
 * server_free release what the context borrowed (its mount and headers). Accepts NULL. */
void server_stop(struct server *s);
/* server_stop if not done, then frees s. Accepts NULL. */
void server_free(struct server *s);

#endif
