/* RFC 3339 date-times as the JSON HTTP API reads and writes them (starts_at, expires_at, ...). */
#ifndef SIG_API_TIME_H
#define SIG_API_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Room for a time from api_time_format ("2026-12-01T09:30:00Z"), with its NUL. */
#define API_TIME_MAX 32

/* Parses an RFC 3339 date-time (len bytes, need not be NUL-terminated), such as
 * "2026-12-01T09:30:00Z" or "2026-12-01T10:30:00.250+01:00", into unix seconds (a fraction is
 * dropped; a leap second 60 counts as the next second, as unix time has none). 'T' and 'Z' may
 * be lower case; an offset of -00:00 is read as UTC. Writes *out only on success. Returns 0, or
 * -EINVAL for a NULL s or out and for anything else (a date that does not exist, a missing
 * offset, trailing bytes, years outside 0000..9999). */
int api_time_parse(const char *s, size_t len, int64_t *out);

/* Writes t as RFC 3339 UTC ("2026-12-01T09:30:00Z") into out, always NUL-terminated. Times
 * outside 0..TOKEN_TIME_MAX are clamped to that range. Cannot fail. */
void api_time_format(int64_t t, char out[API_TIME_MAX]);

#endif
