/*
 * merge.c: the three-way merge of `flowtrack sync` (the rules are in merge.h).
 *
 * Each kind of entry is merged on its own. Its entries become records, one per entry as it
 * was in the base, plus one per entry added on a side: a record holds the base, file and
 * store versions of its entry (each may be absent). A record then gives the writes that
 * bring the store to the merged entry, or a conflict. Matching is O(n log n) (sorting by
 * identity); ordering is quadratic in the entries added or moved, which hand edits keep few.
 */
#include "merge.h"

#include "../util/ft_buf.h"
#include "../util/ft_xalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

/* ---- the fields that sync ----------------------------------------------------------- */

enum slot { SL_TITLE, SL_TEXT, SL_STATE, SL_DETAIL, SL_DATE };

struct field {
    const char *name; /* its name in an entry.edit's fields */
    enum slot slot;
};

static const struct kind_fields {
    size_t n;
    struct field f[4];
} kfields[FT_K__COUNT] = {
    [FT_K_RULE] = {1, {{"text", SL_TEXT}}},
    [FT_K_STEP] = {2, {{"title", SL_TITLE}, {"text", SL_TEXT}}},
    [FT_K_ITEM] = {2, {{"text", SL_TEXT}, {"state", SL_STATE}}},
    [FT_K_SYMPTOM] = {1, {{"text", SL_TEXT}}},
    [FT_K_HYP] = {3, {{"text", SL_TEXT}, {"verdict", SL_STATE}, {"evidence", SL_DETAIL}}},
    [FT_K_RESULT] =
        {4, {{"date", SL_DATE}, {"attempt", SL_TEXT}, {"outcome", SL_STATE}, {"notes", SL_DETAIL}}},
    [FT_K_FOLLOWUP] = {1, {{"text", SL_TEXT}}},
    [FT_K_NOTE] = {1, {{"text", SL_TEXT}}},
};

/* A field's value as the layouts and the operations spell it. */
static const char *fval(const struct ft_entry *e, enum slot s)
{
    switch (s) {
    case SL_TITLE:
        return e->title;
    case SL_TEXT:
        return e->text;
    case SL_DETAIL:
        return e->detail;
    case SL_DATE:
        return e->date;
    case SL_STATE:
        break;
    }
    if (e->kind == FT_K_ITEM)
        return ft_state_name(e->state);
    if (e->kind == FT_K_HYP)
        return ft_verdict_name(e->state);
    return ft_outcome_name(e->state);
}

/* What names an entry across versions: its text (a step's title too, a result's date). */
static char *identity(const struct ft_entry *e)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    if (e->kind == FT_K_STEP || e->kind == FT_K_RESULT) {
        ft_buf_adds(&b, e->kind == FT_K_STEP ? e->title : e->date);
        ft_buf_addc(&b, '\x1f');
    }
    ft_buf_adds(&b, e->text);
    return ft_buf_detach(&b, NULL);
}

enum hf_type { H_STR, H_STATUS, H_MS };

static const struct hfield {
    const char *name;
    enum hf_type type;
    size_t off;
} hfields[] = {
    {"org", H_STR, offsetof(struct ft_tracker, org)},
    {"title", H_STR, offsetof(struct ft_tracker, title)},
    {"started", H_STR, offsetof(struct ft_tracker, started)},
    {"owner", H_STR, offsetof(struct ft_tracker, owner)},
    {"objective", H_STR, offsetof(struct ft_tracker, objective)},
    {"status", H_STATUS, offsetof(struct ft_tracker, status)},
    {"repro_command", H_STR, offsetof(struct ft_tracker, repro_command)},
    {"repro_timeout_ms", H_MS, offsetof(struct ft_tracker, repro_timeout_ms)},
    {"repro_expect", H_STR, offsetof(struct ft_tracker, repro_expect)},
    {"repro_note", H_STR, offsetof(struct ft_tracker, repro_note)},
    {"symptoms_note", H_STR, offsetof(struct ft_tracker, symptoms_note)},
    {"hyps_note", H_STR, offsetof(struct ft_tracker, hyps_note)},
    {"results_note", H_STR, offsetof(struct ft_tracker, results_note)},
    {"fix_summary", H_STR, offsetof(struct ft_tracker, fix_summary)},
    {"fix_why", H_STR, offsetof(struct ft_tracker, fix_why)},
    {"fix_evidence", H_STR, offsetof(struct ft_tracker, fix_evidence)},
};

