/* The scenarios sfu-bench runs: who is in each room and what they send and receive. */
#ifndef BENCH_LT_SCENARIO_H
#define BENCH_LT_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "lt.h"

#define LT_ROOM_MAX 32 /* people in one room */

struct lt_scenario {
    char name[32];
    unsigned rooms;  /* rooms at once (with --ramp: the first step) */
    unsigned people; /* per room */
    struct lt_role roles[LT_ROOM_MAX];
    /* ward-round: how many consultations (residents) each round moves through, one after
     * another, the clinician and the care home's device leaving one and joining the next;
     * 0 for the others. */
    unsigned moves;
};

/* What --scenario custom takes. */
struct lt_custom {
    unsigned publishers;  /* send audio and video (and receive) */
    unsigned subscribers; /* receive only */
};

/* Fills s for name ("consultation", "group", "mdt", "ward-round", "custom"), with rooms rooms.
 * Returns 0, or -EINVAL with a message in err (an unknown name, a custom room that is empty
 * or bigger than LT_ROOM_MAX). */
int lt_scenario_make(struct lt_scenario *s, const char *name, unsigned rooms,
                     const struct lt_custom *custom, char *err, size_t errlen);

/* Published tracks and subscriptions of one room: the streams sent, and the copies a server
 * forwards (each stream once to every other person who receives). */
void lt_scenario_counts(const struct lt_scenario *s, unsigned *streams, unsigned *copies);

/* One line describing the scenario, e.g. "group: 2 rooms of 13 (host + 12 patients), ...". */
void lt_scenario_describe(const struct lt_scenario *s, char *out, size_t outlen);

#endif
