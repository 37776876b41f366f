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

enum ft_import_fmt { FT_IMPORT_AUTO, FT_IMPORT_TEXT, FT_IMPORT_MD };

/* Guess the layout: Markdown when a line starts with "# " or "## ". */
enum ft_import_fmt ft_import_sniff(const char *data, size_t len);
/* Parse data[0..len) into a new tracker (caller frees it with ft_tracker_free). */
int ft_import(const char *data, size_t len, enum ft_import_fmt fmt, struct ft_tracker **out,
              struct ft_err *err);

#endif
