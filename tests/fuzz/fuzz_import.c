/*
 * libFuzzer target for the importers. Any input must either be refused with an
 * error or import into a tracker whose text and Markdown renderings import
 * back to the same rendering (the round-trip property of docs/format.md).
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ft_tracker *t = NULL;
    struct ft_err err;
    if (ft_import((const char *)data, size, FT_IMPORT_AUTO, &t, &err) != 0)
        return 0;
    roundtrip(t, FT_FMT_TEXT);
    roundtrip(t, FT_FMT_MD);
    ft_tracker_free(t);
    return 0;
}
