/*
 * check: the ground rules a machine can check on a tracker.
 *   run-after-update   a run or results entry is newer than the last progress change
 *   verdict-before-fix every hypothesis has a verdict once a final fix is written
 *   fix-evidence       a final fix states its evidence
 *   doing-too-long     no item stays "doing" longer than doing_max_ms
 * Pure: the caller passes the time.
 */
#ifndef FT_CHECK_H
#define FT_CHECK_H

#include "model.h"

#include <jansson.h>

#define FT_CHECK_DOING_MAX_DEFAULT (3LL * 24 * 3600 * 1000) /* 3 days */

struct ft_check_opts {
    int64_t now;          /* Unix ms */
    int64_t doing_max_ms; /* threshold of doing-too-long */
};

/* A new JSON array of findings {rule, message, kind?, num?}; empty when all hold. */
json_t *ft_check(const struct ft_tracker *t, const struct ft_check_opts *o);

#endif
