/* RTCP (RFC 3550, 4585, 5104, draft-alvestrand-rmcat-remb, draft-holmer transport-cc):
 * walking a compound packet, parsing each packet type into plain structs, and writing each
 * type into a caller buffer. No allocation; parsed structs borrow the input bytes where noted. */
#ifndef SFU_RTP_RTCP_H
#define SFU_RTP_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    RTCP_PT_SR = 200,
    RTCP_PT_RR = 201,
    RTCP_PT_SDES = 202,
    RTCP_PT_BYE = 203,
    RTCP_PT_APP = 204,
    RTCP_PT_RTPFB = 205,
    RTCP_PT_PSFB = 206,
};

enum {
    RTCP_RTPFB_NACK = 1,
    RTCP_RTPFB_TWCC = 15,
    RTCP_PSFB_PLI = 1,
    RTCP_PSFB_FIR = 4,
    RTCP_PSFB_REMB = 15,
};

/* The 5-bit count field bounds report blocks, SDES chunks and BYE SSRCs. */
#define RTCP_COUNT_MAX     31
#define RTCP_REMB_SSRC_MAX 255

/* One packet of a compound. body is what follows the 4-byte header, with padding removed. */
struct rtcp_hdr {
    uint8_t count; /* RC, SC or FMT, by type */
    uint8_t pt;
    const uint8_t *raw; /* borrowed: the whole packet, header and padding included */
    size_t raw_len;
    const uint8_t *body; /* borrowed */
    size_t body_len;
};

struct rtcp_iter {
    const uint8_t *buf; /* borrowed */
    size_t len;
    size_t off;
    int err;
};

/* Starts walking buf[0..len). The bytes must outlive the iterator and what it yields. */
void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *buf, size_t len);
/* Yields the next packet into *hdr: returns 1, 0 at the end, or -EBADMSG when the header is
 * not version 2, the length runs past the buffer, the padding is bad or is set on a packet
 * that is not the last. After an error every later call returns -EBADMSG too. */
int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_hdr *hdr);

struct rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;   /* fixed point, /256 */
    int32_t cumulative_lost; /* 24-bit signed on the wire */
    uint32_t ext_highest_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr; /* 1/65536 s */
};

struct rtcp_sender_info {
    uint64_t ntp;
    uint32_t rtp_ts;
    uint32_t pkt_count;
    uint32_t octet_count;
};

struct rtcp_sr {
    uint32_t ssrc;
    struct rtcp_sender_info info;
    uint8_t rb_count;
    struct rtcp_report_block rb[RTCP_COUNT_MAX];
};

struct rtcp_rr {
    uint32_t ssrc;
    uint8_t rb_count;
    struct rtcp_report_block rb[RTCP_COUNT_MAX];
};

/* The CNAME of one SDES chunk (cname_len 0 when the chunk has none). */
struct rtcp_sdes_chunk {
    uint32_t ssrc;
    const uint8_t *cname; /* borrowed, not NUL-terminated */
    uint8_t cname_len;
};

struct rtcp_sdes_iter {
    const uint8_t *p; /* borrowed */
    size_t len;
    size_t off;
    uint8_t left;
};

struct rtcp_bye {
    uint8_t ssrc_count;
    uint32_t ssrcs[RTCP_COUNT_MAX];
    const uint8_t *reason; /* borrowed, NULL when absent */
    uint8_t reason_len;
};

/* Generic NACK: fci holds item_count (PID, BLP) pairs. */
struct rtcp_nack {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci; /* borrowed */
    size_t item_count;
};

struct rtcp_nack_iter {
    const struct rtcp_nack *nack; /* borrowed */
    size_t item;
    int bit; /* -1: the PID itself, 0..15: BLP bits */
};

/* Transport-wide congestion control feedback. Validated by the parser: the chunks cover
 * status_count symbols, no reserved symbol is used, and every receive delta is present. */
struct rtcp_twcc {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    uint16_t base_seq;
    uint16_t status_count;
    int32_t ref_time; /* 24-bit signed, 64 ms units */
    uint8_t fb_count;
    const uint8_t *chunks; /* borrowed */
    size_t chunk_count;
    const uint8_t *deltas; /* borrowed */
    size_t deltas_len;
};

struct rtcp_twcc_iter {
    const struct rtcp_twcc *fb; /* borrowed */
    size_t chunk;
    uint16_t in_chunk; /* symbols already taken from the current chunk */
    size_t delta_off;
    uint32_t done;
};

