/*
 * The tolerant reader (contract in import_tolerant.h, accepted forms in docs/format.md).
 *
 * Two front ends produce one stream of blocks: md_blocks() through md4c for Markdown,
 * text_blocks() line by line for the plain layout. place() then walks the stream once
 * with a small state (the current section and progress group, the open list items by
 * depth) and builds the tracker with the model's builders. Every block either lands in
 * its field or entry, or is kept as a note of the section it sits in with a warning;
 * that is the one rule that keeps "nothing is dropped" checkable.
 *
 * The cost is linear in the input: each block is looked at once, synonym tables are
 * scanned linearly (they are short), and the line of a block comes from a cursor that
 * only moves forward.
 */
#include "import_tolerant.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"
#include "render.h"

#include <md4c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/banned.h"

#define DASH_ON "\xe2\x80\x94 " /* "— ": FT_DASH without its leading space */

/* ---- blocks -------------------------------------------------------------------------- */

enum bk { B_HEAD, B_ITEM, B_PARA, B_CODE, B_TABLE };

struct blk {
    enum bk kind;
    int line;
    int level;          /* heading: 1..6 (0: a plain-text title line); item: depth, 0 = top */
    int mark;           /* item: the task mark ' ' or 'x', 0 for none */
    struct ft_buf text; /* heading, item or paragraph text; code: the code */
    char *info;         /* code: the fence's info string ("" for none) */
    char **cells;       /* table: nrows x ncols, row 0 is the header */
    int *row_line;
    size_t nrows, ncols;
};

struct fm_line { /* a line of YAML front matter */
    char *key;   /* lowercased; NULL when the line is not "key: value" */
    char *val;   /* the value, or the whole line */
    int line;
};

struct doc {
    struct blk *b;
    size_t n, cap;
    struct fm_line *fm;
    size_t nfm, fmcap;
};

static struct blk *blk_add(struct doc *d, enum bk kind, int line)
{
    ft_xgrow((void **)&d->b, &d->cap, d->n + 1, sizeof(*d->b));
    struct blk *b = &d->b[d->n++];
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    b->line = line;
    ft_buf_init(&b->text, 0);
    return b;
}

static void doc_release(struct doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        struct blk *b = &d->b[i];
        ft_buf_release(&b->text);
        free(b->info);
        for (size_t c = 0; c < b->nrows * b->ncols; c++)
            free(b->cells[c]);
        free(b->cells);
        free(b->row_line);
    }
    free(d->b);
    for (size_t i = 0; i < d->nfm; i++) {
        free(d->fm[i].key);
        free(d->fm[i].val);
    }
    free(d->fm);
}

/* ---- YAML front matter: "---", simple "key: value" lines, "---" ---------------------- */

static int is_fence_line(const char *s, size_t n, const char *fence)
{
    size_t fl = strlen(fence);
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n == fl && memcmp(s, fence, fl) == 0;
}

