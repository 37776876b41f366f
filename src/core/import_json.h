/*
 * import_json: a tracker from its JSON model (`flowtrack show --json`), so that a
 * tracker moves between stores with its content: header, every entry kind with its
 * state, verdict or outcome, entry numbers, item claims and state-change history,
 * section notes, reproduction and final fix. Ids, times other than those of claims
 * and state changes, the slug and the derived progress counts are not read; runs are
 * not imported (their logs are not in the JSON) and say so in a warning.
 *
 * Internal to the importers: callers use ft_import_read() (import.h).
 */
#ifndef FT_IMPORT_JSON_H
#define FT_IMPORT_JSON_H

#include "import.h"

#include <stddef.h>

struct ft_err;

/* 0, or FT_EINVAL with "line N: reason" (JSON syntax) or "json: FIELD: reason". */
int ft__import_json(const char *data, size_t len, struct ft_tracker **out,
                    struct ft_import_report *rep, struct ft_err *err);

#endif
