/*
 * graph.c -- a definition drawn as a Mermaid flowchart
 * (baton_asl_graph_mermaid, asl.h), for `batonctl graph` and
 * `batonctl describe --graph`.  Pure text generation over the parsed
 * definition; any thread.
 *
 * Layout of the text:
 *
 *   flowchart TD
 *     START(("start"))                    the entry, then every node:
 *     S0["Fetch<br/>activity llm/fetch"]  Task, Pass, Wait: rectangles
 *     S1{"Route"}                         Choice: a rhombus
 *     S2("Done")                          Succeed: rounded
 *     S3(["Broken"])                      Fail: a stadium (red)
 *     subgraph S4 ["Fan (Parallel)"]      Parallel: one subgraph per branch
 *       subgraph S4_b0 ["branch 0"] ... end
 *     end
 *     subgraph S9 ["Each (Map)"] ... end  Map: its ItemProcessor inside
 *     DONE((("end")))
 *     START --> S0                        then every edge: Next, End
 *     S1 -->|"$.n < 3"| S0                Choice rules (short form), Default
 *     S0 -.->|"catch States.ALL"| S3      Catch (dotted)
 *     S0 -.->|"retry States.Timeout x2"| S0   Retry (a dotted loop)
 *     style S1 fill:#ffe082,...           the highlighted state
 *
 * Nodes are declared before any edge so that each stays in the subgraph
 * it belongs to (Mermaid places a node where it first appears).  Node ids
 * are S<n> numbered in document order, depth first, the same in both
 * passes.  Labels escape the characters Mermaid would read (" # < > |) as
 * its entity codes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_int.h"

#define MAX_RULE_TEXT 60 /* characters of a Choice edge label */
#define HL_STYLE "fill:#ffe082,stroke:#e65100,stroke-width:3px"
#define FAIL_STYLE "fill:#ffcdd2,stroke:#c62828"

/* The text being built; oom is sticky, checked once at the end. */
typedef struct gbuf {
    char *d;
    size_t len, cap;
    int oom;
    int next_id;           /* node id counter of the current pass */
    const char *highlight; /* qualified name to mark, or NULL */
    int hl_id;             /* its node id, -1 until found */
} gbuf_t;

static void put(gbuf_t *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *d;
        while (cap < b->len + n + 1) cap *= 2;
        if (!(d = baton_realloc(b->d, cap))) {
            b->oom = 1;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, s, n);
    b->len += n;
    b->d[b->len] = '\0';
}

static void puts_(gbuf_t *b, const char *s) {
    put(b, s, strlen(s));
}

static void printf_(gbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void printf_(gbuf_t *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Appends s with Mermaid's entity codes for the characters it reads. */
static void put_escaped(gbuf_t *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '"': puts_(b, "#quot;"); break;
        case '#': puts_(b, "#35;"); break;
        case '<': puts_(b, "#lt;"); break;
        case '>': puts_(b, "#gt;"); break;
        case '|': puts_(b, "#124;"); break;
        case '\n':
        case '\r': puts_(b, " "); break;
        default: put(b, s, 1);
        }
    }
}

/* ---- Choice rules in short form -------------------------------------- */

/* A bounded string for a rule's text (truncated with "..."). */
typedef struct rtext {
    char s[MAX_RULE_TEXT + 4];
    size_t n;
} rtext_t;

static void rt_put(rtext_t *t, const char *s) {
    for (; *s && t->n < MAX_RULE_TEXT; s++) t->s[t->n++] = *s;
    if (*s && t->n == MAX_RULE_TEXT) {
        memcpy(t->s + t->n, "...", 3);
        t->n += 3;
    }
    t->s[t->n] = '\0';
}

/* The comparison symbol of an operator name ("NumericLessThanPath"). */
static const char *rel_symbol(const char *op) {
    static const char *const rels[][2] = {
        {"LessThanEquals", "<="}, {"GreaterThanEquals", ">="},
        {"LessThan", "<"},        {"GreaterThan", ">"},
        {"Equals", "=="},
    };
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(rels); i++)
        if (strstr(op, rels[i][0])) return rels[i][1];
    return op;
}

