/*
 * diag: the diagnosis of a run that did not end cleanly.
 *
 * A diagnosis is a JSON object built by run.c and completed here:
 *   outcome, reason          what happened ("still running at the timeout (2s)")
 *   main                     {pid, exit_code, signal}: how the main process ended
 *   timeout_ms, grace_ms, settle_ms
 *   snapshot_ms              time to read /proc (stacks not included)
 *   stacks                   {tool, ms, error, python_*}: how the stacks were taken
 *   processes                the snapshot (proc.h), each thread with "stack" when taken;
 *                            a Python process with "python" (its version), its threads
 *                            with "py_stack", or "py_error" saying why there is none
 *   end                      {signal, signalled, killed, survivors, gone_ms}
 *   culprit                  {pid, comm, cmdline, why}: the likely cause, added here
 *   summary                  one line for the results log, added here
 * It is stored with the run and printed again by `flowtrack runs show`, so
 * the human text is always rendered from the JSON (ft_diag_render).
 *
 * Native stacks come from eu-stack (elfutils) or else gdb, run as a child with
 * a deadline and killed at it. Attaching needs ptrace permission (same user
 * and kernel.yama.ptrace_scope 0, or CAP_SYS_PTRACE: the tool is not an
 * ancestor of the command); when it is refused the diagnosis says so and the
 * rest stands.
 *
 * Python stacks (file, line, function and source line of each frame of each thread,
 * innermost first) come from gdb with the interpreter's gdb extension and debug symbols
 * (Debian's python3.X-dbg), within the same budget, after the native stacks: see py_script
 * in diag.c for how, docs/runner.md for the fields and the messages.
 */
#ifndef FT_DIAG_H
#define FT_DIAG_H

#include "../util/ft_buf.h"

#include <jansson.h>
#include <stdint.h>

/*
 * Add native stacks to the threads of the processes in diag["processes"]
 * (at most 16 processes, within budget_ms overall) and set diag["stacks"].
 */
void ft_diag_stacks(json_t *diag, int64_t budget_ms);
/* Parse eu-stack (or gdb "thread apply all bt") output into {"TID": [frames]}. Pure. */
json_t *ft_diag_parse_stacks(const char *text);
/*
 * Parse gdb's py-bt output (or diag.c's script, which prints the same) into {"TID": [frames]},
 * each frame {"file", "line", "function", "code"} ("file" and "line" absent for a frame py-bt
 * names without them, such as a built-in method), innermost first. Pure.
 */
json_t *ft_diag_parse_py_stacks(const char *text);
/* Choose the likely culprit and write diag["culprit"] and diag["summary"]. */
void ft_diag_analyse(json_t *diag);
/* Append the human diagnosis (several lines, each ending in '\n') to out. */
void ft_diag_render(const json_t *diag, struct ft_buf *out);

#endif
