/* ICE-lite Binding handling: our own cheap peeks at STUN bytes, then libnice's StunAgent for
 * FINGERPRINT, MESSAGE-INTEGRITY and the reply. */
#include "ice/ice_lite.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "core/bytes.h"

#define STUN_HDR_LEN      20
#define STUN_COOKIE       0x2112A442u
#define STUN_ATTR_USER    0x0006
#define STUN_USERNAME_MAX 513 /* RFC 5389 section 15.3 */

struct ice_lite {
    StunAgent agent;   /* borrows known_attrs (static) */
    StunMessage req;   /* scratch: the request being checked, borrows the caller's bytes */
    StunMessage resp;  /* scratch: the reply being built, borrows the caller's buffer */
    const char *ufrag; /* borrowed for one ice_lite_check call: the validater reads it */
    size_t ufrag_len;
    const char *pwd; /* borrowed for one ice_lite_check call */
    size_t pwd_len;
};

/* Comprehension-required attributes (below 0x8000) a browser's check may carry; anything else in
 * that range makes libnice report an unknown attribute. Zero-terminated, as libnice expects. */
static const uint16_t known_attrs[] = {
    STUN_ATTRIBUTE_USERNAME,
    STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE,
    0,
};

/* RFC 8445 section 5.3: ice-char = ALPHA / DIGIT / "+" / "/"; 64 of them, so a byte's low six
 * bits pick one without bias. */