/* A header field's value as text (buf holds a number's digits). */
static const char *hval(const struct ft_tracker *t, const struct hfield *h, char *buf, size_t n)
{
    const char *p = (const char *)t + h->off;
    if (h->type == H_STR) {
        const char *s;
        memcpy(&s, p, sizeof(s));
        return s;
    }
    if (h->type == H_STATUS) {
        int st;
        memcpy(&st, p, sizeof(st));
        return ft_status_name(st);
    }
    int64_t ms;
    memcpy(&ms, p, sizeof(ms));
    snprintf(buf, n, "%lld", (long long)ms);
    return buf;
}

static json_t *hjson(const struct ft_tracker *t, const struct hfield *h)
{
    char buf[32];
    if (h->type == H_MS) {
        int64_t ms;
        memcpy(&ms, (const char *)t + h->off, sizeof(ms));
        return json_integer(ms);
    }
    return json_string(hval(t, h, buf, sizeof(buf)));
}

/* ---- matching ----------------------------------------------------------------------- */

struct keyed {
    char *key;
    int i;
};

static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static struct keyed *keys_of(const struct ft_entry *const *v, size_t n)
{
    struct keyed *k = ft_xcalloc(n ? n : 1, sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        k[i].key = identity(v[i]);
        k[i].i = (int)i;
    }
    qsort(k, n, sizeof(*k), keyed_cmp);
    return k;
}

static void keys_free(struct keyed *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(k[i].key);
    free(k);
}

/*
 * Pair old entries with new ones: mo[i] is the new index of old i (-1: none), mn the reverse.
 * Same identity first (in order among equals); with gaps, then the unmatched runs between two
 * matched neighbours pair up in order (edits in place).
 */
static void match(const struct ft_entry *const *o, size_t no, const struct ft_entry *const *n,
                  size_t nn, int *mo, int *mn, int gaps)
{
    for (size_t i = 0; i < no; i++)
        mo[i] = -1;
    for (size_t j = 0; j < nn; j++)
        mn[j] = -1;
    struct keyed *ko = keys_of(o, no), *kn = keys_of(n, nn);
    size_t a = 0, b = 0;
    while (a < no && b < nn) {
        int c = strcmp(ko[a].key, kn[b].key);
        if (c < 0) {
            a++;
        } else if (c > 0) {
            b++;
        } else {
            mo[ko[a].i] = kn[b].i;
            mn[kn[b].i] = ko[a].i;
            a++, b++;
        }
    }
    keys_free(ko, no);
    keys_free(kn, nn);
    if (!gaps)
        return;
    int po = -1; /* the old index of the last matched new entry */
    for (size_t j = 0; j < nn;) {
        if (mn[j] >= 0) {
            po = mn[j++];
            continue;
        }
        size_t j1 = j;
        while (j1 < nn && mn[j1] < 0)
            j1++;
        int qo = j1 < nn ? mn[j1] : (int)no;
        size_t next = j;
        for (int i = po + 1; i < qo && next < j1; i++) {
            if (mo[i] >= 0)
                continue;
            mo[i] = (int)next;
            mn[next++] = i;
        }
        j = j1;
    }
}

/* ---- records ------------------------------------------------------------------------ */

struct rec {
    const struct ft_entry *b, *f, *s;
    int bi, fi, si; /* indices in each side's list, -1 when absent */
    int keep;       /* the entry is in the store once the plan ran */
    int ref;        /* > 0: the plan adds it (its ref) */
};