/* Read front matter at the top of data; return the offset where the body starts (0: none). */
static size_t front_matter(const char *data, size_t len, struct doc *d)
{
    const char *nl = memchr(data, '\n', len);
    if (!nl || !is_fence_line(data, (size_t)(nl - data), "---"))
        return 0;
    size_t pos = (size_t)(nl - data) + 1;
    int line = 2;
    size_t start = pos;
    /* find the closing fence first: without one this is not front matter */
    for (size_t p = pos; p < len; line++) {
        const char *e = memchr(data + p, '\n', len - p);
        size_t n = e ? (size_t)(e - (data + p)) : len - p;
        if (is_fence_line(data + p, n, "---") || is_fence_line(data + p, n, "...")) {
            size_t end = e ? (size_t)(e - data) + 1 : len;
            int ln = 2;
            for (size_t q = start; q < p; ln++) {
                const char *qe = memchr(data + q, '\n', p - q);
                size_t qn = qe ? (size_t)(qe - (data + q)) : p - q;
                const char *s = data + q;
                while (qn && (s[qn - 1] == '\r' || s[qn - 1] == ' ' || s[qn - 1] == '\t'))
                    qn--;
                q += (qe ? (size_t)(qe - (data + q)) : p - q) + 1;
                if (qn == 0 || s[0] == '#')
                    continue; /* blank lines and YAML comments say nothing */
                ft_xgrow((void **)&d->fm, &d->fmcap, d->nfm + 1, sizeof(*d->fm));
                struct fm_line *f = &d->fm[d->nfm++];
                f->line = ln;
                f->key = NULL;
                const char *colon = memchr(s, ':', qn);
                size_t k = colon ? (size_t)(colon - s) : 0;
                int simple = colon && k > 0 && s[0] != ' ' && s[0] != '-' &&
                             (k + 1 == qn || s[k + 1] == ' ');
                for (size_t i = 0; simple && i < k; i++)
                    if (!(s[i] == ' ' || s[i] == '_' || s[i] == '-' ||
                          ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
                        simple = 0;
                if (!simple) {
                    f->val = ft_xstrndup(s, qn);
                    continue;
                }
                f->key = ft_xstrndup(s, k);
                for (char *c = f->key; *c; c++)
                    *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
                const char *v = colon + 1;
                size_t vn = qn - k - 1;
                while (vn && *v == ' ')
                    v++, vn--;
                if (vn >= 2 &&
                    ((v[0] == '"' && v[vn - 1] == '"') || (v[0] == '\'' && v[vn - 1] == '\'')))
                    v++, vn -= 2;
                f->val = ft_xstrndup(v, vn);
            }
            return end;
        }
        p += n + 1;
        if (!e)
            break;
    }
    return 0;
}

/* ---- Markdown to blocks (md4c) ------------------------------------------------------- */

#define MAX_DEPTH 32

struct mdx {
    struct doc *d;
    struct ft__lines ln;
    size_t li[MAX_DEPTH]; /* open list items: indexes into d->b */
    int depth, deeper;    /* deeper: items nested past MAX_DEPTH, folded into the last */
    int block;            /* the open text block (MD_BLOCK_H, _P, _CODE, _TH, _TD) or 0 */
    int hlevel;
    struct ft_buf cur;
    int cur_line;
    size_t span_mark[8]; /* where each open code span or link started in its buffer */
    int nspans;
    char *code_info;
    /* the open table */
    int in_table;
    char **cells;
    size_t ncells, ccap, ncols, row_cells;
    int *row_line;
    size_t nrows, rcap;
};

static struct ft_buf *md_target(struct mdx *m, int **line)
{
    if (m->block) {
        *line = &m->cur_line;
        return &m->cur;
    }
    if (m->depth) {
        struct blk *it = &m->d->b[m->li[m->depth - 1]];
        *line = &it->line;
        return &it->text;
    }
    return NULL;
}

/* Append s to the text of the innermost open list item, on a new line. */
static void md_to_item(struct mdx *m, const char *s, size_t n)
{
    struct blk *it = &m->d->b[m->li[m->depth - 1]];
    if (it->text.len && n)
        ft_buf_addc(&it->text, '\n');
    ft_buf_add(&it->text, s, n);
    if (!it->line)
        it->line = m->cur_line;
}

static void fenced(struct ft_buf *out, const char *info, const char *code, size_t n)
{
    /* a fence longer than any run of backticks inside the code */
    size_t run = 0, longest = 0;
    for (size_t i = 0; i < n; i++) {
        run = code[i] == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    size_t f = longest >= 3 ? longest + 1 : 3;
    for (size_t i = 0; i < f; i++)
        ft_buf_addc(out, '`');
    ft_buf_adds(out, info ? info : "");
    ft_buf_addc(out, '\n');
    while (n && code[n - 1] == '\n')
        n--;
    ft_buf_add(out, code, n);
    ft_buf_addc(out, '\n');
    for (size_t i = 0; i < f; i++)
        ft_buf_addc(out, '`');
}

static void table_release(struct mdx *m)
{
    for (size_t i = 0; i < m->ncells; i++)
        free(m->cells[i]);
    free(m->cells);
    free(m->row_line);
    m->cells = NULL;
    m->row_line = NULL;
    m->ncells = m->ccap = m->nrows = m->rcap = 0;
}

static int md_enter(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct mdx *m = ud;
    switch (type) {
    case MD_BLOCK_LI: {
        if (m->depth == MAX_DEPTH) {
            m->deeper++;
            return 0;
        }
        MD_BLOCK_LI_DETAIL *li = detail;
        struct blk *b = blk_add(m->d, B_ITEM, 0);
        b->level = m->depth;
        if (li->is_task) {
            b->mark = li->task_mark == ' ' ? ' ' : 'x';
            b->line = ft__line_of(&m->ln, m->ln.base + li->task_mark_offset);
        }
        m->li[m->depth++] = m->d->n - 1;
        return 0;
    }
    case MD_BLOCK_H:
        m->hlevel = (int)((MD_BLOCK_H_DETAIL *)detail)->level;
        __attribute__((fallthrough));
    case MD_BLOCK_P:
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
        m->block = type;
        ft_buf_reset(&m->cur);
        m->cur_line = 0;
        m->nspans = 0;
        return 0;
    case MD_BLOCK_CODE: {
        MD_BLOCK_CODE_DETAIL *c = detail;
        m->block = type;
        ft_buf_reset(&m->cur);
        m->cur_line = 0;
        free(m->code_info);
        m->code_info = ft_xstrndup(c->info.text ? c->info.text : "", c->info.size);
        return 0;
    }
    case MD_BLOCK_TABLE:
        m->in_table = 1;
        m->ncols = ((MD_BLOCK_TABLE_DETAIL *)detail)->col_count;
        return 0;
    case MD_BLOCK_TR:
        ft_xgrow((void **)&m->row_line, &m->rcap, m->nrows + 1, sizeof(*m->row_line));
        m->row_line[m->nrows++] = 0;
        m->row_cells = 0;
        return 0;
    default: /* the document, lists, quotes, rules, HTML: their content is what counts */
        return 0;
    }
}

static int md_leave(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct mdx *m = ud;
    (void)detail;
    switch (type) {
    case MD_BLOCK_LI:
        if (m->deeper)
            m->deeper--;
        else
            m->depth--;
        return 0;
    case MD_BLOCK_H:
    case MD_BLOCK_P:
        m->block = 0;
        if (m->in_table)
            return 0;
        if (m->depth) {
            md_to_item(m, m->cur.buf, m->cur.len);
        } else {
            struct blk *b = blk_add(m->d, type == MD_BLOCK_H ? B_HEAD : B_PARA, m->cur_line);
            b->level = type == MD_BLOCK_H ? m->hlevel : 0;
            ft_buf_add(&b->text, m->cur.buf, m->cur.len);
        }
        return 0;
    case MD_BLOCK_CODE:
        m->block = 0;
        if (m->depth) {
            struct ft_buf f;
            ft_buf_init(&f, 0);
            fenced(&f, m->code_info, m->cur.buf, m->cur.len);
            md_to_item(m, f.buf, f.len);
            ft_buf_release(&f);
        } else {
            struct blk *b = blk_add(m->d, B_CODE, m->cur_line);
            size_t n = m->cur.len;
            while (n && m->cur.buf[n - 1] == '\n')
                n--;
            ft_buf_add(&b->text, m->cur.buf, n);
            b->info = m->code_info;
            m->code_info = NULL;
        }
        return 0;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
        m->block = 0;
        if (m->row_cells < m->ncols) {
            ft_xgrow((void **)&m->cells, &m->ccap, m->ncells + 1, sizeof(*m->cells));
            m->cells[m->ncells++] = ft_xstrndup(m->cur.buf, m->cur.len);
            m->row_cells++;
            if (!m->row_line[m->nrows - 1])
                m->row_line[m->nrows - 1] = m->cur_line;
        }
        return 0;
    case MD_BLOCK_TR: /* short rows get empty cells */
        while (m->row_cells < m->ncols) {
            ft_xgrow((void **)&m->cells, &m->ccap, m->ncells + 1, sizeof(*m->cells));
            m->cells[m->ncells++] = ft_xstrdup("");
            m->row_cells++;
        }
        return 0;
    case MD_BLOCK_TABLE: {
        m->in_table = 0;
        for (size_t r = 1; r < m->nrows; r++) /* a row with no text takes its neighbour's line */
            if (!m->row_line[r])
                m->row_line[r] = m->row_line[r - 1] + 1;
        if (m->depth) {
            for (size_t r = 0; r < m->nrows; r++) {
                struct ft_buf row;
                ft_buf_init(&row, 0);
                for (size_t c = 0; c < m->ncols; c++)
                    ft_buf_addf(&row, "%s%s", c ? " | " : "", m->cells[r * m->ncols + c]);
                md_to_item(m, row.buf, row.len);
                ft_buf_release(&row);
            }
            table_release(m);
            return 0;
        }
        struct blk *b = blk_add(m->d, B_TABLE, m->nrows ? m->row_line[0] : 0);
        b->cells = m->cells;
        b->row_line = m->row_line;
        b->nrows = m->nrows;
        b->ncols = m->ncols;
        m->cells = NULL;
        m->row_line = NULL;
        m->ncells = 0;
        table_release(m);
        return 0;
    }
    default:
        return 0;
    }
}

static int md_span(MD_SPANTYPE type, void *detail, void *ud, int enter)
{
    struct mdx *m = ud;
    int *line;
    struct ft_buf *b = md_target(m, &line);
    if (!b)
        return 0;
    switch (type) {
    case MD_SPAN_CODE:
    case MD_SPAN_A:
    case MD_SPAN_IMG:
        break;
    case MD_SPAN_DEL:
        ft_buf_adds(b, "~~");
        return 0;
    default: /* emphasis: its markers are not text */
        return 0;
    }
    if (enter) {
        if (m->nspans < 8)
            m->span_mark[m->nspans] = b->len;
        m->nspans++;
        if (type == MD_SPAN_IMG)
            ft_buf_adds(b, "![");
        else if (type == MD_SPAN_A)
            ft_buf_addc(b, '[');
        return 0;
    }
    if (--m->nspans >= 8)
        return 0;
    size_t start = m->span_mark[m->nspans];
    if (type == MD_SPAN_CODE) { /* rebuild the span with a fence that fits its content */
        char *code = ft_xstrndup(b->buf + start, b->len - start);
        b->len = start;
        b->buf[b->len] = '\0';
        ft_md_code_span(b, code);
        free(code);
        return 0;
    }
    const MD_ATTRIBUTE *url = type == MD_SPAN_A ? &((MD_SPAN_A_DETAIL *)detail)->href
                                                : &((MD_SPAN_IMG_DETAIL *)detail)->src;
    size_t tl = b->len - start - 1;
    if (type == MD_SPAN_A && tl == url->size && memcmp(b->buf + start + 1, url->text, tl) == 0) {
        b->buf[start] = '<'; /* an autolink: written <URL> */
        ft_buf_addc(b, '>');
        return 0;
    }
    ft_buf_adds(b, "](");
    ft_buf_add(b, url->text, url->size);
    ft_buf_addc(b, ')');
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

static int md_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *ud)
{
    struct mdx *m = ud;
    int *line;
    struct ft_buf *b = md_target(m, &line);
    if (!b)
        return 0;
    if (!*line && type != MD_TEXT_BR && type != MD_TEXT_SOFTBR)
        *line = ft__line_of(&m->ln, text);
    if (type != MD_TEXT_NULLCHAR) /* refused by the input checks before */
        ft__md_text_add(b, type, text, size);
    return 0;
}

static void md_blocks(const char *data, size_t len, size_t body, struct doc *d)
{
    struct mdx m;
    memset(&m, 0, sizeof(m));
    m.d = d;
    ft__lines_init(&m.ln, data, len);
    ft_buf_init(&m.cur, 0);
    MD_PARSER p;
    memset(&p, 0, sizeof(p));
    p.flags = MD_FLAG_NOHTML | MD_FLAG_TABLES | MD_FLAG_TASKLISTS | MD_FLAG_STRIKETHROUGH |
              MD_FLAG_NOINDENTEDCODEBLOCKS;
    p.enter_block = md_enter;
    p.leave_block = md_leave;
    p.enter_span = md_enter_span;
    p.leave_span = md_leave_span;
    p.text = md_text;
    md_parse(data + body, (MD_SIZE)(len - body), &p, &m);
    ft_buf_release(&m.cur);
    free(m.code_info);
    table_release(&m);
}

/* ---- plain text to blocks ------------------------------------------------------------ */

/* Length of a list marker at s ("• ", "- ", "* ", "+ ", "12. ", "3) "), or 0. */
static size_t text_marker(const char *s, size_t n)
{
    if (n >= 4 && memcmp(s, FT_BULLET, 3) == 0 && s[3] == ' ')
        return 4;
    if (n >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ')
        return 2;
    size_t i = 0;
    while (i < n && i < 9 && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i > 0 && i + 1 < n && (s[i] == '.' || s[i] == ')') && s[i + 1] == ' ')
        return i + 2;
    return 0;
}

static int all_of(const char *s, size_t n, char c)
{
    if (n < 3)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != c)
            return 0;
    return 1;
}

/* Split a table line "| a | b |" into d's open table block. */
static void text_row(struct blk *t, const char *s, size_t n, int line)
{
    if (n && s[0] == '|')
        s++, n--;
    if (n && s[n - 1] == '|')
        n--;
    /* a separator row (|---|:--:|) says nothing */
    int sep = 1;
    for (size_t i = 0; i < n; i++)
        if (!strchr("-:| \t", s[i]))
            sep = 0;
    if (sep && t->nrows == 1)
        return;
    size_t cols = 1;
    for (size_t i = 0; i < n; i++)
        cols += s[i] == '|' && (i == 0 || s[i - 1] != '\\');
    if (t->nrows == 0)
        t->ncols = cols;
    t->cells = ft_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
    t->row_line = ft_xrealloc(t->row_line, (t->nrows + 1) * sizeof(*t->row_line));
    t->row_line[t->nrows] = line;
    size_t c = 0, start = 0;
    for (size_t i = 0; i <= n && c < t->ncols; i++) {
        if (i < n && (s[i] != '|' || (i > 0 && s[i - 1] == '\\')))
            continue;
        const char *cs = s + start;
        size_t cn = i - start;
        while (cn && (*cs == ' ' || *cs == '\t'))
            cs++, cn--;
        while (cn && (cs[cn - 1] == ' ' || cs[cn - 1] == '\t'))
            cn--;
        t->cells[t->nrows * t->ncols + c++] = ft_xstrndup(cs, cn);
        start = i + 1;
    }
    for (; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = ft_xstrdup("");
    t->nrows++;
}

static void text_blocks(const char *data, size_t len, size_t body, int first_line, struct doc *d)
{
    size_t ind_stack[MAX_DEPTH]; /* marker columns of the open items */
    size_t text_col[MAX_DEPTH];  /* where their text starts */
    int depth = 0;
    struct blk *para = NULL, *table = NULL;
    int line = first_line - 1, prev_blank = 1;

    for (size_t pos = body; pos < len;) {
        const char *s = data + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + 1;
        line++;
        while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        size_t ind = 0;
        while (ind < n && (s[ind] == ' ' || s[ind] == '\t'))
            ind++;
        const char *c = s + ind;
        size_t cn = n - ind;

        if (cn == 0) { /* blank: ends a paragraph or table, not an item */
            para = NULL;
            table = NULL;
            prev_blank = 1;
            continue;
        }
        /* a fenced code block, up to its closing fence or the end */
        if (cn >= 3 && (memcmp(c, "```", 3) == 0 || memcmp(c, "~~~", 3) == 0)) {
            char fch = c[0];
            struct ft_buf code;
            ft_buf_init(&code, 0);
            int start = line;
            while (pos < len) {
                const char *s2 = data + pos;
                const char *nl2 = memchr(s2, '\n', len - pos);
                size_t n2 = nl2 ? (size_t)(nl2 - s2) : len - pos;
                pos += n2 + 1;
                line++;
                size_t k = 0;
                while (k < n2 && s2[k] == ' ')
                    k++;
                if (n2 - k >= 3 && s2[k] == fch && s2[k + 1] == fch && s2[k + 2] == fch)
                    break;
                size_t m2 = n2;
                if (m2 && s2[m2 - 1] == '\r')
                    m2--;
                size_t strip = k < ind ? k : ind;
                ft_buf_add(&code, s2 + strip, m2 - strip);
                ft_buf_addc(&code, '\n');
            }
            /* the info string: the rest of the opening fence line */
            const char *info = c + 3;
            while (info < c + cn && *info == fch)
                info++;
            char *inf = ft_xstrndup(info, (size_t)(c + cn - info));
            if (depth && ind > ind_stack[depth - 1]) {
                struct blk *it = &d->b[d->n - 1];
                for (size_t i = d->n; i-- > 0;)
                    if (d->b[i].kind == B_ITEM) {
                        it = &d->b[i];
                        break;
                    }
                ft_buf_addc(&it->text, '\n');
                fenced(&it->text, inf, code.buf ? code.buf : "", code.len);
                free(inf);
            } else {
                struct blk *b = blk_add(d, B_CODE, start);
                b->info = inf;
                size_t k = code.len;
                while (k && code.buf[k - 1] == '\n')
                    k--;
                ft_buf_add(&b->text, code.buf ? code.buf : "", k);
                depth = 0;
            }
            ft_buf_release(&code);
            para = table = NULL;
            prev_blank = 0;
            continue;
        }
        if (c[0] == '|') {
            if (!table) {
                table = blk_add(d, B_TABLE, line);
                depth = 0;
            }
            text_row(table, c, cn, line);
            para = NULL;
            prev_blank = 0;
            continue;
        }
        table = NULL;
        size_t h = 0;
        while (h < cn && h < 7 && c[h] == '#')
            h++;
        if (h >= 1 && h <= 6 && h < cn && c[h] == ' ') {
            struct blk *b = blk_add(d, B_HEAD, line);
            b->level = (int)h;
            size_t e = cn;
            while (e > h && (c[e - 1] == '#' || c[e - 1] == ' '))
                e--;
            ft_buf_add(&b->text, c + h + 1, e > h + 1 ? e - h - 1 : 0);
            depth = 0;
            para = NULL;
            prev_blank = 0;
            continue;
        }
        /* a setext underline makes the paragraph line above a heading */
        if (ind == 0 && para && para->text.len && !strchr(para->text.buf, '\n') &&
            (all_of(c, cn, '=') || all_of(c, cn, '-'))) {
            para->kind = B_HEAD;
            para->level = c[0] == '=' ? 1 : 2;
            para = NULL;
            continue;
        }
        if (ind == 0 && (all_of(c, cn, '=') || all_of(c, cn, '-') || all_of(c, cn, '*')))
            continue; /* a rule */
        size_t mk = text_marker(c, cn);
        while (depth && ind_stack[depth - 1] >= ind + (mk ? 0 : 1) && !(mk == 0 && ind > 0))
            depth--;
        if (mk) {
            while (depth && ind_stack[depth - 1] >= ind)
                depth--;
            struct blk *b = blk_add(d, B_ITEM, line);
            b->level = depth;
            const char *t = c + mk;
            size_t tn = cn - mk;
            if (tn >= 3 && t[0] == '[' && t[2] == ']' && (tn == 3 || t[3] == ' ') &&
                (t[1] == ' ' || t[1] == 'x' || t[1] == 'X')) {
                b->mark = t[1] == ' ' ? ' ' : 'x';
                t += tn > 3 ? 4 : 3;
                tn -= tn > 3 ? 4 : 3;
            }
            ft_buf_add(&b->text, t, tn);
            if (depth < MAX_DEPTH) {
                ind_stack[depth] = ind;
                text_col[depth] = ind + mk;
                depth++;
            }
            para = NULL;
            prev_blank = 0;
            continue;
        }
        if (depth && ind > ind_stack[depth - 1]) { /* a continuation of the open item */
            size_t i = d->n;
            while (i-- > 0 && d->b[i].kind != B_ITEM)
                ;
            struct ft_buf *t = &d->b[i].text;
            ft_buf_adds(t, prev_blank ? "\n\n" : "\n");
            ft_buf_add(t, c, cn);
            (void)text_col;
            prev_blank = 0;
            continue;
        }
        depth = 0;
        if (!para || prev_blank) {
            para = blk_add(d, B_PARA, line);
            para->level = ind == 0; /* an unindented line could be a plain title */
        } else {
            ft_buf_addc(&para->text, '\n');
        }
        ft_buf_add(&para->text, c, cn);
        prev_blank = 0;
    }
}

/* ---- words: synonyms, markers -------------------------------------------------------- */

enum sec {
    S_HEADER, /* before any section, or a "Metadata" section: header fields */
    S_RULES,
    S_STEPS,
    S_PROGRESS,
    S_SYMPTOMS,
    S_HYPS,
    S_RESULTS,
    S_REPRO,
    S_FIX,
    S_FOLLOWUPS,
    S_NOTES,
    S_OBJECTIVE,
    S_OTHER, /* a heading that names no section: its content is kept as notes */
};

struct syn {
    const char *key;
    int sec;
    int group; /* progress group (enum ft_state) or -1 */
};

/* Section headings, as normalised by key_of(): lowercase, no emoji, punctuation, or
 * numbering. A progress group heading is also a section (the progress one). */
static const struct syn sections[] = {
    {"ground rules for agents", S_RULES, -1},
    {"ground rules", S_RULES, -1},
    {"rules", S_RULES, -1},
    {"rules for agents", S_RULES, -1},
    {"agent rules", S_RULES, -1},
    {"guidelines", S_RULES, -1},
    {"constraints", S_RULES, -1},
    {"workflow", S_STEPS, -1},
    {"steps", S_STEPS, -1},
    {"process", S_STEPS, -1},
    {"procedure", S_STEPS, -1},
    {"workflow steps", S_STEPS, -1},
    {"method", S_STEPS, -1},
    {"progress tracker", S_PROGRESS, -1},
    {"progress", S_PROGRESS, -1},
    {"tasks", S_PROGRESS, -1},
    {"task list", S_PROGRESS, -1},
    {"checklist", S_PROGRESS, -1},
    {"status board", S_PROGRESS, -1},
    {"work items", S_PROGRESS, -1},
    {"completed", S_PROGRESS, FT_ST_DONE},
    {"done", S_PROGRESS, FT_ST_DONE},
    {"finished", S_PROGRESS, FT_ST_DONE},
    {"complete", S_PROGRESS, FT_ST_DONE},
    {"in progress", S_PROGRESS, FT_ST_DOING},
    {"doing", S_PROGRESS, FT_ST_DOING},
    {"wip", S_PROGRESS, FT_ST_DOING},
    {"work in progress", S_PROGRESS, FT_ST_DOING},
    {"ongoing", S_PROGRESS, FT_ST_DOING},
    {"current", S_PROGRESS, FT_ST_DOING},
    {"active", S_PROGRESS, FT_ST_DOING},
    {"pending", S_PROGRESS, FT_ST_PENDING},
    {"todo", S_PROGRESS, FT_ST_PENDING},
    {"to do", S_PROGRESS, FT_ST_PENDING},
    {"next", S_PROGRESS, FT_ST_PENDING},
    {"up next", S_PROGRESS, FT_ST_PENDING},
    {"backlog", S_PROGRESS, FT_ST_PENDING},
    {"not started", S_PROGRESS, FT_ST_PENDING},
    {"planned", S_PROGRESS, FT_ST_PENDING},
    {"remaining", S_PROGRESS, FT_ST_PENDING},
    {"out of scope", S_PROGRESS, FT_ST_DROPPED},
    {"wont do", S_PROGRESS, FT_ST_DROPPED},
    {"will not do", S_PROGRESS, FT_ST_DROPPED},
    {"dropped", S_PROGRESS, FT_ST_DROPPED},
    {"cancelled", S_PROGRESS, FT_ST_DROPPED},
    {"canceled", S_PROGRESS, FT_ST_DROPPED},
    {"abandoned", S_PROGRESS, FT_ST_DROPPED},
    {"not doing", S_PROGRESS, FT_ST_DROPPED},
    {"descoped", S_PROGRESS, FT_ST_DROPPED},
    {"hypotheses", S_HYPS, -1},
    {"hypothesis", S_HYPS, -1},
    {"theories", S_HYPS, -1},
    {"theory", S_HYPS, -1},
    {"suspects", S_HYPS, -1},
    {"possible causes", S_HYPS, -1},
    {"candidate causes", S_HYPS, -1},
    {"results", S_RESULTS, -1},
    {"results log", S_RESULTS, -1},
    {"result", S_RESULTS, -1},
    {"attempts", S_RESULTS, -1},
    {"attempt log", S_RESULTS, -1},
    {"log", S_RESULTS, -1},
    {"experiments", S_RESULTS, -1},
    {"experiment log", S_RESULTS, -1},
    {"what we tried", S_RESULTS, -1},
    {"what i tried", S_RESULTS, -1},
    {"tried", S_RESULTS, -1},
    {"journal", S_RESULTS, -1},
    {"symptoms", S_SYMPTOMS, -1},
    {"observed symptoms", S_SYMPTOMS, -1},
    {"symptom", S_SYMPTOMS, -1},
    {"observations", S_SYMPTOMS, -1},
    {"observed behaviour", S_SYMPTOMS, -1},
    {"observed behavior", S_SYMPTOMS, -1},
    {"what we see", S_SYMPTOMS, -1},
    {"reproduction", S_REPRO, -1},
    {"reproduction command", S_REPRO, -1},
    {"repro", S_REPRO, -1},
    {"how to reproduce", S_REPRO, -1},
    {"steps to reproduce", S_REPRO, -1},
    {"to reproduce", S_REPRO, -1},
    {"reproducer", S_REPRO, -1},
    {"final fix", S_FIX, -1},
    {"fix", S_FIX, -1},
    {"the fix", S_FIX, -1},
    {"resolution", S_FIX, -1},
    {"solution", S_FIX, -1},
    {"follow ups", S_FOLLOWUPS, -1},
    {"followups", S_FOLLOWUPS, -1},
    {"follow up", S_FOLLOWUPS, -1},
    {"next steps", S_FOLLOWUPS, -1},
    {"todo later", S_FOLLOWUPS, -1},
    {"to do later", S_FOLLOWUPS, -1},
    {"later", S_FOLLOWUPS, -1},
    {"future work", S_FOLLOWUPS, -1},
    {"action items", S_FOLLOWUPS, -1},
    {"notes", S_NOTES, -1},
    {"note", S_NOTES, -1},
    {"notes and follow ups", S_NOTES, -1},
    {"context", S_NOTES, -1},
    {"background", S_NOTES, -1},
    {"misc", S_NOTES, -1},
    {"references", S_NOTES, -1},
    {"links", S_NOTES, -1},
    {"remarks", S_NOTES, -1},
    {"open questions", S_NOTES, -1},
    {"objective", S_OBJECTIVE, -1},
    {"objectives", S_OBJECTIVE, -1},
    {"goal", S_OBJECTIVE, -1},
    {"goals", S_OBJECTIVE, -1},
    {"aim", S_OBJECTIVE, -1},
    {"purpose", S_OBJECTIVE, -1},
    {"metadata", S_HEADER, -1},
    {"meta", S_HEADER, -1},
    {"info", S_HEADER, -1},
    {"details", S_HEADER, -1},
};

enum field { F_TITLE, F_ORG, F_STARTED, F_OWNER, F_OBJECTIVE, F_STATUS };

static const struct {
    const char *key;
    int field;
} fields[] = {
    {"title", F_TITLE},        {"name", F_TITLE},          {"org", F_ORG},
    {"organisation", F_ORG},   {"organization", F_ORG},    {"company", F_ORG},
    {"team", F_ORG},           {"started", F_STARTED},     {"start", F_STARTED},
    {"start date", F_STARTED}, {"started on", F_STARTED},  {"date", F_STARTED},
    {"opened", F_STARTED},     {"created", F_STARTED},     {"since", F_STARTED},
    {"owner", F_OWNER},        {"owners", F_OWNER},        {"assignee", F_OWNER},
    {"lead", F_OWNER},         {"driver", F_OWNER},        {"dri", F_OWNER},
    {"author", F_OWNER},       {"objective", F_OBJECTIVE}, {"goal", F_OBJECTIVE},
    {"aim", F_OBJECTIVE},      {"purpose", F_OBJECTIVE},   {"status", F_STATUS},
    {"state", F_STATUS},
};

/* State emoji (each may carry U+FE0F after it), what each means for an item, a
 * hypothesis and a result (-1: nothing). */
static const struct {
    const char *utf8;
    int state, verdict, outcome;
} emoji[] = {
    {"\xe2\x9c\x85", FT_ST_DONE, FT_V_CONFIRMED, FT_OUT_PASS},    /* ✅ */
    {"\xe2\x9c\x94", FT_ST_DONE, FT_V_CONFIRMED, FT_OUT_PASS},    /* ✔ */
    {"\xe2\x98\x91", FT_ST_DONE, FT_V_CONFIRMED, FT_OUT_PASS},    /* ☑ */
    {"\xe2\x9c\x93", FT_ST_DONE, FT_V_CONFIRMED, FT_OUT_PASS},    /* ✓ */
    {"\xf0\x9f\x94\x84", FT_ST_DOING, -1, -1},                    /* 🔄 */
    {"\xf0\x9f\x9a\xa7", FT_ST_DOING, -1, -1},                    /* 🚧 */
    {"\xe2\x8f\xb3", FT_ST_PENDING, FT_V_OPEN, -1},               /* ⏳ */
    {"\xe2\x8c\x9b", FT_ST_PENDING, FT_V_OPEN, -1},               /* ⌛ */
    {"\xe2\x98\x90", FT_ST_PENDING, -1, -1},                      /* ☐ */
    {"\xe2\xac\x9c", FT_ST_PENDING, -1, -1},                      /* ⬜ */
    {"\xf0\x9f\x9a\xab", FT_ST_DROPPED, FT_V_RULED_OUT, -1},      /* 🚫 */
    {"\xe2\x9d\x8c", FT_ST_DROPPED, FT_V_RULED_OUT, FT_OUT_FAIL}, /* ❌ */
    {"\xe2\x9c\x96", FT_ST_DROPPED, FT_V_RULED_OUT, FT_OUT_FAIL}, /* ✖ */
    {"\xe2\x9b\x94", FT_ST_DROPPED, FT_V_RULED_OUT, -1},          /* ⛔ */
    {"\xe2\x9d\x93", -1, FT_V_OPEN, -1},                          /* ❓ */
    {"\xe2\x9d\x94", -1, FT_V_OPEN, -1},                          /* ❔ */
    {"\xf0\x9f\xa4\x94", -1, FT_V_OPEN, -1},                      /* 🤔 */
    {"\xf0\x9f\x94\x8d", -1, FT_V_OPEN, -1},                      /* 🔍 */
    {"\xf0\x9f\x92\xa5", -1, -1, FT_OUT_CRASH},                   /* 💥 */
};

enum mean { M_STATE, M_VERDICT, M_OUTCOME };

static int emoji_mean(int i, enum mean m)
{
    return m == M_STATE ? emoji[i].state : m == M_VERDICT ? emoji[i].verdict : emoji[i].outcome;
}

/* The length of a state emoji at s with the meaning m, its value in *val; 0 when none. */
static size_t emoji_at(const char *s, enum mean m, int *val)
{
    for (size_t i = 0; i < sizeof(emoji) / sizeof(emoji[0]); i++) {
        size_t n = strlen(emoji[i].utf8);
        if (strncmp(s, emoji[i].utf8, n) == 0 && emoji_mean((int)i, m) >= 0) {
            *val = emoji_mean((int)i, m);
            if (strncmp(s + n, "\xef\xb8\x8f", 3) == 0)
                n += 3;
            return n;
        }
    }
    return 0;
}

/* Any state emoji at s (whatever it means), or 0. */
static size_t any_emoji_at(const char *s)
{
    int v;
    size_t n = 0;
    for (int m = M_STATE; m <= M_OUTCOME && !n; m++)
        n = emoji_at(s, (enum mean)m, &v);
    return n;
}

/* Normalise a heading or label for the tables: lowercase ASCII, state emoji, numbering
 * ("1.", "2)", "#3"), bold and trailing ':' dropped, '&' read as "and", other
 * punctuation a space, runs of spaces one. Writes at most n-1 bytes. */
static void key_of(const char *s, size_t sn, char *out, size_t n)
{
    const char *e = s + sn;
    size_t o = 0;
    for (;;) { /* leading emoji, numbering and space */
        size_t k;
        while (s < e && (*s == ' ' || *s == '*' || *s == '_' || *s == '#'))
            s++;
        if (s < e && (k = any_emoji_at(s)) > 0) {
            s += k;
            continue;
        }
        const char *q = s;
        while (q < e && *q >= '0' && *q <= '9')
            q++;
        if (q > s && q < e && (*q == '.' || *q == ')'))
            s = q + 1;
        else
            break;
    }
    int space = 0;
    for (; s < e && o + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c == '\'' || c == '*' || c == '`')
            continue;
        if (c == 0xe2 && s + 2 < e && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x99) {
            s += 2; /* ’ */
            continue;
        }
        if (c == '&') {
            if (o && !space)
                out[o++] = ' ';
            memcpy(out + o, "and", 3);
            o += 3;
            space = 0;
            out[o++] = ' ';
            space = 1;
            continue;
        }
        if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            if (o && !space)
                out[o++] = ' ';
            space = 1;
            continue;
        }
        out[o++] = (char)c;
        space = 0;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    /* trailing state emoji */
    for (size_t i = 0; i < sizeof(emoji) / sizeof(emoji[0]); i++) {
        size_t el = strlen(emoji[i].utf8);
        if (o >= el && memcmp(out + o - el, emoji[i].utf8, el) == 0) {
            o -= el;
            while (o && out[o - 1] == ' ')
                o--;
            out[o] = '\0';
            break;
        }
    }
}

/* The section a heading names, or -1; *group gets its progress group (or -1). */
static int section_of(const char *s, size_t n, int *group)
{
    char k[128];
    if (n > 100)
        return -1;
    key_of(s, n, k, sizeof(k));
    *group = -1;
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (strcmp(k, sections[i].key) == 0) {
            *group = sections[i].group;
            return sections[i].sec;
        }
    /* a heading that is only a state emoji ("### ✅") is that group */
    int v;
    size_t el = emoji_at(s, M_STATE, &v);
    if (!*k && el) {
        *group = v;
        return S_PROGRESS;
    }
    return -1;
}

/* "Label: value" with a label of at most 40 bytes; returns the value, the label's key in k. */
static const char *split_label(const char *s, char *k, size_t kn)
{
    const char *c = strstr(s, ":");
    size_t colons = c && c[1] == ':' ? 2 : 1; /* "Key:: value" (Dataview) too */
    if (!c || c - s > 40 || c == s || (c[colons] != ' ' && c[colons] != '\0' && c[colons] != '\n'))
        return NULL;
    key_of(s, (size_t)(c - s), k, kn);
    if (!*k)
        return NULL;
    c += colons;
    while (*c == ' ')
        c++;
    return c;
}

static int field_of(const char *k)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(k, fields[i].key) == 0)
            return fields[i].field;
    return -1;
}

/* Words for a state, a verdict, an outcome: each list's index is the value. */
static const char *const state_words[FT_ST__COUNT][12] = {
    {"done", "completed", "complete", "finished", "fixed", NULL},
    {"doing", "wip", "in progress", "ongoing", "started", "active", NULL},
    {"todo", "to do", "pending", "next", "backlog", "not started", "planned", NULL},
    {"dropped", "wont do", "will not do", "out of scope", "cancelled", "canceled", "skipped",
     "abandoned", NULL},
};
static const char *const verdict_words[FT_V__COUNT][16] = {
    {"open", "unconfirmed", "unverified", "untested", "testing", "investigating", "pending",
     "maybe", "unknown", "todo", "plausible", "possible", NULL},
    {"ruled out", "rejected", "disproved", "disproven", "refuted", "excluded", "eliminated",
     "false", "not it", "wrong", "dismissed", "no", NULL},
    {"confirmed", "proven", "verified", "true", "yes", "root cause", NULL},
};
static const char *const outcome_words[FT_OUT__COUNT][10] = {
    {NULL},
    {"pass", "passed", "passes", "passing", "success", "succeeded", "ok", NULL},
    {"fail", "failed", "fails", "failing", "failure", NULL},
    {"hang", "hangs", "hung", "hanging", "timeout", "timed out", "timeouts", NULL},
    {"leak", "leaks", "leaked", "leaking", NULL},
    {"crash", "crashes", "crashed", "segfault", "segfaulted", NULL},
    {"interrupted", "cancelled", "canceled", "aborted", NULL},
};

/* Does s start with word w (case-insensitive) followed by a non-letter? Its length or 0. */
static size_t word_at(const char *s, const char *w)
{
    /* the first byte, compared as strncasecmp would (ASCII letters fold by bit 0x20): most
     * words of a table are refused here, before strlen and strncasecmp */
    if ((((unsigned char)*s) | 0x20) != (((unsigned char)*w) | 0x20))
        return 0;
    size_t n = strlen(w);
    if (strncasecmp(s, w, n) != 0)
        return 0;
    unsigned char c = (unsigned char)s[n];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c >= 0x80)
        return 0;
    return n;
}

