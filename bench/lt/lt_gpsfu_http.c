/* Blocking libcurl calls for the gpsfu target; each is bounded by its timeout. */
#include "lt_gpsfu_http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define BODY_MAX (1u << 20)

struct body {
    char *buf;
    size_t len, cap;
    bool too_long;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    if (b->len + n + 1 > BODY_MAX) {
        b->too_long = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *buf = realloc(b->buf, cap);
        if (!buf)
            return 0;
        b->buf = buf;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
    return size * nmemb;
}

struct cookie_find {
    const char *name;
    char *out; /* LT_GPSFU_COOKIE_LEN */
};

/* "Set-Cookie: name=value; attributes": keeps name=value. */
static size_t header_line(char *data, size_t size, size_t nmemb, void *arg)
{
    struct cookie_find *f = arg;
    size_t n = size * nmemb, nlen = strlen(f->name);
    static const char key[] = "set-cookie:";
    if (n > sizeof(key) - 1 && strncasecmp(data, key, sizeof(key) - 1) == 0) {
        const char *v = data + sizeof(key) - 1, *end = data + n;
        while (v < end && *v == ' ')
            v++;
        if ((size_t)(end - v) > nlen && strncmp(v, f->name, nlen) == 0 && v[nlen] == '=') {
            size_t k = 0;
            while (v + k < end && v[k] != ';' && v[k] != '\r' && v[k] != '\n')
                k++;
            if (k < LT_GPSFU_COOKIE_LEN) {
                memcpy(f->out, v, k);
                f->out[k] = '\0';
            }
        }
    }
    return n;
}

static int perform(CURL *h, int timeout_ms, long *status, char *err, size_t errlen)
{
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* loopback only: an http_proxy must not apply */
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

int lt_gpsfu_http_api(const char *method, const char *url, const char *key, const char *body,
                      int timeout_ms, long *status, char **resp, char *err, size_t errlen)
{
    struct body b = {0};
    struct curl_slist *hdrs = NULL, *h2;
    char auth[256];
    int rc;
    CURL *h = curl_easy_init();
    if (!h)
        return -ENOMEM;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (hdrs && (h2 = curl_slist_append(hdrs, auth)))
        hdrs = h2;
    else {
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        return -ENOMEM;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    rc = perform(h, timeout_ms, status, err, errlen);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc == 0 && !b.buf) {
        b.buf = strdup("");
        if (!b.buf)
            rc = -ENOMEM;
    }
    if (rc < 0) {
        free(b.buf);
        return rc;
    }
    *resp = b.buf;
    return 0;
}

int lt_gpsfu_http_get_cookie(const char *url, const char *cookie_name, int timeout_ms, long *status,
                             char *cookie, char *err, size_t errlen)
{
    struct cookie_find f = {.name = cookie_name, .out = cookie};
    struct curl_slist *hdrs = NULL;
    int rc;
    CURL *h = curl_easy_init();
    if (!h)
        return -ENOMEM;
    cookie[0] = '\0';
    /* What a browser's navigation sends: the page, not the program's JSON refusal. */
    hdrs = curl_slist_append(hdrs, "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8");
    if (!hdrs) {
        curl_easy_cleanup(h);
        return -ENOMEM;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
    rc = perform(h, timeout_ms, status, err, errlen);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}
