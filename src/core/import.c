/*
 * Importers for the text and Markdown layouts (grammar: docs/format.md).
 *
 * The outline a parser builds is deliberately small: a section is a heading
 * and a tree of list items; an item is its text (continuation lines joined
 * with '\n') and its line number. Everything about what a label means lives
 * in outline_to_tracker(), which both layouts share.
 */
#include "import.h"

#include "import_json.h"
#include "import_tolerant.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"
#include "render.h"

#include <md4c.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/banned.h"

struct node {
    struct ft_buf text;
    int line;
    int indent; /* marker column (text layout only) */
    struct node *kids;
    size_t nkids, cap;
};

struct section {
    char *heading;
    int line;
    struct node root; /* root.kids are the top-level items */
};

struct outline {
    char *org, *title;
    int title_line;
    struct node header; /* kids: "Started: …", "Owner: …", "Objective: …" */
    struct section *sect;
    size_t nsect, cap;
    int last_line;
};

static void node_release(struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        node_release(&n->kids[i]);
    free(n->kids);
    ft_buf_release(&n->text);
}

static struct node *node_add(struct node *parent, int line, int indent)
{
    ft_xgrow((void **)&parent->kids, &parent->cap, parent->nkids + 1, sizeof(*parent->kids));
    struct node *n = &parent->kids[parent->nkids++];
    memset(n, 0, sizeof(*n));
    ft_buf_init(&n->text, 0);
    n->line = line;
    n->indent = indent;
    return n;
}

static void outline_release(struct outline *o)
{
    free(o->org);
    free(o->title);
    node_release(&o->header);
    for (size_t i = 0; i < o->nsect; i++) {
        free(o->sect[i].heading);
        node_release(&o->sect[i].root);
    }
    free(o->sect);
}

static struct section *section_add(struct outline *o, const char *heading, size_t n, int line)
{
    ft_xgrow((void **)&o->sect, &o->cap, o->nsect + 1, sizeof(*o->sect));
    struct section *s = &o->sect[o->nsect++];
    memset(s, 0, sizeof(*s));
    s->heading = ft_xstrndup(heading, n);
    s->line = line;
    return s;
}

/* ---- input checks -------------------------------------------------------------------- */

/* Nonzero when any of the 8 bytes of w is below 0x20 or above 0x7e. */
static uint64_t word_unusual(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t below = (w - ones * 0x20) & ~w & highs;
    uint64_t above = ((w + ones) | w) & highs; /* 0x7f and up */
    return below | above;
}

/* The length of the valid UTF-8 sequence of two to four bytes at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0], min;
    size_t len;
    if ((c & 0xe0) == 0xc0)
        len = 2, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0)
        len = 3, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0)
        len = 4, min = 0x10000, c &= 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[k] & 0x3f);
    }
    return c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ? 0 : len;
}

/*
 * One pass over input that holds only what import_check accepts: printable ASCII eight
 * bytes at a time, the rest byte by byte. 1 when all of it is acceptable; 0 sends the
 * caller to the line-by-line check that names the first fault.
 */
static int input_plain(const unsigned char *p, size_t len)
{
    size_t k = 0, start = 0;
    while (k < len) {
        uint64_t w;
        if (k + 8 <= len) {
            memcpy(&w, p + k, 8);
            if (!word_unusual(w)) {
                k += 8;
                continue;
            }
        }
        unsigned char c = p[k];
        if ((c >= 0x20 && c < 0x7f) || c == '\t') {
            k++;
        } else if (c == '\n') {
            if (k - start > FT_IMPORT_MAX_LINE)
                return 0;
            start = ++k;
        } else if (c == '\r' && (k + 1 == len || p[k + 1] == '\n')) {
            k++;
        } else if (c >= 0x80) {
            size_t n = utf8_seq(p + k, len - k);
            if (!n)
                return 0;
            k += n;
        } else {
            return 0;
        }
    }
    return len - start <= FT_IMPORT_MAX_LINE;
}

int ft__import_check(const char *data, size_t len, struct ft_err *err)
{
    if (len > FT_IMPORT_MAX_BYTES)
        return ft_err_set(err, FT_ETOOBIG, "input is %zu bytes, more than the limit of %u", len,
                          FT_IMPORT_MAX_BYTES);
    if (input_plain((const unsigned char *)data, len))
        return 0;
    int line = 1;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\n')
            continue;
        if (i - start > FT_IMPORT_MAX_LINE)
            return ft_err_set(err, FT_ETOOBIG,
                              "line %d: line is %zu bytes, more than the limit of %u", line,
                              i - start, FT_IMPORT_MAX_LINE);
        size_t bad;
        if (!ft_utf8_valid(data + start, i - start, &bad))
            return ft_err_set(err, FT_EINVAL,
                              "line %d: not valid UTF-8 text (byte %zu); is this a binary file?",
                              line, bad + 1);
        for (size_t k = start; k < i; k++) {
            unsigned char c = (unsigned char)data[k];
            int crlf = c == '\r' && k + 1 == i; /* the CR of a CRLF line end */
            if (((c < 0x20 && c != '\t' && !crlf) || c == 0x7f) && c != 0)
                return ft_err_set(err, FT_EINVAL,
                                  "line %d: control character 0x%02x (byte %zu); is this a binary "
                                  "file?",
                                  line, c, k - start + 1);
        }
        line++;
        start = i + 1;
    }
    return 0;
}

