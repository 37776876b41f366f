/*
 * patch: apply a JSON object of field changes to a tracker header or to an
 * entry, validating names, types and values. Shared by the CLI (which builds
 * the object from its options) and the store. Pure: no I/O.
 */
#ifndef FT_PATCH_H
#define FT_PATCH_H

#include "model.h"

#include <jansson.h>

struct ft_err;

/*
 * Header fields: slug, org, title, started, owner, objective, status,
 * repro_command, repro_timeout_ms, repro_expect, repro_note, symptoms_note,
 * hyps_note, results_note, fix_summary, fix_why, fix_evidence. Each field
 * applied is also set in `changed` (normalised). FT_EINVAL names a bad field.
 */
int ft_tracker_patch(struct ft_tracker *t, json_t *patch, json_t *changed, struct ft_err *err);
/*
 * Entry fields by kind: text (all; "attempt" for results), title (step),
 * state (item), verdict and evidence (hyp), outcome, notes and date (result).
 */
int ft_entry_patch(struct ft_entry *e, json_t *patch, struct ft_err *err);

/*
 * A run as the runner produced it: command (required), cwd, label, started_at (as
 * ft_json_time writes it), duration_ms, exit_code (null: did not exit), signal, outcome,
 * log, log_truncated, diagnosis (an object, or null). Unknown fields are FT_EINVAL.
 */
int ft_run_patch(struct ft_run *r, json_t *patch, struct ft_err *err);

#endif