/* The value whose word starts s (the longest match), its length in *len; -1 when none. */
static int words_at(const char *s, const char *const *table, size_t stride, int count, size_t *len)
{
    int best = -1;
    *len = 0;
    for (int v = 0; v < count; v++)
        for (const char *const *w = table + (size_t)v * stride; *w; w++) {
            size_t n = word_at(s, *w);
            if (n > *len) {
                *len = n;
                best = v;
            }
        }
    return best;
}

static int key_in(const char *k, const char *const *table, size_t stride, int count)
{
    for (int v = 0; v < count; v++)
        for (const char *const *w = table + (size_t)v * stride; *w; w++)
            if (strcmp(k, *w) == 0)
                return v;
    return -1;
}

/* ---- text surgery -------------------------------------------------------------------- */

static const char *skip_sp(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Drop a state emoji with meaning m at the start or the end of *s (owned); its value or -1. */
static int take_emoji(char **s, enum mean m)
{
    int v;
    const char *p = skip_sp(*s);
    size_t n = emoji_at(p, m, &v);
    if (n) {
        char *r = ft_xstrdup(skip_sp(p + n));
        free(*s);
        *s = r;
        return v;
    }
    size_t len = strlen(*s);
    for (size_t i = 0; i < sizeof(emoji) / sizeof(emoji[0]); i++) {
        const char *u = emoji[i].utf8;
        size_t ul = strlen(u);
        size_t end = len;
        if (end >= 3 && memcmp(*s + end - 3, "\xef\xb8\x8f", 3) == 0)
            end -= 3;
        if (emoji_mean((int)i, m) >= 0 && end >= ul && memcmp(*s + end - ul, u, ul) == 0 &&
            end - ul > 0) {
            size_t k = end - ul;
            while (k && (*s)[k - 1] == ' ')
                k--;
            (*s)[k] = '\0';
            return emoji_mean((int)i, m);
        }
    }
    return -1;
}

/*
 * A marker word for a value at the start of *s: "WORD:", "[WORD]", "(WORD)", "WORD —",
 * or at its end: "(WORD)", "[WORD]", " — WORD". Drops it; returns the value or -1.
 */
static int take_word(char **s, const char *const *table, size_t stride, int count)
{
    char *p = *s;
    size_t n;
    int v;
    char open = *p == '[' || *p == '(' ? *p : 0;
    v = words_at(p + (open != 0), table, stride, count, &n);
    if (v >= 0) {
        const char *after = p + (open != 0) + n;
        const char *rest = NULL;
        if (open && *after == (open == '[' ? ']' : ')'))
            rest = after + 1;
        else if (!open && *after == ':')
            rest = after + 1;
        else if (!open && strncmp(after, FT_DASH, strlen(FT_DASH)) == 0)
            rest = after + strlen(FT_DASH);
        else if (!open && strncmp(after, " - ", 3) == 0)
            rest = after + 3;
        if (rest && *skip_sp(rest)) {
            char *r = ft_xstrdup(skip_sp(rest));
            free(*s);
            *s = r;
            return v;
        }
    }
    size_t len = strlen(p);
    if (len > 2 && (p[len - 1] == ')' || p[len - 1] == ']')) {
        char o = p[len - 1] == ')' ? '(' : '[';
        char *q = strrchr(p, o);
        if (q && q > p && (v = words_at(q + 1, table, stride, count, &n)) >= 0 &&
            q + 1 + n == p + len - 1) {
            while (q > p && q[-1] == ' ')
                q--;
            *q = '\0';
            return v;
        }
    }
    char *c = strrchr(p, ':'); /* "TEXT: WORD" at the end */
    if (c && c > p && c[1] == ' ' && (v = words_at(c + 2, table, stride, count, &n)) >= 0 &&
        c[2 + n] == '\0') {
        *c = '\0';
        return v;
    }
    char *d = strstr(p, FT_DASH);
    if (d && d > p && (v = words_at(d + strlen(FT_DASH), table, stride, count, &n)) >= 0 &&
        d[strlen(FT_DASH) + n] == '\0') {
        *d = '\0';
        return v;
    }
    return -1;
}

/* Strikethrough over the whole text ("~~text~~"): drop the markers, return 1. */
static int take_strike(char **s)
{
    size_t n = strlen(*s);
    if (n > 4 && strncmp(*s, "~~", 2) == 0 && strcmp(*s + n - 2, "~~") == 0 &&
        strstr(*s + 2, "~~") == *s + n - 2) {
        memmove(*s, *s + 2, n - 4);
        (*s)[n - 4] = '\0';
        return 1;
    }
    return 0;
}

/* ---- placing blocks ------------------------------------------------------------------ */

struct open_item {
    int sec;  /* the section its children belong to (a labelled item sets it) */
    int kind; /* the entry it made (enum ft_kind), -1 when none */
    size_t idx;
    int group;
};

struct pl {
    struct ft_tracker *t;
    struct ft_import_report *rep;
    int sec, group;
    int seen_fields[F_STATUS + 1];
    int title_line;
    struct open_item open[MAX_DEPTH + 1];
    int last_kind; /* the last entry made in this section, for code blocks after it */
    size_t last_idx;
    int hyp_heading; /* the last hypothesis was a heading: paragraphs under it are its own */
    int repro_line;  /* where the reproduction section starts */
};

/* Append text to *slot on a new line (or as is when *slot is empty). */
static void append(char **slot, const char *text)
{
    char *n = ft_text_norm(text);
    if (!*n) {
        free(n);
        return;
    }
    if (!**slot) {
        free(*slot);
        *slot = n;
        return;
    }
    size_t a = strlen(*slot), b = strlen(n);
    char *r = ft_xmalloc(a + b + 2);
    memcpy(r, *slot, a);
    r[a] = '\n';
    memcpy(r + a + 1, n, b + 1);
    free(*slot);
    free(n);
    *slot = r;
}

static struct ft_entry *entry_at(struct pl *p, int kind, size_t idx)
{
    return &p->t->lists[kind].v[idx];
}

static struct ft_entry *add_entry(struct pl *p, enum ft_kind k, const char *text)
{
    struct ft_entry *e = ft_tracker_add(p->t, k);
    char *n = ft_text_norm(text);
    free(e->text);
    e->text = n;
    p->last_kind = (int)k;
    p->last_idx = p->t->lists[k].n - 1;
    p->hyp_heading = 0;
    return e;
}

/* Keep text as a note of the tracker, with a warning saying why. */
static void keep_note(struct pl *p, int line, const char *text, const char *why)
{
    char *n = ft_text_norm(text);
    if (*n) {
        add_entry(p, FT_K_NOTE, n);
        ft_import_warn(p->rep, line, "%s; kept as a note", why);
    }
    free(n);
}

/* The note field of a section, or NULL when it has none (its prose becomes notes). */
static char **section_note(struct pl *p, int sec)
{
    switch (sec) {
    case S_SYMPTOMS:
        return &p->t->symptoms_note;
    case S_HYPS:
        return &p->t->hyps_note;
    case S_RESULTS:
        return &p->t->results_note;
    case S_REPRO:
        return &p->t->repro_note;
    case S_FIX:
        return &p->t->fix_summary;
    case S_OBJECTIVE:
        return &p->t->objective;
    default:
        return NULL;
    }
}

/* Prose (a paragraph, a code block) in section sec. */
static void place_prose(struct pl *p, int sec, const char *text, int line)
{
    char **slot = section_note(p, sec);
    if (slot) {
        append(slot, text);
    } else if (sec == S_NOTES) {
        char *n = ft_text_norm(text);
        if (*n)
            add_entry(p, FT_K_NOTE, n);
        free(n);
    } else {
        keep_note(p, line, text,
                  sec == S_OTHER    ? "text under a heading that names no section"
                  : sec == S_HEADER ? "text that is not a header field"
                                    : "prose where list items were expected");
        if (sec == S_HEADER || sec == S_OTHER)
            return;
    }
}

/* ---- header fields -- */

static int status_of(const char *v)
{
    char k[64];
    key_of(v, strlen(v), k, sizeof(k));
    static const char *const open[] = {"open",        "active",        "ongoing",
                                       "in progress", "investigating", NULL};
    static const char *const res[] = {"resolved", "fixed",     "closed", "done",
                                      "complete", "completed", "solved", NULL};
    static const char *const wait[] = {"waiting",
                                       "blocked",
                                       "on hold",
                                       "paused",
                                       "waiting for "
                                       "review",
                                       NULL};
    const char *const *lists[] = {open, res, wait};
    const int vals[] = {FT_STATUS_OPEN, FT_STATUS_RESOLVED, FT_STATUS_WAITING};
    for (int i = 0; i < 3; i++)
        for (const char *const *w = lists[i]; *w; w++)
            if (strcmp(k, *w) == 0)
                return vals[i];
    return -1;
}

/* A date YYYY-MM-DD at the start of s, followed by the end, a space or 'T'; 10 or 0. */
static size_t date_at(const char *s)
{
    if (strlen(s) < 10 || s[4] != '-' || s[7] != '-')
        return 0;
    char tmp[11];
    memcpy(tmp, s, 10);
    tmp[10] = '\0';
    if (!ft_date_valid(tmp))
        return 0;
    if (s[10] && s[10] != ' ' && s[10] != 'T' && s[10] != ',' && s[10] != ':' && s[10] != ')' &&
        s[10] != ']' && s[10] != '\n')
        return 0;
    return 10;
}

/* Set header field f from v; 0, or -1 when v does not fit (the caller keeps the line). */
static int set_field(struct pl *p, int f, const char *v, int line)
{
    struct ft_tracker *t = p->t;
    char *n = ft_text_norm(v);
    int rc = 0;
    if (p->seen_fields[f] || !*n) {
        rc = -1;
    } else if (f == F_STARTED) {
        if (date_at(n) == 10 && strlen(n) == 10)
            ft_set_str(&t->started, n);
        else
            rc = -1;
    } else if (f == F_STATUS) {
        int st = status_of(n);
        if (st < 0)
            rc = -1;
        else
            t->status = st;
    } else if (f == F_TITLE || f == F_ORG) {
        if (strchr(n, '\n'))
            rc = -1;
        else
            ft_set_str(f == F_TITLE ? &t->title : &t->org, n);
        if (f == F_TITLE && !rc)
            p->title_line = line;
    } else {
        ft_set_str(f == F_OWNER ? &t->owner : &t->objective, n);
    }
    if (!rc)
        p->seen_fields[f] = 1;
    free(n);
    return rc;
}

/* A line "Label: value" naming a header field: set it (1), or 0 when it is none. A field
 * whose value does not fit (a second owner, a date that is no date) is kept as a note. */
static int try_field(struct pl *p, const char *s, int line)
{
    char k[64];
    const char *v = split_label(s, k, sizeof(k));
    int f = v ? field_of(k) : -1;
    if (f < 0)
        return 0;
    /* several fields on one line: "Owner: Ama · Started: 2026-07-30", "a | b" */
    static const char *const seps[] = {" \xc2\xb7 ", " | ", " \xe2\x80\xa2 "};
    for (const char *q = v; *q; q++)
        for (size_t i = 0; i < 3; i++) {
            size_t sl = strlen(seps[i]);
            char k2[64];
            const char *v2;
            if (strncmp(q, seps[i], sl) == 0 && (v2 = split_label(q + sl, k2, sizeof(k2))) &&
                field_of(k2) >= 0) {
                char *first = ft_xstrndup(s, (size_t)(q - s));
                try_field(p, first, line);
                free(first);
                return try_field(p, q + sl, line);
            }
        }
    if (set_field(p, f, v, line) < 0)
        keep_note(p, line, s, "a header field given twice or with a value that does not fit");
    return 1;
}

/* ---- entries by section -- */

static void place_step(struct pl *p, char *text)
{
    struct ft_entry *e = add_entry(p, FT_K_STEP, "");
    char *nl = strchr(text, '\n');
    char *sep = strstr(text, ": ");
    char *dash = strstr(text, FT_DASH);
    size_t tl;
    const char *rest;
    if (sep && (!nl || sep < nl) && (!dash || sep < dash)) {
        tl = (size_t)(sep - text);
        rest = sep + 2;
    } else if (dash && (!nl || dash < nl) && dash - text <= 60) {
        tl = (size_t)(dash - text);
        rest = dash + strlen(FT_DASH);
    } else {
        tl = nl ? (size_t)(nl - text) : strlen(text);
        rest = nl ? nl + 1 : "";
    }
    char *title = ft_xstrndup(text, tl);
    size_t n = strlen(title);
    while (n && (title[n - 1] == ':' || title[n - 1] == ' '))
        title[--n] = '\0';
    if (!n) { /* "1. : text": no title to speak of; the text is the title */
        free(title);
        title = ft_xstrdup(text);
        for (char *c = title; *c; c++)
            if (*c == '\n')
                *c = ' ';
        rest = "";
    }
    /* a title may not hold ": " (the layouts could not tell it apart): the rest moves to the
     * text */
    char *bad = strstr(title, ": ");
    if (bad) {
        *bad = '\0';
        free(e->text);
        e->text = ft_text_norm(text + (bad - title) + 2);
        rest = NULL;
    }
    free(e->title);
    e->title = ft_text_norm(title);
    free(title);
    if (rest) {
        free(e->text);
        e->text = ft_text_norm(rest);
    }
    n = strlen(e->title);
    while (n && e->title[n - 1] == ':')
        e->title[--n] = '\0';
}

static void place_hyp(struct pl *p, char *text, int line)
{
    (void)line;
    int v = take_emoji(&text, M_VERDICT);
    int w = take_word(&text, &verdict_words[0][0], 16, FT_V__COUNT);
    if (take_strike(&text) && v < 0 && w < 0)
        w = FT_V_RULED_OUT;
    char *evidence = NULL;
    size_t tl = strlen(text), wn;
    char *par = tl > 2 && text[tl - 1] == ')' ? strrchr(text, '(') : NULL;
    int pv;
    if (w < 0 && v < 0 && par && par > text &&
        (pv = words_at(par + 1, &verdict_words[0][0], 16, FT_V__COUNT, &wn)) >= 0 &&
        (par[1 + wn] == ':' || par[1 + wn] == ',' || par[1 + wn] == ' ')) {
        /* "TEXT (ruled out: evidence)" */
        const char *ev = par + 1 + wn;
        while (*ev == ':' || *ev == ',' || *ev == ' ')
            ev++;
        evidence = ft_xstrndup(ev, (size_t)(text + tl - 1 - ev));
        while (par > text && par[-1] == ' ')
            par--;
        *par = '\0';
        w = pv;
    }
    /* "TEXT → VERDICT: evidence" */
    char *arrow = strstr(text, FT_ARROW);
    size_t n;
    int av;
    if (arrow &&
        (av = words_at(arrow + strlen(FT_ARROW), &verdict_words[0][0], 16, FT_V__COUNT, &n)) >= 0) {
        const char *rest = arrow + strlen(FT_ARROW) + n;
        while (*rest == ':' || *rest == ',' || *rest == ' ' || *rest == '-')
            rest++;
        free(evidence);
        evidence = ft_xstrdup(rest);
        *arrow = '\0';
        w = av;
    }
    struct ft_entry *e = add_entry(p, FT_K_HYP, text);
    e->state = w >= 0 ? w : v >= 0 ? v : FT_V_OPEN;
    if (evidence)
        append(&e->detail, evidence);
    free(evidence);
    free(text);
}

/* The outcome word at s: its value, and where the notes start in *rest; -1 when none. */
static int outcome_at(const char *s, const char **rest)
{
    size_t n;
    int v;
    s = skip_sp(s);
    if ((n = emoji_at(s, M_OUTCOME, &v)) == 0)
        v = words_at(s, &outcome_words[0][0], 10, FT_OUT__COUNT, &n);
    if (v < 0)
        return -1;
    const char *r = s + n;
    if (*r && !strchr(" ,;:.!(+\n", *r) && strncmp(r, FT_DASH, strlen(FT_DASH)) != 0)
        return -1;
    while (*r == ' ' || *r == '+' || *r == ',' || *r == ';' || *r == ':' || *r == '.' ||
           *r == '!' || *r == '-')
        r++;
    if (strncmp(r, DASH_ON, strlen(DASH_ON)) == 0)
        r += strlen(DASH_ON);
    *rest = skip_sp(r);
    return v;
}

/* A results entry from one line of the forms in docs/format.md. */
static void place_result(struct pl *p, const char *line_text, int line)
{
    char *all = ft_text_norm(line_text);
    char *s = all;
    char date[11] = "";
    /* the date: "2026-11-02", "[2026-11-02]", "(2026-11-02)", "YYYY-MM-DD" */
    char *d = s + (*s == '[' || *s == '(');
    if (date_at(d) == 10 || strncmp(d, FT_NO_DATE, 10) == 0) {
        if (date_at(d))
            memcpy(date, d, 10);
        s = d + 10;
        if (*s == ']' || *s == ')')
            s++;
        s += strspn(s, " \t");
        if (*s == ':' || *s == ',')
            s++;
        else if (strncmp(s, DASH_ON, strlen(DASH_ON)) == 0 || strncmp(s, "\xe2\x80\x93 ", 4) == 0)
            s += strlen(DASH_ON);
        else if (strncmp(s, "- ", 2) == 0)
            s += 2;
        s += strspn(s, " \t");
    }
    /* the first line is the attempt; what follows it is notes */
    char *more = strchr(s, '\n');
    if (more)
        *more++ = '\0';
    const char *notes = "";
    int outcome = FT_OUT_NONE, found = 0;
    static const char *const arrows[] = {" \xe2\x86\x92 ", " -> ", " => ", " \xe2\x9f\xb6 "};
    char *cut = NULL;
    size_t cutlen = 0;
    for (size_t i = 0; i < 4; i++) {
        char *a = strstr(s, arrows[i]);
        if (a && (!cut || a < cut)) {
            cut = a;
            cutlen = strlen(arrows[i]);
        }
    }
    if (cut) {
        *cut = '\0';
        const char *tail = cut + cutlen;
        int o = outcome_at(tail, &notes);
        if (o >= 0)
            outcome = o;
        else
            notes = tail;
        found = 1;
    }
    if (!found) { /* "attempt: outcome ...", "attempt — outcome", the first that reads so */
        static const char *const seps[] = {": ", FT_DASH, " \xe2\x80\x93 ", " - "};
        for (char *q = s; *q && !found; q++)
            for (size_t i = 0; i < 4; i++) {
                size_t sl = strlen(seps[i]);
                const char *r;
                int o;
                if (strncmp(q, seps[i], sl) == 0 && q > s && (o = outcome_at(q + sl, &r)) >= 0) {
                    *q = '\0';
                    outcome = o;
                    notes = r;
                    found = 1;
                    break;
                }
            }
    }
    if (!found) { /* a leading outcome emoji: "✅ bumped the buffer" */
        int v;
        size_t n = emoji_at(s, M_OUTCOME, &v);
        if (n) {
            outcome = v;
            s += n + strspn(s + n, " \t");
        }
    }
    char *attempt = ft_text_norm(s);
    if (!*attempt) { /* nothing before the outcome: the notes say what was tried */
        free(attempt);
        attempt = ft_text_norm(*notes ? notes : line_text);
        for (char *c = attempt; *c; c++)
            if (*c == '\n')
                *c = ' ';
        notes = "";
    }
    struct ft_entry *e = add_entry(p, FT_K_RESULT, attempt);
    e->state = outcome;
    ft_set_str(&e->date, date);
    append(&e->detail, notes);
    if (more)
        append(&e->detail, more);
    free(attempt);
    free(all);
    (void)line;
}

/* The state of a progress item from its markers; drops them from *text. */
static int item_state(char **text, int mark, int group)
{
    int v = take_emoji(text, M_STATE);
    int w = take_word(text, &state_words[0][0], 12, FT_ST__COUNT);
    if (take_strike(text) && v < 0 && w < 0)
        w = FT_ST_DROPPED;
    if (w >= 0)
        return w;
    if (v >= 0)
        return v;
    if (mark == 'x')
        return FT_ST_DONE;
    if (mark == ' ')
        return group >= 0 && group != FT_ST_DONE ? group : FT_ST_PENDING;
    return group >= 0 ? group : FT_ST_PENDING;
}

/* Does this item say a state of its own (a checkbox, an emoji, a state word)? */
static int has_state(const char *text, int mark)
{
    if (mark)
        return 1;
    int v;
    if (emoji_at(skip_sp(text), M_STATE, &v))
        return 1;
    char *c = ft_xstrdup(text);
    int w = take_word(&c, &state_words[0][0], 12, FT_ST__COUNT);
    free(c);
    return w >= 0;
}

/* A code span at the start of s ("`cmd`", "``a`b``"): the code (owned), the rest in *rest. */
static char *lead_code(const char *s, const char **rest)
{
    s = skip_sp(s);
    if (*s != '`')
        return NULL;
    size_t fence = strspn(s, "`");
    const char *p = s + fence;
    for (const char *q = p; (q = strchr(q, '`'));) {
        size_t r = strspn(q, "`");
        if (r == fence) {
            char *code = ft_xstrndup(p, (size_t)(q - p));
            size_t cl = strlen(code);
            if (cl >= 2 && code[0] == ' ' && code[cl - 1] == ' ') {
                memmove(code, code + 1, cl - 2);
                code[cl - 2] = '\0';
            }
            const char *r2 = q + fence;
            if (strncmp(r2, FT_DASH, strlen(FT_DASH)) == 0)
                r2 += strlen(FT_DASH);
            *rest = skip_sp(r2);
            return code;
        }
        q += r;
    }
    return NULL;
}

/* Set the reproduction command from v (a code span, else all of v); the rest is its note. */
static void set_command(struct pl *p, const char *v, int line)
{
    struct ft_tracker *t = p->t;
    const char *rest = "";
    char *cmd = lead_code(v, &rest);
    if (!cmd) {
        cmd = ft_xstrdup(v);
        rest = "";
    }
    char *n = ft_text_norm(cmd);
    if (*t->repro_command || !*n || strchr(n, '\n')) {
        append(&t->repro_note, v);
        if (*t->repro_command && *n)
            ft_import_warn(p->rep, line,
                           "a second reproduction command; kept in the reproduction note");
    } else {
        free(t->repro_command);
        t->repro_command = n;
        n = NULL;
        append(&t->repro_note, rest);
    }
    free(n);
    free(cmd);
}

/* A line of the reproduction section: "Command:", "Timeout:", "Expected:", or its note. */
static void place_repro_line(struct pl *p, const char *text, int line)
{
    struct ft_tracker *t = p->t;
    char k[64];
    const char *v = split_label(text, k, sizeof(k));
    static const char *const cmd_keys[] = {
        "command",       "cmd",   "run",          "reproduction command",
        "repro command", "repro", "reproduction", NULL};
    static const char *const exp_keys[] = {
        "expected",        "expected failure mode", "expected failure",  "expect",
        "expected result", "expected behaviour",    "expected behavior", NULL};
    if (v && strcmp(k, "timeout") == 0) {
        char *d = ft_text_norm(v);
        if (t->repro_timeout_ms || ft_duration_parse(d, &t->repro_timeout_ms) != 0) {
            append(&t->repro_note, text);
            ft_import_warn(p->rep, line,
                           "timeout '%.40s' is not a duration (30, 2.5s, 5m) or is given twice; "
                           "kept in the reproduction note",
                           d);
        }
        free(d);
        return;
    }
    for (size_t i = 0; v && cmd_keys[i]; i++)
        if (strcmp(k, cmd_keys[i]) == 0) {
            set_command(p, v, line);
            return;
        }
    for (size_t i = 0; v && exp_keys[i]; i++)
        if (strcmp(k, exp_keys[i]) == 0) {
            if (*t->repro_expect)
                append(&t->repro_note, text);
            else
                append(&t->repro_expect, v);
            return;
        }
    const char *rest = "";
    char *code = lead_code(text, &rest);
    if (code && !*rest && !*t->repro_command) {
        set_command(p, text, line);
    } else {
        append(&t->repro_note, text);
    }
    free(code);
}

/* A line of the final fix: "Why it works:", "Evidence:", "Summary:", or the summary. */
static void place_fix_line(struct pl *p, const char *text)
{
    struct ft_tracker *t = p->t;
    char k[64];
    const char *v = split_label(text, k, sizeof(k));
    if (v && (strcmp(k, "why it works") == 0 || strcmp(k, "why") == 0) && !*t->fix_why)
        append(&t->fix_why, v);
    else if (v && (strcmp(k, "evidence") == 0 || strcmp(k, "proof") == 0) && !*t->fix_evidence)
        append(&t->fix_evidence, v);
    else if (v &&
             (strcmp(k, "summary") == 0 || strcmp(k, "fix") == 0 || strcmp(k, "final fix") == 0))
        append(&t->fix_summary, v);
    else
        append(&t->fix_summary, text);
}

static void set_open(struct pl *p, int depth, int sec, int kind, int group)
{
    if (depth > MAX_DEPTH)
        depth = MAX_DEPTH;
    p->open[depth].sec = sec;
    p->open[depth].kind = kind;
    p->open[depth].idx = kind >= 0 ? p->t->lists[kind].n - 1 : 0;
    p->open[depth].group = group;
}

/* An entry-less labelled item: "Hypotheses: note" with hypotheses under it. 1 when placed. */
static int place_labelled(struct pl *p, const char *text, int depth, int line)
{
    char k[64];
    const char *v = split_label(text, k, sizeof(k));
    int group, sec = v ? section_of(text, (size_t)(v - text), &group) : -1;
    if (sec < 0 || sec == S_HEADER || sec == S_OBJECTIVE || sec == S_PROGRESS || sec == S_RULES ||
        sec == S_STEPS)
        return 0;
    int singular = strcmp(k, "symptom") == 0 || strcmp(k, "hypothesis") == 0 ||
                   strcmp(k, "result") == 0 || strcmp(k, "theory") == 0;
    set_open(p, depth, sec, -1, -1);
    if (!*v)
        return 1;
    char *val = ft_xstrdup(v);
    switch (sec) {
    case S_REPRO:
        set_command(p, val, line);
        break;
    case S_FIX:
        append(&p->t->fix_summary, val);
        break;
    case S_FOLLOWUPS:
        add_entry(p, FT_K_FOLLOWUP, val);
        break;
    case S_NOTES:
        add_entry(p, FT_K_NOTE, val);
        break;
    case S_SYMPTOMS:
        if (singular)
            add_entry(p, FT_K_SYMPTOM, val);
        else
            append(&p->t->symptoms_note, val);
        break;
    case S_HYPS:
        if (singular) {
            place_hyp(p, val, line);
            val = NULL;
        } else {
            append(&p->t->hyps_note, val);
        }
        break;
    case S_RESULTS:
        if (singular)
            place_result(p, val, line);
        else
            append(&p->t->results_note, val);
        break;
    default:
        break;
    }
    free(val);
    return 1;
}

/* A list item in section sec at depth (its parent, when any, made no entry). */
static void place_top_item(struct pl *p, int sec, int group, char **textp, int mark, int depth,
                           int line)
{
    char *text = *textp;
    if ((sec == S_HEADER || sec == S_NOTES || sec == S_OTHER) && mark)
        sec = S_PROGRESS; /* a task list outside the typed sections is progress */
    switch (sec) {
    case S_PROGRESS: {
        int st = item_state(textp, mark, group);
        text = *textp;
        if (!*skip_sp(text))
            break;
        struct ft_entry *e = add_entry(p, FT_K_ITEM, text);
        e->state = st;
        set_open(p, depth, sec, FT_K_ITEM, group);
        break;
    }
    case S_RULES:
        add_entry(p, FT_K_RULE, text);
        set_open(p, depth, sec, FT_K_RULE, -1);
        break;
    case S_STEPS:
        place_step(p, text);
        set_open(p, depth, sec, FT_K_STEP, -1);
        break;
    case S_SYMPTOMS:
        add_entry(p, FT_K_SYMPTOM, text);
        set_open(p, depth, sec, FT_K_SYMPTOM, -1);
        break;
    case S_HYPS:
        place_hyp(p, ft_xstrdup(text), line);
        set_open(p, depth, sec, FT_K_HYP, -1);
        break;
    case S_RESULTS:
        place_result(p, text, line);
        set_open(p, depth, sec, FT_K_RESULT, -1);
        break;
    case S_FOLLOWUPS:
        add_entry(p, FT_K_FOLLOWUP, text);
        set_open(p, depth, sec, FT_K_FOLLOWUP, -1);
        break;
    case S_REPRO:
        place_repro_line(p, text, line);
        set_open(p, depth, sec, -1, -1);
        break;
    case S_FIX:
        place_fix_line(p, text);
        set_open(p, depth, sec, -1, -1);
        break;
    case S_OBJECTIVE:
        append(&p->t->objective, text);
        set_open(p, depth, sec, -1, -1);
        break;
    case S_HEADER:
        if (place_labelled(p, text, depth, line))
            break;
        if (!try_field(p, text, line))
            keep_note(p, line, text, "a list item that is not a header field");
        set_open(p, depth, sec, -1, -1);
        break;
    case S_NOTES:
    case S_OTHER:
        if (place_labelled(p, text, depth, line))
            break;
        if (sec == S_NOTES)
            add_entry(p, FT_K_NOTE, text);
        else
            keep_note(p, line, text, "a list item under a heading that names no section");
        set_open(p, depth, sec, FT_K_NOTE, -1);
        break;
    }
    (void)line;
}

/* Text that belongs to an entry made before it: evidence, notes or more text. */
static void attach(struct pl *p, int kind, size_t idx, const char *text)
{
    struct ft_entry *e = entry_at(p, kind, idx);
    if (kind == FT_K_HYP) {
        char k[64];
        const char *v = split_label(text, k, sizeof(k));
        append(&e->detail, v && strcmp(k, "evidence") == 0 ? v : text);
    } else if (kind == FT_K_RESULT) {
        append(&e->detail, text);
    } else {
        append(&e->text, text);
    }
}

static void place_item(struct pl *p, struct blk *b)
{
    int depth = b->level > MAX_DEPTH ? MAX_DEPTH : b->level;
    char *text = ft_text_norm(b->text.buf ? b->text.buf : "");
    if (!*text && !b->mark) {
        free(text);
        return;
    }
    int sec = p->sec, group = p->group;
    if (depth > 0) {
        struct open_item *up = &p->open[depth - 1];
        if (up->kind >= 0 && !(up->kind == FT_K_ITEM && has_state(text, b->mark))) {
            attach(p, up->kind, up->idx, text);
            p->open[depth] = *up; /* what is nested deeper goes to the same entry */
            free(text);
            return;
        }
        sec = up->sec;
        if (up->kind == FT_K_ITEM)
            group = up->group;
    }
    place_top_item(p, sec, group, &text, b->mark, depth, b->line);
    free(text);
}

/* ---- tables -- */

enum col { C_NONE, C_DATE, C_ATTEMPT, C_OUTCOME, C_NOTES, C_TEXT, C_STATUS };

static int col_of(const char *cell, int progress)
{
    char k[64];
    key_of(cell, strlen(cell), k, sizeof(k));
    static const struct {
        const char *key;
        int col;
    } cols[] = {
        {"date", C_DATE},
        {"when", C_DATE},
        {"day", C_DATE},
        {"attempt", C_ATTEMPT},
        {"tried", C_ATTEMPT},
        {"change", C_ATTEMPT},
        {"experiment", C_ATTEMPT},
        {"action", C_ATTEMPT},
        {"test", C_ATTEMPT},
        {"what we tried", C_ATTEMPT},
        {"what i tried", C_ATTEMPT},
        {"try", C_ATTEMPT},
        {"outcome", C_OUTCOME},
        {"result", C_OUTCOME},
        {"verdict", C_OUTCOME},
        {"notes", C_NOTES},
        {"note", C_NOTES},
        {"details", C_NOTES},
        {"comment", C_NOTES},
        {"comments", C_NOTES},
        {"observations", C_NOTES},
        {"evidence", C_NOTES},
        {"item", C_TEXT},
        {"task", C_TEXT},
        {"todo", C_TEXT},
        {"work item", C_TEXT},
        {"description", C_TEXT},
        {"title", C_TEXT},
        {"status", C_STATUS},
        {"state", C_STATUS},
        {"done", C_STATUS},
    };
    if (strcmp(k, "what") == 0)
        return progress ? C_TEXT : C_ATTEMPT;
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        if (strcmp(k, cols[i].key) == 0)
            return cols[i].col;
    return C_NONE;
}

static void table_row_text(struct blk *b, size_t r, struct ft_buf *out)
{
    for (size_t c = 0; c < b->ncols; c++)
        ft_buf_addf(out, "%s%s", c ? " | " : "", b->cells[r * b->ncols + c]);
}

static void place_table(struct pl *p, struct blk *b)
{
    int col[64];
    size_t nc = b->ncols < 64 ? b->ncols : 64;
    int has[C_STATUS + 1] = {0};
    for (size_t c = 0; c < nc; c++) {
        col[c] = b->nrows ? col_of(b->cells[c], p->sec == S_PROGRESS) : C_NONE;
        if (has[col[c]]) /* a second column of a role is just more notes */
            col[c] = C_NONE;
        has[col[c]] = 1;
    }
    int results = has[C_ATTEMPT] || (has[C_DATE] && has[C_OUTCOME] && !has[C_TEXT]);
    int items = !results && has[C_TEXT] && has[C_STATUS];
    if (!results && !items) {
        struct ft_buf all;
        ft_buf_init(&all, 0);
        for (size_t r = 0; r < b->nrows; r++) {
            table_row_text(b, r, &all);
            ft_buf_addc(&all, '\n');
        }
        if (p->sec == S_NOTES && all.len) {
            add_entry(p, FT_K_NOTE, all.buf);
        } else if (all.len) {
            char **slot = section_note(p, p->sec);
            if (slot) {
                append(slot, all.buf);
            } else {
                keep_note(p, b->line, all.buf,
                          "a table with no Attempt or Item and Status columns");
            }
        }
        ft_buf_release(&all);
        return;
    }
    for (size_t r = 1; r < b->nrows; r++) {
        const char *cell[C_STATUS + 1] = {0};
        struct ft_buf extra;
        ft_buf_init(&extra, 0);
        for (size_t c = 0; c < b->ncols; c++) {
            const char *v = b->cells[r * b->ncols + c];
            if (c < nc && col[c] != C_NONE && (!items || col[c] == C_TEXT || col[c] == C_STATUS))
                cell[col[c]] = v;
            else if (*v)
                ft_buf_addf(&extra, "%s%s: %s", extra.len ? "\n" : "", b->cells[c], v);
        }
        int line = b->row_line[r];
        if (items) {
            char *text = ft_text_norm(cell[C_TEXT] ? cell[C_TEXT] : "");
            const char *st = cell[C_STATUS] ? cell[C_STATUS] : "";
            char *sw = ft_xstrdup(st);
            int state = take_emoji(&sw, M_STATE);
            char k[64];
            key_of(sw, strlen(sw), k, sizeof(k));
            if (state < 0)
                state = key_in(k, &state_words[0][0], 12, FT_ST__COUNT);
            if (state < 0 && (strcmp(k, "x") == 0 || strcmp(k, "yes") == 0))
                state = FT_ST_DONE;
            if (state < 0 && *k)
                ft_buf_addf(&extra, "%s%s: %s", extra.len ? "\n" : "", "Status", st);
            if (state < 0)
                state = FT_ST_PENDING;
            free(sw);
            if (!*text && extra.len) {
                free(text);
                text = ft_text_norm(extra.buf);
                ft_buf_reset(&extra);
            }
            if (*text) {
                struct ft_entry *e = add_entry(p, FT_K_ITEM, text);
                e->state = state;
                if (extra.len)
                    append(&e->text, extra.buf);
            }
            free(text);
        } else {
            struct ft_buf s;
            ft_buf_init(&s, 0);
            ft_buf_adds(&s, cell[C_DATE] && *cell[C_DATE] ? cell[C_DATE] : FT_NO_DATE);
            ft_buf_adds(&s, ": ");
            /* the attempt may not hold an arrow: what follows one is notes */
            const char *at = cell[C_ATTEMPT] ? cell[C_ATTEMPT] : "";
            ft_buf_adds(&s, at);
            const char *o = cell[C_OUTCOME] ? cell[C_OUTCOME] : "";
            const char *rest = "";
            int outcome = *o ? outcome_at(o, &rest) : -1;
            char date[11] = "";
            const char *dc = cell[C_DATE] ? cell[C_DATE] : "";
            int bad_date = 0;
            if (date_at(dc) == 10 && strlen(dc) == 10)
                memcpy(date, dc, 11);
            else if (*dc && strcmp(dc, FT_NO_DATE) != 0 && strcmp(dc, "-") != 0 &&
                     strcmp(dc, "\xe2\x80\x94") != 0)
                bad_date = 1;
            char *attempt = ft_text_norm(at);
            struct ft_buf notes;
            ft_buf_init(&notes, 0);
            if (bad_date)
                ft_buf_addf(&notes, "%s\n", dc);
            if (outcome < 0 && *o)
                ft_buf_addf(&notes, "%s\n", o);
            else if (*rest)
                ft_buf_addf(&notes, "%s\n", rest);
            const char *arrow = strstr(attempt, FT_ARROW);
            if (arrow) {
                ft_buf_addf(&notes, "%s\n", arrow + strlen(FT_ARROW));
                attempt[arrow - attempt] = '\0';
            }
            if (cell[C_NOTES] && *cell[C_NOTES])
                ft_buf_addf(&notes, "%s\n", cell[C_NOTES]);
            if (extra.len)
                ft_buf_add(&notes, extra.buf, extra.len);
            for (char *c = attempt; *c; c++)
                if (*c == '\n')
                    *c = ' ';
            if (!*skip_sp(attempt)) {
                free(attempt);
                attempt = ft_xstrdup(notes.len ? "(see notes)" : "(empty row)");
            }
            struct ft_entry *e = add_entry(p, FT_K_RESULT, attempt);
            e->state = outcome >= 0 ? outcome : FT_OUT_NONE;
            ft_set_str(&e->date, date);
            append(&e->detail, notes.buf ? notes.buf : "");
            if (bad_date)
                ft_import_warn(p->rep, line, "'%.40s' is not a date YYYY-MM-DD; kept in the notes",
                               dc);
            free(attempt);
            ft_buf_release(&notes);
            ft_buf_release(&s);
        }
        ft_buf_release(&extra);
    }
    p->last_kind = -1;
}

/* ---- headings, paragraphs, code -- */

static void enter_section(struct pl *p, int sec, int group)
{
    p->sec = sec;
    p->group = group;
    p->last_kind = -1;
    for (int i = 0; i <= MAX_DEPTH; i++)
        p->open[i].kind = -1, p->open[i].sec = sec, p->open[i].group = group;
}

static void place_heading(struct pl *p, struct blk *b, int *sec_level)
{
    int group, sec = section_of(b->text.buf ? b->text.buf : "", b->text.len, &group);
    if (sec == S_REPRO && !p->repro_line)
        p->repro_line = b->line;
    if (sec >= 0) {
        /* a group heading keeps the progress section's level; a section sets it */
        if (!(sec == S_PROGRESS && group >= 0 && p->sec == S_PROGRESS))
            *sec_level = b->level;
        enter_section(p, sec, group);
        return;
    }
    char *n = ft_text_norm(b->text.buf ? b->text.buf : "");
    if (*n && p->sec == S_HYPS && b->level > *sec_level) {
        /* "### H2: the proxy buffers" under Hypotheses is one, with its text below it */
        place_hyp(p, n, b->line);
        p->hyp_heading = 1;
        return;
    }
    if (*n) {
        /* a sub-heading of a known section stays in it; one at its level starts other notes */
        if (p->sec == S_HEADER || (b->level > *sec_level && p->sec != S_OTHER)) {
            keep_note(p, b->line, n, "a heading that names no section");
        } else {
            enter_section(p, S_OTHER, -1);
            *sec_level = b->level;
            keep_note(p, b->line, n, "a heading that names no section");
        }
        p->last_kind = -1;
    }
    free(n);
}

static void place_para(struct pl *p, struct blk *b)
{
    const char *s = b->text.buf ? b->text.buf : "";
    int sec = p->sec;
    if (sec == S_HEADER || sec == S_REPRO || sec == S_FIX) {
        /* line by line: fields, reproduction or fix labels */
        struct ft_buf other;
        ft_buf_init(&other, 0);
        int other_line = 0, line = b->line, last_field = -1;
        for (const char *q = s; *q;) {
            const char *e = strchr(q, '\n');
            size_t n = e ? (size_t)(e - q) : strlen(q);
            char *ln = ft_xstrndup(q, n);
            char k[64];
            const char *v;
            if (sec == S_REPRO) {
                place_repro_line(p, ln, line);
            } else if (sec == S_FIX) {
                place_fix_line(p, ln);
            } else if ((v = split_label(ln, k, sizeof(k))) && field_of(k) >= 0) {
                try_field(p, ln, line);
                last_field = field_of(k);
            } else if (!place_labelled(p, ln, 0, line)) {
                if (last_field == F_OWNER || last_field == F_OBJECTIVE) {
                    append(last_field == F_OWNER ? &p->t->owner : &p->t->objective, ln);
                } else {
                    if (!other.len)
                        other_line = line;
                    ft_buf_addf(&other, "%s%s", other.len ? "\n" : "", ln);
                }
            }
            free(ln);
            line++;
            q += n + (e != NULL);
        }
        if (other.len)
            place_prose(p, S_HEADER, other.buf, other_line);
        ft_buf_release(&other);
        return;
    }
    if (sec == S_HYPS && p->hyp_heading && p->last_kind == FT_K_HYP) {
        struct ft_entry *e = entry_at(p, FT_K_HYP, p->last_idx);
        char *text = ft_xstrdup(s);
        int v = take_emoji(&text, M_VERDICT);
        int w = take_word(&text, &verdict_words[0][0], 16, FT_V__COUNT);
        if (e->state == FT_V_OPEN && (w >= 0 || v >= 0))
            e->state = w >= 0 ? w : v;
        append(&e->detail, text);
        free(text);
        return;
    }
    place_prose(p, sec, s, b->line);
}

static void place_code(struct pl *p, struct blk *b)
{
    const char *code = b->text.buf ? b->text.buf : "";
    if (p->sec == S_REPRO && !*p->t->repro_command && !strchr(code, '\n') && *code) {
        const char *c = code;
        if (c[0] == '$' && c[1] == ' ')
            c += 2;
        ft_set_str(&p->t->repro_command, c);
        return;
    }
    struct ft_buf f;
    ft_buf_init(&f, 0);
    fenced(&f, b->info, code, b->text.len);
    if (p->last_kind >= 0 && p->sec != S_REPRO)
        attach(p, p->last_kind, p->last_idx, f.buf);
    else
        place_prose(p, p->sec, f.buf, b->line);
    ft_buf_release(&f);
}

/* ---- the title, the organisation -- */

static int is_field_line(const char *s)
{
    char k[64];
    const char *v = split_label(s, k, sizeof(k));
    return v && field_of(k) >= 0;
}

static int one_line_para(const struct blk *b)
{
    return b->kind == B_PARA && b->text.len && !strchr(b->text.buf, '\n');
}

/* Choose the blocks that are the title and organisation; mark them used (kind -1). */
static void find_title(struct pl *p, struct doc *d, int text, unsigned char *used)
{
    size_t ti = d->n;
    int group;
    for (size_t i = 0; i < d->n && ti == d->n; i++) {
        struct blk *b = &d->b[i];
        const char *s = b->text.buf ? b->text.buf : "";
        if (b->kind == B_HEAD && b->level == 1 && section_of(s, b->text.len, &group) < 0)
            ti = i;
        else if (b->kind == B_HEAD && section_of(s, b->text.len, &group) >= 0)
            break;
    }
    if (ti == d->n) /* no '# ' title: the first heading, or a first unindented line */
        for (size_t i = 0; i < d->n && ti == d->n; i++) {
            struct blk *b = &d->b[i];
            const char *s = b->text.buf ? b->text.buf : "";
            if (b->kind == B_HEAD) {
                if (section_of(s, b->text.len, &group) < 0)
                    ti = i;
                break;
            }
            if (b->kind == B_PARA && *s && !is_field_line(s) &&
                section_of(s, strcspn(s, "\n"), &group) < 0 && (!text || b->level))
                ti = i;
            if (b->kind != B_PARA || *s)
                break;
        }
    if (ti == d->n)
        return;
    struct blk *tb = &d->b[ti];
    const char *s = tb->text.buf;
    size_t n = strcspn(s, "\n");
    if (*p->t->title) { /* front matter said it: a heading with the same words is it */
        char *h = ft_text_norm(s);
        if (strcmp(h, p->t->title) == 0)
            used[ti] = 1;
        free(h);
        return;
    }
    /* the text layout: ORG, TITLE, then the header fields, each a paragraph */
    if (text && ti + 2 < d->n && one_line_para(tb) && one_line_para(&d->b[ti + 1]) &&
        !is_field_line(d->b[ti + 1].text.buf) &&
        section_of(d->b[ti + 1].text.buf, d->b[ti + 1].text.len, &group) < 0 &&
        d->b[ti + 2].kind == B_PARA && is_field_line(d->b[ti + 2].text.buf)) {
        char *org = ft_text_norm(s);
        ft_set_str(&p->t->org, org);
        free(org);
        used[ti] = 1;
        p->seen_fields[F_ORG] = 1;
        tb = &d->b[++ti];
        s = tb->text.buf;
        n = strlen(s);
    }
    char *title = ft_xstrndup(s, n);
    free(p->t->title);
    p->t->title = ft_text_norm(title);
    free(title);
    p->title_line = tb->line;
    p->seen_fields[F_TITLE] = 1;
    if (s[n]) { /* the rest of a first paragraph stays a paragraph */
        struct ft_buf rest;
        ft_buf_init(&rest, 0);
        ft_buf_adds(&rest, s + n + 1);
        ft_buf_release(&tb->text);
        tb->text = rest;
        tb->line++;
    } else {
        used[ti] = 1;
    }
    /* the organisation: a one-line paragraph just before the title (the layouts' place) */
    if (ti > 0 && one_line_para(&d->b[ti - 1]) && !used[ti - 1] && !*p->t->org &&
        !is_field_line(d->b[ti - 1].text.buf)) {
        char *org = ft_text_norm(d->b[ti - 1].text.buf);
        ft_set_str(&p->t->org, org);
        free(org);
        used[ti - 1] = 1;
        p->seen_fields[F_ORG] = 1;
    }
}

/* ---- the reader ---------------------------------------------------------------------- */

static int looks_like_text(const char *data, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t k = i;
        while (k < len && data[k] == ' ')
            k++;
        if (len - k >= 4 && memcmp(data + k, FT_BULLET " ", 4) == 0)
            return 1;
        const char *nl = memchr(data + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - data) + 1;
    }
    return 0;
}