/* "is null" / "is not numeric" / "is present" for the type tests. */
static void type_test_text(rtext_t *t, const char *op, int want) {
    static const char *const names[][2] = {
        {"IsNull", "null"},         {"IsPresent", "present"},
        {"IsNumeric", "numeric"},   {"IsString", "a string"},
        {"IsBoolean", "a boolean"}, {"IsTimestamp", "a timestamp"},
    };
    size_t i;
    rt_put(t, want ? " is " : " is not ");
    for (i = 0; i < BATON_ARRAY_SIZE(names); i++)
        if (!strcmp(op, names[i][0])) rt_put(t, names[i][1]);
}

static void rule_text(rtext_t *t, json_t *rule);

/* And / Or: "(a) and (b)". */
static void list_text(rtext_t *t, json_t *list, const char *word) {
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r) {
        if (i) rt_put(t, word);
        rt_put(t, "(");
        rule_text(t, r);
        rt_put(t, ")");
    }
}

/* A Data-test Expression: "$.n < 3", "$.s matches 'a*'", "$.x is null". */
static void test_text(rtext_t *t, json_t *rule) {
    const char *key;
    json_t *v;
    rt_put(t, json_string_value(json_object_get(rule, "Variable")));
    json_object_foreach(rule, key, v) {
        const baton_asl_choice_op_t *op = baton_asl_choice_op_find(key);
        char *val;
        if (!op) continue;
        if (op->type == BATON_ASL_CMP_TYPE) {
            type_test_text(t, key, json_is_true(v));
            return;
        }
        rt_put(t, " ");
        rt_put(t,
               op->type == BATON_ASL_CMP_MATCHES ? "matches" : rel_symbol(key));
        rt_put(t, " ");
        if (json_is_string(v)) {
            rt_put(t, op->is_path ? "" : "'");
            rt_put(t, json_string_value(v));
            rt_put(t, op->is_path ? "" : "'");
        } else if ((val = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT))) {
            rt_put(t, val);
            free(val); /* jansson's allocator: plain free */
        }
        return;
    }
}

static void rule_text(rtext_t *t, json_t *rule) {
    json_t *v;
    if ((v = json_object_get(rule, "And"))) return list_text(t, v, " and ");
    if ((v = json_object_get(rule, "Or"))) return list_text(t, v, " or ");
    if ((v = json_object_get(rule, "Not"))) {
        rt_put(t, "not (");
        rule_text(t, v);
        rt_put(t, ")");
        return;
    }
    test_text(t, rule);
}

/* ---- nodes ----------------------------------------------------------- */

/* The qualified name of a state: prefix (already escaped, "" or
 * "Fan/1/") then the name with '/' and '%' escaped.  New or NULL. */
static char *qualified(const char *prefix, const char *name) {
    size_t len = strlen(prefix);
    char *buf = baton_malloc(len + 1);
    if (!buf) return NULL;
    memcpy(buf, prefix, len + 1);
    if (baton_asl_subpath_escape(&buf, &len, name)) {
        baton_free(buf);
        return NULL;
    }
    return buf;
}

/* The second line of a node's label ("activity llm/fetch", "wait 10s"). */
static void node_detail(gbuf_t *b, const baton_asl_state_t *st) {
    json_t *o = st->obj;
    const char *s;
    switch (st->type) {
    case BATON_ASL_STATE_TASK:
        if (st->task_kind == BATON_ASL_TASK_ACTIVITY)
            printf_(b, "activity %s/%s", st->queue, st->activity_type);
        else if (st->task_kind == BATON_ASL_TASK_SIGNAL)
            printf_(b, "signal %s", st->signal_name);
        else if (st->task_kind == BATON_ASL_TASK_CHILD)
            printf_(b, "workflow %s", st->child_type);
        else
            printf_(b, "append %s",
                    json_string_value(json_object_get(
                        json_object_get(o, "Parameters"), "Path")));
        return;
    case BATON_ASL_STATE_WAIT:
        if (json_object_get(o, "Seconds"))
            printf_(
                b, "wait %llds",
                (long long)json_integer_value(json_object_get(o, "Seconds")));
        else if ((s = json_string_value(json_object_get(o, "Timestamp"))))
            printf_(b, "wait until %s", s);
        else if ((s = json_string_value(json_object_get(o, "SecondsPath"))))
            printf_(b, "wait %s s", s);
        else
            printf_(b, "wait until %s",
                    json_string_value(json_object_get(o, "TimestampPath")));
        return;
    case BATON_ASL_STATE_PASS: puts_(b, "pass"); return;
    default: return;
    }
}