/* ---- the text layout ----------------------------------------------------------------- */

static size_t indent_of(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    return i;
}

/* Length of a list marker at s ("• ", "- ", "* ", "12. ", "3) "), or 0. */
static size_t marker_len(const char *s, size_t n, int *numbered)
{
    *numbered = 0;
    if (n >= 4 && memcmp(s, FT_BULLET " ", 4) == 0)
        return 4;
    if (n >= 2 && (s[0] == '-' || s[0] == '*') && s[1] == ' ')
        return 2;
    size_t i = 0;
    while (i < n && i < 9 && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i > 0 && i + 1 < n && (s[i] == '.' || s[i] == ')') && s[i + 1] == ' ') {
        *numbered = 1;
        return i + 2;
    }
    return 0;
}

static int heading_is_section(const char *s, size_t n)
{
    static const char *const top[] = {FT_L_RULES, FT_L_WORKFLOW, FT_L_PROGRESS, FT_L_NOTES};
    for (size_t i = 0; i < 4; i++)
        if (strlen(top[i]) == n && memcmp(top[i], s, n) == 0)
            return 1;
    for (int g = 0; g < FT_ST__COUNT; g++)
        if (strlen(ft_group_heading[g]) == n && memcmp(ft_group_heading[g], s, n) == 0)
            return 1;
    return 0;
}

/* Strip a trailing '\r' and white space from a line's length. */
static size_t rtrim_len(const char *s, size_t n)
{
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

static int is_header_field(const char *c, size_t cn)
{
    static const char *const f[] = {"Started:", "Status:", "Owner:", "Objective:"};
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(f[i]);
        if (cn >= n && memcmp(c, f[i], n) == 0)
            return 1;
    }
    return 0;
}

static int text_outline(const char *data, size_t len, struct outline *o, struct ft_err *err)
{
    struct node *stack[8];
    int depth = 0; /* open items in the current tree */
    struct node *tree = NULL;
    int pre_lines = 0, line = 0;
    const char *pre[2] = {NULL, NULL};
    size_t pre_len[2] = {0, 0};
    int pre_line[2] = {0, 0};

    for (size_t pos = 0; pos < len;) {
        const char *s = data + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t raw = nl ? (size_t)(nl - s) : len - pos;
        pos += raw + 1;
        o->last_line = ++line;
        size_t n = rtrim_len(s, raw);
        size_t ind = indent_of(s, n);

        if (ind == n) { /* blank: an indented one is an empty line inside a text */
            if (depth && indent_of(s, raw) > (size_t)stack[depth - 1]->indent)
                ft_buf_addc(&stack[depth - 1]->text, '\n');
            continue;
        }
        const char *c = s + ind;
        size_t cn = n - ind;

        if (ind == 0) {
            if (heading_is_section(c, cn)) {
                tree = &section_add(o, c, cn, line)->root;
                depth = 0;
            } else if (tree) {
                return ft_err_set(err, FT_EINVAL, "line %d: unknown heading '%.*s'", line,
                                  (int)(cn > 60 ? 60 : cn), c);
            } else if (is_header_field(c, cn)) {
                stack[0] = node_add(&o->header, line, 0);
                ft_buf_add(&stack[0]->text, c, cn);
                depth = 1;
            } else if (o->header.nkids) {
                return ft_err_set(err, FT_EINVAL,
                                  "line %d: expected 'Started:', 'Owner:', 'Objective:' or '%s'",
                                  line, FT_L_RULES);
            } else if (pre_lines == 2) {
                return ft_err_set(err, FT_EINVAL, "line %d: expected 'Started:' after the title",
                                  line);
            } else {
                pre[pre_lines] = c;
                pre_len[pre_lines] = cn;
                pre_line[pre_lines++] = line;
            }
            continue;
        }
        struct node *top = depth ? stack[depth - 1] : NULL;
        if (!tree) { /* an indented line in the header continues its field */
            if (!top)
                return ft_err_set(err, FT_EINVAL, "line %d: unexpected indented text", line);
            size_t strip = ind < 2 ? ind : 2;
            ft_buf_addc(&top->text, '\n');
            ft_buf_add(&top->text, s + strip, n - strip);
            continue;
        }
        int numbered;
        size_t ml = marker_len(c, cn, &numbered);
        if (top && (int)ind > top->indent && (!ml || (int)ind >= top->indent + 4)) {
            size_t strip = ind < (size_t)top->indent + 4 ? ind : (size_t)top->indent + 4;
            ft_buf_addc(&top->text, '\n');
            ft_buf_add(&top->text, s + strip, n - strip);
            continue;
        }
        if (!ml)
            return ft_err_set(err, FT_EINVAL, "line %d: expected a list item ('%s' or '1.')", line,
                              FT_BULLET);
        while (depth && stack[depth - 1]->indent >= (int)ind)
            depth--;
        if (depth == (int)(sizeof(stack) / sizeof(stack[0])))
            return ft_err_set(err, FT_EINVAL, "line %d: list nested too deeply", line);
        struct node *it = node_add(depth ? stack[depth - 1] : tree, line, (int)ind);
        ft_buf_add(&it->text, c + ml, cn - ml);
        stack[depth++] = it;
    }
    if (pre_lines == 0)
        return ft_err_set(err, FT_EINVAL, "line 1: expected the tracker's title");
    int ti = pre_lines - 1;
    o->title = ft_xstrndup(pre[ti], pre_len[ti]);
    o->title_line = pre_line[ti];
    if (pre_lines == 2)
        o->org = ft_xstrndup(pre[0], pre_len[0]);
    return 0;
}

