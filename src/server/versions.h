/*
 * versions: what the server knows of each tracker from the events log, so that a GET of a
 * tracker is answered without reading the store.
 *
 * A tracker's version is the sequence number of its newest event. The change watch passes
 * every event of the log through ft_versions_event() in order, before it is fanned out, so
 * once a client has seen an event on a stream, the version here is at least that event's:
 * a cached rendering keyed by an older version is never served again. A version also comes
 * from the store when a GET had to read it (ft_versions_note: the larger one is kept).
 *
 * References (a slug, or an id as text) map to tracker ids once the store has resolved them;
 * any event of kind tracker.* forgets them all (a slug may have moved or gone), and
 * tracker.delete forgets that tracker's version. Unknown means "ask the store".
 * Loop thread only.
 */
#ifndef FT_SERVER_VERSIONS_H
#define FT_SERVER_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

struct ft_versions {
    struct ft_vslot {
        int64_t tid;     /* 0: empty */
        int64_t version; /* -1: unknown */
    } * v;
    size_t cap, n; /* open addressing over v; n slots in use */
    struct ft_rslot {
        char *ref; /* NULL: empty */
        int64_t tid;
    } * r;
    size_t rcap, rn;
};

void ft_versions_init(struct ft_versions *vs);
/* Free everything. NULL is allowed. */
void ft_versions_release(struct ft_versions *vs);

/* The version of tid, or -1 when unknown. */
int64_t ft_versions_get(const struct ft_versions *vs, int64_t tid);
/* tid is at least at version (read from the store). */
void ft_versions_note(struct ft_versions *vs, int64_t tid, int64_t version);
/* An event of the log, in log order (tid 0: about no tracker). */
void ft_versions_event(struct ft_versions *vs, int64_t tid, int64_t seq, const char *kind);

/* The tracker ref names, or 0 when unknown. */
int64_t ft_versions_ref(const struct ft_versions *vs, const char *ref);
/* The store resolved ref to tid. */
void ft_versions_ref_put(struct ft_versions *vs, const char *ref, int64_t tid);

#endif
