/* The janus target's internals (lt_janus*.c): the server process and its generated config, the
 * Janus HTTP API client with its long-poll thread, and the SDP the bench peers exchange with
 * Janus. Nothing here is used outside bench/lt/lt_janus*.c. */
#ifndef BENCH_LT_JANUS_PRIV_H
#define BENCH_LT_JANUS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "lt.h"
#include "lt_proc.h"
#include "peer.h"

/* Janus runs as an ICE-lite agent (see the nat section in lt_janus_proc.c for why), so every
 * bench peer is the controlling agent, the subscriber's included (RFC 8445 6.1.1: a full agent
 * facing a lite one always controls). */
#define JN_ICE_LITE 1

/* text, or fallback when text is NULL (jansson's getters return NULL for what is missing). */
static inline const char *jn_str_or(const char *text, const char *fallback)
{
    return text ? text : fallback;
}

/* --- the process (lt_janus_proc.c) ------------------------------------------------------------ */

struct jn_proc {
    struct lt_proc proc; /* janus, running while proc.pid != 0 */
    uint16_t http_port;
    /* The address Janus's media sockets (and so the bench peers facing it) use: the target
     * configuration's media_ip, never loopback, where Janus gathers no candidates. */
    char media_ip[PEER_IP_LEN];
};

/* Writes the config folder under cfg->work_dir (media on cfg->media_ip, see
 * struct jn_proc), starts janus pinned to cfg->cpus (if set) and
 * waits at most timeout_ms for GET /janus/info to answer. Fills *out only on success; on
 * failure no janus process remains. Errors: -EINVAL (bad cpus list), -EIO (files), -ECHILD
 * (janus exited), -ETIMEDOUT, -EADDRINUSE (no free ports), -EADDRNOTAVAIL (no IPv4 address
 * but loopback). */
int jn_proc_start(struct jn_proc *out, const struct lt_target_cfg *cfg, int timeout_ms, char *err,
                  size_t errlen);

/* SIGTERM, then SIGKILL after 5 s; reaps the process. Accepts pid 0 (nothing to stop). */
void jn_proc_stop(struct jn_proc *p);

/* --- the API client (lt_janus_api.c) ---------------------------------------------------------- */

struct jn_api;

/* Everything Janus sends about a handle (events, webrtcup, hangup, ...), on the long-poll
 * thread; msg is borrowed for the call. The callback may call jn_api_send(from_poll = true). */
typedef void (*jn_event_cb)(void *arg, json_t *msg);

/* Creates a Janus session on base_url ("http://127.0.0.1:PORT/janus") and starts the long-poll
 * thread that delivers its events and keeps it alive. Errors: -ENOMEM, -EIO (HTTP or Janus
 * refused), -EPROTO (unexpected reply). */
int jn_api_new(struct jn_api **out, const char *base_url, char *err, size_t errlen);

/* Destroys the session, stops the thread and frees. Accepts NULL. */
void jn_api_free(struct jn_api *a);

/* Attaches a janus.plugin.videoroom handle whose messages go to cb (may be NULL). */
int jn_api_attach(struct jn_api *a, jn_event_cb cb, void *arg, uint64_t *handle, char *err,
                  size_t errlen);

/* Stops delivering the handle's messages (waiting for a callback in progress to return), then
 * detaches it. Not from the long-poll thread. */
void jn_api_detach(struct jn_api *a, uint64_t handle);

/* A synchronous plugin request (create, destroy, ...): sends body (stolen) and returns the
 * plugin's data object (owned by the caller) in *data. A plugin error ("error_code") is
 * -EPROTO with its text in err. */
int jn_api_sync(struct jn_api *a, uint64_t handle, json_t *body, json_t **data, char *err,
                size_t errlen);

/* An asynchronous plugin request (join, publish, ...): sends body and jsep (both stolen; jsep may
 * be NULL) and waits at most timeout_ms for the event that answers it. *ev is the whole message
 * (owned by the caller: plugindata, jsep). A plugin error is -EPROTO, -ETIMEDOUT if no answer. */
int jn_api_call(struct jn_api *a, uint64_t handle, json_t *body, json_t *jsep, int timeout_ms,
                json_t **ev, char *err, size_t errlen);

/* Sends body and jsep (stolen) without waiting for the event; the ack is all it checks. txn (if
 * not NULL, JN_TXN_LEN bytes) receives the transaction the event will carry. from_poll says
 * the caller is the long-poll thread (a jn_event_cb), which has its own connection. */
#define JN_TXN_LEN 24
int jn_api_send(struct jn_api *a, bool from_poll, uint64_t handle, json_t *body, json_t *jsep,
                char *txn, char *err, size_t errlen);

/* The plugin's data object in a message (borrowed), or NULL. */
json_t *jn_msg_data(json_t *msg);

/* --- SDP (lt_janus_sdp.c) ----------------------------------------------------------------------
 */

#define JN_CANDS_MAX 8

/* A bench peer's side of a description. */
struct jn_sdp_local {
    const char *ufrag;
    const char *pwd;
    const char *fingerprint;
    struct peer_candidate cands[JN_CANDS_MAX];
    size_t ncands;
};

/* What peer_set_remote needs from Janus's description. */
struct jn_sdp_remote {
    char ufrag[PEER_ICE_TEXT_LEN];
    char pwd[PEER_ICE_TEXT_LEN];
    char fingerprint[PEER_FINGERPRINT_LEN];
    struct peer_candidate cands[JN_CANDS_MAX];
    size_t ncands;
};

/* Fills the local side from a peer. Returns 0 or -EIO (no candidates). */
int jn_sdp_local_from_peer(struct jn_sdp_local *l, const struct peer *p);

/* The publisher's offer: one sendonly m-section per track that is on (audio Opus, video VP8,
 * screen VP8), BUNDLEd, rtcp-mux, a=setup:active, every host candidate. *out is g_free'd. */
int jn_sdp_offer(const struct jn_sdp_local *l, const struct lt_pub_track tracks[LT_TRACKS],
                 const char *cname, char **out);

/* Janus's ICE credentials, fingerprint and host candidates. -EBADMSG when missing. */
int jn_sdp_remote_parse(const char *sdp, struct jn_sdp_remote *r, char *err, size_t errlen);

/* The subscriber's answer to Janus's offer: every audio/video m-section accepted recvonly with
 * the offer's first format (rejected when the offer rejects it or it is something else),
 * a=setup:active. *out is g_free'd. -EBADMSG when the offer does not parse. */
int jn_sdp_answer(const char *offer, const struct jn_sdp_local *l, char **out, char *err,
                  size_t errlen);

#endif