struct plan {
    json_t *steps, *conflicts;
    enum ft_merge_prefer prefer;
    int refs;
};

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static void conflict(struct plan *p, const char *kind, int num, const char *text, const char *field,
                     const char *fv, const char *sv, const char *bv)
{
    json_array_append_new(p->conflicts,
                          json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "kind", kind, "num",
                                    num ? json_integer(num) : json_null(), "text", text, "field",
                                    field, "file", str_or_null(fv), "store", str_or_null(sv),
                                    "base", str_or_null(bv)));
}

static int entry_differs(const struct ft_entry *x, const struct ft_entry *y)
{
    const struct kind_fields *kf = &kfields[x->kind];
    for (size_t i = 0; i < kf->n; i++)
        if (strcmp(fval(x, kf->f[i].slot), fval(y, kf->f[i].slot)) != 0)
            return 1;
    return 0;
}

static void add_entry(struct plan *p, struct rec *r)
{
    const struct kind_fields *kf = &kfields[r->f->kind];
    json_t *fields = json_object();
    for (size_t i = 0; i < kf->n; i++)
        json_object_set_new(fields, kf->f[i].name, json_string(fval(r->f, kf->f[i].slot)));
    r->ref = ++p->refs;
    r->keep = 1;
    json_array_append_new(p->steps,
                          json_pack("{s:s, s:s, s:o, s:i}", "op", "entry.add", "kind",
                                    ft_kind_name(r->f->kind), "fields", fields, "ref", r->ref));
}

/* A record with both a file and a store version: merge field by field. */
static void merge_fields(struct plan *p, struct rec *r)
{
    const struct kind_fields *kf = &kfields[r->s->kind];
    const char *kind = ft_kind_name(r->s->kind);
    json_t *edit = json_object();
    for (size_t i = 0; i < kf->n; i++) {
        enum slot sl = kf->f[i].slot;
        const char *fv = fval(r->f, sl), *sv = fval(r->s, sl);
        const char *bv = r->b ? fval(r->b, sl) : NULL;
        if (strcmp(fv, sv) == 0 || (bv && strcmp(fv, bv) == 0))
            continue; /* the same, or only the store changed it: the store has it */
        if (bv && strcmp(sv, bv) == 0) {
            json_object_set_new(edit, kf->f[i].name, json_string(fv));
            continue;
        }
        conflict(p, kind, r->s->num, r->s->text, kf->f[i].name, fv, sv, bv);
        if (p->prefer == FT_MERGE_FILE)
            json_object_set_new(edit, kf->f[i].name, json_string(fv));
    }
    if (json_object_size(edit))
        json_array_append_new(p->steps, json_pack("{s:s, s:s, s:i, s:o}", "op", "entry.edit",
                                                  "kind", kind, "num", r->s->num, "fields", edit));
    else
        json_decref(edit);
}

static void resolve(struct plan *p, struct rec *r)
{
    if (r->f && r->s) {
        r->keep = 1;
        merge_fields(p, r);
    } else if (r->b && r->s) { /* removed in the file */
        int changed = entry_differs(r->b, r->s);
        if (changed)
            conflict(p, ft_kind_name(r->s->kind), r->s->num, r->s->text, "entry", NULL, r->s->text,
                     r->b->text);
        if (!changed || p->prefer == FT_MERGE_FILE)
            json_array_append_new(p->steps,
                                  json_pack("{s:s, s:s, s:i}", "op", "entry.remove", "kind",
                                            ft_kind_name(r->s->kind), "num", r->s->num));
        else
            r->keep = 1;
    } else if (r->b && r->f) { /* removed in the store */
        if (entry_differs(r->b, r->f)) {
            conflict(p, ft_kind_name(r->f->kind), r->b->num, r->f->text, "entry", r->f->text, NULL,
                     r->b->text);
            if (p->prefer == FT_MERGE_FILE)
                add_entry(p, r);
        }
    } else if (r->f && !r->b) { /* added in the file */
        add_entry(p, r);
    } else if (r->s) {
        r->keep = 1; /* added in the store, or unchanged */
    }
}

