/*
 * metrics.c: the server's counters and their Prometheus text (GET /metrics).
 * Counters live in struct ft_metrics and are bumped on the loop thread; a scrape reads them
 * and a few process figures from /proc/self. docs/operations.md says what each one means.
 */
#include "internal.h"

#include "../mcp/mcp.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

const int ft_codes[FT_NCODES] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                 406, 409, 411, 413, 415, 500, 501, 503, 507, 0};

const double ft_buckets[FT_NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

static int code_index(int code)
{
    for (int i = 0; i < FT_NCODES - 1; i++)
        if (ft_codes[i] == code)
            return i;
    return FT_NCODES - 1; /* "other" */
}

void srv_count_request(struct ft_server *srv, enum ft_route route, int code, int64_t t0)
{
    double secs = (double)(srv_now_us() - t0) / 1e6;
    srv_publish(srv, 0);
    srv->m->requests[route][code_index(code)]++;
    srv->m->duration_count++;
    srv->m->duration_sum += secs;
    for (int i = 0; i < FT_NBUCKETS; i++)
        if (secs <= ft_buckets[i]) {
            srv->m->duration_buckets[i]++;
            break;
        }
}

/*
 * Open descriptors of a process. Linux 6.2 and later give the count as the size of
 * /proc/PID/fd, read from the descriptor bitmap: one stat, whatever the count. Older kernels
 * report 0 there; the directory is then listed, at most once per FD_LIST_EVERY_US per worker
 * (a listing costs the loop about a millisecond at 10 000 descriptors), and the figure in
 * between is the last one.
 */
#define FD_LIST_EVERY_US (10 * 1000000LL)
#define MAX_LISTED       64

static long count_fds(pid_t pid)
{
    static struct {
        pid_t pid;
        long n;
        int64_t at;
    } listed[MAX_LISTED];
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    if (stat(path, &st) == 0 && st.st_size > 0)
        return (long)st.st_size;
    int64_t now = srv_now_us();
    size_t k = (size_t)pid % MAX_LISTED;
    if (listed[k].pid == pid && now - listed[k].at < FD_LIST_EVERY_US)
        return listed[k].n;
    DIR *d = opendir(path);
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    listed[k].pid = pid;
    listed[k].n = pid == getpid() ? n - 1 : n; /* not the listing's own descriptor */
    listed[k].at = now;
    return listed[k].n;
}

static long long rss_bytes(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
    FILE *f = fopen(path, "re");
    long long size = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

/* Threads and anonymous resident memory (RssAnon, bytes) from /proc/PID/status. */
static void proc_status(pid_t pid, long *threads, long long *anon)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "re");
    *threads = -1;
    *anon = -1;
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Threads:", 8) == 0)
            *threads = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            *anon = strtoll(line + 8, NULL, 10) * 1024;
    }
    fclose(f);
}

void srv_publish(struct ft_server *srv, int full)
{
    struct ft_gauges *g = srv->g;
    const struct srv_conns *cs = &srv->conns;
    g->streams_open = srv->streams_open;
    g->flushing = srv->flushing;
    g->conns_open = cs->open;
    g->conns_max = cs->max;
    g->paused = srv->bound && !cs->accepting;
    g->accepted = cs->accepted;
    memcpy(g->conns_closed, cs->closed, sizeof(g->conns_closed));
    memcpy(g->refused, cs->refused, sizeof(g->refused));
    g->head = srv->head;
    g->cache_hits = srv->cache.hits;
    g->cache_misses = srv->cache.misses;
    g->cache_bytes = srv->cache.bytes;
    if (!full)
        return;
    struct ft_store_health health;
    g->store_up = feed_store_up(srv, &health);
    g->reconnects = health.reconnects;
    g->queued = ft_channel_queued_total(srv);
    g->store_handles = ft_store_handles_open();
    g->statements = srv->st ? ft_store_open_statements(srv->st) : 0;
    g->mcp_runs = ft_mcp_runs_count(srv->mcp.runs);
}

