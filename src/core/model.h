/*
 * model: the tracker as flowtrack holds it in memory.
 *
 * A tracker is a header (title, owner, objective, the reproduction command,
 * the notes of each "Notes & Follow-Ups" section, the final fix) plus ordered
 * lists of entries, one list per kind. Every entry kind shares one struct:
 * the meaning of `title`, `text`, `state` and `detail` depends on the kind
 * (see the table in ft_kind_info). Entries carry a number that is stable
 * within their tracker and kind; their order in the list is their position.
 *
 * Ownership: a struct ft_tracker owns every string and entry it points at;
 * ft_tracker_free() releases all of it. Strings are never NULL once a tracker
 * is built with ft_tracker_new(); "" means "not set" (dates included).
 * This module is pure: no I/O, no globals, safe from any thread.
 */
#ifndef FT_MODEL_H
#define FT_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct ft_pool; /* util/ft_pool.h */

enum ft_kind {
    FT_K_RULE,     /* ground rule: text */
    FT_K_STEP,     /* workflow step: title, text */
    FT_K_ITEM,     /* progress item: text, state (enum ft_state) */
    FT_K_SYMPTOM,  /* observed symptom: text */
    FT_K_HYP,      /* hypothesis: text, state (enum ft_verdict), detail = evidence */
    FT_K_RESULT,   /* results log: date, text = attempt, state (enum ft_outcome), detail = notes */
    FT_K_FOLLOWUP, /* follow-up: text */
    FT_K_NOTE,     /* any other note under "Notes & Follow-Ups": text */
    FT_K__COUNT
};

enum ft_state { FT_ST_DONE, FT_ST_DOING, FT_ST_PENDING, FT_ST_DROPPED, FT_ST__COUNT };
enum ft_verdict { FT_V_OPEN, FT_V_RULED_OUT, FT_V_CONFIRMED, FT_V__COUNT };
enum ft_outcome {
    FT_OUT_NONE, /* not stated (a results entry written as prose) */
    FT_OUT_PASS,
    FT_OUT_FAIL,
    FT_OUT_HANG,
    FT_OUT_LEAK,
    FT_OUT_CRASH,
    FT_OUT_INTERRUPTED,
    FT_OUT__COUNT
};
/* A tracker is open (worked on), waiting (for a person: an agent may end its session) or
 * resolved. */
enum ft_status { FT_STATUS_OPEN, FT_STATUS_RESOLVED, FT_STATUS_WAITING, FT_STATUS__COUNT };

struct ft_state_change {
    int state;  /* enum ft_state */
    int64_t at; /* Unix ms */
};

struct ft_entry {
    int64_t id; /* store row id; 0 when not stored */
    int num;    /* stable number within tracker and kind; 0 when not stored */
    enum ft_kind kind;
    char *title;    /* step title; "" for other kinds */
    char *text;     /* the entry's text; a result's attempt */
    int state;      /* item: ft_state; hyp: ft_verdict; result: ft_outcome; else 0 */
    char *detail;   /* hyp: evidence; result: notes; else "" */
    char *date;     /* result: "YYYY-MM-DD" or "" (not set) */
    int64_t run_id; /* result: the run that produced it, 0 = none */
    int run_num;    /* result: that run's number within the tracker */
    int64_t created_at, updated_at, state_at;
    struct ft_state_change *changes; /* item: every state change, oldest first */
    size_t nchanges;
    char *claimed_by;   /* item in progress: the actor that claimed it; NULL when unclaimed */
    int64_t claimed_at; /* Unix ms; 0 when unclaimed */
};

struct ft_entry_list {
    struct ft_entry *v;
    size_t n, cap;
};

/* A stored execution of a command by `flowtrack run`. */
struct ft_run {
    int64_t id;
    int num;       /* number within its tracker */
    char *command; /* the command line as the user gave it */
    char *cwd;
    char *label; /* the attempt's name, "" = none */
    int64_t started_at, duration_ms;
    int exit_code; /* -1 when it did not exit (signal, hang) */
    int signal;    /* terminating signal, 0 = none */
    int outcome;   /* enum ft_outcome */
    char *log;     /* captured output (tail), as stored */
    int log_truncated;
    char *diagnosis; /* JSON text, "" = none */
};

