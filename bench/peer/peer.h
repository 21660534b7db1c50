/* A simulated WebRTC peer playing a browser's part: full ICE (libnice), DTLS 1.2 (OpenSSL) and
 * SRTP (libsrtp2) over one BUNDLEd, rtcp-muxed component, on a GLib thread of its own or one it
 * shares with other peers (struct peer_loop).
 *
 * Threading: every peer runs on one thread with a GMainContext, its own or a shared loop's; the
 * callbacks in struct peer_cbs are called from that thread only. The other functions are called
 * from the caller's thread(s), never from inside a callback (they would wait on the peer's thread).
 * The send functions may be called by one thread at a time (they share one protect buffer), never
 * the peer's own thread; peer_stats_get and peer_state_get may be called from any thread. */
#ifndef BENCH_PEER_H
#define BENCH_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest RTP/RTCP packet (before protection) the peer sends or accepts. */
#define PEER_PKT_MAX 1500

/* Lengths of the text forms, with their terminating NUL. */
#define PEER_IP_LEN          46  /* INET6_ADDRSTRLEN */
#define PEER_FOUNDATION_LEN  33  /* NICE_CANDIDATE_MAX_FOUNDATION */
#define PEER_FINGERPRINT_LEN 96  /* 32 bytes as "AB:" plus NUL */
#define PEER_ICE_TEXT_LEN    257 /* ufrag and pwd, 256 characters at most (RFC 8839) */

enum peer_state {
    PEER_STATE_NEW,
    PEER_STATE_CONNECTING, /* remote description set: ICE checks, then the DTLS handshake */
    PEER_STATE_CONNECTED,  /* ICE, DTLS and SRTP ready: media flows */
    PEER_STATE_FAILED,     /* ICE failed, DTLS failed or the fingerprint did not match */
    PEER_STATE_CLOSED,     /* the remote closed DTLS (close_notify) */
};

/* A thread running one GMainContext for any number of peers (peer_cfg.loop). A load test's
 * receivers on one loop are woken once for whatever has arrived for all of them, as a machine
 * with a few threads would be; with a thread each, every packet wakes a thread, and on loopback
 * the kernel charges that wake-up to the server that sent the packet. */
struct peer_loop;

/* Starts the thread. Returns 0, -ENOMEM or -EIO. */
int peer_loop_new(struct peer_loop **out);

/* Stops the thread and frees the loop. Every peer on it must have been freed. Accepts NULL. */
void peer_loop_free(struct peer_loop *l);

/* The CPU time the loop's thread has used so far, in seconds. Returns 0 or a negative errno. */
int peer_loop_cpu_s(struct peer_loop *l, double *out);

struct peer_cfg {
    const char *local_ip; /* borrowed; default "127.0.0.1" */
    /* Borrowed; default NULL: the peer makes a loop of its own. A shared loop runs the callbacks
     * of all its peers on its one thread: a callback that blocks (on a lock, or peer_stall)
     * holds up every peer on it. */
    struct peer_loop *loop;
    bool controlling;          /* default true: a browser's role against an ICE-lite SFU */
    bool dtls_server;          /* default false: DTLS client, as a browser with a=setup:active */
    const char *srtp_profiles; /* borrowed; OpenSSL's list syntax, default
                                  "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80" */
    bool ice_lite;             /* default false; true makes an ICE-lite agent (RFC 8445 2.5),
                                  as the SFU is: for testing the full peer against one */
    bool nack; /* default false; true makes the peer NACK like a browser: it tracks the RTP it
                  receives per SSRC (up to PEER_NACK_STREAMS) and every PEER_NACK_INTERVAL_MS
                  sends generic NACKs (RFC 4585) for what is missing, from its own sender SSRC */
};

/* The receiver feature (cfg.nack): media SSRCs tracked, and the NACK timer's period. */
#define PEER_NACK_STREAMS     4
#define PEER_NACK_INTERVAL_MS 20
/* RTX streams peer_set_rtx can register. */
#define PEER_RTX_MAX 4

struct peer_cbs {
    /* A decrypted RTP packet; buf is borrowed for the call only. May be NULL. */
    void (*on_rtp)(void *arg, const uint8_t *buf, size_t len);
    /* A decrypted RTCP compound packet; buf is borrowed for the call only. May be NULL. */
    void (*on_rtcp)(void *arg, const uint8_t *buf, size_t len);
    /* Each state change, in order. May be NULL. */
    void (*on_state)(void *arg, enum peer_state st);
};

struct peer_candidate {
    char ip[PEER_IP_LEN];
    uint16_t port;
    uint32_t priority;
    char foundation[PEER_FOUNDATION_LEN];
};

/* Counters; each is written by one thread and may be read at any time (each value is exact,
 * the set is not a snapshot). */