/* The whole server: every worker's counters and gauges summed (the log's head: the newest;
 * the store: up when up for every worker), and their processes' figures. */
struct totals {
    struct ft_metrics m;
    struct ft_gauges g;
    int workers;
    long fds, threads;
    long long rss, anon;
};

static void add_proc(struct totals *t, pid_t pid)
{
    long th;
    long long anon, rss = rss_bytes(pid);
    long fds = count_fds(pid);
    proc_status(pid, &th, &anon);
    t->fds += fds > 0 ? fds : 0;
    t->threads += th > 0 ? th : 0;
    t->rss += rss > 0 ? rss : 0;
    t->anon += anon > 0 ? anon : 0;
}

static void sum_workers(struct ft_server *srv, struct totals *t)
{
    memset(t, 0, sizeof(*t));
    t->g.store_up = 1;
    srv_publish(srv, 1);
    for (int k = 0; k < srv->sh->nslots; k++) {
        struct ft_slot *slot = ft_shared_slot(srv->sh, k);
        const struct srv_figures *f = (const struct srv_figures *)slot->data;
        const struct ft_metrics *m = &f->m;
        const struct ft_gauges *g = &f->g;
        if (!slot->pid && k != srv->worker)
            continue;
        t->workers++;
        for (int r = 0; r < R__COUNT; r++)
            for (int c = 0; c < FT_NCODES; c++)
                t->m.requests[r][c] += m->requests[r][c];
        for (int i = 0; i < FT_NBUCKETS; i++)
            t->m.duration_buckets[i] += m->duration_buckets[i];
        t->m.duration_count += m->duration_count;
        t->m.duration_sum += m->duration_sum;
        t->m.streams_opened += m->streams_opened;
        for (int i = 0; i < FT_END__COUNT; i++)
            t->m.streams_closed[i] += m->streams_closed[i];
        t->m.streams_rejected += m->streams_rejected;
        t->m.events_delivered += m->events_delivered;
        t->m.fanout_passes += m->fanout_passes;
        t->m.fanout_writes += m->fanout_writes;
        t->m.heartbeats += m->heartbeats;
        t->m.stream_bytes += m->stream_bytes;
        t->m.store_errors += m->store_errors;
        t->m.watch_losses += m->watch_losses;
        t->g.streams_open += g->streams_open;
        t->g.flushing += g->flushing;
        t->g.conns_open += g->conns_open;
        t->g.conns_max += g->conns_max;
        t->g.paused += g->paused;
        t->g.accepted += g->accepted;
        for (int i = 0; i < CONN_END__COUNT; i++)
            t->g.conns_closed[i] += g->conns_closed[i];
        for (int i = 0; i < CONN_REFUSED__COUNT; i++)
            t->g.refused[i] += g->refused[i];
        if (g->head > t->g.head)
            t->g.head = g->head;
        t->g.cache_hits += g->cache_hits;
        t->g.cache_misses += g->cache_misses;
        t->g.cache_bytes += g->cache_bytes;
        t->g.queued += g->queued;
        t->g.store_handles += g->store_handles;
        t->g.statements += g->statements;
        t->g.store_up &= g->store_up;
        t->g.reconnects += g->reconnects;
        t->g.mcp_runs += g->mcp_runs;
        add_proc(t, g->pid);
    }
}