/* Writes label text: the escaped name and, for some types, a detail. */
static void node_label(gbuf_t *b, const baton_asl_state_t *st) {
    gbuf_t detail = {0};
    put_escaped(b, st->name);
    node_detail(&detail, st);
    if (detail.oom) b->oom = 1;
    if (detail.len) {
        puts_(b, "<br/>");
        put_escaped(b, detail.d);
    }
    baton_free(detail.d);
}

static void emit_nodes(gbuf_t *b, const baton_asl_def_t *def,
                       const char *prefix, int depth);

/* A Parallel or Map state: subgraphs around its nested machines. */
static void emit_fanout(gbuf_t *b, const baton_asl_state_t *st, int id,
                        const char *qname, int depth) {
    size_t j;
    char *sub_prefix;
    printf_(b, "%*ssubgraph S%d [\"", depth * 2, "", id);
    put_escaped(b, st->name);
    puts_(b,
          st->type == BATON_ASL_STATE_MAP ? " (Map)\"]\n" : " (Parallel)\"]\n");
    printf_(b, "%*sdirection TB\n", depth * 2 + 2, "");
    for (j = 0; j < st->n_subs; j++) {
        size_t n = strlen(qname) + 32;
        if (!(sub_prefix = baton_malloc(n))) {
            b->oom = 1;
            return;
        }
        if (st->type == BATON_ASL_STATE_MAP) {
            snprintf(sub_prefix, n, "%s/", qname);
            emit_nodes(b, st->subs[j], sub_prefix, depth + 1);
        } else {
            snprintf(sub_prefix, n, "%s/%zu/", qname, j);
            printf_(b, "%*ssubgraph S%d_b%zu [\"branch %zu\"]\n", depth * 2 + 2,
                    "", id, j, j);
            emit_nodes(b, st->subs[j], sub_prefix, depth + 2);
            printf_(b, "%*send\n", depth * 2 + 2, "");
        }
        baton_free(sub_prefix);
    }
    printf_(b, "%*send\n", depth * 2, "");
}

static void emit_node(gbuf_t *b, const baton_asl_state_t *st, int id,
                      int depth) {
    static const struct {
        baton_asl_state_type_t type;
        const char *open, *close;
    } shapes[] = {
        {BATON_ASL_STATE_CHOICE, "{\"", "\"}"},
        {BATON_ASL_STATE_SUCCEED, "(\"", "\")"},
        {BATON_ASL_STATE_FAIL, "([\"", "\"])"},
    };
    const char *open = "[\"", *close = "\"]";
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(shapes); i++)
        if (shapes[i].type == st->type) {
            open = shapes[i].open;
            close = shapes[i].close;
        }
    printf_(b, "%*sS%d%s", depth * 2, "", id, open);
    node_label(b, st);
    printf_(b, "%s\n", close);
    if (st->type == BATON_ASL_STATE_FAIL)
        printf_(b, "%*sstyle S%d " FAIL_STYLE "\n", depth * 2, "", id);
}

/* Pass 1: every node of def (and of its nested machines). */
static void emit_nodes(gbuf_t *b, const baton_asl_def_t *def,
                       const char *prefix, int depth) {
    int base = b->next_id;
    size_t i;
    b->next_id += (int)def->n_states;
    for (i = 0; i < def->n_states; i++) {
        const baton_asl_state_t *st = &def->states[i];
        int id = base + (int)i;
        char *q = qualified(prefix, st->name);
        if (!q) {
            b->oom = 1;
            return;
        }
        if (b->highlight && !strcmp(q, b->highlight)) b->hl_id = id;
        if (st->n_subs)
            emit_fanout(b, st, id, q, depth);
        else
            emit_node(b, st, id, depth);
        baton_free(q);
    }
}

/* ---- edges ----------------------------------------------------------- */