/* ---- Markdown ------------------------------------------------------------------------ */

struct mdp {
    struct outline *o;
    const char *input;
    size_t input_len;
    struct ft__lines lines; /* the line of a pointer into the input */
    struct ft_buf cur;      /* text of the block being read */
    int cur_line;
    int block; /* MD_BLOCK_H, MD_BLOCK_P... of the innermost text block */
    int hlevel;
    struct node *stack[16];
    int depth;         /* open list items */
    struct node *tree; /* where the current list goes */
    int seen_h1;
    size_t code_start; /* offset of the open code span's text */
    int err_line;
    const char *err_msg;
};

void ft__lines_init(struct ft__lines *l, const char *data, size_t len)
{
    l->base = l->p = data;
    l->len = len;
    l->no = 1;
}

int ft__line_of(struct ft__lines *l, const char *p)
{
    if (p < l->base || p > l->base + l->len)
        return 0;
    if (p < l->p) {
        l->p = l->base;
        l->no = 1;
    }
    for (const char *q = l->p; q < p; q++)
        l->no += *q == '\n';
    l->p = p;
    return l->no;
}

static int md_fail(struct mdp *m, int line, const char *msg)
{
    if (!m->err_msg) {
        m->err_msg = msg;
        m->err_line = line;
    }
    return 1;
}

static int md_enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct mdp *m = ud;
    switch (type) {
    case MD_BLOCK_DOC:
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
        return 0;
    case MD_BLOCK_LI: {
        if (m->depth == (int)(sizeof(m->stack) / sizeof(m->stack[0])))
            return md_fail(m, 0, "list nested too deeply");
        struct node *parent = m->depth ? m->stack[m->depth - 1] : m->tree;
        if (!parent)
            return md_fail(m, 0, "list before the title");
        struct node *it = node_add(parent, 0, m->depth);
        m->stack[m->depth++] = it;
        return 0;
    }
    case MD_BLOCK_H:
        m->hlevel = (int)((MD_BLOCK_H_DETAIL *)detail)->level;
        __attribute__((fallthrough));
    case MD_BLOCK_P:
        m->block = type;
        ft_buf_reset(&m->cur);
        m->cur_line = 0;
        return 0;
    default:
        md_fail(m, 0, "only headings, paragraphs and lists are allowed");
        return 0; /* keep parsing until a text callback gives the line */
    }
}

static int md_leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct mdp *m = ud;
    struct outline *o = m->o;
    (void)detail;

    if (type == MD_BLOCK_LI) {
        m->depth--;
        return 0;
    }
    if (type == MD_BLOCK_H) {
        if (m->hlevel == 1) {
            if (m->seen_h1)
                return md_fail(m, m->cur_line, "a second '# ' title");
            m->seen_h1 = 1;
            free(o->title);
            o->title = ft_xstrdup(m->cur.buf);
            o->title_line = m->cur_line;
            m->tree = &o->header;
        } else {
            if (!m->seen_h1)
                return md_fail(m, m->cur_line, "section heading before the '# ' title");
            m->tree = &section_add(o, m->cur.buf, m->cur.len, m->cur_line)->root;
        }
        m->block = 0;
        return 0;
    }
    if (type == MD_BLOCK_P) {
        m->block = 0;
        if (m->depth) {
            struct node *it = m->stack[m->depth - 1];
            if (it->text.len)
                ft_buf_adds(&it->text, "\n\n");
            ft_buf_add(&it->text, m->cur.buf, m->cur.len);
            if (!it->line)
                it->line = m->cur_line;
            return 0;
        }
        if (!m->seen_h1 && !o->org) {
            o->org = ft_xstrdup(m->cur.buf);
            return 0;
        }
        return md_fail(m, m->cur_line, "expected a list item, found a paragraph");
    }
    return 0;
}

