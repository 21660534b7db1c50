/* Sending invitations: each queued invitation in the store becomes an SMS through GOV.UK
 * Notify's HTTP API or an email through an SMTP relay, over libcurl's multi interface driven by
 * the service's libuv loop (uv_poll_t per socket, one uv_timer_t for curl's timeouts): no
 * thread of ours, nothing that blocks the loop. Temporary failures are retried with doubling
 * delays, permanent ones end the invitation; the store records every step, so a restart resumes
 * what was pending. */
#ifndef SIG_INVITE_SEND_H
#define SIG_INVITE_SEND_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct sig_config;
struct store;
struct invite_sender;

/* Attempts per invitation, the first included. */
#define INVITE_SEND_ATTEMPTS 5
/* Each attempt's bounds: connecting, and the whole exchange. */
#define INVITE_SEND_CONNECT_MS 10000
#define INVITE_SEND_TIMEOUT_MS 30000

struct invite_sender_params {
    uv_loop_t *loop;              /* borrowed, for the sender's life */
    const struct sig_config *cfg; /* borrowed: the channels, practice-name, invite-retry-base */
    struct store *store;          /* borrowed */
    const uint8_t *token_secret;  /* borrowed: signs each link again when it is sent */
    size_t token_secret_len;
};

/* Makes a sender with nothing queued. curl_global_init must have been called (main does).
 * Writes *out only on success. Returns 0, -ENOMEM, or -EIO when libcurl cannot start. */
int invite_sender_new(struct invite_sender **out, const struct invite_sender_params *p);

/* Sends invitation id (a row in the store), now or, when it waits for a retry, at its next_at.
 * An id already being handled, unknown, or finished (sent, failed) is ignored. Nothing happens
 * once the sender is stopping. */
void invite_sender_queue(struct invite_sender *s, const char *invitation_id);

/* invite_sender_queue in the shape of api_ctx's invited callback (arg is the sender). */
void invite_sender_invited(void *arg, const char *invitation_id);

/* Queues every pending invitation in the store (queued, sending or retrying): what a restart
 * resumes. One that was being sent when the service stopped is sent again (the message may
 * then arrive twice, rather than never). Returns 0 or a store error, or -ENOMEM. */
int invite_sender_resume(struct invite_sender *s);

/* Abandons the attempts under way (the store keeps them pending for the next start) and closes
 * every handle. The loop must then run until they have closed, and only then may
 * invite_sender_free release the sender. Safe to call twice. Accepts NULL. */
void invite_sender_stop(struct invite_sender *s);

/* invite_sender_stop if not done, then frees s: call it after the loop has run the close
 * callbacks. Accepts NULL. */
void invite_sender_free(struct invite_sender *s);

/* How one attempt ended, as the sender classifies it (exposed for the unit tests). code is a
 * short error code for the store and the API ("http_503", "smtp_450", "timeout"; "" when the
 * message was accepted), never anything from the message or the destination. */
enum invite_outcome {
    INVITE_OUTCOME_SENT,
    INVITE_OUTCOME_RETRY,  /* temporary: HTTP 429 or 5xx, SMTP 4xx, no connection, timeout */
    INVITE_OUTCOME_FAILED, /* permanent: any other HTTP 4xx, SMTP 5xx, TLS refused */
};
/* curl_result is the transfer's CURLcode, response the HTTP status or the last SMTP reply code
 * (0 when none came), sms whether it was Notify's API (else SMTP). */
enum invite_outcome invite_send__classify(int curl_result, long response, int sms, char *code,
                                          size_t cap);

/* The delay before the retry that follows attempt number attempts (1-based): base, 2 base,
 * 4 base, ... */
uint64_t invite_send__delay_ms(uint32_t base_ms, int attempts);

#endif
