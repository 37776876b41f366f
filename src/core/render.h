/*
 * render: a tracker as text (the plain layout of the model tracker, byte for
 * byte), as GitHub-flavoured Markdown, as the numbered terminal view, and as
 * JSON. Pure functions: they append to the caller's buffer and never fail
 * except when the buffer's cap is reached (FT_ETOOBIG).
 *
 * The text and Markdown layouts are the contract that import.c reads back:
 * import(render(t)) gives t's content again. The grammar is in docs/format.md.
 */
#ifndef FT_RENDER_H
#define FT_RENDER_H

#include "model.h"

#include <jansson.h>

struct ft_buf;

enum ft_format { FT_FMT_VIEW, FT_FMT_TEXT, FT_FMT_MD, FT_FMT_JSON, FT_FMT_COMPACT };

/* "view", "text", "md" (or "markdown"), "json", "compact"; -1 when unknown. */
int ft_format_parse(const char *s);

int ft_render_text(const struct ft_tracker *t, struct ft_buf *out);
int ft_render_view(const struct ft_tracker *t, struct ft_buf *out);
int ft_render_md(const struct ft_tracker *t, struct ft_buf *out);
/* The compact view for agents (compact.c): not a layout import reads back. */
int ft_render_compact(const struct ft_tracker *t, struct ft_buf *out);
/* Render in any format; JSON is pretty-printed with a final newline. */
int ft_render(const struct ft_tracker *t, enum ft_format fmt, struct ft_buf *out);

/* The whole tracker as a new JSON object (caller owns the reference). */
json_t *ft_tracker_to_json(const struct ft_tracker *t);
/* One entry as a new JSON object with its kind's field names. */
json_t *ft_entry_to_json(const struct ft_entry *e);
/* One run as a new JSON object; with_log adds the log and diagnosis. */
json_t *ft_run_to_json(const struct ft_run *r, int with_log);
/* An ISO-8601 time string as a JSON value, or null for 0. */
json_t *ft_json_time(int64_t ms);

/* Section labels of the text layout, shared with the importer. */
#define FT_L_RULES    "Ground Rules for Agents"
#define FT_L_WORKFLOW "Workflow"
#define FT_L_PROGRESS "Progress Tracker"
#define FT_L_NOTES    "Notes & Follow-Ups"
#define FT_L_REPRO    "Reproduction command"
#define FT_L_SYMPTOMS "Observed symptoms"
#define FT_L_HYPS     "Hypotheses"
#define FT_L_RESULTS  "Results log"
#define FT_L_FIX      "Final fix"
#define FT_L_FOLLOWUP "Follow-up"
#define FT_L_NOTE     "Note"
#define FT_L_TIMEOUT  "Timeout"
#define FT_L_EXPECT   "Expected failure mode"
#define FT_L_WHY      "Why it works"
#define FT_L_EVIDENCE "Evidence"
#define FT_ARROW      " \xe2\x86\x92 " /* " → " */
#define FT_DASH       " \xe2\x80\x94 " /* " — " */
#define FT_BULLET     "\xe2\x80\xa2"   /* "•" */

/* Heading of each progress group in the text layout, by enum ft_state. */
extern const char *const ft_group_heading[FT_ST__COUNT];
/* Verdict labels of the text layout ("Open", "Ruled out", "Confirmed"). */
extern const char *const ft_verdict_label[FT_V__COUNT];

/* Write s as a Markdown code span (backtick fence chosen to fit s). */
void ft_md_code_span(struct ft_buf *out, const char *s);

#endif
