/*
 * libFuzzer target for the importers, through the entry point `flowtrack import` uses
 * (ft_import_read: the exact reader, the tolerant one when it refuses, JSON by content).
 * Any input must either be refused with an error or import into a tracker whose text and
 * Markdown renderings import back exactly to the same rendering, and whose JSON imports
 * back to the same JSON (the round-trip properties of docs/format.md). The first byte
 * also picks a reader and a layout, so each one is driven on its own too.
 */
#include "core/import.h"
#include "core/render.h"
#include "util/ft_buf.h"
#include "util/ft_err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *render(const struct ft_tracker *t, enum ft_format fmt)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    if (ft_render(t, fmt, &b))
        abort();
    return ft_buf_detach(&b, NULL);
}

static void roundtrip(const struct ft_tracker *t, enum ft_format fmt)
{
    char *doc = render(t, fmt);
    struct ft_tracker *back = NULL;
    struct ft_err err;
    if (ft_import(doc, strlen(doc), fmt == FT_FMT_MD ? FT_IMPORT_MD : FT_IMPORT_TEXT, &back,
                  &err)) {
        fprintf(stderr, "rendering does not import: %s\n---\n%s\n", err.msg, doc);
        abort();
    }
    char *again = render(back, fmt);
    if (strcmp(doc, again) != 0) {
        fprintf(stderr, "round trip differs:\n---\n%s\n---\n%s\n", doc, again);
        abort();
    }
    free(again);
    free(doc);
    ft_tracker_free(back);
}

static void json_roundtrip(const struct ft_tracker *t)
{
    char *doc = render(t, FT_FMT_JSON);
    struct ft_tracker *back = NULL;
    struct ft_import_report rep;
    struct ft_err err;
    if (ft_import_read(doc, strlen(doc), FT_IMPORT_JSON, FT_IMPORT_FALLBACK, &back, &rep, &err)) {
        fprintf(stderr, "JSON rendering does not import: %s\n---\n%s\n", err.msg, doc);
        abort();
    }
    char *again = render(back, FT_FMT_JSON);
    if (strcmp(doc, again) != 0) {
        fprintf(stderr, "JSON round trip differs:\n---\n%s\n---\n%s\n", doc, again);
        abort();
    }
    free(again);
    free(doc);
    ft_import_report_release(&rep);
    ft_tracker_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum ft_import_fmt fmts[] = {FT_IMPORT_AUTO, FT_IMPORT_AUTO, FT_IMPORT_TEXT,
                                              FT_IMPORT_MD};
    static const enum ft_import_mode modes[] = {FT_IMPORT_FALLBACK, FT_IMPORT_TOLERANT,
                                                FT_IMPORT_TOLERANT, FT_IMPORT_TOLERANT};
    struct ft_tracker *t = NULL;
    struct ft_import_report rep;
    struct ft_err err;
    unsigned pick = size ? data[0] % 8 : 0;
    /* half the inputs as they are; the other half past a first byte that chose the reader */
    if (pick >= 4) {
        pick = 0;
    } else {
        data++;
        size--;
    }
    if (ft_import_read((const char *)data, size, fmts[pick], modes[pick], &t, &rep, &err) != 0) {
        ft_import_report_release(&rep);
        return 0;
    }
    for (size_t i = 0; i < rep.n; i++)
        if (rep.v[i].line < 0 || !rep.v[i].msg)
            abort();
    ft_import_report_release(&rep);
    roundtrip(t, FT_FMT_TEXT);
    roundtrip(t, FT_FMT_MD);
    json_roundtrip(t);
    ft_tracker_free(t);
    return 0;
}
