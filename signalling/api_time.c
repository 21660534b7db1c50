/* RFC 3339 date-times for the JSON HTTP API: strict parsing of what callers send, and the one
 * UTC form the API writes. */
#include "api_time.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "token.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads width digits at s[*i]; -1 when any is not a digit or the text ends. */
static int digits(const char *s, size_t len, size_t *i, int width)
{
    int v = 0;
    for (int k = 0; k < width; k++, (*i)++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

static bool expect(const char *s, size_t len, size_t *i, const char *one_of)
{
    if (*i >= len || s[*i] == '\0' || strchr(one_of, s[*i]) == NULL)
        return false;
    (*i)++;
    return true;
}

int api_time_parse(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    if (s == NULL || out == NULL)
        return -EINVAL;
    int y = digits(s, len, &i, 4);
    if (y < 0 || !expect(s, len, &i, "-"))
        return -EINVAL;
    int mo = digits(s, len, &i, 2);
    if (mo < 1 || mo > 12 || !expect(s, len, &i, "-"))
        return -EINVAL;
    int d = digits(s, len, &i, 2);
    if (d < 1 || d > days_in_month(y, mo) || !expect(s, len, &i, "Tt"))
        return -EINVAL;
    int h = digits(s, len, &i, 2);
    if (h < 0 || h > 23 || !expect(s, len, &i, ":"))
        return -EINVAL;
    int mi = digits(s, len, &i, 2);
    if (mi < 0 || mi > 59 || !expect(s, len, &i, ":"))
        return -EINVAL;
    int sec = digits(s, len, &i, 2);
    if (sec < 0 || sec > 60)
        return -EINVAL;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return -EINVAL;
    }
    int64_t offset = 0;
    if (expect(s, len, &i, "Zz")) {
        /* UTC */
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1;
        int oh = digits(s, len, &i, 2);
        if (oh < 0 || oh > 23 || !expect(s, len, &i, ":"))
            return -EINVAL;
        int om = digits(s, len, &i, 2);
        if (om < 0 || om > 59)
            return -EINVAL;
        offset = sign * ((int64_t)oh * 3600 + om * 60);
    } else {
        return -EINVAL;
    }
    if (i != len)
        return -EINVAL;
    /* Local time minus its offset is UTC: 10:30+01:00 is 09:30Z. */
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return 0;
}

void api_time_format(int64_t t, char out[API_TIME_MAX])
{
    struct tm tm;
    if (t < 0)
        t = 0;
    if (t > TOKEN_TIME_MAX)
        t = TOKEN_TIME_MAX;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, API_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, API_TIME_MAX, "1970-01-01T00:00:00Z");
}
