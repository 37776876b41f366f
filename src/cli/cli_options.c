/*
 * cli_options.c: every option of the command line, in one table, and the parser.
 *
 * A row names an option once: the commands that take it, its long and short
 * names, the type of its value, and where the value goes: a member of the
 * command's options object (a JSON object; "fields.state" nests, so that an
 * entry's options arrive as the operation's fields), and for `serve`, a member
 * of struct ft_server_opts. A command receives its options parsed and checked,
 * and its operands; it never sees getopt.
 */
#include "cli.h"

#include "../run/run.h"
#include "../server/server.h"
#include "../util/ft_time.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

enum cli_type {
    CLI_FLAG,     /* no value: true */
    CLI_TEXT,     /* a string */
    CLI_COUNT,    /* a whole number in [min, max] */
    CLI_DURATION, /* 30, 2.5s, 5m, 1h: milliseconds, at most max when max > 0 */
    CLI_SIGNAL,   /* TERM, SIGKILL, 15: the signal's number */
};

struct cli_opt {
    const char *cmds; /* the commands that take it, space-separated; "*": every command and
                       * before one; "-": only before the command */
    const char *name;
    int letter; /* the short option, 0 when none */
    enum cli_type type;
    const char *key;  /* where the value goes in the options object */
    int64_t min, max; /* bounds of a count; the most of a duration (0: none) */
    size_t off, size; /* serve: the struct ft_server_opts member the value also goes to */
};

#define ENTRIES "item rule step symptom hyp result followup note"
#define SRV(m)  offsetof(struct ft_server_opts, m), sizeof(((struct ft_server_opts *)0)->m)

