/*
 * help: the manual page of every command, printed by `flowtrack CMD --help`
 * and collected into docs/cli.md by scripts/gen-cli-doc.sh.
 */
#ifndef FT_HELP_H
#define FT_HELP_H

#define HELP_COMMON                                                                                  \
    "COMMON OPTIONS\n"                                                                               \
    "  -t, --tracker REF   act on this tracker (slug or number); default: FLOWTRACK_TRACKER,\n"      \
    "                      then the one set by 'flowtrack use', then the only tracker\n"             \
    "      --db PATH       the store: a file, or a PostgreSQL database (postgres://USER@HOST/DB);\n" \
    "                      default: FLOWTRACK_DB, then .flowtrack/flowtrack.db found upward\n"       \
    "      --server URL    work on the 'flowtrack serve' at URL, not on a file; default:\n"          \
    "                      FLOWTRACK_SERVER (unless --db is given)\n"                                \
    "      --token TOKEN   the server's token; default: FLOWTRACK_TOKEN\n"                           \
    "      --actor NAME    who the change is recorded as; default: FLOWTRACK_ACTOR, then $USER\n"    \
    "      --json          machine-readable output (writes too)\n"                                   \
    "      --no-color      no colour (also when NO_COLOR is set or stdout is not a terminal)\n"      \
    "  -h, --help          this page\n"

#define HELP_EXIT                                                                                  \
    "EXIT STATUS\n"                                                                                \
    "  0 success; 1 failure; 2 usage error; 3 not found (store, tracker, entry)\n"

#define HELP_MAIN_HEAD                                                                             \
    "usage: flowtrack [--db PATH | --server URL [--token TOKEN]] [--actor NAME] [-t TRACKER]\n"    \
    "                 [--json] COMMAND [ARGS]\n"                                                   \
    "\n"                                                                                           \
    "flowtrack keeps the record of an engineering investigation: objective, ground rules,\n"       \
    "workflow, progress, reproduction, symptoms, hypotheses, a dated results log and the\n"        \
    "final fix. Every change is kept as an event (who, when, what).\n"                             \
    "\n"                                                                                           \
    "Commands work on a store file (--db, FLOWTRACK_DB, or .flowtrack/ found upward), on a\n"      \
    "PostgreSQL database that several servers and machines share (--db postgres://...), or on\n"   \
    "a running 'flowtrack serve' (--server URL, FLOWTRACK_SERVER) with the same output and exit\n" \
    "status: then viewers of the server see every change at once.\n"                               \
    "\n"                                                                                           \
    "COMMANDS\n"
#define HELP_MAIN_TAIL                                                                             \
    "\n"                                                                                           \
    "Run 'flowtrack COMMAND --help' for a command's manual. Start with:\n"                         \
    "  flowtrack init && flowtrack import tracker.txt && flowtrack show\n"                         \
    "\n" HELP_EXIT

#define HELP_INIT                                                                                  \
    "NAME\n  flowtrack init - create a store\n\n"                                                  \
    "SYNOPSIS\n  flowtrack init [--db PATH]\n\n"                                                   \
    "DESCRIPTION\n"                                                                                \
    "  Creates .flowtrack/flowtrack.db in the working directory (or the file given by --db or\n"   \
    "  FLOWTRACK_DB). Later commands find it from this directory or any below it, as git\n"        \
    "  finds its repository. Running it again on an existing store changes nothing. It always\n"   \
    "  makes a store itself (FLOWTRACK_SERVER does not apply; --server is refused): a server\n"    \
    "  keeps its own store.\n\n"                                                                   \
    "  With --db postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?PARAM=VALUE...] it creates the\n"  \
    "  store's tables in that database, which must exist (createdb) and hold no other tables;\n"   \
    "  any libpq connection parameter may follow '?' (sslmode, sslrootcert...). Every\n"           \
    "  command and server then works on that database: see docs/operations.md, \"Several\n"        \
    "  servers\".\n\n"                                                                             \
    "EXAMPLES\n  flowtrack init\n  flowtrack --db /tmp/t.db init\n"                                \
    "  flowtrack --db postgres://flowtrack@db.internal/flowtrack init\n\n" HELP_COMMON             \
    "\n" HELP_EXIT

#define HELP_CREATE                                                                                \
    "NAME\n  flowtrack create - start a new tracker\n\n"                                           \
    "SYNOPSIS\n  flowtrack create [--slug SLUG] [--org ORG] [--owner WHO] [--objective TEXT]\n"    \
    "                   [--started YYYY-MM-DD] TITLE...\n\n"                                       \
    "DESCRIPTION\n"                                                                                \
    "  Creates an empty tracker and prints its slug and number, either of which names it in\n"     \
    "  later commands. The slug defaults to one made from the title; Started defaults to\n"        \
    "  today (give YYYY-MM-DD to leave it unset). A store named by --db or FLOWTRACK_DB is\n"      \
    "  created when missing.\n\n"                                                                  \
    "OPTIONS\n"                                                                                    \
    "      --slug SLUG        short name: a-z, 0-9 and '-' (must be unique)\n"                     \
    "      --org ORG          organisation line shown above the title\n"                           \
    "      --owner WHO        owner line\n"                                                        \
    "      --objective TEXT   what the investigation must achieve\n"                               \
    "      --started DATE     start date YYYY-MM-DD\n\n"                                           \
    "EXAMPLES\n"                                                                                   \
    "  flowtrack create --slug sse-leak --owner 'Platform team' \\\n"                              \
    "      --objective 'Streams always release their resources' 'SSE stream leak'\n\n" HELP_COMMON \
    "\n" HELP_EXIT