/* ---- order -------------------------------------------------------------------------- */

static int by_fi(const void *a, const void *b)
{
    const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
    return (x->fi > y->fi) - (x->fi < y->fi);
}

static int by_si(const void *a, const void *b)
{
    const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
    return (x->si > y->si) - (x->si < y->si);
}

/* 1 when, among the records with both indices, ordering by the first keeps the second in
 * increasing order. */
static int same_order(struct rec *v, size_t n, int first_f, int second_b)
{
    struct rec **w = ft_xcalloc(n ? n : 1, sizeof(*w));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int a = first_f ? v[i].fi : v[i].si;
        int b = second_b ? v[i].bi : (first_f ? v[i].si : v[i].fi);
        if (a >= 0 && b >= 0)
            w[m++] = &v[i];
    }
    qsort(w, m, sizeof(*w), first_f ? by_fi : by_si);
    int ok = 1, last = -1;
    for (size_t i = 0; i < m && ok; i++) {
        int b = second_b ? w[i]->bi : (first_f ? w[i]->si : w[i]->fi);
        ok = b > last;
        last = b;
    }
    free(w);
    return ok;
}

static void move_step(struct plan *p, enum ft_kind k, const struct rec *r, size_t pos)
{
    json_t *st = json_pack("{s:s, s:s, s:I}", "op", "entry.move", "kind", ft_kind_name(k),
                           "position", (json_int_t)pos);
    if (r->ref)
        json_object_set_new(st, "ref", json_integer(r->ref));
    else
        json_object_set_new(st, "num", json_integer(r->s->num));
    json_array_append_new(p->steps, st);
}

/*
 * The merged order of the kept records: the file's when only the file reordered (or both
 * did the same way), else the store's; what the chosen side does not hold goes after its
 * neighbour on the other side. Then the moves that make the store's list that order.
 */
static void order(struct plan *p, enum ft_kind k, struct rec *v, size_t n, int have_base)
{
    int agree = same_order(v, n, 1, 0);
    int file_re = have_base ? !same_order(v, n, 1, 1) : !agree;
    int store_re = have_base ? !same_order(v, n, 0, 1) : !agree;
    int use_file = file_re && !store_re;
    if (file_re && store_re) {
        use_file = agree;
        if (!agree) {
            conflict(p, ft_kind_name(k), 0, "", "order", "the file's order", "the store's order",
                     NULL);
            use_file = p->prefer == FT_MERGE_FILE;
        }
    }
    struct rec **target = ft_xcalloc(n + 1, sizeof(*target)),
               **sec = ft_xcalloc(n + 1, sizeof(*sec));
    size_t nt = 0, ns = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].keep)
            continue;
        if ((use_file ? v[i].fi : v[i].si) >= 0)
            target[nt++] = &v[i];
        if ((use_file ? v[i].si : v[i].fi) >= 0)
            sec[ns++] = &v[i];
    }
    qsort(target, nt, sizeof(*target), use_file ? by_fi : by_si);
    qsort(sec, ns, sizeof(*sec), use_file ? by_si : by_fi);
    for (size_t i = 0; i < ns; i++) {
        struct rec *r = sec[i];
        size_t at = 0, t;
        for (t = 0; t < nt && target[t] != r; t++)
            ;
        if (t < nt)
            continue;                  /* already placed */
        for (size_t j = i; j-- > 0;) { /* after its nearest placed neighbour on that side */
            for (t = 0; t < nt && target[t] != sec[j]; t++)
                ;
            if (t < nt) {
                at = t + 1;
                break;
            }
        }
        memmove(&target[at + 1], &target[at], (nt - at) * sizeof(*target));
        target[at] = r;
        nt++;
    }
    /* the store's list once removals and additions ran: kept stored entries, then the added */
    struct rec **cur = ft_xcalloc(n + 1, sizeof(*cur));
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].keep && !v[i].ref && v[i].si >= 0)
            cur[nc++] = &v[i];
    qsort(cur, nc, sizeof(*cur), by_si);
    for (int ref = 1; ref <= p->refs; ref++)
        for (size_t i = 0; i < n; i++)
            if (v[i].keep && v[i].ref == ref)
                cur[nc++] = &v[i];
    for (size_t i = 0; i < nc && i < nt; i++) {
        if (cur[i] == target[i])
            continue;
        size_t j = i + 1;
        while (j < nc && cur[j] != target[i])
            j++;
        if (j == nc)
            continue; /* cannot happen: both list the kept records */
        memmove(&cur[i + 1], &cur[i], (j - i) * sizeof(*cur));
        cur[i] = target[i];
        move_step(p, k, target[i], i + 1);
    }
    free(cur);
    free(target);
    free(sec);
}