static const struct cli_opt opts[] = {
    {"*", "json", 0, CLI_FLAG, "json", 0, 0, 0, 0},
    {"*", "tracker", 't', CLI_TEXT, "tracker", 0, 0, 0, 0},
    {"*", "help", 'h', CLI_FLAG, "help", 0, 0, 0, 0},
    {"*", "db", 0, CLI_TEXT, "db", 0, 0, 0, 0},
    {"*", "actor", 0, CLI_TEXT, "actor", 0, 0, 0, 0},
    {"*", "no-color", 0, CLI_FLAG, "no_color", 0, 0, 0, 0},
    {"*", "server", 0, CLI_TEXT, "server", 0, 0, 0, 0},
    {"*", "token", 0, CLI_TEXT, "token", 0, 0, 0, 0},
    {"-", "version", 'V', CLI_FLAG, "version", 0, 0, 0, 0},
    {"create edit", "slug", 0, CLI_TEXT, "fields.slug", 0, 0, 0, 0},
    {"create edit", "org", 0, CLI_TEXT, "fields.org", 0, 0, 0, 0},
    {"create edit", "owner", 0, CLI_TEXT, "fields.owner", 0, 0, 0, 0},
    {"create edit", "objective", 0, CLI_TEXT, "fields.objective", 0, 0, 0, 0},
    {"create edit", "started", 0, CLI_TEXT, "fields.started", 0, 0, 0, 0},
    {"edit", "title", 0, CLI_TEXT, "fields.title", 0, 0, 0, 0},
    {"edit", "status", 0, CLI_TEXT, "fields.status", 0, 0, 0, 0},
    {"import", "slug", 's', CLI_TEXT, "slug", 0, 0, 0, 0},
    {"import show sync", "format", 'f', CLI_TEXT, "format", 0, 0, 0, 0},
    {"import", "dry-run", 'n', CLI_FLAG, "dry_run", 0, 0, 0, 0},
    {"import", "exact", 0, CLI_FLAG, "exact", 0, 0, 0, 0},
    {"import", "tolerant", 0, CLI_FLAG, "tolerant", 0, 0, 0, 0},
    {"import", "strict", 0, CLI_FLAG, "strict", 0, 0, 0, 0},
    {"use", "clear", 0, CLI_FLAG, "clear", 0, 0, 0, 0},
    {"sync", "ours", 0, CLI_FLAG, "ours", 0, 0, 0, 0},
    {"sync", "theirs", 0, CLI_FLAG, "theirs", 0, 0, 0, 0},
    {"sync", "watch", 'w', CLI_FLAG, "watch", 0, 0, 0, 0},
    {"sync", "debounce", 0, CLI_DURATION, "debounce", 0, 60000, 0, 0},
    {ENTRIES, "state", 's', CLI_TEXT, "fields.state", 0, 0, 0, 0},
    {ENTRIES, "title", 0, CLI_TEXT, "fields.title", 0, 0, 0, 0},
    {ENTRIES, "text", 0, CLI_TEXT, "fields.text", 0, 0, 0, 0},
    {ENTRIES, "verdict", 0, CLI_TEXT, "fields.verdict", 0, 0, 0, 0},
    {ENTRIES, "evidence", 'e', CLI_TEXT, "fields.evidence", 0, 0, 0, 0},
    {ENTRIES, "outcome", 'o', CLI_TEXT, "fields.outcome", 0, 0, 0, 0},
    {ENTRIES, "notes", 'n', CLI_TEXT, "fields.notes", 0, 0, 0, 0},
    {ENTRIES, "date", 'd', CLI_TEXT, "fields.date", 0, 0, 0, 0},
    {"item", "steal", 0, CLI_FLAG, "steal", 0, 0, 0, 0},
    {"item", "stale-after", 0, CLI_DURATION, "stale_after", 0, 0, 0, 0},
    {"item", "force", 0, CLI_FLAG, "force", 0, 0, 0, 0},
    {"setup", "remove", 0, CLI_FLAG, "remove", 0, 0, 0, 0},
    {"setup", "dry-run", 'n', CLI_FLAG, "dry_run", 0, 0, 0, 0},
    {"setup", "dir", 'C', CLI_TEXT, "dir", 0, 0, 0, 0},
    {"repro", "command", 'c', CLI_TEXT, "fields.repro_command", 0, 0, 0, 0},
    {"repro", "timeout", 0, CLI_DURATION, "fields.repro_timeout_ms", 0, 0, 0, 0},
    {"repro", "expect", 'e', CLI_TEXT, "fields.repro_expect", 0, 0, 0, 0},
    {"repro", "note", 'n', CLI_TEXT, "fields.repro_note", 0, 0, 0, 0},
    {"fix", "summary", 's', CLI_TEXT, "fields.fix_summary", 0, 0, 0, 0},
    {"fix", "why", 'w', CLI_TEXT, "fields.fix_why", 0, 0, 0, 0},
    {"fix", "evidence", 'e', CLI_TEXT, "fields.fix_evidence", 0, 0, 0, 0},
    {"history", "kind", 'k', CLI_TEXT, "kind", 0, 0, 0, 0},
    {"history", "since", 's', CLI_COUNT, "since", 0, INT64_MAX / 2, 0, 0},
    {"history", "limit", 'n', CLI_COUNT, "limit", 0, FT_HISTORY_PAGE, 0, 0},
    {"history", "all", 'a', CLI_FLAG, "all", 0, 0, 0, 0},
    {"check", "doing-max", 0, CLI_DURATION, "doing_max", 0, 0, 0, 0},
    {"run", "timeout", 0, CLI_DURATION, "timeout", 0, 0, 0, 0},
    {"run", "grace", 0, CLI_DURATION, "grace", 0, 0, 0, 0},
    {"run", "kill-after", 'k', CLI_DURATION, "grace", 0, 0, 0, 0},
    {"run", "settle", 0, CLI_DURATION, "settle", 0, 0, 0, 0},
    {"run", "signal", 's', CLI_SIGNAL, "signal", 0, 0, 0, 0},
    {"run", "label", 'l', CLI_TEXT, "label", 0, 0, 0, 0},
    {"run", "no-record", 0, CLI_FLAG, "no_record", 0, 0, 0, 0},
    {"run", "no-stdin", 0, CLI_FLAG, "no_stdin", 0, 0, 0, 0},
    {"run diagnose", "no-stacks", 0, CLI_FLAG, "no_stacks", 0, 0, 0, 0},
    {"run diagnose", "stack-budget", 0, CLI_DURATION, "stack_budget", 0, 0, 0, 0},
    {"diagnose", "session", 0, CLI_COUNT, "session", 1, 4194304, 0, 0},
    {"diagnose", "match", 'm', CLI_TEXT, "match", 0, 0, 0, 0},
    {"diagnose", "end", 0, CLI_FLAG, "end", 0, 0, 0, 0},
    {"diagnose", "grace", 'k', CLI_DURATION, "grace", 0, 0, 0, 0},
    {"diagnose", "signal", 's', CLI_SIGNAL, "signal", 0, 0, 0, 0},
    {"diagnose", "symptom", 0, CLI_FLAG, "symptom", 0, 0, 0, 0},
    {"diagnose", "result", 0, CLI_FLAG, "result", 0, 0, 0, 0},
    {"run", "allow-leak", 0, CLI_FLAG, "allow_leak", 0, 0, 0, 0},
    {"serve", "listen", 0, CLI_TEXT, "listen", 0, 0, SRV(listen)},
    {"serve", "loops", 0, CLI_COUNT, "loops", 1, 64, SRV(loops)},
    {"serve", "private", 0, CLI_FLAG, "private", 0, 0, SRV(private_reads)},
    {"serve", "heartbeat", 0, CLI_DURATION, "heartbeat", 0, 0, SRV(heartbeat_ms)},
    {"serve", "max-streams", 0, CLI_COUNT, "max_streams", 0, 1000000, SRV(max_streams)},
    {"serve", "stream-buffer", 0, CLI_COUNT, "stream_buffer", 1024, 1 << 30, SRV(stream_buffer)},
    {"serve", "write-timeout", 0, CLI_DURATION, "write_timeout", 0, 0, SRV(write_timeout_ms)},
    {"serve", "idle-timeout", 0, CLI_DURATION, "idle_timeout", 0, 0, SRV(idle_timeout_ms)},
    {"serve", "grace", 0, CLI_DURATION, "grace", 0, 0, SRV(grace_ms)},
    {"serve", "request-timeout", 0, CLI_COUNT, "request_timeout", 1, 3600, SRV(request_timeout_s)},
    {"serve", "ready-file", 0, CLI_TEXT, "ready_file", 0, 0, SRV(ready_file)},
    {"serve", "log-file", 0, CLI_TEXT, "log_file", 0, 0, SRV(log_file)},
    {"serve", "busy-timeout", 0, CLI_DURATION, "busy_timeout", 0, 60000, SRV(busy_ms)},
    {"serve", "mcp-max-sessions", 0, CLI_COUNT, "mcp_max_sessions", 1, 100000,
     SRV(mcp_max_sessions)},
    {"serve", "mcp-idle-timeout", 0, CLI_DURATION, "mcp_idle_timeout", 0, 0, SRV(mcp_idle_ms)},
    {"serve", "max-connections", 0, CLI_COUNT, "max_connections", 1, 1000000, SRV(max_connections)},
    {"serve", "header-timeout", 0, CLI_DURATION, "header_timeout", 0, 0, SRV(header_timeout_ms)},
    {"serve", "body-timeout", 0, CLI_DURATION, "body_timeout", 0, 0, SRV(body_timeout_ms)},
    {"serve", "keepalive-timeout", 0, CLI_DURATION, "keepalive_timeout", 0, 0,
     SRV(keepalive_timeout_ms)},
};
#define NOPTS        (sizeof(opts) / sizeof(opts[0]))
#define MAX_CMD_OPTS 32

