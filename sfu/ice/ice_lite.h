/* ICE-lite (RFC 8445 section 2.5) on libnice's STUN library: credentials, a cheap STUN test, the
 * USERNAME routing peek, and the answer to a browser's Binding request. */
#ifndef SFU_ICE_LITE_H
#define SFU_ICE_LITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Lengths of the credentials we generate (RFC 8839 wants at least 4 and 22 ice-chars). */
#define ICE_UFRAG_LEN 8
#define ICE_PWD_LEN   24

/* Room for any reply ice_lite_check writes: header, XOR-MAPPED-ADDRESS (IPv6), the request's
 * USERNAME (at most 513 bytes plus padding), ERROR-CODE, MESSAGE-INTEGRITY, FINGERPRINT. */
#define ICE_REPLY_MAX 1024

/* Fills ufrag with ICE_UFRAG_LEN and pwd with ICE_PWD_LEN ice-chars (A-Z a-z 0-9 + /) drawn from
 * OpenSSL's RAND_bytes, each NUL-terminated. Control path. Returns 0, -ENOSPC if a capacity is
 * below its length + 1, -EIO if the random generator fails (nothing usable is written then). */
int ice_credentials_generate(char *ufrag, size_t ufrag_cap, char *pwd, size_t pwd_cap);

/* A cheap test that a datagram may be STUN (RFC 5389 section 6): the first two bits are 0, the
 * magic cookie is present, and the length field is a multiple of 4 that matches the datagram.
 * Proves nothing about integrity. */
bool ice_stun_maybe(const uint8_t *buf, size_t len);

/* Finds USERNAME in a STUN message without checking its integrity yet (used only to route a
 * first check to its transport) and points *ufrag at the part before ':' inside buf, with its
 * length in *ufrag_len (an ICE username is "recipient-ufrag:sender-ufrag"). Every attribute is
 * bounds-checked. Returns 0; -EBADMSG if the message is not STUN, an attribute overruns it, or
 * USERNAME has no ':' or an empty local part; -ENOENT if there is no USERNAME. */
int ice_stun_username_local(const uint8_t *buf, size_t len, const char **ufrag, size_t *ufrag_len);

/* What the peer said in a check that ice_lite_check accepted. */
enum ice_check_kind {
    /* An authenticated Binding request, answered with a success response: the source address
     * is proven to hold the password, so the transport may (re)learn it. */
    ICE_CHECK_REQUEST,
    /* A Binding indication (an RFC 8445 section 11 keepalive): nothing to send. Indications
     * carry no MESSAGE-INTEGRITY, so it proves nothing: refresh a known address only. */
    ICE_CHECK_INDICATION,
    /* An authenticated Binding request that claimed ICE-CONTROLLED too: answered with a
     * 487 Role Conflict error (see ice_lite_check). The address is not validated. */
    ICE_CHECK_ROLE_CONFLICT,
};

struct ice_check_info {
    enum ice_check_kind kind;
    bool use_candidate; /* USE-CANDIDATE present: the browser nominates this pair */
    uint32_t priority;  /* PRIORITY of the browser's candidate (0 when absent) */
};

/* One per worker thread: a StunAgent and its scratch messages. Not thread-safe, never shared. */
struct ice_lite;

/* Creates the per-worker checker. Control path (allocates). Writes *out only on success.
 * Returns 0 or -ENOMEM. */
int ice_lite_new(struct ice_lite **out);

/* Frees the checker; accepts NULL. */
void ice_lite_free(struct ice_lite *ice);

/* Checks one STUN datagram received on the transport whose credentials are local_ufrag and
 * local_pwd (NUL-terminated, borrowed for the call), from the address `from` (AF_INET or
 * AF_INET6). req and from are borrowed for the call. On entry *reply_len is the capacity of
 * reply (ICE_REPLY_MAX is always enough); on success it is the number of bytes to send back to
 * `from` (0 for an indication) and *info says what was received.
 *
 * A Binding request is accepted when its USERNAME is "local_ufrag:..." and its
 * MESSAGE-INTEGRITY verifies with local_pwd; FINGERPRINT is required on everything. The reply is
 * a success response with XOR-MAPPED-ADDRESS = from, the request's USERNAME, MESSAGE-INTEGRITY
 * and FINGERPRINT. An ICE-lite agent is always controlled (RFC 8445 section 6.1.1), so a
 * request carrying ICE-CONTROLLED (a peer that also thinks it is controlled) is answered with a
 * signed 487 Role Conflict error whatever the tie-breakers, never by switching roles (libnice
 * would switch us when our tie-breaker wins; we override that), which makes the full agent
 * take the controlling role (RFC 8445 section 7.2.5.1). ICE-CONTROLLING is what we expect.
 *
 * Returns 0 (see info->kind); -EACCES when the request is not authenticated for this transport
 * (USERNAME of another ufrag, wrong password, or USERNAME/MESSAGE-INTEGRITY missing): send
 * nothing at all; -EBADMSG for malformed STUN, a missing or bad FINGERPRINT; -EPROTO for what an
 * ICE-lite agent does not answer (responses, other methods, unknown comprehension-required
 * attributes): ignore it; -EINVAL for an unusable `from` or empty credentials; -ENOSPC if reply
 * is too small.
 * No allocation, no syscall. */
int ice_lite_check(struct ice_lite *ice, const uint8_t *req, size_t len,
                   const struct sockaddr *from, socklen_t from_len, const char *local_ufrag,
                   const char *local_pwd, uint8_t *reply, size_t *reply_len,
                   struct ice_check_info *info);

#endif
