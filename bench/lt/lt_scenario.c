#include "lt_scenario.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void role_set(struct lt_role *r, bool host, bool av, bool screen, bool subscribe)
{
    memset(r, 0, sizeof(*r));
    r->host = host;
    r->publish[LT_AUDIO] = av;
    r->publish[LT_VIDEO] = av;
    r->publish[LT_SCREEN] = screen;
    r->subscribe = subscribe;
}

int lt_scenario_make(struct lt_scenario *s, const char *name, unsigned rooms,
                     const struct lt_custom *custom, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->rooms = rooms ? rooms : 1;
    if (strcmp(name, "consultation") == 0) {
        /* A GP and a patient, both on camera. */
        s->people = 2;
    } else if (strcmp(name, "group") == 0) {
        /* A group consultation: the clinician and 12 patients, everyone on camera. */
        s->people = 13;
    } else if (strcmp(name, "mdt") == 0) {
        /* A multi-disciplinary team meeting: 8 clinicians, one sharing a screen. */
        s->people = 8;
    } else if (strcmp(name, "ward-round") == 0) {
        /* A nursing-home virtual ward round: the GP and the home's device, moving through 10
         * residents, one consultation each. */
        s->people = 2;
        s->moves = 10;
    } else if (strcmp(name, "custom") == 0) {
        unsigned n = custom ? custom->publishers + custom->subscribers : 0;
        if (n < 2 || n > LT_ROOM_MAX || !custom->publishers) {
            snprintf(err, errlen,
                     "a custom room needs at least one publisher and 2 to %d people in all "
                     "(--publishers, --subscribers)",
                     LT_ROOM_MAX);
            return -EINVAL;
        }
        s->people = n;
        for (unsigned i = 0; i < n; i++)
            role_set(&s->roles[i], i == 0, i < custom->publishers, false, true);
        return 0;
    } else {
        snprintf(err, errlen,
                 "unknown scenario '%s' (consultation, group, mdt, ward-round or custom)", name);
        return -EINVAL;
    }
    for (unsigned i = 0; i < s->people; i++)
        role_set(&s->roles[i], i == 0, true, strcmp(name, "mdt") == 0 && i == 1, true);
    return 0;
}

void lt_scenario_counts(const struct lt_scenario *s, unsigned *streams, unsigned *copies)
{
    unsigned st = 0, cp = 0;
    for (unsigned i = 0; i < s->people; i++) {
        for (int k = 0; k < LT_TRACKS; k++) {
            if (!s->roles[i].publish[k])
                continue;
            st++;
            for (unsigned j = 0; j < s->people; j++)
                cp += j != i && s->roles[j].subscribe;
        }
    }
    *streams = st;
    *copies = cp;
}

void lt_scenario_describe(const struct lt_scenario *s, char *out, size_t outlen)
{
    unsigned streams, copies;
    lt_scenario_counts(s, &streams, &copies);
    snprintf(out, outlen, "%s: %u room%s of %u%s; per room %u streams sent, %u forwarded copies",
             s->name, s->rooms, s->rooms == 1 ? "" : "s", s->people,
             s->moves ? " (each moving through consultations one after another)" : "", streams,
             copies);
}
