/* The router's objects, shared by the files of sfu/router/ only: rooms, transports, producers
 * and consumers as in mediasoup's model. Everything here belongs to one worker thread. */
#ifndef SFU_ROUTER_INT_H
#define SFU_ROUTER_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "core/hmap.h"
#include "core/list.h"
#include "ice/ice_lite.h"
#include "loop/worker.h"
#include "rtp/nack_history.h"
#include "rtp/nack_tracker.h"
#include "rtp/rewrite.h"
#include "rtp/rx_stats.h"
#include "rtp/twcc.h"
#include "rtp/vp8.h"
#include "sfu.pb-c.h"

#define ROUTER_MAX_CODECS    8
#define ROUTER_MAX_ENCODINGS 4
#define ROUTER_MAX_EXTS      16
#define ROUTER_URI_MAX       96
#define ROUTER_MID_MAX       16

struct dtls_session;
struct sfu_srtp;

/* Header-extension URIs the router itself reads or writes. */
#define URI_MID  "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_RID  "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

struct counters {
    uint64_t packets;
    uint64_t bytes;
    uint64_t lost;
    uint64_t nacks;
    uint64_t plis;
    uint64_t forwarded;
    uint64_t dropped;
    uint64_t retransmitted;
};

enum codec_type { CODEC_OTHER, CODEC_VP8, CODEC_H264 };

struct codec {
    char name[16];
    enum codec_type type; /* from name, so the packet path compares no strings */
    uint8_t pt;
    uint8_t rtx_pt; /* 0: none */
    uint32_t clock_rate;
    uint32_t channels;
    bool nack;
    bool pli;
    bool fir;
    bool twcc;
    bool remb;
};

struct hdrext {
    uint8_t id;
    char uri[ROUTER_URI_MAX];
};

struct room {
    struct hmap_node node; /* in worker.rooms */
    char id[ROOM_ID_MAX + 1];
    uint64_t gen;           /* the control thread's generation of this id */
    struct worker *w;       /* borrowed */
    struct list transports; /* struct transport.room_node */
    struct list producers;  /* struct producer.room_node */
    struct list consumers;  /* struct consumer.room_node */
};

enum transport_state {
    TRANSPORT_NEW = 0,
    TRANSPORT_CONNECTED = 1,
    TRANSPORT_DISCONNECTED = 2,
    TRANSPORT_FAILED = 3,
    TRANSPORT_CLOSED = 4,
};

struct transport {
    struct list room_node;
    struct hmap_node ufrag_node; /* in worker.by_ufrag */
    struct hmap_node addr_node;  /* in worker.by_addr, once a path is selected */
    uint64_t id;
    struct room *room; /* borrowed */
    struct worker *w;  /* borrowed */
    char ufrag[ICE_UFRAG_LEN + 1];
    char pwd[ICE_PWD_LEN + 1];
    /* An ICE restart replaces both at once: checks with the old ones then go unanswered. */
    struct sockaddr_storage remote;
    bool has_remote;
    bool addr_indexed;
    enum transport_state state;
    bool dtls_done;
    struct dtls_session *dtls; /* owned */
    uv_timer_t dtls_timer;     /* closes asynchronously: the transport is freed in its close_cb */
    struct sfu_srtp *srtp;     /* owned, once DTLS is done */
    uint64_t last_rx_ms;       /* consent freshness */
    uint64_t last_rtcp_ms;
    uint64_t last_twcc_ms;
    struct list producers;      /* struct producer.transport_node */
    struct list consumers;      /* struct consumer.transport_node */
    struct twcc_recorder *twcc; /* owned: arrivals of the publisher's transport-wide seqs */
    uint8_t twcc_rx_id;         /* the publisher's transport-cc extension id, 0: none */
    uint16_t twcc_tx_seq;       /* our transport-wide sequence for what we send */
    uint32_t rtcp_senders[8];   /* SRTCP sender SSRCs accepted (libsrtp keeps state for each) */
    unsigned n_rtcp_senders;
    uint32_t rtcp_ssrc; /* the SSRC we use as RTCP sender towards this peer */
    struct counters rx;
    struct counters tx;
};

struct producer_stream {
    uint32_t ssrc;
    uint32_t rtx_ssrc;
    char rid[16];
    struct rx_stats stats;
    struct nack_tracker *nack; /* owned */
    bool active;
};

struct producer {
    struct list room_node;
    struct list transport_node;
    uint64_t id;
    struct room *room;           /* borrowed */
    struct transport *transport; /* borrowed */
    Sfu__MediaKind kind;
    char mid[ROUTER_MID_MAX + 1];
    struct codec codecs[ROUTER_MAX_CODECS];
    unsigned ncodecs;
    struct hdrext exts[ROUTER_MAX_EXTS];
    unsigned nexts;
    struct producer_stream streams[ROUTER_MAX_ENCODINGS];
    unsigned nstreams;
    struct nack_history *history; /* owned */
    struct list consumers;        /* struct consumer.producer_node */
    uint64_t last_keyframe_req_ms;
    uint64_t last_rr_ms;
    bool keyframe_pending; /* a request was held back by the throttle */
    uint32_t fir_seq;
    /* The publisher's latest sender report: the NTP time of an RTP timestamp (lip sync). */
    uint64_t sr_ntp;
    uint32_t sr_rtp;
    uint64_t sr_at_us;
    bool has_sr;
    struct counters counters;
};

