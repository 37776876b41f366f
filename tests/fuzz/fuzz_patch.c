/*
 * libFuzzer target for JSON bodies as the API and the CLI apply them: any
 * input is parsed with jansson and applied as a patch to a tracker header and
 * to an entry of every kind. A patch either fails with an error or leaves a
 * tracker and entries that validate and render.
 */
#include "core/patch.h"
#include "core/render.h"
#include "util/ft_buf.h"
#include "util/ft_err.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *patch = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!patch)
        return 0;
    struct ft_tracker *t = ft_tracker_new();
    ft_set_str(&t->title, "Fuzz");
    struct ft_err err;
    json_t *changed = json_object();
    if (ft_tracker_patch(t, patch, changed, &err) == 0 && ft_tracker_validate(t, &err) != 0)
        abort(); /* a patch that applied must leave a valid header */
    json_decref(changed);
    for (int k = 0; k < FT_K__COUNT; k++) {
        struct ft_entry *e = ft_tracker_add(t, (enum ft_kind)k);
        ft_set_str(&e->text, "text");
        ft_set_str(&e->title, "Title");
        if (ft_entry_patch(e, patch, &err) != 0)
            continue;
        /* validation may refuse what the patch set; it must not crash */
        (void)ft_entry_validate(e, &err);
    }
    struct ft_buf b;
    ft_buf_init(&b, 0);
    for (int f = FT_FMT_VIEW; f <= FT_FMT_JSON; f++) {
        ft_buf_reset(&b);
        ft_render(t, (enum ft_format)f, &b);
    }
    ft_buf_release(&b);
    ft_tracker_free(t);
    json_decref(patch);
    return 0;
}