/* ---- one kind ----------------------------------------------------------------------- */

static const struct ft_entry **ptrs(const struct ft_tracker *t, enum ft_kind k, size_t *n)
{
    *n = t ? t->lists[k].n : 0;
    const struct ft_entry **v = ft_xcalloc(*n ? *n : 1, sizeof(*v));
    for (size_t i = 0; i < *n; i++)
        v[i] = &t->lists[k].v[i];
    return v;
}

struct numbered {
    int num, i;
};

static int num_cmp(const void *a, const void *b)
{
    const struct numbered *x = a, *y = b;
    return (x->num > y->num) - (x->num < y->num);
}

static void merge_kind(struct plan *p, enum ft_kind k, const struct ft_tracker *base,
                       const struct ft_tracker *file, const struct ft_tracker *store)
{
    size_t nb, nf, ns;
    const struct ft_entry **B = ptrs(base, k, &nb), **F = ptrs(file, k, &nf),
                          **S = ptrs(store, k, &ns);
    struct rec *v = ft_xcalloc(nb + nf + ns + 1, sizeof(*v));
    size_t n = 0, m = nf > ns ? nf : ns;
    int *fm = ft_xcalloc(m + nb + 1, sizeof(int)), *sm = ft_xcalloc(m + nb + 1, sizeof(int));
    int *tmp = ft_xcalloc(m + nb + 1, sizeof(int));
    for (size_t j = 0; j < nf; j++)
        fm[j] = -1; /* the record of file entry j */
    for (size_t j = 0; j < ns; j++)
        sm[j] = -1;

    if (base) {
        /* base and store by number */
        struct numbered *sorted = ft_xcalloc(ns ? ns : 1, sizeof(*sorted));
        for (size_t j = 0; j < ns; j++)
            sorted[j] = (struct numbered){S[j]->num, (int)j};
        qsort(sorted, ns, sizeof(*sorted), num_cmp);
        int *bf = ft_xcalloc(nb + 1, sizeof(int));
        match(B, nb, F, nf, bf, tmp, 1);
        for (size_t i = 0; i < nb; i++) {
            struct numbered key = {B[i]->num, 0}, *hit = NULL;
            if (ns && key.num)
                hit = bsearch(&key, sorted, ns, sizeof(*sorted), num_cmp);
            struct rec *r = &v[n];
            r->b = B[i], r->bi = (int)i, r->fi = bf[i], r->si = -1;
            if (bf[i] >= 0) {
                r->f = F[bf[i]];
                fm[bf[i]] = (int)n;
            }
            if (hit) {
                r->s = S[hit->i];
                r->si = hit->i;
                sm[hit->i] = (int)n;
            }
            n++;
        }
        free(bf);
        free(sorted);
    }
    /* what is left on each side: the same entry added on both, else one side's own */
    const struct ft_entry **lf = ft_xcalloc(nf + 1, sizeof(*lf)),
                          **ls = ft_xcalloc(ns + 1, sizeof(*ls));
    int *ixf = ft_xcalloc(nf + 1, sizeof(int)), *ixs = ft_xcalloc(ns + 1, sizeof(int));
    size_t nlf = 0, nls = 0;
    for (size_t j = 0; j < nf; j++)
        if (fm[j] < 0) {
            ixf[nlf] = (int)j;
            lf[nlf++] = F[j];
        }
    for (size_t j = 0; j < ns; j++)
        if (sm[j] < 0) {
            ixs[nls] = (int)j;
            ls[nls++] = S[j];
        }
    int *mf = ft_xcalloc(nlf + 1, sizeof(int)), *ms = ft_xcalloc(nls + 1, sizeof(int));
    match(lf, nlf, ls, nls, mf, ms, !base);
    for (size_t j = 0; j < nlf; j++) {
        struct rec *r = &v[n++];
        r->bi = -1, r->fi = ixf[j], r->si = -1, r->f = lf[j];
        if (mf[j] >= 0) {
            r->s = ls[mf[j]];
            r->si = ixs[mf[j]];
        }
    }
    for (size_t j = 0; j < nls; j++)
        if (ms[j] < 0) {
            struct rec *r = &v[n++];
            r->bi = -1, r->fi = -1, r->si = ixs[j], r->s = ls[j];
        }
    free(mf), free(ms), free(lf), free(ls), free(ixf), free(ixs);

    /* removals first, then edits and additions, then the moves */
    json_t *steps = p->steps;
    json_t *removes = json_array(), *rest = json_array();
    for (size_t i = 0; i < n; i++) {
        p->steps = json_array();
        resolve(p, &v[i]);
        size_t x;
        json_t *st;
        json_array_foreach(p->steps, x, st)
        {
            const char *op = json_string_value(json_object_get(st, "op"));
            json_array_append(strcmp(op, "entry.remove") == 0 ? removes : rest, st);
        }
        json_decref(p->steps);
    }
    p->steps = steps;
    json_array_extend(p->steps, removes);
    json_array_extend(p->steps, rest);
    json_decref(removes);
    json_decref(rest);
    if (k != FT_K_ITEM) /* the layouts group items by state: their order is the store's */
        order(p, k, v, n, base != NULL);
    free(v), free(fm), free(sm), free(tmp), free(B), free(F), free(S);
}