/* Where inline text goes: the open heading or paragraph, else a tight list item. */
static struct ft_buf *md_target(struct mdp *m, int **line)
{
    if (m->block) {
        *line = &m->cur_line;
        return &m->cur;
    }
    if (m->depth) {
        struct node *it = m->stack[m->depth - 1];
        *line = &it->line;
        return &it->text;
    }
    return NULL;
}

static int md_span(MD_SPANTYPE type, void *detail, void *ud, int enter)
{
    struct mdp *m = ud;
    int *line;
    struct ft_buf *b = md_target(m, &line);
    (void)detail;
    if (type != MD_SPAN_CODE || !b)
        return 0;
    if (enter) {
        m->code_start = b->len;
        return 0;
    }
    /* rebuild the span with a fence that fits its content */
    char *code = ft_xstrndup(b->buf + m->code_start, b->len - m->code_start);
    b->len = m->code_start;
    b->buf[b->len] = '\0';
    ft_md_code_span(b, code);
    free(code);
    return 0;
}

static int md_enter_span(MD_SPANTYPE type, void *detail, void *ud)
{
    return md_span(type, detail, ud, 1);
}

static int md_leave_span(MD_SPANTYPE type, void *detail, void *ud)
{
    return md_span(type, detail, ud, 0);
}

static void md_entity(struct ft_buf *b, const char *s, size_t n)
{
    static const struct {
        const char *name;
        const char *val;
    } named[] = {{"&amp;", "&"},   {"&lt;", "<"},   {"&gt;", ">"},
                 {"&quot;", "\""}, {"&apos;", "'"}, {"&nbsp;", "\xc2\xa0"}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (strlen(named[i].name) == n && memcmp(named[i].name, s, n) == 0) {
            ft_buf_adds(b, named[i].val);
            return;
        }
    if (n >= 4 && s[1] == '#') {
        char tmp[16];
        size_t k = n - 3 < sizeof(tmp) - 1 ? n - 3 : sizeof(tmp) - 1;
        memcpy(tmp, s + 2, k);
        tmp[k] = '\0';
        unsigned long cp =
            (tmp[0] == 'x' || tmp[0] == 'X') ? strtoul(tmp + 1, NULL, 16) : strtoul(tmp, NULL, 10);
        if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            cp = 0xfffd;
        char u[4];
        size_t ul;
        if (cp < 0x80) {
            u[0] = (char)cp, ul = 1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), ul = 2;
        } else if (cp < 0x10000) {
            u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[2] = (char)(0x80 | (cp & 0x3f)), ul = 3;
        } else {
            u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), ul = 4;
        }
        ft_buf_add(b, u, ul);
        return;
    }
    ft_buf_add(b, s, n); /* unknown named entity: keep it as written */
}

void ft__md_text_add(struct ft_buf *b, int type, const char *text, size_t size)
{
    switch (type) {
    case MD_TEXT_BR:
    case MD_TEXT_SOFTBR:
        ft_buf_addc(b, '\n');
        break;
    case MD_TEXT_ENTITY:
        md_entity(b, text, size);
        break;
    default:
        ft_buf_add(b, text, size);
        break;
    }
}

static int md_text_cb(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *ud)
{
    struct mdp *m = ud;
    int *line;
    if (m->err_msg) { /* a block refused on entry: its first text gives the line */
        if (!m->err_line)
            m->err_line = ft__line_of(&m->lines, text);
        return 0;
    }
    struct ft_buf *b = md_target(m, &line);
    if (!b)
        return md_fail(m, ft__line_of(&m->lines, text),
                       "text outside a heading, paragraph or list");
    if (!*line && type != MD_TEXT_BR && type != MD_TEXT_SOFTBR)
        *line = ft__line_of(&m->lines, text);
    if (type == MD_TEXT_NULLCHAR)
        return md_fail(m, *line, "NUL character");
    ft__md_text_add(b, type, text, size);
    return 0;
}

static int md_outline(const char *data, size_t len, struct outline *o, struct ft_err *err)
{
    struct mdp m;
    memset(&m, 0, sizeof(m));
    m.o = o;
    m.input = data;
    m.input_len = len;
    ft__lines_init(&m.lines, data, len);
    ft_buf_init(&m.cur, 0);

    MD_PARSER p;
    memset(&p, 0, sizeof(p));
    p.abi_version = 0;
    p.flags = MD_FLAG_NOHTML;
    p.enter_block = md_enter_block;
    p.leave_block = md_leave_block;
    p.enter_span = md_enter_span;
    p.leave_span = md_leave_span;
    p.text = md_text_cb;
    int rc = md_parse(data, (MD_SIZE)len, &p, &m);
    ft_buf_release(&m.cur);
    o->last_line = ft__line_of(&m.lines, data + len);
    if (m.err_msg)
        return ft_err_set(err, FT_EINVAL, "line %d: %s", m.err_line ? m.err_line : 1, m.err_msg);
    if (rc != 0)
        return ft_err_set(err, FT_EINVAL, "line 1: the Markdown parser failed (%d)", rc);
    if (!o->title)
        return ft_err_set(err, FT_EINVAL, "line %d: no '# ' title found", o->last_line);
    return 0;
}