struct peer_stats {
    uint64_t rx_rtp_packets;      /* decrypted and handed to on_rtp */
    uint64_t rx_rtp_bytes;        /* decrypted length */
    uint64_t rx_rtcp_packets;     /* decrypted and handed to on_rtcp */
    uint64_t rx_rtcp_bytes;       /* decrypted length */
    uint64_t rx_unprotect_failed; /* SRTP/SRTCP authentication, replay or format failures */
    uint64_t rx_dtls_packets;     /* datagrams given to OpenSSL */
    uint64_t rx_dropped;          /* bad first byte, too long, before SRTP keys, bad RTX */
    uint64_t tx_rtp_packets;      /* protected and sent */
    uint64_t tx_rtp_bytes;        /* length on the wire */
    uint64_t tx_rtcp_packets;
    uint64_t tx_rtcp_bytes;
    uint64_t tx_raw_packets;  /* peer_send_raw */
    uint64_t tx_failed;       /* protect or send errors */
    uint64_t tx_nack_packets; /* generic NACK packets sent (cfg.nack); not in tx_rtcp_* */
    uint64_t tx_nack_seqs;    /* sequence numbers asked for in them, retries included */
    uint64_t rx_rtx_repaired; /* RTX packets unwrapped and handed to on_rtp as the original */
    uint64_t tx_nack_failed;  /* NACKs that could not be built, protected or sent */
};

struct peer;

/* Fills cfg with the defaults above. */
void peer_cfg_init(struct peer_cfg *cfg);

/* Creates a peer: its thread and GMainContext, one libnice agent (RFC 5245 full ICE, UDP only,
 * one stream with one component, bound to cfg->local_ip) with its host candidates gathered, and
 * a fresh ECDSA P-256 self-signed certificate. cfg may be NULL (defaults); cbs may be NULL; arg
 * is passed to the callbacks. Writes *out only on success. Errors: -EINVAL (bad local_ip or
 * srtp_profiles), -ENOMEM, -EIO (OpenSSL, libnice or thread failure), -ETIMEDOUT (gathering). */
int peer_new(struct peer **out, const struct peer_cfg *cfg, const struct peer_cbs *cbs, void *arg);

/* Stops the peer's thread (sending a DTLS close_notify first when connected) and frees
 * everything. Accepts NULL. No send may be running or start on another thread. */
void peer_free(struct peer *p);

/* The local ICE credentials and the certificate's SHA-256 fingerprint ("AB:CD:...", upper
 * case), valid for the peer's life. */
const char *peer_ice_ufrag(const struct peer *p);
const char *peer_ice_pwd(const struct peer *p);
const char *peer_fingerprint(const struct peer *p);

/* Copies up to max local host candidates into out. Returns how many, or -EIO. */
int peer_local_candidates(const struct peer *p, struct peer_candidate *out, size_t max);

/* Gives the remote description and starts: ICE checks towards the n remote host candidates
 * (nominating when controlling), then the DTLS handshake on the selected pair, verifying the
 * remote certificate against fingerprint_sha256 (same text form as peer_fingerprint, case
 * insensitive; a mismatch ends in FAILED), then SRTP keys (RFC 5764). Call once.
 * Errors: -EINVAL (bad argument or address, n == 0), -EALREADY (called before), -EIO. */
int peer_set_remote(struct peer *p, const char *ufrag, const char *pwd,
                    const struct peer_candidate *cands, size_t n, const char *fingerprint_sha256);

/* The current state. */
enum peer_state peer_state_get(const struct peer *p);

/* Waits until the state is want. Returns 0, -ETIMEDOUT after timeout_ms (negative: forever),
 * or -ECONNABORTED when the peer reached FAILED or CLOSED and that is not want. */
int peer_wait_state(struct peer *p, enum peer_state want, int timeout_ms);

/* Protects a copy of buf (the caller's bytes are left untouched) and sends it on the selected
 * pair. len is at most PEER_PKT_MAX. Errors: -ENOTCONN (not CONNECTED), -EMSGSIZE, -EBADMSG
 * (libsrtp refused the packet, e.g. too short for an RTP header), -EIO (send failed). */
int peer_send_rtp(struct peer *p, const uint8_t *buf, size_t len);
int peer_send_rtcp(struct peer *p, const uint8_t *buf, size_t len);

/* Sends buf as it is, unprotected, on the selected pair: for bad-input tests. Works once ICE
 * has a selected pair (CONNECTED or during the handshake). Errors: -ENOTCONN, -EMSGSIZE
 * (over 65535), -EIO. */
int peer_send_raw(struct peer *p, const uint8_t *buf, size_t len);

/* Registers an RTX stream (RFC 4588) for media_ssrc: packets arriving on rtx_ssrc with payload
 * type rtx_pt are unwrapped (the original sequence number is the payload's first two bytes) and
 * handed to on_rtp as the original packet would have been: media_ssrc, media_pt, the original
 * sequence number, the rest of the header and the payload unchanged. Registering media_ssrc again
 * replaces its entry. Works with or without cfg.nack; call it before the media flows (packets on
 * rtx_ssrc that arrive earlier are handed on as they are). Errors: -EINVAL (a payload type over
 * 127, rtx_ssrc equal to media_ssrc), -ENOSPC (PEER_RTX_MAX streams already registered). */
/* Blocks the peer's own thread for ms milliseconds (at most 60,000), as a device that lost its
 * network or was suspended: it sends nothing, not even ICE consent checks, and reads nothing
 * (the kernel buffers what arrives). Returns when the stall is over: 0 or -EINVAL. */
int peer_stall(struct peer *p, unsigned ms);

int peer_set_rtx(struct peer *p, uint32_t media_ssrc, uint32_t rtx_ssrc, uint8_t rtx_pt,
                 uint8_t media_pt);

/* Copies the counters into st. */
void peer_stats_get(const struct peer *p, struct peer_stats *st);

#endif
