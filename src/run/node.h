/*
 * node: what keeps a Node.js process alive, told from the /proc snapshot (proc.h).
 *
 * A process whose executable (/proc/PID/exe) is named node or nodejs gets a "node" object:
 *   script       the script it runs: the first operand of its command line that is not an
 *                option or an option's value, joined to its working directory (/proc/PID/cwd)
 *                and resolved as Node resolves its main module (realpath; ".js", ".mjs",
 *                ".cjs" tried when the name has none); null with "entry" eval, stdin or repl
 *   loop         its main thread: waiting (in epoll_wait/epoll_pwait), the epoll descriptor,
 *                and timeout_ms, the wait's timeout, which libuv sets to the time left to the
 *                next timer (-1: no timer, the loop waits for I/O only)
 *   handles      what keeps the loop alive: each descriptor of the loop's epoll set that is
 *                not libuv's own (listening and connected sockets, pipes, ttys, watches), the
 *                process's children in the snapshot, and the timer
 *   internal     the loop's own descriptors, left out of handles (see ft_node_annotate)
 *   keeps_alive  the handles as one line of text
 * Everything is read from the snapshot's JSON and a few /proc files: nothing is signalled,
 * stopped or attached. JavaScript frames in the native stacks are named only from the perf map
 * a process started with --perf-basic-prof writes (ft_node_stacks; docs/runner.md says why).
 */
#ifndef FT_NODE_H
#define FT_NODE_H

#include "../util/ft_buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* How a Node.js process was given its program. */
enum ft_node_entry {
    FT_NODE_SCRIPT, /* a script file */
    FT_NODE_EVAL,   /* -e, -p: a string on the command line */
    FT_NODE_STDIN,  /* "-": the program read from stdin */
    FT_NODE_REPL,   /* no operand: the REPL, or a program piped to stdin */
};

/* 1 when exe (a /proc/PID/exe target, " (deleted)" allowed) is named node or nodejs. Pure. */
int ft_node_is_exe(const char *exe);

/*
 * The script of a Node.js command line. argv is /proc/PID/cmdline: n bytes, each argument
 * ending in a NUL; cwd the process's working directory. For FT_NODE_SCRIPT, out receives the
 * script's path, joined to cwd when relative (not resolved further: no file is read). Options
 * written "--opt=value" are always skipped whole; for "--opt value" a table of Node's options
 * that take a value is used (a V8 option with a separate value outside it would be taken for
 * the script). Pure.
 */
enum ft_node_entry ft_node_script(const char *argv, size_t n, const char *cwd, char *out,
                                  size_t outn);

/*
 * The handles of a "node" object as one line ("listening 127.0.0.1:8080, child pid 7 (sleep
 * 100), timer due within 950 ms"), appended to out. Pure.
 */
void ft_node_keeps_alive(const json_t *node, struct ft_buf *out);

/* Add "node" to every Node.js process of a snapshot (the array ft_proc_snapshot returns). */
void ft_node_annotate(json_t *procs);

/*
 * The cause of thread th of p when p is a Node.js process and th one of its loops: its main
 * thread idle in the event loop ("event_loop_alive", with what keeps the loop alive), or
 * another thread idle in a loop of libuv's own descriptors only (Node's platform thread:
 * "waiting"). Appends the evidence to why and sets *score (diag.c's scale); NULL otherwise,
 * why untouched.
 */
const char *ft_node_thread_cause(const json_t *p, const json_t *th, struct ft_buf *why, int *score);

/* The line of the human text for a Node.js process ("    node: script ...\n"), if p is one. */
void ft_node_render(const json_t *p, struct ft_buf *out);

/*
 * Parse one line of a perf map (/tmp/perf-PID.map, written by node --perf-basic-prof):
 * "START SIZE NAME", START and SIZE in hex. The name (to the end of the line) is copied into
 * name. 0, or FT_EINVAL. Pure.
 */
int ft_node_perf_line(const char *line, uint64_t *start, uint64_t *size, char *name, size_t n);

/*
 * Name the frames of the Node.js processes' stacks (diag["processes"], after ft_diag_stacks)
 * that are bare addresses, from the process's perf map when it wrote one; sets "js_frames"
 * (how many were named) and "perf_map" in its node object. Reads one file per such process.
 */
void ft_node_stacks(json_t *diag);

#endif
