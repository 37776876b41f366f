/*
 * ft_record_run DB TRACKER COMMAND LOG: record a finished run (exit 1, outcome "fail") of
 * TRACKER in the store DB through the store API, as `flowtrack run` does, for tests that need
 * runs without running anything.
 */
#include "core/model.h"
#include "store/store.h"
#include "util/ft_err.h"
#include "util/ft_time.h"
#include "util/ft_xalloc.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct ft_store *st = NULL;
    struct ft_err err;
    struct ft_run r;
    int64_t tid;
    if (argc != 5) {
        fprintf(stderr, "usage: ft_record_run DB TRACKER COMMAND LOG\n");
        return 2;
    }
    if (ft_store_open(argv[1], 0, &st, &err) || ft_store_tracker_find(st, argv[2], &tid, &err)) {
        fprintf(stderr, "ft_record_run: %s\n", err.msg);
        ft_store_close(st);
        return 1;
    }
    ft_store_set_actor(st, "runner");
    memset(&r, 0, sizeof(r));
    r.command = ft_xstrdup(argv[3]);
    r.cwd = ft_xstrdup("/tmp");
    r.label = ft_xstrdup("");
    r.log = ft_xstrdup(argv[4]);
    r.diagnosis = ft_xstrdup("");
    r.started_at = ft_now_ms();
    r.duration_ms = 1234;
    r.exit_code = 1;
    r.outcome = FT_OUT_FAIL;
    int rc = ft_store_run_record(st, tid, &r, NULL, &err);
    if (rc)
        fprintf(stderr, "ft_record_run: %s\n", err.msg);
    else
        printf("%d\n", r.num);
    ft_run_release(&r);
    ft_store_close(st);
    return rc ? 1 : 0;
}