struct rtcp_twcc_status {
    uint16_t seq;
    bool received;
    int32_t delta; /* 250 us units, from the previous received packet (the first from
                      ref_time); 0 when not received */
};

struct rtcp_pli {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
};

struct rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq;
};

struct rtcp_fir {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci; /* borrowed: entry_count entries of 8 bytes */
    size_t entry_count;
};

struct rtcp_remb {
    uint32_t sender_ssrc;
    uint64_t bitrate_bps; /* mantissa << exp, saturated at UINT64_MAX */
    uint8_t ssrc_count;
    uint32_t ssrcs[RTCP_REMB_SSRC_MAX];
};

/* Parsers take a packet yielded by rtcp_iter_next. Each returns 0, -EINVAL when hdr is of
 * another type, or -EBADMSG when the body is malformed. Borrowed pointers point into the bytes
 * the iterator walks. */
int rtcp_parse_sr(const struct rtcp_hdr *hdr, struct rtcp_sr *out);
int rtcp_parse_rr(const struct rtcp_hdr *hdr, struct rtcp_rr *out);
/* Checks every chunk of an SDES packet and readies *it to walk them. */
int rtcp_parse_sdes(const struct rtcp_hdr *hdr, struct rtcp_sdes_iter *it);
/* Yields the next chunk: 1, or 0 at the end. Only valid after rtcp_parse_sdes returned 0. */
int rtcp_sdes_next(struct rtcp_sdes_iter *it, struct rtcp_sdes_chunk *out);
int rtcp_parse_bye(const struct rtcp_hdr *hdr, struct rtcp_bye *out);
int rtcp_parse_nack(const struct rtcp_hdr *hdr, struct rtcp_nack *out);
/* Walks every lost sequence number of a parsed NACK: PID, then each BLP bit set. */
void rtcp_nack_iter_init(struct rtcp_nack_iter *it, const struct rtcp_nack *nack);
/* Writes the next lost sequence number: returns true, or false at the end. */
bool rtcp_nack_iter_next(struct rtcp_nack_iter *it, uint16_t *seq);
int rtcp_parse_twcc(const struct rtcp_hdr *hdr, struct rtcp_twcc *out);
void rtcp_twcc_iter_init(struct rtcp_twcc_iter *it, const struct rtcp_twcc *fb);
/* Yields the status of the next of status_count packets: true, or false at the end. Only
 * valid on a struct rtcp_twcc that rtcp_parse_twcc filled. */
bool rtcp_twcc_iter_next(struct rtcp_twcc_iter *it, struct rtcp_twcc_status *out);
int rtcp_parse_pli(const struct rtcp_hdr *hdr, struct rtcp_pli *out);
int rtcp_parse_fir(const struct rtcp_hdr *hdr, struct rtcp_fir *out);
/* Entry i < entry_count of a parsed FIR. */
void rtcp_fir_entry_get(const struct rtcp_fir *fir, size_t i, struct rtcp_fir_entry *out);
/* REMB is an application-layer PSFB: -EINVAL when the FCI does not start with "REMB". */
int rtcp_parse_remb(const struct rtcp_hdr *hdr, struct rtcp_remb *out);

/* Writers: each writes one packet at buf and returns its length, -ENOSPC when it does not fit
 * in cap, or -EINVAL for arguments the wire cannot carry (counts over 31, empty lists). A
 * compound is built by writing packets one after another. */
int rtcp_write_sr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_sender_info *si,
                  const struct rtcp_report_block *rb, size_t rb_count);
int rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_report_block *rb,
                  size_t rb_count);
/* cname_len 1..255. */
int rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname,
                          size_t cname_len);
/* reason may be NULL; reason_len <= 255. */
int rtcp_write_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, size_t ssrc_count,
                   const char *reason, size_t reason_len);
/* seqs sorted in wrap-aware order (65534, 65535, 0, 1), n >= 1; each seq within 16 of the
 * item's PID shares its BLP, duplicates are dropped. */
int rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, size_t n);
int rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
/* n >= 1 entries; the media SSRC field is 0 as RFC 5104 asks. */
int rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                   const struct rtcp_fir_entry *entries, size_t n);
/* The bitrate is rounded down to what an 18-bit mantissa carries; ssrc_count <= 255. */
int rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, size_t ssrc_count);

/* Writes the 12-byte common header of an RTPFB/PSFB packet of total length len (a multiple of
 * 4). For the TWCC builder, which lays out its own FCI. */
void rtcp__fb_header_store(uint8_t *buf, uint8_t pt, uint8_t fmt, size_t len, uint32_t sender,
                           uint32_t media);

#endif
