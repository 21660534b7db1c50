/* The simulated peer's state, shared by peer.c (thread, ICE, media) and peer_dtls.c (certificate,
 * DTLS handshake, SRTP keys). Private to bench/peer/. */
#ifndef BENCH_PEER_PRIV_H
#define BENCH_PEER_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include <glib.h>
#include <nice/agent.h>
#include <openssl/ssl.h>
#include <srtp2/srtp.h>

#include "peer.h"

/* DTLS records go out in datagrams no larger than this (browsers use about 1200). */
#define PEER_DTLS_MTU 1200
/* DTLS datagrams written before ICE has a selected pair wait here (one flight fits). */
#define PEER_DTLS_PENDING 8
/* The handshake fails if it has not completed this long after it started. */
#define PEER_DTLS_TIMEOUT_MS 10000
/* Room for the SRTP/SRTCP trailer after the largest packet. */
#define PEER_BUF_LEN (PEER_PKT_MAX + SRTP_MAX_TRAILER_LEN + 4)

/* Most sequence numbers one NACK packet asks for (a browser's are smaller). */
#define PEER_NACK_MAX_SEQS 64

/* A media stream the receiver feature tracks (cfg.nack). */
struct peer_rx_stream {
    uint32_t ssrc;
    bool used;
    struct nack_tracker *nack; /* owned: made in peer_new, so no packet allocates */
};

/* An RTX stream (RFC 4588) and the media stream it repairs. */
struct peer_rtx {
    uint32_t media_ssrc;
    uint32_t rtx_ssrc;
    uint8_t rtx_pt;
    uint8_t media_pt;
};

struct peer_counters {
    _Atomic uint64_t rx_rtp_packets, rx_rtp_bytes, rx_rtcp_packets, rx_rtcp_bytes;
    _Atomic uint64_t rx_unprotect_failed, rx_dtls_packets, rx_dropped;
    _Atomic uint64_t tx_rtp_packets, tx_rtp_bytes, tx_rtcp_packets, tx_rtcp_bytes;
    _Atomic uint64_t tx_raw_packets, tx_failed;
    _Atomic uint64_t tx_nack_packets, tx_nack_seqs, rx_rtx_repaired, tx_nack_failed;
};

struct peer {
    struct peer_cbs cbs;
    void *arg; /* borrowed */
    bool controlling;
    bool dtls_server;
    bool ice_lite;
    char local_ip[PEER_IP_LEN];
    char ufrag[PEER_ICE_TEXT_LEN];
    char pwd[PEER_ICE_TEXT_LEN];
    char fingerprint[PEER_FINGERPRINT_LEN];
    uint8_t remote_fp[32]; /* expected SHA-256 of the remote certificate */

    /* Thread and GLib. */
    struct peer_loop *lp; /* owned when own_loop, else borrowed; NULL only while being made */
    bool own_loop;
    GMainContext *ctx;  /* lp's */
    pthread_mutex_t mu; /* guards state changes, gathered and sync-call completion */
    pthread_cond_t cond;
    bool gathered;
    bool remote_set;
    _Atomic int state; /* enum peer_state; written on the peer's thread under mu */

    /* ICE: touched on the peer's thread, except nice_agent_send (thread-safe). */
    NiceAgent *agent; /* owned */
    guint stream_id;
    atomic_bool ice_ready; /* a selected pair exists: sends can go out */

    /* DTLS: the peer's thread only. */
    EVP_PKEY *key;          /* owned */
    X509 *cert;             /* owned */
    SSL_CTX *ssl_ctx;       /* owned */
    SSL *ssl;               /* owned; owns both BIOs */
    BIO *rbio;              /* borrowed from ssl: datagrams received */
    BIO_METHOD *bio_method; /* owned: the write side sends on the agent */
    GSource *dtls_timer;    /* owned */
    gint64 dtls_deadline_us;
    bool dtls_started;
    bool dtls_done;
    uint8_t pending[PEER_DTLS_PENDING][PEER_DTLS_MTU];
    size_t pending_len[PEER_DTLS_PENDING];
    size_t npending;

    /* SRTP: srtp_in on the peer's thread; srtp_out on the sending thread once the state reads
     * CONNECTED (published with release order). */
    srtp_t srtp_in;  /* owned */
    srtp_t srtp_out; /* owned */
    uint8_t rx_buf[PEER_BUF_LEN];
    uint8_t tx_buf[PEER_BUF_LEN];

    /* Receiver feature: the peer's thread only (peer_set_rtx runs there too). NACKs go out from
     * this thread while another may be sending: they have their own sender SSRC, SRTP session
     * (same keys as srtp_out; libsrtp sessions are not thread-safe) and buffer. */
    bool nack;
    uint32_t fb_ssrc;
    struct peer_rx_stream rx_streams[PEER_NACK_STREAMS];
    struct peer_rtx rtx[PEER_RTX_MAX];
    size_t nrtx;
    GSource *nack_timer; /* owned */
    srtp_t srtp_fb;      /* owned, with cfg.nack once SRTP is keyed */
    uint8_t fb_buf[PEER_BUF_LEN];

    struct peer_counters n;
};

/* Increments a counter that only one thread writes: a relaxed load and store, no locked RMW. */
static inline void peer__count(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* Moves to st (on the peer's thread), wakes waiters and calls on_state. FAILED and CLOSED are
 * final. */
void peer__state_set(struct peer *p, enum peer_state st);

/* peer_dtls.c: makes the key, the certificate and its fingerprint, the SSL_CTX and the SSL
 * with its BIOs. Returns 0, -EINVAL (bad profile list), -ENOMEM or -EIO. */
int peer__dtls_init(struct peer *p, const char *srtp_profiles);
/* Frees what peer__dtls_init made, and the SRTP sessions. */
void peer__dtls_free(struct peer *p);
/* Called on the peer's thread when ICE has a selected pair: flushes pending datagrams and, as
 * the client, starts the handshake. */
void peer__dtls_ice_ready(struct peer *p);
/* A DTLS datagram arrived (peer's thread). */
void peer__dtls_input(struct peer *p, const uint8_t *buf, size_t len);
/* Stops the handshake timer and sends close_notify if connected (peer's thread). */
void peer__dtls_close(struct peer *p);

#endif