static void place_front_matter(struct pl *p, struct doc *d)
{
    for (size_t i = 0; i < d->nfm; i++) {
        struct fm_line *f = &d->fm[i];
        char k[64];
        int fld = -1;
        if (f->key) {
            key_of(f->key, strlen(f->key), k, sizeof(k));
            fld = field_of(k);
        }
        if (fld >= 0 && set_field(p, fld, f->val, f->line) == 0)
            continue;
        struct ft_buf b;
        ft_buf_init(&b, 0);
        if (f->key)
            ft_buf_addf(&b, "%s: %s", f->key, f->val);
        else
            ft_buf_adds(&b, f->val);
        keep_note(p, f->line, b.buf,
                  fld >= 0 ? "a front matter field given twice or with a value that does not fit"
                           : "a front matter line that is not a tracker field");
        ft_buf_release(&b);
    }
}

int ft__import_tolerant(const char *data, size_t len, enum ft_import_fmt fmt,
                        struct ft_tracker **out, struct ft_import_report *rep, struct ft_err *err)
{
    struct doc d;
    memset(&d, 0, sizeof(d));
    *out = NULL;
    size_t body = front_matter(data, len, &d);
    int first_line = 1;
    for (size_t i = 0; i < body; i++)
        first_line += data[i] == '\n';
    if (fmt != FT_IMPORT_TEXT && fmt != FT_IMPORT_MD)
        fmt = looks_like_text(data + body, len - body) ? FT_IMPORT_TEXT : FT_IMPORT_MD;
    if (rep)
        rep->fmt = fmt;
    if (fmt == FT_IMPORT_MD)
        md_blocks(data, len, body, &d);
    else
        text_blocks(data, len, body, first_line, &d);

