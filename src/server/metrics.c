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
    srv->m.requests[route][code_index(code)]++;
    srv->m.duration_count++;
    srv->m.duration_sum += secs;
    for (int i = 0; i < FT_NBUCKETS; i++)
        if (secs <= ft_buckets[i]) {
            srv->m.duration_buckets[i]++;
            break;
        }
}

/*
 * Open descriptors. Linux 6.2 and later give the count as the size of /proc/self/fd, read
 * from the descriptor bitmap: one stat, whatever the count. Older kernels report 0 there;
 * the directory is then listed, at most once per FD_LIST_EVERY_US (a listing costs the loop
 * about a millisecond at 10 000 descriptors), and the figure in between is the last one.
 */
#define FD_LIST_EVERY_US (10 * 1000000LL)

static long count_fds(void)
{
    static long listed = -1;
    static int64_t listed_at;
    struct stat st;
    if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
        return (long)st.st_size;
    int64_t now = srv_now_us();
    if (listed >= 0 && now - listed_at < FD_LIST_EVERY_US)
        return listed;
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    listed = n - 1; /* not the directory's own fd */
    listed_at = now;
    return listed;
}

static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    long long size = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

/* Threads and anonymous resident memory (RssAnon, bytes) from /proc/self/status. */
static void proc_status(long *threads, long long *anon)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
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