#define HELP_IMPORT                                                                                              \
    "NAME\n  flowtrack import - read a tracker from a file\n\n"                                                  \
    "SYNOPSIS\n  flowtrack import [--format auto|text|md|json] [--exact|--tolerant] [--strict]\n"                \
    "                   [--slug SLUG] [--dry-run] FILE|-\n\n"                                                    \
    "DESCRIPTION\n"                                                                                              \
    "  Reads a tracker and stores it as a new tracker with one 'tracker.import' event.\n"                        \
    "  flowtrack's own layouts ('show --format text' and '--format md') are read exactly\n"                      \
    "  first, so what show wrote comes back byte for byte. When the exact reader refuses\n"                      \
    "  the file, the tolerant reader takes it: a hand-written Markdown or plain text\n"                          \
    "  tracker with sections in any order, at any heading level, under synonyms (Done,\n"                        \
    "  Doing, Todo, Theories, Attempts, Context ...), GFM checkboxes and emoji states,\n"                        \
    "  header fields as lists, paragraphs or YAML front matter, results as entries or a\n"                       \
    "  table (docs/format.md, 'What import accepts'). Nothing is dropped: what it cannot\n"                      \
    "  place is kept as notes, in order, each place reported on stderr as\n"                                     \
    "  'warning: line N: ...'. A file whose first character is '{' is the JSON of\n"                             \
    "  'show --json': the tracker comes back with its states, verdicts, outcomes, entry\n"                       \
    "  numbers, claims and section notes (runs are not imported: a warning says so).\n"                          \
    "  The layout is guessed from the content unless --format says. Input that cannot be\n"                      \
    "  read (not UTF-8, binary, a line over the limit) is refused with its line number\n"                        \
    "  and the reason, and nothing is written. Limits: 16 MiB per file, 64 KiB per line.\n\n"                    \
    "OPTIONS\n"                                                                                                  \
    "  -f, --format FMT   auto (default), text, md or json\n"                                                    \
    "      --exact        only the exact reader: refuse what is not flowtrack's own layout\n"                    \
    "      --tolerant     only the tolerant reader\n"                                                            \
    "      --strict       a warning is an error: print them all and write nothing\n"                             \
    "  -s, --slug SLUG    the new tracker's slug (default: from the title)\n"                                    \
    "  -n, --dry-run      parse and print the tracker (text, or JSON with --json); store nothing\n"              \
    "  Warnings leave the exit status 0; under --strict they make it 1.\n\n"                                     \
    "EXAMPLES\n  flowtrack import examples/sse-stability.txt\n"                                                  \
    "  flowtrack import --strict NOTES.md\n"                                                                     \
    "  flowtrack show --format md -t old | flowtrack import --slug copy -\n"                                     \
    "  flowtrack show --json -t old > old.json; FLOWTRACK_DB=other.db flowtrack import old.json\n\n" HELP_COMMON \
    "\n" HELP_EXIT

#define HELP_LIST                                                                                  \
    "NAME\n  flowtrack list - list trackers\n\n"                                                   \
    "SYNOPSIS\n  flowtrack list [--json]\n\n"                                                      \
    "DESCRIPTION\n"                                                                                \
    "  One line per tracker: '*' marks the default, then number, slug, status, progress\n"         \
    "  counts and title.\n\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_SHOW                                                                                    \
    "NAME\n  flowtrack show - show a tracker\n\n"                                                    \
    "SYNOPSIS\n  flowtrack show [--format view|text|md|json|compact] [TRACKER]\n\n"                  \
    "DESCRIPTION\n"                                                                                  \
    "  view (the default) is the plain layout with every entry's number in [brackets] and\n"         \
    "  the runs; text is the plain layout exactly, as 'flowtrack import' reads it back; md is\n"     \
    "  GitHub-flavoured Markdown (also importable); json is the whole model, with progress\n"        \
    "  counts, item state-change times and runs. --json alone means --format json. compact\n"        \
    "  is the short summary an agent reads at the start of a session: objective, ground\n"           \
    "  rules, items in progress (with their claims) and pending, open hypotheses, the\n"             \
    "  latest results and runs.\n\n"                                                                 \
    "EXAMPLES\n  flowtrack show\n  flowtrack show --format md sse-leak > TRACKER.md\n\n" HELP_COMMON \
    "\n" HELP_EXIT

#define HELP_USE                                                                                   \
    "NAME\n  flowtrack use - set the default tracker\n\n"                                          \
    "SYNOPSIS\n  flowtrack use [TRACKER]\n  flowtrack use --clear\n\n"                             \
    "DESCRIPTION\n"                                                                                \
    "  Commands that act on a tracker use this one when no -t is given. Without an argument\n"     \
    "  it prints the current default. The default is kept in the store.\n\n" HELP_COMMON           \
    "\n" HELP_EXIT

#define HELP_EDIT                                                                                  \
    "NAME\n  flowtrack edit - change a tracker's header\n\n"                                       \
    "SYNOPSIS\n  flowtrack edit [--title T] [--org O] [--owner W] [--objective TEXT]\n"            \
    "                 [--started DATE] [--slug SLUG] [--status open|resolved]\n\n"                 \
    "DESCRIPTION\n"                                                                                \
    "  Changes the given fields in one event. An empty value clears a field; --started\n"          \
    "  YYYY-MM-DD unsets the date.\n\n"                                                            \
    "EXAMPLES\n  flowtrack edit --status resolved\n\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_DELETE                                                                                \
    "NAME\n  flowtrack delete - delete a tracker\n\n"                                              \
    "SYNOPSIS\n  flowtrack delete TRACKER\n\n"                                                     \
    "DESCRIPTION\n"                                                                                \
    "  Deletes the tracker, its entries and runs. The tracker must be named: the default is\n"     \
    "  never deleted implicitly. Its events stay in the history.\n\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_ENTRY_VERBS(kind)                                                                     \
    "  flowtrack " kind " list                 entries with their numbers\n"                       \
    "  flowtrack " kind " show N               one entry\n"                                        \
    "  flowtrack " kind " edit N [TEXT] [opts] change an entry\n"                                  \
    "  flowtrack " kind " move N POS           move it to position POS (1 = first)\n"              \
    "  flowtrack " kind " rm N                 remove it\n"

#define HELP_ENTRY_TAIL                                                                            \
    "  Numbers are stable: N names the same entry after moves and removals. Every write\n"         \
    "  prints the number it created or changed (with --json, the whole entry).\n\n" HELP_COMMON    \
    "\n" HELP_EXIT