/* ---- outline to tracker -------------------------------------------------------------- */

/* When s starts with "Label:" (followed by a space or the end), return the value after it. */
static const char *after_label(const char *s, const char *label)
{
    size_t n = strlen(label);
    if (strncasecmp(s, label, n) != 0 || s[n] != ':')
        return NULL;
    if (s[n + 1] == '\0')
        return s + n + 1;
    if (s[n + 1] == ' ' || s[n + 1] == '\n')
        return s + n + 2;
    return NULL;
}

static void set_norm(char **slot, const char *s)
{
    char *n = ft_text_norm(s);
    free(*slot);
    *slot = n;
}

static int no_kids(const struct node *n, const char *what, struct ft_err *err)
{
    if (n->nkids)
        return ft_err_set(err, FT_EINVAL, "line %d: %s has no sub-items", n->kids[0].line, what);
    return 0;
}

static int read_date(const char *s, size_t n, char **slot, int line, struct ft_err *err)
{
    if (n == strlen(FT_NO_DATE) && memcmp(s, FT_NO_DATE, n) == 0) {
        ft_set_str(slot, "");
        return 0;
    }
    char tmp[16];
    if (n >= sizeof(tmp))
        return ft_err_set(err, FT_EINVAL, "line %d: '%.*s' is not a date YYYY-MM-DD", line,
                          (int)(n > 40 ? 40 : n), s);
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (!ft_date_valid(tmp))
        return ft_err_set(err, FT_EINVAL, "line %d: '%s' is not a date YYYY-MM-DD", line, tmp);
    ft_set_str(slot, tmp);
    return 0;
}

static int read_header(struct outline *o, struct ft_tracker *t, struct ft_err *err)
{
    set_norm(&t->title, o->title);
    if (!*t->title)
        return ft_err_set(err, FT_EINVAL, "line %d: the title is empty", o->title_line);
    if (o->org)
        set_norm(&t->org, o->org);
    for (size_t i = 0; i < o->header.nkids; i++) {
        struct node *f = &o->header.kids[i];
        const char *v;
        if ((v = after_label(f->text.buf, "Started"))) {
            char *d = ft_text_norm(v);
            int rc = read_date(d, strlen(d), &t->started, f->line, err);
            free(d);
            if (rc)
                return rc;
        } else if ((v = after_label(f->text.buf, "Status"))) {
            char *st = ft_text_norm(v);
            int status = ft_status_parse(st);
            free(st);
            if (status < 0)
                return ft_err_set(err, FT_EINVAL,
                                  "line %d: status must be open, waiting or resolved", f->line);
            t->status = status;
        } else if ((v = after_label(f->text.buf, "Owner"))) {
            set_norm(&t->owner, v);
        } else if ((v = after_label(f->text.buf, "Objective"))) {
            set_norm(&t->objective, v);
        } else {
            return ft_err_set(err, FT_EINVAL,
                              "line %d: expected 'Started:', 'Owner:' or 'Objective:'", f->line);
        }
        if (f->nkids)
            return ft_err_set(err, FT_EINVAL, "line %d: header fields have no sub-items",
                              f->kids[0].line);
    }
    return 0;
}

static int add_simple(struct ft_tracker *t, enum ft_kind k, const char *text, int line,
                      struct ft_err *err)
{
    struct ft_entry *e = ft_tracker_add(t, k);
    set_norm(&e->text, text);
    if (!*e->text)
        return ft_err_set(err, FT_EINVAL, "line %d: empty %s", line, ft_kind_name(k));
    return 0;
}