static void merge_header(struct plan *p, const struct ft_tracker *base,
                         const struct ft_tracker *file, const struct ft_tracker *store)
{
    json_t *edit = json_object();
    char b1[32], b2[32], b3[32];
    for (size_t i = 0; i < sizeof(hfields) / sizeof(hfields[0]); i++) {
        const struct hfield *h = &hfields[i];
        const char *fv = hval(file, h, b1, sizeof(b1)), *sv = hval(store, h, b2, sizeof(b2));
        const char *bv = base ? hval(base, h, b3, sizeof(b3)) : NULL;
        if (strcmp(fv, sv) == 0 || (bv && strcmp(fv, bv) == 0))
            continue;
        if (!(bv && strcmp(sv, bv) == 0)) {
            conflict(p, "header", 0, store->title, h->name, fv, sv, bv);
            if (p->prefer != FT_MERGE_FILE)
                continue;
        }
        json_object_set_new(edit, h->name, hjson(file, h));
    }
    if (json_object_size(edit))
        json_array_append_new(p->steps,
                              json_pack("{s:s, s:o}", "op", "tracker.edit", "fields", edit));
    else
        json_decref(edit);
}

void ft_merge_plan(const struct ft_tracker *base, const struct ft_tracker *file,
                   const struct ft_tracker *store, enum ft_merge_prefer prefer, json_t **plan,
                   json_t **conflicts)
{
    struct plan p = {json_array(), json_array(), prefer, 0};
    merge_header(&p, base, file, store);
    for (int k = 0; k < FT_K__COUNT; k++)
        merge_kind(&p, (enum ft_kind)k, base, file, store);
    *plan = p.steps;
    *conflicts = p.conflicts;
}