static const char ice_chars[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int ice_chars_fill(char *out, size_t n)
{
    uint8_t raw[ICE_PWD_LEN > ICE_UFRAG_LEN ? ICE_PWD_LEN : ICE_UFRAG_LEN];

    if (n > sizeof(raw))
        return -EINVAL;
    if (RAND_bytes(raw, (int)n) != 1)
        return -EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = ice_chars[raw[i] & 63];
    out[n] = '\0';
    return 0;
}

int ice_credentials_generate(char *ufrag, size_t ufrag_cap, char *pwd, size_t pwd_cap)
{
    char u[ICE_UFRAG_LEN + 1], p[ICE_PWD_LEN + 1];
    int err;

    if (ufrag_cap < sizeof(u) || pwd_cap < sizeof(p))
        return -ENOSPC;
    /* Build both first so a failure leaves the caller's buffers untouched. */
    err = ice_chars_fill(u, ICE_UFRAG_LEN);
    if (err == 0)
        err = ice_chars_fill(p, ICE_PWD_LEN);
    if (err < 0)
        return err;
    memcpy(ufrag, u, sizeof(u));
    memcpy(pwd, p, sizeof(p));
    return 0;
}

bool ice_stun_maybe(const uint8_t *buf, size_t len)
{
    if (len < STUN_HDR_LEN || (buf[0] & 0xC0) != 0)
        return false;
    if (be32_load(buf + 4) != STUN_COOKIE)
        return false;
    size_t body = be16_load(buf + 2);
    return body % 4 == 0 && body + STUN_HDR_LEN == len;
}

int ice_stun_username_local(const uint8_t *buf, size_t len, const char **ufrag, size_t *ufrag_len)
{
    if (!ice_stun_maybe(buf, len))
        return -EBADMSG;

    size_t off = STUN_HDR_LEN;
    while (off < len) {
        if (len - off < 4)
            return -EBADMSG;
        uint16_t type = be16_load(buf + off);
        size_t alen = be16_load(buf + off + 2);
        size_t padded = (alen + 3) & ~(size_t)3;
        off += 4;
        if (padded > len - off)
            return -EBADMSG;
        if (type == STUN_ATTR_USER) {
            const uint8_t *colon = memchr(buf + off, ':', alen);
            if (!colon || colon == buf + off)
                return -EBADMSG;
            *ufrag = (const char *)(buf + off);
            *ufrag_len = (size_t)(colon - (buf + off));
            return 0;
        }
        off += padded;
    }
    return -ENOENT;
}

int ice_lite_new(struct ice_lite **out)
{
    struct ice_lite *ice = calloc(1, sizeof(*ice));

    if (!ice)
        return -ENOMEM;
    /* RFC 5389 with short-term credentials and FINGERPRINT on everything (RFC 8445 section 7.1).
     * Indications are keepalives that carry no MESSAGE-INTEGRITY (section 11), hence
     * NO_INDICATION_AUTH. No SOFTWARE: we do not advertise what we run. */
    stun_agent_init(&ice->agent, known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT |
                        STUN_AGENT_USAGE_NO_INDICATION_AUTH);
    *out = ice;
    return 0;
}

void ice_lite_free(struct ice_lite *ice)
{
    free(ice);
}

/* libnice asks for the key of a USERNAME: only "our-ufrag:their-ufrag" of this transport has
 * one. Refusing here makes stun_agent_validate report UNAUTHORIZED, so another transport's check
 * (or a guess) never gets an answer. */
static bool ice_lite_key_lookup(StunAgent *agent, StunMessage *msg, uint8_t *username,
                                uint16_t username_len, uint8_t **password, size_t *password_len,
                                void *arg)
{
    struct ice_lite *ice = arg;

    (void)agent;
    (void)msg;
    if (!username || username_len > STUN_USERNAME_MAX || username_len <= ice->ufrag_len)
        return false;
    if (memcmp(username, ice->ufrag, ice->ufrag_len) != 0 || username[ice->ufrag_len] != ':')
        return false;
    /* libnice only reads the key; its callback type is not const-correct. */
    *password = (uint8_t *)(uintptr_t)ice->pwd;
    *password_len = ice->pwd_len;
    return true;
}

static int ice_lite_validate_errno(StunValidationStatus st)
{
    switch (st) {
    case STUN_VALIDATION_SUCCESS:
        return 0;
    case STUN_VALIDATION_UNAUTHORIZED:
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
        return -EACCES;
    case STUN_VALIDATION_UNMATCHED_RESPONSE:
    case STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE:
    case STUN_VALIDATION_UNKNOWN_ATTRIBUTE:
    case STUN_VALIDATION_FORBIDDEN:
        return -EPROTO;
    case STUN_VALIDATION_NOT_STUN:
    case STUN_VALIDATION_INCOMPLETE_STUN:
    case STUN_VALIDATION_BAD_REQUEST:
    default:
        return -EBADMSG;
    }
}

/* An indication is not authenticated, but if it names a USERNAME it must be ours: a keepalive
 * routed to this transport by address yet naming another ufrag is not for us. */
static int ice_lite_indication(struct ice_lite *ice, const uint8_t *req, size_t len)
{
    const char *u;
    size_t ulen;
    int err = ice_stun_username_local(req, len, &u, &ulen);

    if (err == -ENOENT)
        return 0;
    if (err < 0)
        return err;
    if (ulen != ice->ufrag_len || memcmp(u, ice->ufrag, ulen) != 0)
        return -EACCES;
    return 0;
}

int ice_lite_check(struct ice_lite *ice, const uint8_t *req, size_t len,
                   const struct sockaddr *from, socklen_t from_len, const char *local_ufrag,
                   const char *local_pwd, uint8_t *reply, size_t *reply_len,
                   struct ice_check_info *info)
{
    struct sockaddr_storage src;
    size_t cap = *reply_len;
    bool controlling = false;
    int err;

    /* libnice reads the whole sockaddr_storage for the family it finds: copy the caller's
     * (possibly shorter) address into a full one after checking it is complete. */
    if (from_len < (socklen_t)sizeof(sa_family_t))
        return -EINVAL;
    if (!((from->sa_family == AF_INET && from_len >= (socklen_t)sizeof(struct sockaddr_in)) ||
          (from->sa_family == AF_INET6 && from_len >= (socklen_t)sizeof(struct sockaddr_in6))))
        return -EINVAL;
    if ((size_t)from_len > sizeof(src))
        from_len = sizeof(src);
    memset(&src, 0, sizeof(src));
    memcpy(&src, from, (size_t)from_len);

    /* Our own cheap test first, so datagrams that are plainly not STUN never reach libnice. */
    if (!ice_stun_maybe(req, len))
        return -EBADMSG;
    /* libnice asserts (aborts) instead of failing when the reply buffer cannot even hold a
     * header, so that case is refused here. */
    if (cap < STUN_HDR_LEN)
        return -ENOSPC;

    /* Empty credentials would let a USERNAME of ":anything" or an empty key through. */
    if (local_ufrag[0] == '\0' || local_pwd[0] == '\0')
        return -EINVAL;

    ice->ufrag = local_ufrag;
    ice->ufrag_len = strlen(local_ufrag);
    ice->pwd = local_pwd;
    ice->pwd_len = strlen(local_pwd);

    err = ice_lite_validate_errno(
        stun_agent_validate(&ice->agent, &ice->req, req, len, ice_lite_key_lookup, ice));
    if (err < 0)
        goto out;

    if (stun_message_get_method(&ice->req) != STUN_BINDING) {
        err = -EPROTO;
        goto out;
    }
    switch (stun_message_get_class(&ice->req)) {
    case STUN_REQUEST:
        break;
    case STUN_INDICATION:
        err = ice_lite_indication(ice, req, len);
        if (err == 0) {
            info->kind = ICE_CHECK_INDICATION;
            info->use_candidate = false;
            info->priority = 0;
            *reply_len = 0;
        }
        goto out;
    default:
        err = -EPROTO;
        goto out;
    }

    /* Role conflicts (RFC 8445 section 7.3.1.1). A lite agent is always controlled and can never
     * take the controlling role (section 6.1.1), so a peer that sends ICE-CONTROLLED must be the
     * one to switch: it does so on a 487 (section 7.2.5.1). libnice 0.1.21 follows the RFC rule
     * for a controlled agent: our tie-breaker below theirs gives a 487 error, otherwise it
     * "switches us" to controlling and builds a success response (older releases had the comparison
     * the other way round). We pass 0, so the error is libnice's choice for every tie-breaker but
     * 0; whenever libnice reports a conflict and built a success response anyway, we replace it
     * with our own signed 487 and ignore the role change. ICE-CONTROLLING is the expected case. */
    size_t n = cap;
    StunUsageIceReturn r = stun_usage_ice_conncheck_create_reply(
        &ice->agent, &ice->req, &ice->resp, reply, &n, &src, sizeof(src), &controlling, 0,
        STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    switch (r) {
    case STUN_USAGE_ICE_RETURN_SUCCESS:
    case STUN_USAGE_ICE_RETURN_ROLE_CONFLICT:
        break;
    case STUN_USAGE_ICE_RETURN_MEMORY_ERROR:
        err = -ENOSPC;
        goto out;
    case STUN_USAGE_ICE_RETURN_INVALID_ADDRESS:
        err = -EINVAL;
        goto out;
    default:
        err = -EPROTO;
        goto out;
    }
    if (n == 0) {
        /* libnice reports success with an empty reply when its 487 did not fit. */
        err = -ENOSPC;
        goto out;
    }
    if (r == STUN_USAGE_ICE_RETURN_ROLE_CONFLICT &&
        stun_message_get_class(&ice->resp) != STUN_ERROR) {
        /* The error carries the request's key, so finish_message signs it. */
        if (!stun_agent_init_error(&ice->agent, &ice->resp, reply, cap, &ice->req,
                                   STUN_ERROR_ROLE_CONFLICT)) {
            err = -ENOSPC;
            goto out;
        }
        n = stun_agent_finish_message(&ice->agent, &ice->resp, NULL, 0);
        if (n == 0) {
            err = -ENOSPC;
            goto out;
        }
    }

    if (stun_message_get_class(&ice->resp) == STUN_ERROR) {
        info->kind = ICE_CHECK_ROLE_CONFLICT;
        info->use_candidate = false;
        info->priority = 0;
    } else {
        info->kind = ICE_CHECK_REQUEST;
        info->use_candidate = stun_usage_ice_conncheck_use_candidate(&ice->req);
        info->priority = stun_usage_ice_conncheck_priority(&ice->req);
    }
    *reply_len = n;
    err = 0;
out:
    /* Do not keep pointers to the caller's strings and bytes past the call. */
    ice->ufrag = NULL;
    ice->pwd = NULL;
    ice->req.buffer = NULL;
    ice->resp.buffer = NULL;
    return err;
}