static int read_rules(struct section *s, struct ft_tracker *t, struct ft_err *err)
{
    for (size_t i = 0; i < s->root.nkids; i++) {
        struct node *n = &s->root.kids[i];
        int rc = no_kids(n, "a ground rule", err);
        if (!rc)
            rc = add_simple(t, FT_K_RULE, n->text.buf, n->line, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int read_steps(struct section *s, struct ft_tracker *t, struct ft_err *err)
{
    for (size_t i = 0; i < s->root.nkids; i++) {
        struct node *n = &s->root.kids[i];
        int rc = no_kids(n, "a workflow step", err);
        if (rc)
            return rc;
        struct ft_entry *e = ft_tracker_add(t, FT_K_STEP);
        const char *sep = strstr(n->text.buf, ": ");
        const char *nl = strchr(n->text.buf, '\n');
        if (sep && (!nl || sep < nl)) {
            char *title = ft_xstrndup(n->text.buf, (size_t)(sep - n->text.buf));
            set_norm(&e->title, title);
            free(title);
            set_norm(&e->text, sep + 2);
        } else {
            char *title = ft_text_norm(n->text.buf);
            size_t tl = strlen(title);
            if (tl && title[tl - 1] == ':')
                title[tl - 1] = '\0';
            free(e->title);
            e->title = title;
        }
        if (ft_entry_validate(e, err))
            return ft_err_set(err, FT_EINVAL, "line %d: %s", n->line, err ? err->msg : "bad step");
    }
    return 0;
}

static int group_of(const char *heading)
{
    for (int g = 0; g < FT_ST__COUNT; g++)
        if (strcmp(heading, ft_group_heading[g]) == 0)
            return g;
    return -1;
}

static int read_repro(struct node *n, const char *v, struct ft_tracker *t, struct ft_err *err)
{
    /* "`cmd`", "`cmd` — note" or just a note */
    if (v[0] == '`') {
        size_t fence = strspn(v, "`");
        const char *p = v + fence;
        const char *end = NULL;
        for (const char *q = p; (q = strchr(q, '`'));) {
            size_t r = strspn(q, "`");
            if (r == fence) {
                end = q;
                break;
            }
            q += r;
        }
        if (end) {
            char *cmd = ft_xstrndup(p, (size_t)(end - p));
            size_t cl = strlen(cmd);
            if (cl >= 2 && cmd[0] == ' ' && cmd[cl - 1] == ' ') {
                memmove(cmd, cmd + 1, cl - 2);
                cmd[cl - 2] = '\0';
            }
            free(t->repro_command);
            t->repro_command = ft_text_norm(cmd);
            free(cmd);
            v = end + fence;
            if (strncmp(v, FT_DASH, strlen(FT_DASH)) == 0)
                v += strlen(FT_DASH);
        }
    }
    set_norm(&t->repro_note, v);
    for (size_t i = 0; i < n->nkids; i++) {
        struct node *k = &n->kids[i];
        const char *kv;
        int rc = no_kids(k, "a reproduction field", err);
        if (rc)
            return rc;
        if ((kv = after_label(k->text.buf, FT_L_TIMEOUT))) {
            char *d = ft_text_norm(kv);
            rc = ft_duration_parse(d, &t->repro_timeout_ms);
            free(d);
            if (rc)
                return ft_err_set(err, FT_EINVAL,
                                  "line %d: timeout '%s' is not a duration (30, 2.5s, 5m)", k->line,
                                  kv);
        } else if ((kv = after_label(k->text.buf, FT_L_EXPECT))) {
            set_norm(&t->repro_expect, kv);
        } else {
            return ft_err_set(err, FT_EINVAL, "line %d: expected '%s:' or '%s:' under '%s'",
                              k->line, FT_L_TIMEOUT, FT_L_EXPECT, FT_L_REPRO);
        }
    }
    return 0;
}

static int read_hyps(struct node *n, struct ft_tracker *t, struct ft_err *err)
{
    for (size_t i = 0; i < n->nkids; i++) {
        struct node *k = &n->kids[i];
        struct ft_entry *e = ft_tracker_add(t, FT_K_HYP);
        const char *v = NULL;
        e->state = FT_V_OPEN;
        for (int vd = 0; vd < FT_V__COUNT && !v; vd++)
            if ((v = after_label(k->text.buf, ft_verdict_label[vd])))
                e->state = vd;
        set_norm(&e->text, v ? v : k->text.buf);
        if (!*e->text)
            return ft_err_set(err, FT_EINVAL, "line %d: empty hypothesis", k->line);
        for (size_t j = 0; j < k->nkids; j++) {
            struct node *g = &k->kids[j];
            const char *ev = after_label(g->text.buf, FT_L_EVIDENCE);
            if (!ev || g->nkids)
                return ft_err_set(err, FT_EINVAL, "line %d: expected '%s:' under a hypothesis",
                                  g->line, FT_L_EVIDENCE);
            set_norm(&e->detail, ev);
        }
    }
    return 0;
}

static int read_result(struct node *k, struct ft_tracker *t, struct ft_err *err)
{
    struct ft_entry *e = ft_tracker_add(t, FT_K_RESULT);
    const char *s = k->text.buf;
    int rc = no_kids(k, "a results entry", err);
    if (rc)
        return rc;
    /* "DATE: attempt → outcome + notes"; the date may be missing */
    if (strlen(s) >= 12 && s[10] == ':' && s[11] == ' ' &&
        (memcmp(s, FT_NO_DATE, 10) == 0 || (s[4] == '-' && s[7] == '-'))) {
        if ((rc = read_date(s, 10, &e->date, k->line, err)))
            return rc;
        s += 12;
    }
    const char *arrow = strstr(s, FT_ARROW);
    char *attempt = ft_xstrndup(s, arrow ? (size_t)(arrow - s) : strlen(s));
    set_norm(&e->text, attempt);
    free(attempt);
    if (!*e->text)
        return ft_err_set(err, FT_EINVAL, "line %d: results entry without an attempt", k->line);
    if (!arrow)
        return 0;
    const char *tail = arrow + strlen(FT_ARROW);
    size_t skip;
    int o = ft_outcome_lead(tail, &skip);
    if (o >= 0) {
        e->state = o;
        tail += skip;
    }
    set_norm(&e->detail, tail);
    return 0;
}

static int read_notes(struct section *s, struct ft_tracker *t, struct ft_err *err)
{
    for (size_t i = 0; i < s->root.nkids; i++) {
        struct node *n = &s->root.kids[i];
        const char *v;
        int rc = 0;
        if ((v = after_label(n->text.buf, FT_L_REPRO))) {
            rc = read_repro(n, v, t, err);
        } else if ((v = after_label(n->text.buf, FT_L_SYMPTOMS))) {
            set_norm(&t->symptoms_note, v);
            for (size_t j = 0; j < n->nkids && !rc; j++) {
                rc = no_kids(&n->kids[j], "a symptom", err);
                if (!rc)
                    rc = add_simple(t, FT_K_SYMPTOM, n->kids[j].text.buf, n->kids[j].line, err);
            }
        } else if ((v = after_label(n->text.buf, FT_L_HYPS))) {
            set_norm(&t->hyps_note, v);
            rc = read_hyps(n, t, err);
        } else if ((v = after_label(n->text.buf, FT_L_RESULTS))) {
            set_norm(&t->results_note, v);
            for (size_t j = 0; j < n->nkids && !rc; j++)
                rc = read_result(&n->kids[j], t, err);
        } else if ((v = after_label(n->text.buf, FT_L_FIX))) {
            set_norm(&t->fix_summary, v);
            for (size_t j = 0; j < n->nkids && !rc; j++) {
                struct node *k = &n->kids[j];
                const char *kv;
                rc = no_kids(k, "a final fix field", err);
                if (rc)
                    break;
                if ((kv = after_label(k->text.buf, FT_L_WHY)))
                    set_norm(&t->fix_why, kv);
                else if ((kv = after_label(k->text.buf, FT_L_EVIDENCE)))
                    set_norm(&t->fix_evidence, kv);
                else
                    rc = ft_err_set(err, FT_EINVAL, "line %d: expected '%s:' or '%s:' under '%s'",
                                    k->line, FT_L_WHY, FT_L_EVIDENCE, FT_L_FIX);
            }
        } else if ((v = after_label(n->text.buf, FT_L_FOLLOWUP))) {
            rc = no_kids(n, "a follow-up", err);
            if (!rc)
                rc = add_simple(t, FT_K_FOLLOWUP, v, n->line, err);
        } else {
            v = after_label(n->text.buf, FT_L_NOTE);
            rc = no_kids(n, "a note", err);
            if (!rc)
                rc = add_simple(t, FT_K_NOTE, v ? v : n->text.buf, n->line, err);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int outline_to_tracker(struct outline *o, struct ft_tracker *t, struct ft_err *err)
{
    static const char *const order[] = {FT_L_RULES, FT_L_WORKFLOW, FT_L_PROGRESS, FT_L_NOTES};
    size_t want = 0; /* index in order[] of the next main section */
    int group = -1;
    int rc = read_header(o, t, err);
    if (rc)
        return rc;

    for (size_t i = 0; i < o->nsect; i++) {
        struct section *s = &o->sect[i];
        int g = group_of(s->heading);
        if (g >= 0) {
            if (want != 3)
                return ft_err_set(err, FT_EINVAL, "line %d: '%s' outside '%s'", s->line, s->heading,
                                  FT_L_PROGRESS);
            group = g;
            for (size_t j = 0; j < s->root.nkids && !rc; j++) {
                struct node *n = &s->root.kids[j];
                rc = no_kids(n, "a progress item", err);
                if (!rc)
                    rc = add_simple(t, FT_K_ITEM, n->text.buf, n->line, err);
                if (!rc)
                    t->lists[FT_K_ITEM].v[t->lists[FT_K_ITEM].n - 1].state = g;
            }
            if (rc)
                return rc;
            continue;
        }
        if (want >= 4 || strcmp(s->heading, order[want]) != 0)
            return ft_err_set(err, FT_EINVAL, "line %d: expected '%s', found '%s'", s->line,
                              want < 4 ? order[want] : "end of file", s->heading);
        want++;
        switch (want) {
        case 1:
            rc = read_rules(s, t, err);
            break;
        case 2:
            rc = read_steps(s, t, err);
            break;
        case 3:
            if (s->root.nkids)
                return ft_err_set(err, FT_EINVAL,
                                  "line %d: progress items must sit under a group heading",
                                  s->root.kids[0].line);
            break;
        case 4:
            rc = read_notes(s, t, err);
            break;
        }
        if (rc)
            return rc;
    }
    (void)group;
    if (want < 4)
        return ft_err_set(err, FT_EINVAL,
                          "line %d: unexpected end of input: section '%s' is missing", o->last_line,
                          order[want]);
    return 0;
}

enum ft_import_fmt ft_import_sniff(const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", data[i]))
        i++;
    if (i < len && data[i] == '{')
        return FT_IMPORT_JSON;
    i = 0;
    while (i < len) {
        if ((len - i >= 2 && memcmp(data + i, "# ", 2) == 0) ||
            (len - i >= 3 && memcmp(data + i, "## ", 3) == 0))
            return FT_IMPORT_MD;
        const char *nl = memchr(data + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - data) + 1;
    }
    return FT_IMPORT_TEXT;
}

int ft_import(const char *data, size_t len, enum ft_import_fmt fmt, struct ft_tracker **out,
              struct ft_err *err)
{
    struct outline o;
    int rc;

    *out = NULL;
    if ((rc = ft__import_check(data, len, err)))
        return rc;
    if (len == 0)
        return ft_err_set(err, FT_EINVAL, "line 1: the input is empty");
    if (fmt == FT_IMPORT_AUTO)
        fmt = ft_import_sniff(data, len);
    if (fmt == FT_IMPORT_JSON)
        return ft_err_set(err, FT_EINVAL, "line 1: JSON is not one of the exact layouts");
    memset(&o, 0, sizeof(o));
    rc = fmt == FT_IMPORT_MD ? md_outline(data, len, &o, err) : text_outline(data, len, &o, err);
    struct ft_tracker *t = ft_tracker_new();
    if (!rc)
        rc = outline_to_tracker(&o, t, err);
    outline_release(&o);
    if (!rc) {
        for (int k = 0; k < FT_K__COUNT && !rc; k++)
            for (size_t i = 0; i < t->lists[k].n && !rc; i++) {
                ft_entry_norm(&t->lists[k].v[i]);
                rc = ft_entry_validate(&t->lists[k].v[i], err);
            }
        if (!rc)
            rc = ft_tracker_validate(t, err);
    }
    if (rc) {
        ft_tracker_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ---- the readers together ------------------------------------------------------------ */

static const char *const fmt_names[] = {"auto", "text", "md", "json"};

int ft_import_fmt_parse(const char *s)
{
    if (strcmp(s, "txt") == 0)
        return FT_IMPORT_TEXT;
    if (strcmp(s, "markdown") == 0)
        return FT_IMPORT_MD;
    for (int i = 0; i < 4; i++)
        if (strcmp(s, fmt_names[i]) == 0)
            return i;
    return -1;
}

const char *ft_import_fmt_name(enum ft_import_fmt fmt)
{
    return (unsigned)fmt < 4 ? fmt_names[fmt] : "?";
}

int ft_import_mode_parse(const char *s)
{
    if (strcmp(s, "auto") == 0)
        return FT_IMPORT_FALLBACK;
    if (strcmp(s, "exact") == 0)
        return FT_IMPORT_EXACT;
    if (strcmp(s, "tolerant") == 0)
        return FT_IMPORT_TOLERANT;
    return -1;
}

void ft_import_report_init(struct ft_import_report *r)
{
    memset(r, 0, sizeof(*r));
    r->exact_refusal = ft_xstrdup("");
}

void ft_import_report_release(struct ft_import_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].msg);
    free(r->v);
    free(r->exact_refusal);
    memset(r, 0, sizeof(*r));
}

void ft_import_warn(struct ft_import_report *r, int line, const char *fmt, ...)
{
    if (!r)
        return;
    va_list ap;
    va_start(ap, fmt);
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    ft_xgrow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v));
    r->v[r->n].line = line;
    r->v[r->n].msg = ft_buf_detach(&b, NULL);
    r->n++;
}

int ft_import_read(const char *data, size_t len, enum ft_import_fmt fmt, enum ft_import_mode mode,
                   struct ft_tracker **out, struct ft_import_report *rep, struct ft_err *err)
{
    struct ft_import_report local;
    int rc;
    if (!rep)
        rep = &local;
    ft_import_report_init(rep);
    *out = NULL;
    enum ft_import_fmt asked = fmt;
    if ((rc = ft__import_check(data, len, err)))
        goto done;
    if (fmt == FT_IMPORT_AUTO)
        fmt = ft_import_sniff(data, len);
    rep->fmt = fmt;
    if (fmt == FT_IMPORT_JSON) {
        rc = ft__import_json(data, len, out, rep, err);
        goto done;
    }
    if (mode != FT_IMPORT_TOLERANT) {
        struct ft_err exact;
        rc = ft_import(data, len, fmt, out, &exact);
        if (rc == 0 || mode == FT_IMPORT_EXACT || rc != FT_EINVAL || len == 0) {
            if (rc && err)
                *err = exact;
            goto done;
        }
        ft_set_str(&rep->exact_refusal, exact.msg);
    }
    rep->tolerant = 1;
    rc = ft__import_tolerant(data, len, asked, out, rep, err);
done:
    if (rep == &local)
        ft_import_report_release(&local);
    return rc;
}