#define HELP_ITEM                                                                                  \
    "NAME\n  flowtrack item - progress items, and claims on them\n\n"                              \
    "SYNOPSIS\n"                                                                                   \
    "  flowtrack item add [--state done|doing|pending|dropped] TEXT...\n"                          \
    "  flowtrack item start|done|drop|reopen N...\n"                                               \
    "  flowtrack item claim N [--steal] [--stale-after AGE]\n"                                     \
    "  flowtrack item release N [--force]\n" HELP_ENTRY_VERBS(                                     \
        "item") "\nDESCRIPTION\n"                                                                  \
                "  Items sit in four groups: done, doing (in progress), pending and dropped\n"     \
                "  (out of scope). New items are pending. start moves to doing, done to done,\n"   \
                "  drop to dropped, reopen back to pending; every change of state is kept with\n"  \
                "  its time. edit takes --state and --text.\n\n"                                   \
                "  claim makes a pending item the work of the actor (--actor, FLOWTRACK_ACTOR):\n" \
                "  it moves to doing and shows 'claimed by ACTOR' in every view. Of many agents\n" \
                "  claiming one item at once exactly one wins; the others fail (exit 1) with\n"    \
                "  'item N is claimed by ACTOR'. Claiming your own item again renews the claim.\n" \
                "  --steal takes over another actor's claim once it is older than --stale-after\n" \
                "  (default 30m). release gives the item back (pending again); --force releases\n" \
                "  another actor's claim. Moving the item out of doing ends its claim.\n\n"        \
                "EXAMPLES\n  flowtrack item add 'Add regression tests for stream release'\n"       \
                "  flowtrack item start 3\n  flowtrack item done 3 4\n"                            \
                "  flowtrack --actor agent-2 item claim 5\n\n" HELP_ENTRY_TAIL

#define HELP_RULE                                                                                            \
    "NAME\n  flowtrack rule - ground rules for agents\n\n"                                                   \
    "SYNOPSIS\n  flowtrack rule add TEXT...\n" HELP_ENTRY_VERBS(                                             \
        "rule") "\nDESCRIPTION\n  The numbered ground rules every agent working on the tracker follows.\n\n" \
                "EXAMPLES\n  flowtrack rule add 'Rerun the reproducer after every change'\n\n" HELP_ENTRY_TAIL

#define HELP_STEP                                                                                                    \
    "NAME\n  flowtrack step - workflow steps\n\n"                                                                    \
    "SYNOPSIS\n  flowtrack step add 'TITLE: TEXT'\n  flowtrack step add --title TITLE [TEXT...]\n" HELP_ENTRY_VERBS( \
        "step") "\nDESCRIPTION\n"                                                                                    \
                "  A step has a short title and a text, shown as 'TITLE: TEXT'. A title may not contain\n"           \
                "  ': '. edit takes --title and --text.\n\n"                                                         \
                "EXAMPLES\n  flowtrack step add 'Reproduce: confirm the hang under a timeout'\n\n" HELP_ENTRY_TAIL

#define HELP_SYMPTOM                                                                                  \
    "NAME\n  flowtrack symptom - observed symptoms\n\n"                                               \
    "SYNOPSIS\n  flowtrack symptom add TEXT...\n  flowtrack symptom note TEXT...\n" HELP_ENTRY_VERBS( \
        "symptom") "\nDESCRIPTION\n"                                                                  \
                   "  Error text, stack traces, when it happens. 'note' sets the prose shown after\n" \
                   "  'Observed symptoms:' (an empty TEXT clears it).\n\n" HELP_ENTRY_TAIL

#define HELP_HYP                                                                                       \
    "NAME\n  flowtrack hyp - hypotheses and their verdicts\n\n"                                        \
    "SYNOPSIS\n"                                                                                       \
    "  flowtrack hyp add [--verdict V] [--evidence E] TEXT...\n"                                       \
    "  flowtrack hyp verdict N open|ruled-out|confirmed [--evidence E]\n"                              \
    "  flowtrack hyp rule-out|confirm|reopen N [--evidence E]\n"                                       \
    "  flowtrack hyp note TEXT...\n" HELP_ENTRY_VERBS(                                                 \
        "hyp") "\nDESCRIPTION\n"                                                                       \
               "  Candidate causes, each open, ruled out or confirmed, with the evidence for the\n"    \
               "  verdict. 'flowtrack check' reports open hypotheses once a final fix is written.\n\n" \
               "EXAMPLES\n  flowtrack hyp add 'Heartbeat timer outlives the stream'\n"                 \
               "  flowtrack hyp rule-out 1 --evidence 'valgrind: 0 bytes lost after 10k aborts'\n\n" HELP_ENTRY_TAIL

#define HELP_RESULT                                                                                          \
    "NAME\n  flowtrack result - the dated results log\n\n"                                                   \
    "SYNOPSIS\n"                                                                                             \
    "  flowtrack result add [--outcome O] [--notes TEXT] [--date YYYY-MM-DD] ATTEMPT...\n"                   \
    "  flowtrack result note TEXT...\n" HELP_ENTRY_VERBS(                                                    \
        "result") "\nDESCRIPTION\n"                                                                          \
                  "  One line per attempt: 'DATE: attempt -> outcome + notes'. The outcome is pass, fail,\n" \
                  "  hang, leak, crash or interrupted; the date defaults to today. 'flowtrack run' adds\n"   \
                  "  entries itself, linked to the run. An attempt may not contain ' \xe2\x86\x92 '.\n"      \
                  "  edit takes --outcome, --notes, --date and the attempt as TEXT.\n\n"                     \
                  "EXAMPLES\n  flowtrack result add --outcome pass --notes '1000 aborts, 0 leaked' "         \
                  "'Free the stream in one place'\n\n" HELP_ENTRY_TAIL

#define HELP_FOLLOWUP                                                                              \
    "NAME\n  flowtrack followup - follow-ups\n\n"                                                  \
    "SYNOPSIS\n  flowtrack followup add TEXT...\n" HELP_ENTRY_VERBS(                               \
        "followup") "\nDESCRIPTION\n  Work to do after the investigation, shown as 'Follow-up:' lines.\n\n" HELP_ENTRY_TAIL

#define HELP_NOTE                                                                                  \
    "NAME\n  flowtrack note - free notes\n\n"                                                      \
    "SYNOPSIS\n  flowtrack note add TEXT...\n" HELP_ENTRY_VERBS(                                   \
        "note") "\nDESCRIPTION\n  Any other note under 'Notes & Follow-Ups', shown as 'Note:' lines.\n\n" HELP_ENTRY_TAIL

