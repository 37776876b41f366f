/*
 * merge: the three-way merge of a tracker kept in a file and in a store (`flowtrack sync`).
 *
 * Three trackers come in, each as a layout reader read it from a rendered document, so that
 * they compare field for field: the base (the document as of the last sync), the file (as it
 * is now) and the store (its rendering now). Base and store entries carry their store
 * numbers; file entries have none (the layouts hold no numbers), so they are matched to the
 * base (or, without a base, to the store) by their text: first every entry whose identity
 * (the text; a step's title and text; a result's date and attempt) is the same on both sides,
 * wherever it moved, then, between two matched neighbours, the unmatched entries pair up in
 * order as edits of each other. Entries added on both sides with the same identity are one
 * entry.
 *
 * Changes merge field by field: a field changed on one side takes that side's value; the
 * same field changed on both sides to different values is a conflict, and so is an entry
 * removed on one side and changed on the other, and an order changed differently on both
 * sides. Without a base (the first sync of a file and a tracker that both exist), every field
 * that differs between file and store is a conflict, and what only one side holds is kept.
 * FT_MERGE_FILE / FT_MERGE_STORE settle each conflict for that side; FT_MERGE_ASK leaves them
 * in the conflict list and the caller writes nothing.
 *
 * The result is a plan: the writes that bring the store to the merged tracker, as operation
 * arguments (src/ops/ops.h), in order; the file is then the store's rendering. The order of
 * progress items is the store's (the layouts group items by state, so a file cannot say it);
 * an item added in the file goes last. Pure: no I/O.
 */
#ifndef FT_MERGE_H
#define FT_MERGE_H

#include "model.h"

#include <jansson.h>

enum ft_merge_prefer {
    FT_MERGE_ASK,   /* conflicts are reported, not settled */
    FT_MERGE_FILE,  /* --ours: the file's side of each conflict */
    FT_MERGE_STORE, /* --theirs: the store's side */
};

/*
 * Plan the merge. base may be NULL (no base: see above). On return *plan is a new JSON array
 * of steps and *conflicts a new JSON array (empty when none; under FT_MERGE_FILE and
 * FT_MERGE_STORE it lists the conflicts that were settled). A step is one of
 *   {"op": "tracker.edit", "fields": {...}}
 *   {"op": "entry.add",    "kind": K, "fields": {...}, "ref": R}
 *   {"op": "entry.edit",   "kind": K, "num": N, "fields": {...}}
 *   {"op": "entry.remove", "kind": K, "num": N}
 *   {"op": "entry.move",   "kind": K, "num": N | "ref": R, "position": P}
 * where R names the entry an earlier entry.add created (its number is known once it ran).
 * A conflict is {"kind": K or "header", "num": N or null, "text", "field", "file", "store",
 * "base"}: the values as the layouts write them, null where that side removed the entry (or,
 * for "base", where there is none).
 */
void ft_merge_plan(const struct ft_tracker *base, const struct ft_tracker *file,
                   const struct ft_tracker *store, enum ft_merge_prefer prefer, json_t **plan,
                   json_t **conflicts);

#endif