struct ft_tracker {
    int64_t id; /* store row id, 0 when not stored */
    char *slug;
    char *org; /* organisation line above the title */
    char *title;
    char *started; /* "YYYY-MM-DD" or "" */
    char *owner;
    char *objective;
    int status; /* enum ft_status */
    char *repro_command;
    int64_t repro_timeout_ms; /* 0 = not set */
    char *repro_expect;       /* expected failure mode */
    char *repro_note;         /* prose under "Reproduction command" */
    char *symptoms_note, *hyps_note, *results_note;
    char *fix_summary, *fix_why, *fix_evidence;
    int64_t created_at, updated_at;
    struct ft_entry_list lists[FT_K__COUNT];
    struct ft_run *runs; /* newest last; log and diagnosis may be "" in summaries */
    size_t nruns, runs_cap;
    /* Set in a tracker loaded only to be read (FT_LOAD_VIEW): its entries' title, text, detail
     * and date live in this pool, freed with the tracker, and are never replaced. */
    struct ft_pool *pool;
};

/* Allocate an empty tracker with every string "". Never NULL. */
struct ft_tracker *ft_tracker_new(void);
/* Free a tracker and everything it owns. NULL is allowed. */
void ft_tracker_free(struct ft_tracker *t);
/* Append a new empty entry of `kind` and return it (owned by t). */
struct ft_entry *ft_tracker_add(struct ft_tracker *t, enum ft_kind kind);
/* Append an entry taking ownership of its four strings (none may be NULL). */
struct ft_entry *ft_tracker_push(struct ft_tracker *t, enum ft_kind kind, char *title, char *text,
                                 char *detail, char *date);
/* A copy of the n bytes at s for one of t's entries' four strings: in t->pool when t has one. */
char *ft_tracker_str(struct ft_tracker *t, const char *s, size_t n);
/* Append an empty run and return it (owned by t). */
struct ft_run *ft_tracker_add_run(struct ft_tracker *t);
/*
 * Make *e a new entry of kind with its defaults: empty texts, an item pending,
 * a result dated the UTC day of now_ms. Release it with ft_entry_release.
 */
void ft_entry_init(struct ft_entry *e, enum ft_kind kind, int64_t now_ms);
/* Release an entry's strings (not the entry itself). */
void ft_entry_release(struct ft_entry *e);
void ft_run_release(struct ft_run *r);
/* Replace *slot (a string owned by a model struct) with a copy of s. */
void ft_set_str(char **slot, const char *s);

/* Names as used on the command line, in JSON and in events. */
const char *ft_kind_name(enum ft_kind k); /* "rule", "step", "item", ... */
int ft_kind_parse(const char *s);         /* -1 when unknown */
const char *ft_state_name(int st);        /* "done", "doing", "pending", "dropped" */
int ft_state_parse(const char *s);
const char *ft_verdict_name(int v); /* "open", "ruled-out", "confirmed" */
int ft_verdict_parse(const char *s);
const char *ft_outcome_name(int o); /* "" for FT_OUT_NONE, "pass", ... */
const char *ft_status_name(int s);  /* "open", "resolved", "waiting" */
int ft_status_parse(const char *s);
int ft_outcome_parse(const char *s); /* "" parses as FT_OUT_NONE */
/*
 * The outcome a results entry's "→" tail starts with: "NAME" alone or "NAME + notes".
 * Returns it and sets *skip to the bytes before the notes; -1 when the tail holds none.
 */
int ft_outcome_lead(const char *tail, size_t *skip);
/* The length of a " →" that ends a results attempt (the store refuses it), or 0. */
size_t ft_result_attempt_tail(const char *attempt);

/*
 * Check an entry's fields against the rules the text layout needs to read it
 * back (for example a step title may not contain ": "). 0 or FT_EINVAL with
 * err naming the field.
 */
struct ft_err;
int ft_entry_validate(const struct ft_entry *e, struct ft_err *err);
#define FT_NO_DATE "YYYY-MM-DD" /* how the layouts write a missing date */
/* a reproduction command's runs of backticks stay below this (its Markdown code span) */
#define FT_REPRO_BACKTICKS_MAX 32

/*
 * Normalise an entry's text fields as the store holds them (ft_text_norm: no trailing blanks
 * on a line, no blank lines around; "YYYY-MM-DD" as no date). Every reader ends with it, so
 * that what it reads is what the store would keep and the layouts write back.
 */
void ft_entry_norm(struct ft_entry *e);
/* The same for the header's texts (title, organisation, owner, objective, reproduction, section
 * notes, final fix): what every reader ends with, as the layouts read them back. */
void ft_tracker_norm(struct ft_tracker *t);
/* Check the header fields the same way. */
int ft_tracker_validate(const struct ft_tracker *t, struct ft_err *err);

#endif