/* The node id of the state named `name` in def (machine base `base`). */
static int state_id(const baton_asl_def_t *def, int base, const char *name) {
    const baton_asl_state_t *st = baton_asl_def_state(def, name);
    return st ? base + (int)(st - def->states) : -1;
}

/* "E1, E2" of an ErrorEquals array, escaped. */
static void put_errors(gbuf_t *b, json_t *ee) {
    size_t i;
    json_t *e;
    json_array_foreach(ee, i, e) {
        if (i) puts_(b, ", ");
        put_escaped(b, json_string_value(e));
    }
}

static void edge(gbuf_t *b, int from, const char *arrow, const char *label,
                 int to) {
    if (to < 0) return;
    printf_(b, "  S%d %s", from, arrow);
    if (label) {
        puts_(b, "|\"");
        put_escaped(b, label);
        puts_(b, "\"|");
    }
    printf_(b, " S%d\n", to);
}

/* Retry loops and Catch edges of a state. */
static void handler_edges(gbuf_t *b, const baton_asl_def_t *def, int base,
                          const baton_asl_state_t *st, int id) {
    size_t i;
    for (i = 0; i < st->n_retriers; i++) {
        printf_(b, "  S%d -.->|\"retry ", id);
        put_errors(b, st->retriers[i].error_equals);
        printf_(b, " x%d\"| S%d\n", (int)st->retriers[i].max_attempts, id);
    }
    for (i = 0; i < st->n_catchers; i++) {
        int to = state_id(def, base, st->catchers[i].next);
        if (to < 0) continue;
        printf_(b, "  S%d -.->|\"catch ", id);
        put_errors(b, st->catchers[i].error_equals);
        printf_(b, "\"| S%d\n", to);
    }
}

/* The edges of a Choice state: one per rule, then Default. */
static void choice_edges(gbuf_t *b, const baton_asl_def_t *def, int base,
                         const baton_asl_state_t *st, int id) {
    json_t *rule;
    size_t i;
    json_array_foreach(json_object_get(st->obj, "Choices"), i, rule) {
        rtext_t t = {{0}, 0};
        rule_text(&t, rule);
        edge(b, id, "-->", t.s,
             state_id(def, base,
                      json_string_value(json_object_get(rule, "Next"))));
    }
    if (json_object_get(st->obj, "Default"))
        edge(b, id, "-->", "Default",
             state_id(def, base,
                      json_string_value(json_object_get(st->obj, "Default"))));
}

/* Pass 2: every edge of def; `top`: terminal states lead to DONE. */
static void emit_edges(gbuf_t *b, const baton_asl_def_t *def, int top) {
    int base = b->next_id;
    size_t i, j;
    b->next_id += (int)def->n_states;
    if (top)
        printf_(b, "  START --> S%d\n", state_id(def, base, def->start_at));
    for (i = 0; i < def->n_states; i++) {
        const baton_asl_state_t *st = &def->states[i];
        int id = base + (int)i;
        for (j = 0; j < st->n_subs; j++) emit_edges(b, st->subs[j], 0);
        if (st->type == BATON_ASL_STATE_CHOICE)
            choice_edges(b, def, base, st, id);
        else if (st->next)
            edge(b, id, "-->", NULL, state_id(def, base, st->next));
        else if (top)
            printf_(b, "  S%d --> DONE\n", id);
        handler_edges(b, def, base, st, id);
    }
}

baton_err_t baton_asl_graph_mermaid(const baton_asl_def_t *def,
                                    const char *highlight, char **out) {
    gbuf_t b = {0};
    *out = NULL;
    b.highlight = highlight;
    b.hl_id = -1;
    puts_(&b, "flowchart TD\n  START((\"start\"))\n");
    emit_nodes(&b, def, "", 1);
    puts_(&b, "  DONE(((\"end\")))\n");
    b.next_id = 0;
    emit_edges(&b, def, 1);
    if (b.hl_id >= 0) printf_(&b, "  style S%d " HL_STYLE "\n", b.hl_id);
    if (b.oom) {
        baton_free(b.d);
        return BATON_ERR_NOMEM;
    }
    *out = b.d;
    return BATON_OK;
}
