/* The HTTP calls of the gpsfu target (libcurl, blocking, bounded): the practice API that books
 * a consultation, and opening a link as a browser does to get its session cookie. Private to
 * the gpsfu target. */
#ifndef BENCH_LT_GPSFU_HTTP_H
#define BENCH_LT_GPSFU_HTTP_H

#include <stddef.h>

#define LT_GPSFU_COOKIE_LEN 160

/* Calls the practice API: method ("POST", "DELETE", ...) on url with "Authorization: Bearer
 * key" and body (JSON, or NULL for none). *status gets the HTTP status and *resp the body
 * (NUL-terminated, the caller's to free()). Errors: -ENOMEM, -EIO (transport; curl's message in
 * err), -ETIMEDOUT. */
int lt_gpsfu_http_api(const char *method, const char *url, const char *key, const char *body,
                      int timeout_ms, long *status, char **resp, char *err, size_t errlen);

/* GETs a link page as a browser (Accept: text/html) and copies the name=value of the cookie
 * named cookie_name that the response sets into cookie (LT_GPSFU_COOKIE_LEN). *status gets the
 * HTTP status. Returns 0 (cookie "" when none was set), -ENOMEM, -EIO, -ETIMEDOUT. */
int lt_gpsfu_http_get_cookie(const char *url, const char *cookie_name, int timeout_ms, long *status,
                             char *cookie, char *err, size_t errlen);

#endif
