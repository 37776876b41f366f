/*
 * import: read a tracker back from the text layout or from Markdown.
 *
 * Both layouts are first turned into one outline (header fields, then
 * sections of nested list items with their line numbers) and the outline is
 * then read into a struct ft_tracker, so the two formats share every rule.
 * Free prose where the layout expects a structured value (a placeholder
 * reproduction command, a results line with no outcome) is kept in the
 * matching note or notes field, never dropped; "YYYY-MM-DD" means not set.
 *
 * ft_import() is the exact reader: it takes only flowtrack's own layouts, in
 * their order, and import(render(t)) gives t's content back byte for byte.
 * ft_import_read() is what the command and the API use: the exact reader first
 * and, when it refuses the text, the tolerant reader (import_tolerant.c), which
 * takes hand-written trackers and keeps what it cannot place as notes, with a
 * warning per place; or the JSON reader (import_json.c) for `show --json`.
 *
 * Errors: FT_EINVAL with err->msg "line N: reason"; FT_ETOOBIG for input over
 * FT_IMPORT_MAX_BYTES or a line over FT_IMPORT_MAX_LINE. Nothing is returned
 * on error (*out stays NULL).
 */
#ifndef FT_IMPORT_H
#define FT_IMPORT_H

#include "model.h"

#include <stddef.h>

struct ft_err;

#define FT_IMPORT_MAX_BYTES (16u << 20)
#define FT_IMPORT_MAX_LINE  (64u << 10)

enum ft_import_fmt { FT_IMPORT_AUTO, FT_IMPORT_TEXT, FT_IMPORT_MD, FT_IMPORT_JSON };

/* Which reader ft_import_read() may use for text and Markdown (JSON has one). */
enum ft_import_mode {
    FT_IMPORT_FALLBACK, /* the exact reader, then the tolerant one when it refuses */
    FT_IMPORT_EXACT,    /* the exact reader only */
    FT_IMPORT_TOLERANT, /* the tolerant reader only */
};

/* Something the reader could not place where it belongs, kept as a note. */
struct ft_import_warning {
    int line; /* 1-based; 0 when the input has no lines to point at (JSON) */
    char *msg;
};

/* What ft_import_read() did: the layout, the reader, and its warnings in input order. */
struct ft_import_report {
    enum ft_import_fmt fmt; /* the layout read (never FT_IMPORT_AUTO after a read) */
    int tolerant;           /* 1 when the tolerant reader read it */
    char *exact_refusal;    /* why the exact reader refused, when it did ("" else) */
    struct ft_import_warning *v;
    size_t n, cap;
};

/* Guess the layout: JSON when the first non-blank byte is '{'; Markdown when a line starts
 * with "# " or "## "; else text. */
enum ft_import_fmt ft_import_sniff(const char *data, size_t len);
/* "auto", "text" (or "txt"), "md" (or "markdown"), "json"; -1 when unknown. */
int ft_import_fmt_parse(const char *s);
const char *ft_import_fmt_name(enum ft_import_fmt fmt);
/* "auto" (FT_IMPORT_FALLBACK), "exact", "tolerant"; -1 when unknown. */
int ft_import_mode_parse(const char *s);
/* The exact reader: parse data[0..len) into a new tracker (caller frees it with
 * ft_tracker_free). fmt may not be FT_IMPORT_JSON. */
int ft_import(const char *data, size_t len, enum ft_import_fmt fmt, struct ft_tracker **out,
              struct ft_err *err);
/*
 * Read a tracker with the readers `mode` allows (see above). rep (may be NULL) is
 * initialised here and filled even on error; release it with ft_import_report_release.
 * The input checks (UTF-8, control characters, line and file size) refuse the input
 * whatever the reader.
 */
int ft_import_read(const char *data, size_t len, enum ft_import_fmt fmt, enum ft_import_mode mode,
                   struct ft_tracker **out, struct ft_import_report *rep, struct ft_err *err);
void ft_import_report_init(struct ft_import_report *r);
void ft_import_report_release(struct ft_import_report *r);
/* Append a warning (line 0 = none). r may be NULL. */
void ft_import_warn(struct ft_import_report *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