static void metric_head(struct ft_buf *b, const char *name, const char *type, const char *help)
{
    ft_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void srv_metrics(struct call *c)
{
    struct ft_server *srv = c->srv;
    struct ft_buf b;
    struct ft_metrics *m = &srv->m;
    ft_buf_init(&b, 0);
    metric_head(&b, "flowtrack_build_info", "gauge", "Build metadata; always 1.");
    ft_buf_addf(&b, "flowtrack_build_info{version=\"%s\"} 1\n", FT_VERSION);
    metric_head(&b, "flowtrack_streams_open", "gauge", "Event streams currently open.");
    ft_buf_addf(&b, "flowtrack_streams_open %d\n", srv->streams_open);
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
    const struct srv_conns *cs = &srv->conns;
    metric_head(&b, "flowtrack_connections_open", "gauge",
                "HTTP connections open (each holds a descriptor).");
    ft_buf_addf(&b, "flowtrack_connections_open %d\n", cs->open);
    metric_head(&b, "flowtrack_connections_max", "gauge",
                "The connections' budget (--max-connections, or the descriptor limit less "
                "the reserve).");
    ft_buf_addf(&b, "flowtrack_connections_max %d\n", cs->max);
    metric_head(&b, "flowtrack_connections_accepted_total", "counter", "Connections accepted.");
    ft_buf_addf(&b, "flowtrack_connections_accepted_total %llu\n",
                (unsigned long long)cs->accepted);
    metric_head(&b, "flowtrack_connections_closed_total", "counter",
                "Connections closed, by reason: a deadline, evicted to make room at the "
                "budget, or other (the client, a reply that closes, a stream's end).");
    for (int i = 0; i < CONN_END__COUNT; i++)
        ft_buf_addf(&b, "flowtrack_connections_closed_total{reason=\"%s\"} %llu\n",
                    conn_end_name((enum conn_end)i), (unsigned long long)cs->closed[i]);
    metric_head(&b, "flowtrack_connections_refused_total", "counter",
                "Accepting paused: limit (the budget full with nothing to evict; once per "
                "time it fills up), emfile/enfile/error (accept() failed; paused 250 ms).");
    for (int i = 0; i < CONN_REFUSED__COUNT; i++)
        ft_buf_addf(&b, "flowtrack_connections_refused_total{reason=\"%s\"} %llu\n",
                    conn_refusal_name((enum conn_refusal)i), (unsigned long long)cs->refused[i]);
    metric_head(&b, "flowtrack_listener_paused", "gauge",
                "1 while the server does not accept connections (budget full, or after an "
                "accept() error).");
    ft_buf_addf(&b, "flowtrack_listener_paused %d\n", srv->bound && !cs->accepting ? 1 : 0);
    metric_head(&b, "flowtrack_stream_queued_bytes", "gauge",
                "Bytes queued on open streams, not yet taken by the kernel.");
    ft_buf_addf(&b, "flowtrack_stream_queued_bytes %zu\n", ft_channel_queued_total(srv));
    metric_head(&b, "flowtrack_stream_flushing", "gauge",
                "Ended streams whose last bytes are still being written.");
    ft_buf_addf(&b, "flowtrack_stream_flushing %d\n", srv->flushing);
    metric_head(&b, "flowtrack_events_delivered_total", "counter",
                "Events written to streams (replayed and live).");
    ft_buf_addf(&b, "flowtrack_events_delivered_total %llu\n",
                (unsigned long long)m->events_delivered);
    metric_head(&b, "flowtrack_heartbeats_sent_total", "counter", "Heartbeat comment frames.");
    ft_buf_addf(&b, "flowtrack_heartbeats_sent_total %llu\n", (unsigned long long)m->heartbeats);
    metric_head(&b, "flowtrack_stream_sent_bytes_total", "counter", "Bytes queued on streams.");
    ft_buf_addf(&b, "flowtrack_stream_sent_bytes_total %llu\n",
                (unsigned long long)m->stream_bytes);
    metric_head(&b, "flowtrack_log_head_sequence", "gauge",
                "Newest event sequence number fanned out to streams.");
    ft_buf_addf(&b, "flowtrack_log_head_sequence %lld\n", (long long)srv->head);
    metric_head(&b, "flowtrack_render_cache_hits_total", "counter",
                "Tracker GETs answered from the rendered-document cache.");
    ft_buf_addf(&b, "flowtrack_render_cache_hits_total %llu\n",
                (unsigned long long)srv->cache.hits);
    metric_head(&b, "flowtrack_render_cache_misses_total", "counter",
                "Tracker GETs that had to load and render the tracker.");
    ft_buf_addf(&b, "flowtrack_render_cache_misses_total %llu\n",
                (unsigned long long)srv->cache.misses);
    metric_head(&b, "flowtrack_render_cache_bytes", "gauge",
                "Bytes of rendered documents held by the cache.");
    ft_buf_addf(&b, "flowtrack_render_cache_bytes %zu\n", srv->cache.bytes);
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
    ft_buf_addf(&b, "flowtrack_store_handles_open %d\n", ft_store_handles_open());
    metric_head(&b, "flowtrack_store_statements_open", "gauge",
                "Prepared statements held by the store handle (a fixed cache).");
    ft_buf_addf(&b, "flowtrack_store_statements_open %d\n",
                srv->st ? ft_store_open_statements(srv->st) : 0);
    metric_head(&b, "flowtrack_store_errors_total", "counter", "Failed reads of the events log.");
    ft_buf_addf(&b, "flowtrack_store_errors_total %llu\n", (unsigned long long)m->store_errors);
    struct ft_store_health health;
    int up = feed_store_up(srv, &health);
    metric_head(&b, "flowtrack_store_up", "gauge",
                "1 while the store (and a database's change watch) can be reached, else 0.");
    ft_buf_addf(&b, "flowtrack_store_up %d\n", up);
    metric_head(&b, "flowtrack_store_reconnects_total", "counter",
                "Connections to the store's database server made again after a loss.");
    ft_buf_addf(&b, "flowtrack_store_reconnects_total %llu\n",
                (unsigned long long)health.reconnects);
    metric_head(&b, "flowtrack_store_watch_losses_total", "counter",
                "Times the change watch's connection to the database server was lost.");
    ft_buf_addf(&b, "flowtrack_store_watch_losses_total %llu\n",
                (unsigned long long)m->watch_losses);
    metric_head(&b, "flowtrack_mcp_sessions", "gauge", "MCP sessions open (/mcp).");
    ft_buf_addf(&b, "flowtrack_mcp_sessions %d\n", srv->mcp.open);
    metric_head(&b, "flowtrack_mcp_sessions_opened_total", "counter", "MCP sessions started.");
    ft_buf_addf(&b, "flowtrack_mcp_sessions_opened_total %llu\n",
                (unsigned long long)srv->mcp.opened);
    metric_head(&b, "flowtrack_mcp_sessions_closed_total", "counter",
                "MCP sessions ended, by reason: delete (by the client), idle (expired), "
                "shutdown.");
    static const char *const why[] = {"delete", "idle", "shutdown"};
    for (int i = 0; i < 3; i++)
        ft_buf_addf(&b, "flowtrack_mcp_sessions_closed_total{reason=\"%s\"} %llu\n", why[i],
                    (unsigned long long)srv->mcp.closed[i]);
    metric_head(&b, "flowtrack_mcp_runs", "gauge",
                "Runs of the MCP run tool whose runner has not exited yet.");
    ft_buf_addf(&b, "flowtrack_mcp_runs %d\n", ft_mcp_runs_count(srv->mcp.runs));
    metric_head(&b, "flowtrack_process_open_fds", "gauge", "Open file descriptors.");
    ft_buf_addf(&b, "flowtrack_process_open_fds %ld\n", count_fds());
    long nthreads;
    long long anon;
    proc_status(&nthreads, &anon);
    metric_head(&b, "flowtrack_process_threads", "gauge", "Threads of the process.");
    ft_buf_addf(&b, "flowtrack_process_threads %ld\n", nthreads);
    metric_head(&b, "flowtrack_process_resident_memory_bytes", "gauge",
                "Resident set size, including store file pages mapped by SQLite.");
    ft_buf_addf(&b, "flowtrack_process_resident_memory_bytes %lld\n", rss_bytes());
    metric_head(&b, "flowtrack_process_resident_anon_memory_bytes", "gauge",
                "Anonymous resident memory (heap, stacks): where a memory leak shows.");
    ft_buf_addf(&b, "flowtrack_process_resident_anon_memory_bytes %lld\n", anon);
    srv_reply(srv, c->req, R_METRICS, 200, "text/plain; version=0.0.4; charset=utf-8", b.buf, b.len,
              c->t0);
    ft_buf_release(&b);
}