/* What the consumer sent, by its own sequence number: answers NACKs exactly. */
struct sent_entry {
    uint16_t out_seq;
    uint16_t src_seq;
    uint32_t out_ts;
    bool valid;
    uint64_t last_rtx_us; /* when it was last resent, 0: never */
};

#define CONSUMER_SENT_RING 1024

struct consumer {
    struct list room_node;
    struct list transport_node;
    struct list producer_node;
    uint64_t id;
    struct room *room;           /* borrowed */
    struct transport *transport; /* borrowed: the subscriber's */
    struct producer *producer;   /* borrowed */
    char mid[ROUTER_MID_MAX + 1];
    uint32_t ssrc;
    uint32_t rtx_ssrc;
    uint8_t pt_map[128];    /* producer pt -> subscriber pt, 0xff: not negotiated */
    uint8_t rtx_pt_of[128]; /* subscriber pt -> its RTX pt, 0: none */
    uint8_t ext_map[256];   /* producer ext id -> subscriber ext id, 0: drop */
    uint8_t mid_ext_id;
    uint8_t twcc_ext_id;
    bool paused;
    bool wait_keyframe;
    uint32_t clock_rate;
    struct rtp_rewrite rw; /* per-packet settings: ids, maps; seq/ts set per packet */
    struct rtp_seq_rewriter seq;
    struct vp8_rewriter vp8;
    bool is_vp8;
    uint32_t src_ssrc; /* the producer stream we forward */
    uint16_t rtx_seq;
    struct sent_entry *sent; /* owned, CONSUMER_SENT_RING */
    uint64_t last_sr_ms;
    uint64_t packets_at_last_sr;
    uint32_t last_out_ts;
    uint64_t last_out_us;
    uint64_t packets_sent;
    uint64_t octets_sent;
    struct counters counters;
};

/* room.c */
struct room *room_find(struct worker *w, const char *id);
int room_new(struct room **out, struct worker *w, const char *id, uint64_t gen);
void room_free(struct room *r);
struct transport *room_transport_find(struct room *r, uint64_t id);
struct producer *room_producer_find(struct room *r, uint64_t id);
struct consumer *room_consumer_find(struct room *r, uint64_t id);

/* transport.c */
int transport_new(struct transport **out, struct room *r);
void transport_close(struct transport *t, const char *reason);
int transport_connect(struct transport *t, const char *algorithm, const char *fingerprint);
int transport_restart_ice(struct transport *t);
void transport_on_stun(struct worker *w, uint8_t *buf, size_t len, const struct sockaddr *from);
void transport_on_datagram(struct transport *t, uint8_t *buf, size_t len);
void transport_tick(struct transport *t, uint64_t now_ms);
/* Protects and queues an RTP (rtcp false) or RTCP packet of len bytes in buf, which must have
 * room for the SRTP trailer. Returns 0 or negative (dropped, counted). */
int transport_send(struct transport *t, uint8_t *buf, size_t len, bool rtcp);
void transport_state_set(struct transport *t, enum transport_state st, const char *reason);

/* rtcp_in.c: a decrypted compound RTCP packet from the transport's peer. */
void transport_on_rtcp(struct transport *t, const uint8_t *buf, size_t len);

/* producer.c */
int producer_new(struct producer **out, struct transport *t, const Sfu__ProduceRequest *req,
                 char *err, size_t err_len);
void producer_free(struct producer *p);
struct producer *producer_by_ssrc(struct transport *t, uint32_t ssrc, bool *is_rtx,
                                  unsigned *stream);
void producer_on_rtp(struct producer *p, unsigned stream, bool is_rtx, struct pkt *pkt,
                     const struct rtp_view *v);
void producer_on_sr(struct producer *p, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts);
void producer_request_keyframe(struct producer *p, bool force);
void producer_tick(struct producer *p, uint64_t now_ms);

/* consumer.c */
int consumer_new(struct consumer **out, struct transport *t, struct producer *p,
                 const Sfu__ConsumeRequest *req, char *err, size_t err_len);
void consumer_free(struct consumer *c);
void consumer_send_rtp(struct consumer *c, const struct pkt *pkt, const struct rtp_view *v,
                       bool keyframe);
/* Resends seq over RTX if it can. Returns 1 when it did, 0 when not. */
int consumer_on_nack(struct consumer *c, uint16_t seq, uint64_t now_us);
void consumer_pause(struct consumer *c, bool paused);
struct consumer *consumer_by_ssrc(struct transport *t, uint32_t ssrc);
void consumer_tick(struct consumer *c, uint64_t now_ms);

/* events.c */
void router_event_transport_state(struct transport *t, const char *reason);
void router_event_producer_closed(struct producer *p);
void router_event_consumer_closed(struct consumer *c);

#endif