/* 1 when the option applies to command cmd (NULL: before the command, where "-" rows apply). */
static int takes(const struct cli_opt *o, const char *cmd)
{
    if (strcmp(o->cmds, "*") == 0)
        return 1;
    if (!cmd)
        return strcmp(o->cmds, "-") == 0;
    size_t n = strlen(cmd);
    for (const char *p = o->cmds; (p = strstr(p, cmd)); p += n)
        if ((p == o->cmds || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Put v at key in the options object ("a.b" nests); takes v. */
static void put(json_t *opt, const char *key, json_t *v)
{
    const char *dot = strchr(key, '.');
    if (!dot) {
        json_object_set_new(opt, key, v);
        return;
    }
    char outer[32];
    snprintf(outer, sizeof(outer), "%.*s", (int)(dot - key), key);
    json_t *o = json_object_get(opt, outer);
    if (!o) {
        o = json_object();
        json_object_set_new(opt, outer, o);
    }
    json_object_set_new(o, dot + 1, v);
}

/* Check and store one option's value. 0, or FT_EXIT_USAGE after saying what is wrong. */
static int store(struct ft_ctx *ctx, const struct cli_opt *o, const char *arg, json_t *opt)
{
    int64_t v = 0;
    char *end = NULL;
    switch (o->type) {
    case CLI_FLAG:
        put(opt, o->key, json_true());
        return 0;
    case CLI_TEXT:
        put(opt, o->key, json_string(arg));
        return 0;
    case CLI_COUNT:
        v = strtoll(arg, &end, 10);
        if (!*arg || *end || v < o->min || v > o->max)
            return cli_usage(ctx, "--%s takes a whole number from %lld to %lld, not '%s'", o->name,
                             (long long)o->min, (long long)o->max, arg);
        break;
    case CLI_DURATION:
        if (ft_duration_parse(arg, &v))
            return cli_usage(ctx, "--%s: '%s' is not a duration (30, 2.5s, 250ms, 5m, 1h)", o->name,
                             arg);
        if (o->max && v > o->max)
            return cli_usage(ctx, "--%s is at most %llds, not '%s'", o->name,
                             (long long)o->max / 1000, arg);
        break;
    case CLI_SIGNAL:
        if ((v = ft_signal_parse(arg)) < 0)
            return cli_usage(ctx, "--%s: '%s' is not a signal (TERM, INT, KILL, 15...)", o->name,
                             arg);
        break;
    }
    put(opt, o->key, json_integer(v));
    return 0;
}

/* The row of the command's option getopt returned: a short letter, or 1000 + row index. */
static const struct cli_opt *row_of(const char *cmd, int c)
{
    if (c >= 1000 && (size_t)(c - 1000) < NOPTS)
        return &opts[c - 1000];
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].letter == c && takes(&opts[i], cmd))
            return &opts[i];
    return NULL;
}

int cli_parse(struct ft_ctx *ctx, int argc, char **argv, int stop_at_operand, json_t *opt,
              int *first)
{
    struct option longopts[MAX_CMD_OPTS + 1];
    char shortopts[2 * MAX_CMD_OPTS + 4];
    size_t n = 0, ns = 0;
    int c, rc = 0;

    shortopts[ns++] = stop_at_operand ? '+' : ':';
    if (stop_at_operand)
        shortopts[ns++] = ':';
    for (size_t i = 0; i < NOPTS && n < MAX_CMD_OPTS; i++) {
        if (!takes(&opts[i], ctx->cmd))
            continue;
        int arg = opts[i].type == CLI_FLAG ? no_argument : required_argument;
        longopts[n++] = (struct option){opts[i].name, arg, NULL, 1000 + (int)i};
        if (opts[i].letter) {
            shortopts[ns++] = (char)opts[i].letter;
            if (arg == required_argument)
                shortopts[ns++] = ':';
        }
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    shortopts[ns] = '\0';
    optind = 0; /* GNU: full re-initialisation for each command */
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const struct cli_opt *o = c == '?' || c == ':' ? NULL : row_of(ctx->cmd, c);
        if (c == ':')
            rc = cli_usage(ctx, "option '%s' needs a value", argv[optind - 1]);
        else if (!o && optopt && c == '?')
            rc = cli_usage(ctx, "unknown option '-%c'", optopt);
        else if (!o)
            rc = cli_usage(ctx, "unknown option '%s'", argv[optind - 1]);
        else
            rc = store(ctx, o, optarg, opt);
    }
    *first = optind;
    return rc;
}

void cli_serve_opts(json_t *opt, void *target)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cli_opt *o = &opts[i];
        json_t *v = json_object_get(opt, o->key);
        if (!o->size || !v || !takes(o, "serve"))
            continue;
        char *dst = (char *)target + o->off;
        if (o->type == CLI_TEXT) {
            const char *s = json_string_value(v);
            memcpy(dst, &s, sizeof(s));
        } else if (o->size == sizeof(int64_t)) {
            int64_t x = json_is_true(v) ? 1 : json_integer_value(v);
            memcpy(dst, &x, sizeof(x));
        } else {
            int x = json_is_true(v) ? 1 : (int)json_integer_value(v);
            memcpy(dst, &x, sizeof(x));
        }
    }
}