    struct pl p;
    memset(&p, 0, sizeof(p));
    p.t = ft_tracker_new();
    p.rep = rep;
    p.last_kind = -1;
    enter_section(&p, S_HEADER, -1);
    place_front_matter(&p, &d);
    unsigned char *used = ft_xcalloc(d.n + 1, 1);
    find_title(&p, &d, fmt == FT_IMPORT_TEXT, used);
    int sec_level = 0;
    for (size_t i = 0; i < d.n; i++) {
        struct blk *b = &d.b[i];
        int group;
        if (used[i])
            continue;
        switch (b->kind) {
        case B_HEAD:
            place_heading(&p, b, &sec_level);
            break;
        case B_PARA:
            /* a line of its own that names a section is its heading ("**Done**", "Symptoms:") */
            if (one_line_para(b) && section_of(b->text.buf, b->text.len, &group) >= 0) {
                int lvl = b->level;
                b->level = sec_level + (group >= 0 && p.sec == S_PROGRESS);
                place_heading(&p, b, &sec_level);
                b->level = lvl;
            } else {
                place_para(&p, b);
            }
            break;
        case B_ITEM:
            place_item(&p, b);
            break;
        case B_CODE:
            place_code(&p, b);
            break;
        case B_TABLE:
            place_table(&p, b);
            break;
        }
    }
    free(used);
    doc_release(&d);