static void metric_head(struct ft_buf *b, const char *name, const char *type, const char *help)
{
    ft_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void srv_metrics(struct call *c)
{
    struct ft_server *srv = c->srv;
    struct ft_buf b;
    struct totals t;
    const struct ft_metrics *m = &t.m;
    const struct ft_gauges *g = &t.g;
    sum_workers(srv, &t);
    ft_buf_init(&b, 0);
    metric_head(&b, "flowtrack_build_info", "gauge", "Build metadata; always 1.");
    ft_buf_addf(&b, "flowtrack_build_info{version=\"%s\"} 1\n", FT_VERSION);
    metric_head(&b, "flowtrack_streams_open", "gauge", "Event streams currently open.");
    ft_buf_addf(&b, "flowtrack_streams_open %d\n", g->streams_open);
    metric_head(&b, "flowtrack_streams_opened_total", "counter", "Event streams started.");
    ft_buf_addf(&b, "flowtrack_streams_opened_total %llu\n", (unsigned long long)m->streams_opened);
    metric_head(&b, "flowtrack_streams_closed_total", "counter",
                "Event streams ended, by how they ended.");
    for (int i = 0; i < FT_END__COUNT; i++)
        ft_buf_addf(&b, "flowtrack_streams_closed_total{reason=\"%s\"} %llu\n",
                    ft_end_name((enum ft_end)i), (unsigned long long)m->streams_closed[i]);
    metric_head(&b, "flowtrack_streams_rejected_total", "counter",
                "Event streams refused with 503 at --max-streams.");
    ft_buf_addf(&b, "flowtrack_streams_rejected_total %llu\n",
                (unsigned long long)m->streams_rejected);
    metric_head(&b, "flowtrack_connections_open", "gauge",
                "HTTP connections open (each holds a descriptor).");
    ft_buf_addf(&b, "flowtrack_connections_open %d\n", g->conns_open);
    metric_head(&b, "flowtrack_connections_max", "gauge",
                "The connections' budget (--max-connections, or the descriptor limit less "
                "the reserve).");
    ft_buf_addf(&b, "flowtrack_connections_max %d\n", g->conns_max);
    metric_head(&b, "flowtrack_connections_accepted_total", "counter", "Connections accepted.");
    ft_buf_addf(&b, "flowtrack_connections_accepted_total %llu\n", (unsigned long long)g->accepted);
    metric_head(&b, "flowtrack_connections_closed_total", "counter",
                "Connections closed, by reason: a deadline, evicted to make room at the "
                "budget, or other (the client, a reply that closes, a stream's end).");
    for (int i = 0; i < CONN_END__COUNT; i++)
        ft_buf_addf(&b, "flowtrack_connections_closed_total{reason=\"%s\"} %llu\n",
                    conn_end_name((enum conn_end)i), (unsigned long long)g->conns_closed[i]);
    metric_head(&b, "flowtrack_connections_refused_total", "counter",
                "Accepting paused: limit (the budget full with nothing to evict; once per "
                "time it fills up), emfile/enfile/error (accept() failed; paused 250 ms).");
    for (int i = 0; i < CONN_REFUSED__COUNT; i++)
        ft_buf_addf(&b, "flowtrack_connections_refused_total{reason=\"%s\"} %llu\n",
                    conn_refusal_name((enum conn_refusal)i), (unsigned long long)g->refused[i]);
    metric_head(&b, "flowtrack_listener_paused", "gauge",
                "Workers whose listener does not accept connections (budget full, or after an "
                "accept() error).");
    ft_buf_addf(&b, "flowtrack_listener_paused %d\n", g->paused);
    metric_head(&b, "flowtrack_stream_queued_bytes", "gauge",
                "Bytes queued on open streams, not yet taken by the kernel.");
    ft_buf_addf(&b, "flowtrack_stream_queued_bytes %zu\n", g->queued);
    metric_head(&b, "flowtrack_stream_flushing", "gauge",
                "Ended streams whose last bytes are still being written.");
    ft_buf_addf(&b, "flowtrack_stream_flushing %d\n", g->flushing);
    metric_head(&b, "flowtrack_events_delivered_total", "counter",
                "Events written to streams (replayed and live).");
    ft_buf_addf(&b, "flowtrack_events_delivered_total %llu\n",
                (unsigned long long)m->events_delivered);
    metric_head(&b, "flowtrack_fanout_passes_total", "counter",
                "Fan-out passes: new events taken together to every open stream.");
    ft_buf_addf(&b, "flowtrack_fanout_passes_total %llu\n", (unsigned long long)m->fanout_passes);
    metric_head(&b, "flowtrack_fanout_writes_total", "counter",
                "Writes of the fan-out passes, each carrying every event of its pass a stream "
                "wants.");
    ft_buf_addf(&b, "flowtrack_fanout_writes_total %llu\n", (unsigned long long)m->fanout_writes);
    metric_head(&b, "flowtrack_heartbeats_sent_total", "counter", "Heartbeat comment frames.");
    ft_buf_addf(&b, "flowtrack_heartbeats_sent_total %llu\n", (unsigned long long)m->heartbeats);
    metric_head(&b, "flowtrack_stream_sent_bytes_total", "counter", "Bytes queued on streams.");
    ft_buf_addf(&b, "flowtrack_stream_sent_bytes_total %llu\n",
                (unsigned long long)m->stream_bytes);
    metric_head(&b, "flowtrack_log_head_sequence", "gauge",
                "Newest event sequence number fanned out to streams.");
    ft_buf_addf(&b, "flowtrack_log_head_sequence %lld\n", (long long)g->head);
    metric_head(&b, "flowtrack_render_cache_hits_total", "counter",
                "Tracker GETs answered from the rendered-document cache.");
    ft_buf_addf(&b, "flowtrack_render_cache_hits_total %llu\n", (unsigned long long)g->cache_hits);
    metric_head(&b, "flowtrack_render_cache_misses_total", "counter",
                "Tracker GETs that had to load and render the tracker.");
    ft_buf_addf(&b, "flowtrack_render_cache_misses_total %llu\n",
                (unsigned long long)g->cache_misses);
    metric_head(&b, "flowtrack_render_cache_bytes", "gauge",
                "Bytes of rendered documents held by the cache.");
    ft_buf_addf(&b, "flowtrack_render_cache_bytes %zu\n", g->cache_bytes);
    metric_head(&b, "flowtrack_http_requests_total", "counter",
                "HTTP requests answered, by route and status (a stream counts when it starts).");
    for (int r = 0; r < R__COUNT; r++)
        for (int k = 0; k < FT_NCODES; k++)
            if (m->requests[r][k] || (k == 0 && r != R_OTHER)) {
                char code[8];
                snprintf(code, sizeof(code), "%d", ft_codes[k]);
                ft_buf_addf(&b, "flowtrack_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                            ft_route_label[r], ft_codes[k] ? code : "other",
                            (unsigned long long)m->requests[r][k]);
            }
    metric_head(&b, "flowtrack_http_request_duration_seconds", "histogram",
                "Time from routing a request to its reply (a stream: to its first bytes).");
    uint64_t cum = 0;
    for (int i = 0; i < FT_NBUCKETS; i++) {
        cum += m->duration_buckets[i];
        ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    ft_buckets[i], (unsigned long long)cum);
    }
    ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)m->duration_count);
    ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_sum %.6f\n", m->duration_sum);
    ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_count %llu\n",
                (unsigned long long)m->duration_count);
    metric_head(&b, "flowtrack_store_handles_open", "gauge", "Store handles open in the process.");
    ft_buf_addf(&b, "flowtrack_store_handles_open %d\n", g->store_handles);
    metric_head(&b, "flowtrack_store_statements_open", "gauge",
                "Prepared statements held by the store handle (a fixed cache).");
    ft_buf_addf(&b, "flowtrack_store_statements_open %d\n", g->statements);
    metric_head(&b, "flowtrack_store_errors_total", "counter", "Failed reads of the events log.");
    ft_buf_addf(&b, "flowtrack_store_errors_total %llu\n", (unsigned long long)m->store_errors);
    metric_head(&b, "flowtrack_store_up", "gauge",
                "1 while the store (and a database's change watch) can be reached, else 0.");
    ft_buf_addf(&b, "flowtrack_store_up %d\n", g->store_up);
    metric_head(&b, "flowtrack_store_reconnects_total", "counter",
                "Connections to the store's database server made again after a loss.");
    ft_buf_addf(&b, "flowtrack_store_reconnects_total %llu\n", (unsigned long long)g->reconnects);
    metric_head(&b, "flowtrack_store_watch_losses_total", "counter",
                "Times the change watch's connection to the database server was lost.");
    ft_buf_addf(&b, "flowtrack_store_watch_losses_total %llu\n",
                (unsigned long long)m->watch_losses);
    metric_head(&b, "flowtrack_mcp_sessions", "gauge", "MCP sessions open (/mcp).");
    ft_shared_lock(srv->sh);
    int mcp_open = srv->sh->mcp_open;
    uint64_t mcp_opened = srv->sh->mcp_opened, mcp_closed[3];
    memcpy(mcp_closed, srv->sh->mcp_closed, sizeof(mcp_closed));
    uint64_t restarts = srv->sh->worker_restarts;
    ft_shared_unlock(srv->sh);
    ft_buf_addf(&b, "flowtrack_mcp_sessions %d\n", mcp_open);
    metric_head(&b, "flowtrack_mcp_sessions_opened_total", "counter", "MCP sessions started.");
    ft_buf_addf(&b, "flowtrack_mcp_sessions_opened_total %llu\n", (unsigned long long)mcp_opened);
    metric_head(&b, "flowtrack_mcp_sessions_closed_total", "counter",
                "MCP sessions ended, by reason: delete (by the client), idle (expired), "
                "shutdown.");
    static const char *const why[] = {"delete", "idle", "shutdown"};
    for (int i = 0; i < 3; i++)
        ft_buf_addf(&b, "flowtrack_mcp_sessions_closed_total{reason=\"%s\"} %llu\n", why[i],
                    (unsigned long long)mcp_closed[i]);
    metric_head(&b, "flowtrack_mcp_runs", "gauge",
                "Runs of the MCP run tool whose runner has not exited yet.");
    ft_buf_addf(&b, "flowtrack_mcp_runs %d\n", g->mcp_runs);
    metric_head(&b, "flowtrack_workers", "gauge",
                "Worker processes serving (serve --loops), each with its own event loop.");
    ft_buf_addf(&b, "flowtrack_workers %d\n", t.workers);
    metric_head(&b, "flowtrack_worker_restarts_total", "counter",
                "Workers started again after one ended without being asked to (a crash).");
    ft_buf_addf(&b, "flowtrack_worker_restarts_total %llu\n", (unsigned long long)restarts);
    metric_head(&b, "flowtrack_process_open_fds", "gauge",
                "Open file descriptors, summed over the workers.");
    ft_buf_addf(&b, "flowtrack_process_open_fds %ld\n", t.fds);
    metric_head(&b, "flowtrack_process_threads", "gauge", "Threads of the workers.");
    ft_buf_addf(&b, "flowtrack_process_threads %ld\n", t.threads);
    metric_head(&b, "flowtrack_process_resident_memory_bytes", "gauge",
                "Resident set size, including store file pages mapped by SQLite.");
    ft_buf_addf(&b, "flowtrack_process_resident_memory_bytes %lld\n", t.rss);
    metric_head(&b, "flowtrack_process_resident_anon_memory_bytes", "gauge",
                "Anonymous resident memory (heap, stacks): where a memory leak shows.");
    ft_buf_addf(&b, "flowtrack_process_resident_anon_memory_bytes %lld\n", t.anon);
    srv_reply(srv, c->req, R_METRICS, 200, "text/plain; version=0.0.4; charset=utf-8", b.buf, b.len,
              c->t0);
    ft_buf_release(&b);
}
