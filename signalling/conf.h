/* Live consultations: the browsers connected to each, their admission, and the SFU rooms,
 * transports, producers and consumers that carry their media. It speaks the browser protocol
 * (PROTOCOL.md) through the connection operations the web server supplies, and the control
 * protocol through an sfu_link. What must survive a restart (admission, token use, the audit
 * log) is written to the store at once; the rest is rebuilt when browsers reconnect. */
#ifndef SIG_CONF_H
#define SIG_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu.pb-c.h"

struct store;
struct sfu_link;
struct turn_params;
struct conf_hub;
struct conf_conn;

/* What the hub asks of the web server for one browser connection (its handle). */
struct conf_conn_ops {
    /* Queues a text message (len bytes, copied) on the connection. Returns 0 or -ENOMEM;
     * -ENOBUFS when the browser stopped reading and too much is queued (it is then closed). */
    int (*send)(void *handle, const char *text, size_t len);
    /* Closes the connection once what is queued has gone. The server then calls
     * conf_conn_closed as for any close. */
    void (*close)(void *handle);
    /* From now on the connection's messages and close go to c (NULL: to nobody; its close is
     * then not reported). A resumed participant takes over the socket that resumed it. */
    void (*rebind)(void *handle, struct conf_conn *c);
};

struct conf_hub_params {
    struct store *store;         /* borrowed */
    struct sfu_link *link;       /* borrowed; may be set later with conf_hub_set_link */
    const uint8_t *token_secret; /* borrowed for the hub's life */
    size_t token_secret_len;
    const struct conf_conn_ops *ops; /* borrowed */
    int64_t (*now)(void);            /* unix seconds; NULL: time(NULL) */
    struct uv_loop_s *loop;          /* borrowed: for the hub's timer */
    const struct turn_params *turn;  /* borrowed; NULL: no TURN (empty ice_servers) */
};

/* Makes the hub. Writes *out only on success. -ENOMEM. */
int conf_hub_new(struct conf_hub **out, const struct conf_hub_params *p);
void conf_hub_set_link(struct conf_hub *h, struct sfu_link *link);
/* From now on the hub asks nothing of the SFU: the service is stopping, and closing the
 * browsers' sockets must not close their media (it keeps flowing until signalling is back). */
void conf_hub_stop(struct conf_hub *h);
/* Ends every call (browsers get no message: the service is stopping and they will reconnect),
 * closes every connection and frees the hub. Accepts NULL. */
void conf_hub_free(struct conf_hub *h);

/* A browser's WebSocket opened; session is its gpsfu_sid cookie (copied; "" when none, which
 * makes every single-use link refuse it). Returns NULL on -ENOMEM. */
struct conf_conn *conf_conn_open(struct conf_hub *h, void *handle, const char *session);
/* One complete text message from the browser (len bytes, borrowed). */
void conf_conn_message(struct conf_conn *c, const char *data, size_t len);
/* Whether the browser has joined (its timeouts are then those of a live call). */
bool conf_conn_joined(const struct conf_conn *c);
/* A message the server refused before parsing (over WSMSG_MAX, or binary): answered with the
 * error code given ("too_large", "bad_message"). */
void conf_conn_refuse(struct conf_conn *c, const char *code, const char *message);
/* The connection is gone (closed by either side). c is freed; its participant's media is torn
 * down, but their admission stays in the store so that a reload gets straight back in. */
void conf_conn_closed(struct conf_conn *c);

/* The consultation was ended through the API: every browser in it gets "ended" and the SFU room
 * is closed. */
void conf_hub_end(struct conf_hub *h, const char *consultation_id);

/* The sfu_link callbacks, to be wired by the caller (arg: the hub). */
void conf_hub_sfu_up(void *hub, const Sfu__ListRoomsResponse *rooms);
void conf_hub_sfu_down(void *hub, int reason);
void conf_hub_sfu_event(void *hub, const Sfu__Envelope *ev);

/* Media statistics of a live consultation, per participant connected: what the SFU received
 * from them and forwarded to and from them (the API's GET .../stats). cb gets status 0 and the
 * JSON text (malloc'd, the callee's to free) or a negative errno (-ENOENT: nobody connected,
 * -ENOTCONN: the SFU cannot be reached) and NULL. Returns a request that conf_stats_cancel
 * stops before cb runs (cb never runs after cancel), or NULL with cb already called. */
typedef void (*conf_stats_cb)(void *arg, int status, char *json);
struct conf_stats_req;
struct conf_stats_req *conf_hub_stats(struct conf_hub *h, const char *consultation_id,
                                      conf_stats_cb cb, void *arg);
void conf_stats_cancel(struct conf_stats_req *r);

/* Counts, for the health endpoint and the logs. */
struct conf_hub_counts {
    size_t rooms, connections, participants;
};
void conf_hub_counts(const struct conf_hub *h, struct conf_hub_counts *out);

#endif