    struct ft_tracker *t = p.t;
    int rc = 0;
    /* A note that opens with a backtick where no command is would read back as the command
     * (docs/format.md): such a note (a code block of several lines) is kept as a note. */
    /* a command keeps no surrounding blanks: the layouts could not write them back */
    size_t cl = strlen(t->repro_command);
    while (cl && (t->repro_command[cl - 1] == ' ' || t->repro_command[cl - 1] == '\t'))
        t->repro_command[--cl] = '\0';
    size_t lead = strspn(t->repro_command, " \t");
    if (lead)
        memmove(t->repro_command, t->repro_command + lead, cl - lead + 1);
    if (!*t->repro_command && t->repro_note[0] == '`') {
        add_entry(&p, FT_K_NOTE, t->repro_note);
        ft_set_str(&t->repro_note, "");
        ft_import_warn(rep, p.repro_line,
                       "a reproduction of several lines and no one-line command; kept as a note");
    }
    /* notes of a results entry with no outcome that read as "OUTCOME + notes" (an arrow
     * in a table's attempt cell, a continuation line) give the entry that outcome, and an
     * attempt keeps no " →" at its end: the layouts could not write them back otherwise
     * (ft_entry_validate) */
    for (int k = 0; k < FT_K__COUNT; k++) /* as the store will hold them */
        for (size_t i = 0; i < t->lists[k].n; i++)
            ft_entry_norm(&t->lists[k].v[i]);
    for (size_t i = 0; i < t->lists[FT_K_RESULT].n; i++) {
        struct ft_entry *e = &t->lists[FT_K_RESULT].v[i];
        size_t skip;
        /* an attempt cut before an arrow may end with one more ("x  → → fail"): drop it */
        while ((skip = ft_result_attempt_tail(e->text)) != 0) {
            e->text[strlen(e->text) - skip] = '\0';
            char *n = ft_text_norm(e->text);
            free(e->text);
            e->text = n;
        }
        int o = e->state == FT_OUT_NONE ? ft_outcome_lead(e->detail, &skip) : -1;
        if (o >= 0) {
            char *rest = ft_text_norm(e->detail + skip);
            free(e->detail);
            e->detail = rest;
            e->state = o;
        }
    }
    if (!*t->title)
        rc = ft_err_set(err, FT_EINVAL,
                        "line 1: no title found: start with a '# Title' heading, a title line or "
                        "'title:' in front matter");
    for (int k = 0; k < FT_K__COUNT && !rc; k++)
        for (size_t i = 0; i < t->lists[k].n && !rc; i++)
            rc = ft_entry_validate(&t->lists[k].v[i], err);
    if (!rc && (rc = ft_tracker_validate(t, err)) != 0)
        rc = ft_err_set(err, FT_EINVAL, "line %d: %s", p.title_line ? p.title_line : 1,
                        err ? err->msg : "invalid header");
    if (rc) {
        ft_tracker_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