#define HELP_REPRO                                                                                 \
    "NAME\n  flowtrack repro - the reproduction command\n\n"                                       \
    "SYNOPSIS\n  flowtrack repro [--command CMD] [--timeout DURATION] [--expect MODE] "            \
    "[--note TEXT]\n\n"                                                                            \
    "DESCRIPTION\n"                                                                                \
    "  Sets (or, without options, prints) the exact command that reproduces the problem,\n"        \
    "  its timeout (30, 2.5s, 5m, 1h) and the expected failure mode. 'flowtrack run' with no\n"    \
    "  command runs it. An empty value clears a field.\n\n"                                        \
    "EXAMPLES\n  flowtrack repro --command 'ctest -R sse --output-on-failure' --timeout 60 "       \
    "--expect hang\n\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_RUN                                                                                   \
    "NAME\n"                                                                                       \
    "  flowtrack run - run a command with a timeout, and diagnose hangs and leaks\n"               \
    "\n"                                                                                           \
    "SYNOPSIS\n"                                                                                   \
    "  flowtrack run [--timeout DURATION] [--grace DURATION] [--signal SIG] [--settle DURATION]\n" \
    "                [--label TEXT] [--no-record] [--no-stdin] [--no-stacks] [--allow-leak]\n"     \
    "                [--stack-budget DURATION]\n"                                                  \
    "                [--json] [-- CMD [ARGS...]]\n"                                                \
    "\n"                                                                                           \
    "DESCRIPTION\n"                                                                                \
    "  Runs CMD in its own session and process group, as timeout(1) does, and ends with one\n"     \
    "  outcome: pass (exit 0), fail (exit non-zero), crash (a signal flowtrack did not send),\n"   \
    "  hang (still running at the timeout), leak (the command exited but its processes, or\n"      \
    "  other holders of its output, were still there after the settle time), or interrupted\n"     \
    "  (flowtrack got SIGINT/SIGTERM/SIGHUP/SIGQUIT and forwarded it to the command's group).\n"   \
    "  stdout and stderr stream to the terminal as they come and the newest 256 KiB are kept.\n"   \
    "  flowtrack is a child subreaper, so descendants that double-fork or call setsid stay\n"      \
    "  found. For hang, leak and interrupted, every process left is snapshot from /proc BEFORE\n"  \
    "  anything is killed (threads and what they wait in, descriptors resolved to files, pipes\n"  \
    "  and their holders, sockets with addresses and state; native stacks via eu-stack or gdb\n"   \
    "  when installed), then SIG goes to the group and every process found, then the grace\n"      \
    "  period, then SIGKILL, and a last scan checks that nothing survived. A short diagnosis,\n"   \
    "  likely culprit first, is printed on stderr.\n"                                              \
    "  Without --no-record the run (command line, working directory, times, status, outcome,\n"    \
    "  log tail, diagnosis) and a results-log entry (attempt = --label or the command) are\n"      \
    "  recorded in the tracker as one event. Without CMD, the tracker's reproduction command\n"    \
    "  ('flowtrack repro') runs through sh -c, with its stored timeout.\n"                         \
    "\n"                                                                                           \
    "OPTIONS\n"                                                                                    \
    "      --timeout DURATION   30, 2.5s, 5m, 1h; 0 = none (default: the stored one when\n"        \
    "                           running the reproduction command, else 10m)\n"                     \
    "  -k, --grace DURATION     between SIG and SIGKILL (default 2s); also --kill-after\n"         \
    "  -s, --signal SIG         sent first when ending the run: TERM, INT, 9... (default TERM)\n"  \
    "      --settle DURATION    how long leftovers may take to go after the command exits\n"       \
    "                           before it is a leak (default 500ms)\n"                             \
    "  -l, --label TEXT         the results-log attempt (default: the command line)\n"             \
    "      --no-record          record nothing; no store needed (a drop-in for timeout(1))\n"      \
    "      --no-stdin           stdin from /dev/null instead of inherited\n"                       \
    "      --no-stacks          no native or Python stacks in the diagnosis\n"                     \
    "      --stack-budget DURATION  time for all stacks of a diagnosis (default 2s; a busy\n"      \
    "                           machine may need more for Python's)\n"                             \
    "      --allow-leak         a leak exits with the command's own status instead of 122\n"       \
    "      --json               print the run and its full diagnosis as JSON on stdout; the\n"     \
    "                           command's stdout then goes to stderr\n"                            \
    "\n"

/* the rest of run's page: one C string may hold at most 4095 characters */
#define HELP_RUN_2                                                                                 \
    "EXAMPLES\n"                                                                                   \
    "  flowtrack run --timeout 60 --label 'after the lock fix' -- ctest -R sse\n"                  \
    "  flowtrack run --no-record --timeout 5m -- make check\n"                                     \
    "  flowtrack run\n"                                                                            \
    "\n" HELP_COMMON "\n"                                                                          \
    "EXIT STATUS\n"                                                                                \
    "  the command's status for pass and fail; 124 hang; 122 leak; 125 flowtrack failed\n"         \
    "  (usage, store, recording); 126 cannot execute; 127 not found; 128+N killed by\n"            \
    "  signal N (crash) or interrupted by signal N\n"

#define HELP_DIAGNOSE                                                                              \
    "NAME\n"                                                                                       \
    "  flowtrack diagnose - diagnose processes flowtrack did not start\n"                          \
    "\n"                                                                                           \
    "SYNOPSIS\n"                                                                                   \
    "  flowtrack diagnose [PID...] [--session SID] [--match PATTERN] [--no-stacks]\n"              \
    "                     [--stack-budget DURATION]\n"                                             \
    "                     [--end [--signal SIG] [--grace DURATION]] [--symptom | --result]\n"      \
    "                     [--json]\n"                                                              \
    "\n"                                                                                           \
    "DESCRIPTION\n"                                                                                \
    "  The snapshot and diagnosis 'flowtrack run' makes of a hang, for processes it did not\n"     \
    "  start: a stuck CI job found with ps, a test suite hanging under another runner. The\n"      \
    "  processes are each PID and its descendants, every process of session SID, and every\n"      \
    "  process whose command line contains PATTERN (never this command or its ancestors).\n"       \
    "  For each: state (a stopped one says by a signal or by its tracer), threads and the\n"       \
    "  system call each waits in (with the path of an open, the descriptor of a read),\n"          \
    "  mutex owners and deadlock cycles, descriptors resolved to files, pipes and their\n"         \
    "  holders, sockets with addresses and states, native stacks when gdb or eu-stack is\n"        \
    "  installed; then the likely culprit. Read-only: nothing is signalled without --end.\n"       \
    "  With --end, SIG and SIGCONT go to every process found, then the grace period, then\n"       \
    "  SIGKILL, and a last scan lists survivors. --symptom records the diagnosis's summary as a\n" \
    "  symptom of the tracker, --result as a results entry (outcome hang). Reading another\n"      \
    "  user's processes needs their user or CAP_SYS_PTRACE (docs/runner.md).\n"                    \
    "\n"                                                                                           \
    "OPTIONS\n"                                                                                    \
    "      --session SID        every process of session SID\n"                                    \
    "  -m, --match PATTERN      every process whose command line contains PATTERN\n"               \
    "      --no-stacks          no native or Python stacks\n"                                      \
    "      --stack-budget DURATION  time for all stacks (default 2s)\n"                            \
    "      --end                end the processes after the diagnosis\n"                           \
    "  -s, --signal SIG         with --end: sent first (default TERM)\n"                           \
    "  -k, --grace DURATION     with --end: between SIG and SIGKILL (default 2s)\n"                \
    "      --symptom            record the summary as a symptom of the tracker\n"                  \
    "      --result             record it as a results entry (outcome hang)\n"                     \
    "      --json               the whole diagnosis as JSON (the schema of 'flowtrack run')\n"     \
    "\n"                                                                                           \
    "EXAMPLES\n"                                                                                   \
    "  flowtrack diagnose 4242\n"                                                                  \
    "  flowtrack diagnose --match 'pytest tests/' --symptom\n"                                     \
    "  flowtrack diagnose --session 4200 --end --grace 5s\n"                                       \
    "\n" HELP_COMMON "\n"                                                                          \
    "EXIT STATUS\n"                                                                                \
    "  0 diagnosed (and ended with --end); 1 an error; 2 usage; 3 no such process, or nothing\n"   \
    "  matched\n"

#define HELP_RUNS                                                                                  \
    "NAME\n"                                                                                       \
    "  flowtrack runs - list recorded runs, print a run's diagnosis or log again\n"                \
    "\n"                                                                                           \
    "SYNOPSIS\n"                                                                                   \
    "  flowtrack runs [list]\n"                                                                    \
    "  flowtrack runs show N\n"                                                                    \
    "  flowtrack runs log N\n"                                                                     \
    "\n"                                                                                           \
    "DESCRIPTION\n"                                                                                \
    "  list prints every run of the tracker: number, start time, outcome, exit status or\n"        \
    "  signal, duration, command and label. show prints a run's details and its diagnosis as\n"    \
    "  it was printed at the end of the run; log prints the stored output (its newest 256 KiB,\n"  \
    "  invalid UTF-8 replaced by U+FFFD). With --json, the runs, or the run with its log and\n"    \
    "  full diagnosis, as JSON.\n"                                                                 \
    "\n"                                                                                           \
    "EXAMPLES\n"                                                                                   \
    "  flowtrack runs\n"                                                                           \
    "  flowtrack runs show 3\n"                                                                    \
    "  flowtrack runs log 3 | less\n"                                                              \
    "\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_FIX                                                                                           \
    "NAME\n  flowtrack fix - the final fix\n\n"                                                            \
    "SYNOPSIS\n  flowtrack fix [--summary TEXT] [--why TEXT] [--evidence TEXT]\n\n"                        \
    "DESCRIPTION\n"                                                                                        \
    "  Sets (or, without options, prints) what was changed, why it works and the evidence.\n"              \
    "  'flowtrack check' wants evidence and a verdict on every hypothesis once it is set.\n\n" HELP_COMMON \
    "\n" HELP_EXIT

#define HELP_HISTORY                                                                               \
    "NAME\n  flowtrack history - the events log\n\n"                                               \
    "SYNOPSIS\n  flowtrack history [--all] [--kind PREFIX] [--since SEQ] [--limit N] [--json]\n\n" \
    "DESCRIPTION\n"                                                                                \
    "  Every change, oldest first: sequence number, time, actor, kind (item.add,\n"                \
    "  item.update, tracker.update, run.record...) and what changed. --json prints one JSON\n"     \
    "  object per line with the full payload.\n\n"                                                 \
    "OPTIONS\n"                                                                                    \
    "  -a, --all            every tracker's events, not only the current one's\n"                  \
    "  -k, --kind PREFIX    only kinds starting with PREFIX ('item', 'hyp.update')\n"              \
    "  -s, --since SEQ      only events after sequence number SEQ\n"                               \
    "  -n, --limit N        only the newest N\n\n"                                                 \
    "EXAMPLES\n  flowtrack history --kind item --limit 20\n\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_COPY                                                                                             \
    "NAME\n  flowtrack copy - copy a whole store into a new or empty one\n\n"                                 \
    "SYNOPSIS\n  flowtrack copy [--json] FROM TO\n\n"                                                         \
    "DESCRIPTION\n"                                                                                           \
    "  Copies everything the store FROM holds into the store TO: every tracker with its\n"                    \
    "  entries (numbers, order, item state changes and claims), its runs with their logs and\n"               \
    "  diagnoses, the whole events log (sequence numbers, times and actors as they are, the\n"                \
    "  events of deleted trackers too) and the settings (the default tracker). Every command\n"               \
    "  then shows the same on TO as on FROM, history included, and TO's next event is\n"                      \
    "  numbered after the last one copied.\n\n"                                                               \
    "  FROM and TO are store locations as --db takes them: a file path or a PostgreSQL URL,\n"                \
    "  in any pairing. TO is created when missing (a database must exist, with no tables of\n"                \
    "  another application); an existing TO must be empty (no tracker, event or setting), else the copy is\n" \
    "  refused and TO is left as it was. FROM is only read, in one snapshot: others may write\n"              \
    "  to it meanwhile, and the copy is the store as it was at one moment. TO is written in\n"                \
    "  one transaction: a copy that fails part way leaves nothing of itself in TO.\n\n"                       \
    "  The copy goes through the storage backend, row by row, not through the file: it is\n"                  \
    "  the way to move a store from one backend to another, and a consistent backup of a\n"                   \
    "  store in use. A store written by an older flowtrack is brought up to date when opened,\n"              \
    "  as by any command. See docs/operations.md, \"Copying a store\".\n\n"                                   \
    "OPTIONS\n"                                                                                               \
    "      --json     what was copied as JSON: {\"from\", \"to\", \"copied\": {TABLE: ROWS}}\n"               \
    "  -h, --help     this page\n\n"                                                                          \
    "EXAMPLES\n"                                                                                              \
    "  flowtrack copy .flowtrack/flowtrack.db /backup/flowtrack-$(date +%F).db\n"                             \
    "  flowtrack copy .flowtrack/flowtrack.db postgres://flowtrack@db.internal/flowtrack\n\n"                 \
    "EXIT STATUS\n"                                                                                           \
    "  0 copied; 1 failure (FROM is not a flowtrack store, TO is not empty, a read or a\n"                    \
    "  write failed: TO holds nothing of the copy); 2 usage error (an operand missing, FROM\n"                \
    "  and TO the same store); 3 not found (no store FROM, no directory for TO)\n"

#define HELP_CHECK                                                                                 \
    "NAME\n  flowtrack check - check the ground rules a machine can check\n\n"                     \
    "SYNOPSIS\n  flowtrack check [--doing-max DURATION] [TRACKER]\n\n"                             \
    "DESCRIPTION\n"                                                                                \
    "  Prints one line per finding and exits 1 when there is any:\n"                               \
    "    run-after-update    progress changed after the newest run or results entry\n"             \
    "    verdict-before-fix  a hypothesis is still open while a final fix is written\n"            \
    "    fix-evidence        the final fix states no evidence\n"                                   \
    "    doing-too-long      an item has been in progress longer than --doing-max\n\n"             \
    "OPTIONS\n"                                                                                    \
    "      --doing-max DURATION   threshold of doing-too-long (default 3d)\n\n" HELP_COMMON "\n"   \
    "EXIT STATUS\n  0 every check holds; 1 findings (or an error); 2 usage; 3 not found\n"

#define HELP_MCP                                                                                   \
    "NAME\n  flowtrack mcp - serve MCP to an agent over stdin and stdout\n\n"                      \
    "SYNOPSIS\n  flowtrack [--db PATH | --server URL] [-t TRACKER] [--actor NAME] mcp\n\n"         \
    "DESCRIPTION\n"                                                                                \
    "  A Model Context Protocol server (2025-11-25; 2025-06-18 and 2025-03-26 too) for one\n"      \
    "  agent, newline-delimited JSON-RPC on stdin and stdout. Tools: tracker_list,\n"              \
    "  tracker_read, tracker_create, tracker_update, entry_add, entry_update, item_claim,\n"       \
    "  history, check and run (progress notifications, cancellable). Each tracker is a\n"          \
    "  resource, flowtrack://tracker/SLUG (Markdown); a subscription is told of every\n"           \
    "  change, whichever process made it. Writes are recorded as --actor (or\n"                    \
    "  FLOWTRACK_ACTOR), else as the client's name and a per-session suffix.\n"                    \
    "  At stdin's end it exits at once, 0. See docs/mcp.md.\n\n"                                   \
    "EXAMPLES\n  claude mcp add flowtrack -- flowtrack mcp\n\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_HOOK                                                                                  \
    "NAME\n  flowtrack hook - the session hooks of coding agents\n\n"                              \
    "SYNOPSIS\n  flowtrack hook session-start < HOOK-JSON\n"                                       \
    "  flowtrack hook stop < HOOK-JSON\n\n"                                                        \
    "DESCRIPTION\n"                                                                                \
    "  Run by an agent's hooks ('flowtrack setup' installs them), each reads the hook's\n"         \
    "  JSON object on stdin and works in its 'cwd'.\n\n"                                           \
    "  session-start prints what the agent needs when a session starts or its context\n"           \
    "  was compacted: the tracker's compact view (objective, ground rules, items in\n"             \
    "  progress and pending, latest results and runs), the checks that fail, and how to\n"         \
    "  update it. Its output becomes part of the agent's context.\n\n"                             \
    "  stop runs the checks ('flowtrack check') and, while one fails, blocks the stop by\n"        \
    "  printing {\"decision\": \"block\", \"reason\": ...}; the reason says what to do. It\n"      \
    "  also blocks when session-start ran and the session has not changed the tracker\n"           \
    "  (update-before-stop). It never blocks twice in a row for the same findings\n"               \
    "  (stop_hook_active), and lets the agent stop at once when the tracker waits for a\n"         \
    "  person ('flowtrack edit --status waiting'). No tracker here: nothing is printed.\n"         \
    "  A session's state is kept in $XDG_STATE_HOME/flowtrack/sessions/ (default\n"                \
    "  ~/.local/state).\n\n" HELP_COMMON "\n" HELP_EXIT

#define HELP_SETUP                                                                                 \
    "NAME\n  flowtrack setup - install the session hooks for Claude Code or Codex\n\n"             \
    "SYNOPSIS\n  flowtrack setup claude|codex [--remove] [--dry-run] [-C DIR]\n\n"                 \
    "DESCRIPTION\n"                                                                                \
    "  Merges the SessionStart and Stop hooks ('flowtrack hook session-start', 'flowtrack\n"       \
    "  hook stop') into the project's .claude/settings.json (claude) or .codex/hooks.json\n"       \
    "  (codex). Every other key and hook of the file stays as it is; running it again\n"           \
    "  changes nothing; --remove takes out exactly the hooks it added. The file is\n"              \
    "  replaced atomically, keeping its mode.\n\n"                                                 \
    "OPTIONS\n"                                                                                    \
    "      --remove        take flowtrack's hooks out\n"                                           \
    "  -n, --dry-run       print the change as a unified diff; write nothing\n"                    \
    "  -C, --dir DIR       the project directory (default: the working directory)\n\n"             \
    "EXAMPLES\n  flowtrack setup claude --dry-run\n  flowtrack setup codex\n\n" HELP_EXIT

#define HELP_SERVE                                                                                 \
    "NAME\n  flowtrack serve - the JSON API and live event streams over HTTP\n\n"                  \
    "SYNOPSIS\n  flowtrack serve [--listen ADDR:PORT] [--loops N] [--db PATH] [--token TOKEN]\n"   \
    "                  [--private]\n"                                                              \
    "                  [--heartbeat DURATION] [--max-streams N] [--stream-buffer BYTES]\n"         \
    "                  [--write-timeout DURATION] [--idle-timeout DURATION] [--grace DURATION]\n"  \
    "                  [--request-timeout SECONDS] [--busy-timeout DURATION]\n"                    \
    "                  [--mcp-max-sessions N] [--mcp-idle-timeout DURATION] [--ready-file PATH]\n" \
    "                  [--max-connections N] [--header-timeout DURATION]\n"                        \
    "                  [--body-timeout DURATION] [--keepalive-timeout DURATION]\n"                 \
    "                  [--log-file PATH]\n\n"                                                      \
    "DESCRIPTION\n"                                                                                \
    "  Serves the store over HTTP: a live dashboard at / for a browser\n"                          \
    "  (docs/dashboard.md), the JSON API under /api/ (everything the command line does),\n"        \
    "  each tracker as Markdown and text, Server-Sent Events streams of the events log\n"          \
    "  (/api/events and /api/trackers/REF/events, with Last-Event-ID resume), /metrics\n"          \
    "  (Prometheus text), /healthz, and MCP for agents at /mcp (Streamable HTTP; docs/mcp.md).\n"  \
    "  Changes written by other processes (this command line on the same store) reach the\n"       \
    "  streams and the dashboard within a fraction of a second.\n"                                 \
    "  The store is created when --db names a file that does not exist yet.\n\n"                   \
    "  On a PostgreSQL store (--db postgres://...) several servers, on any machines, share it:\n"  \
    "  each one's streams get every change, whichever server or command line wrote it, and\n"      \
    "  a stream resumes on any of them. While the database cannot be reached, /healthz answers\n"  \
    "  503 and requests that need it 503 with Retry-After; streams stay open and catch up when\n"  \
    "  it is back (docs/operations.md, \"Several servers\").\n\n"                                  \
    "  When listening, prints 'flowtrack: listening on http://HOST:PORT' on stderr, then one\n"    \
    "  logfmt line per request and per stream end. SIGTERM or SIGINT stops accepting, ends\n"      \
    "  every stream with a final 'shutdown' event, closes the store and exits 0.\n"                \
    "  Routes, the stream format and status codes: docs/api.md; metrics: docs/operations.md.\n\n"  \
    "WORKERS\n"                                                                                    \
    "  --loops N worker processes (default: one per core), each with its own event loop and\n"     \
    "  store connection, share the port (SO_REUSEPORT: the kernel spreads connections over\n"      \
    "  them). The first process supervises them: it says 'listening' once all of them listen,\n"   \
    "  passes SIGTERM, SIGINT and SIGHUP on, and starts again a worker that dies. /metrics on\n"   \
    "  any worker sums all of them; --max-streams and --mcp-max-sessions bound the whole\n"        \
    "  server, --max-connections is shared out; an MCP session may use any worker.\n\n"            \
    "SECURITY\n"                                                                                   \
    "  Loopback only by default. Any other address needs a token. With a token, writes (and,\n"    \
    "  with --private, reads) need 'Authorization: Bearer TOKEN'. On loopback, requests must\n"    \
    "  name a loopback Host; writes carrying a foreign Origin are refused (DNS rebinding,\n"       \
    "  cross-site requests from a browser). The dashboard asks for the token once and keeps\n"     \
    "  it in an HttpOnly, SameSite=Strict cookie, accepted like the header.\n\n"

/* the rest of serve's page: one C string may hold at most 4095 characters */
#define HELP_SERVE_2                                                                                \
    "CONNECTIONS AND SLOW CLIENTS\n"                                                                \
    "  The descriptor limit is raised to its hard limit at start. Connections are budgeted\n"       \
    "  below it (--max-connections; by default the limit less 64 descriptors kept for the\n"        \
    "  store, the log, /metrics and the MCP run tool). At the budget, a new connection takes\n"     \
    "  the place of the oldest idle keep-alive one, else of the oldest one still sending its\n"     \
    "  headers, so a flood of half-sent requests cannot lock clients out. Streams, requests\n"      \
    "  being answered and bodies being read are never evicted: when only those are left, the\n"     \
    "  server stops accepting (clients wait in the kernel's backlog) until one closes: keep\n"      \
    "  --max-streams below the budget so that other requests find room.\n"                          \
    "  accept() failing for lack of descriptors pauses accepting for 250 ms, without\n"             \
    "  spinning. A request's line and headers must arrive within --header-timeout of the\n"         \
    "  connection (or of the first byte of a kept-alive request), its body within\n"                \
    "  --body-timeout of the headers' end, however slowly bytes keep coming; a kept-alive\n"        \
    "  connection may wait --keepalive-timeout for its next request. Past a deadline the\n"         \
    "  connection is closed without a reply. Streams have none of these deadlines once they\n"      \
    "  started. Each close and refusal is counted by reason in /metrics and summed up in at\n"      \
    "  most one 'connections' log line per 10 s.\n\n"                                               \
    "RUNNING AS A SERVICE\n"                                                                        \
    "  Under systemd (Type=notify, contrib/flowtrack.service) the server tells it when it is\n"     \
    "  ready and when it is stopping, and pings the watchdog (WatchdogSec) while its loops turn.\n" \
    "  SIGHUP opens --log-file again, after logrotate moved it.\n\n"

/* and its end */
#define HELP_SERVE_3                                                                                  \
    "OPTIONS\n"                                                                                       \
    "      --db PATH               the store, a file or postgres://... (default: FLOWTRACK_DB,\n"     \
    "                              then .flowtrack/flowtrack.db found upward); created when it\n"     \
    "                              does not exist\n"                                                  \
    "      --actor NAME            who API writes are recorded as (default: FLOWTRACK_ACTOR,\n"       \
    "                              then $USER)\n"                                                     \
    "      --listen ADDR:PORT      where to listen (default 127.0.0.1:7464; port 0 picks one)\n"      \
    "      --loops N               worker processes, 1 to 64 (default: one per core)\n"               \
    "      --token TOKEN           the bearer token clients must send (default: FLOWTRACK_TOKEN;\n"   \
    "                              none)\n"                                                           \
    "      --private               reads need the token too (not /healthz)\n"                         \
    "      --heartbeat DURATION    comment frame on idle streams every DURATION (default 15s;\n"      \
    "                              0 = none)\n"                                                       \
    "      --max-streams N         open streams allowed; more get 503 (default 10000)\n"              \
    "      --stream-buffer BYTES   output queued per stream before it is closed as a slow\n"          \
    "                              reader (default 262144)\n"                                         \
    "      --write-timeout DURATION  a stream whose queued output does not move for this long\n"      \
    "                              is closed as a slow reader (default 30s; 0 = never)\n"             \
    "      --idle-timeout DURATION end a stream that delivered no event for this long\n"              \
    "                              (default 0 = never; clients resume with Last-Event-ID)\n"          \
    "      --grace DURATION        at shutdown, longest wait for streams to flush (default 5s)\n"     \
    "      --request-timeout SECONDS  longest silence reading a request or writing a plain\n"         \
    "                              reply (default 60)\n"                                              \
    "      --busy-timeout DURATION  how long an API write waits for a lock another process\n"         \
    "                              holds (a CLI writing to the same store) before it gets\n"          \
    "                              503 with Retry-After; the event loop waits with it, so\n"          \
    "                              keep it short (default 1s, at most 60s). On PostgreSQL\n"          \
    "                              every wait on the database is bounded by it + 1s of\n"             \
    "                              silence: then 503, and the connection is made again\n"             \
    "      --mcp-max-sessions N    MCP sessions open at once; more get 503 (default 256)\n"           \
    "      --mcp-idle-timeout DURATION  end an MCP session with no request and no open stream\n"      \
    "                              for this long (default 30m; 0 = never)\n"                          \
    "      --ready-file PATH       once listening, write the URL to PATH (atomically)\n"              \
    "      --max-connections N     connections kept open at once (default: the descriptor\n"          \
    "                              limit less 64)\n"                                                  \
    "      --header-timeout DURATION  request line and headers (default 10s; 0 = none)\n"             \
    "      --body-timeout DURATION  request body, from the headers' end (default 30s; 0 = none)\n"    \
    "      --keepalive-timeout DURATION  idle between two requests (default 30s; 0 = none)\n"         \
    "      --log-file PATH         append the log to PATH instead of stderr; SIGHUP reopens it\n\n"   \
    "DURATIONS\n  A number with an optional unit: 250ms, 2.5s, 5m, 1h (default seconds).\n\n"         \
    "EXAMPLES\n"                                                                                      \
    "  flowtrack serve --db .flowtrack/flowtrack.db\n"                                                \
    "  curl -N http://127.0.0.1:7464/api/events\n"                                                    \
    "  curl -X POST -H 'Content-Type: application/json' -d '{\"text\":\"try X\"}' \\\n"               \
    "       http://127.0.0.1:7464/api/trackers/my-bug/items\n\n"                                      \
    "EXIT STATUS\n  0 stopped by SIGTERM/SIGINT; 1 cannot listen or open the store; 2 usage error,\n" \
    "  or a non-loopback address without a token\n"

#define HELP_SYNC                                                                                  \
    "NAME\n"                                                                                       \
    "  flowtrack sync - keep a Markdown or text file in step with a tracker\n"                     \
    "\n"                                                                                           \
    "SYNOPSIS\n"                                                                                   \
    "  flowtrack sync [-t TRACKER] [--format md|text] [--ours|--theirs] FILE\n"                    \
    "  flowtrack sync --watch [--debounce DURATION] [-t TRACKER] FILE\n"                           \
    "\n"                                                                                           \
    "DESCRIPTION\n"                                                                                \
    "  Keeps FILE (TRACKER.md in a repository, say) and a tracker the same, both ways, so\n"       \
    "  that people and agents may edit either. The first sync writes the tracker to FILE\n"        \
    "  when FILE does not exist, imports FILE as a new tracker (named by -t) when there is\n"      \
    "  no tracker, and when both exist takes what only one side holds and reports each\n"          \
    "  entry or field where they differ as a conflict: nothing is lost either way.\n"              \
    "  After it, each sync compares both sides with the sync base, the document as the\n"          \
    "  last sync left it (kept under the store's directory, in sync/):\n"                          \
    "  - only the tracker changed: FILE is rewritten from it;\n"                                   \
    "  - only FILE changed: it is read (the tolerant reader takes hand edits) and its\n"           \
    "    changes go to the tracker as ordinary changes (items added, edited, moved or\n"           \
    "    removed, states, verdicts, header fields), each an event with --actor;\n"                 \
    "  - both changed: a three-way merge, entry by entry and field by field. Changes to\n"         \
    "    different entries or fields all apply; the same field of the same entry changed\n"        \
    "    on both sides, or an entry removed on one side and changed on the other, is a\n"          \
    "    conflict: nothing is written anywhere, the conflicts are listed (kind, number,\n"         \
    "    text, each side's value) and the exit status is 4. --ours (FILE wins) or\n"               \
    "    --theirs (the tracker wins) settles them; the other changes apply as usual.\n"            \
    "  File entries are matched to the tracker's by their text (the layouts hold no\n"             \
    "  numbers); an entry whose text was edited in place pairs with the one it replaced.\n"        \
    "  FILE is always left as the tracker's rendering (the layout of 'show --format md'\n"         \
    "  or text), written atomically: a temporary file in its directory, fsync, rename. A\n"        \
    "  temporary file left by a killed sync is removed by the next one. The format comes\n"        \
    "  from the name: .md or .markdown is Markdown, anything else text.\n"                         \
    "\n"

/* the rest of sync's page: one C string may hold at most 4095 characters */
#define HELP_SYNC_2                                                                                    \
    "  --watch follows both sides until SIGINT or SIGTERM (then exits 0): a change to\n"               \
    "  FILE (also a replacement by rename, as editors save) or to the tracker (any\n"                  \
    "  process, or through --server) is synced once nothing more changed for --debounce.\n"            \
    "  A conflict is reported and the watch goes on, writing nothing, until an edit or\n"              \
    "  'sync --ours'/'--theirs' settles it. A deleted FILE pauses the sync until it is\n"              \
    "  back ('flowtrack sync FILE' without --watch writes it again).\n"                                \
    "\n"                                                                                               \
    "OPTIONS\n"                                                                                        \
    "  -f, --format FMT        md or text (default: from FILE's name)\n"                               \
    "      --ours              settle conflicts for FILE\n"                                            \
    "      --theirs            settle conflicts for the tracker\n"                                     \
    "  -w, --watch             keep syncing as either side changes\n"                                  \
    "      --debounce DURATION quiet time before a sync under --watch (default 100ms)\n"               \
    "\n"                                                                                               \
    "A GIT HOOK\n"                                                                                     \
    "  .git/hooks/pre-commit (executable) keeps the committed file in step:\n"                         \
    "    #!/bin/sh\n"                                                                                  \
    "    flowtrack sync TRACKER.md && git add TRACKER.md\n"                                            \
    "  A conflict (status 4) stops the commit until it is settled. See docs/sync.md.\n"                \
    "\n"                                                                                               \
    "EXAMPLES\n"                                                                                       \
    "  flowtrack sync TRACKER.md\n"                                                                    \
    "  flowtrack --actor ana sync --ours TRACKER.md\n"                                                 \
    "  flowtrack sync --watch -t sse-leak docs/TRACKER.md &\n"                                         \
    "\n" HELP_COMMON "\n"                                                                              \
    "EXIT STATUS\n  0 in step (or --watch ended by a signal); 1 failure; 2 usage error; 3 not found\n" \
    "  (store, tracker); 4 a conflict: nothing written\n"

#define HELP_HELP                                                                                  \
    "NAME\n  flowtrack help - show a command's manual\n\nSYNOPSIS\n  flowtrack help [COMMAND]\n"
#define HELP_VERSION                                                                               \
    "NAME\n  flowtrack version - print the version\n\nSYNOPSIS\n  flowtrack version [--json]\n"

#endif
