/*
 * import_tolerant: the reader of hand-written trackers (grammar and synonym tables:
 * docs/format.md, "What import accepts").
 *
 * Markdown (through md4c) and plain text (line by line) are first turned into one
 * stream of blocks (headings, list items with their depth and checkbox, paragraphs,
 * code blocks, tables); placing the blocks in a tracker is shared. Sections come in any
 * order, at any level, under any of their synonyms; what cannot be placed is kept, in
 * order, as notes of the nearest section, with a warning naming its line. Nothing the
 * input says is dropped, except the markers the model holds as a state (a checkbox, a
 * state emoji, an outcome or verdict word).
 *
 * These are internal to the importers (import.c calls them); the callers' API is import.h.
 */
#ifndef FT_IMPORT_TOLERANT_H
#define FT_IMPORT_TOLERANT_H

#include "import.h"

#include <stddef.h>

struct ft_buf;
struct ft_err;

/* The input checks every reader shares (import.c): UTF-8, control characters, sizes. */
int ft__import_check(const char *data, size_t len, struct ft_err *err);
/*
 * A line cursor over the input (import.c): the 1-based line of a pointer into it. md4c
 * reports text mostly in input order, so counting resumes from the last answer; a pointer
 * outside the input (text md4c made up itself) has no line: 0.
 */
struct ft__lines {
    const char *base, *p;
    size_t len;
    int no;
};
void ft__lines_init(struct ft__lines *l, const char *data, size_t len);
int ft__line_of(struct ft__lines *l, const char *p);
/*
 * Append one piece of md4c text (an MD_TEXTTYPE, passed as an int) as plain text: a line
 * break as "\n", an entity (&amp;, &#32;, ...) as the character it stands for, anything
 * else as it is. A NUL character is the caller's to refuse or drop first (import.c).
 */
void ft__md_text_add(struct ft_buf *b, int type, const char *text, size_t size);
/*
 * Read a hand-written tracker. fmt FT_IMPORT_AUTO reads plain text when a line is a
 * "•" bullet, else Markdown. Sets rep->fmt; appends rep's warnings. 0 or FT_EINVAL
 * ("line N: reason", for a document with no title at all); *out is NULL on error.
 */
int ft__import_tolerant(const char *data, size_t len, enum ft_import_fmt fmt,
                        struct ft_tracker **out, struct ft_import_report *rep, struct ft_err *err);

#endif
