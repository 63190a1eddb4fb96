/*
 * intrinsic.c -- parser and evaluator of the States Language intrinsic
 * functions (see intrinsic.h).
 *
 * An expression is parsed into a small tree of nodes (string, number,
 * null, boolean, Path, call), checked (known function, argument count,
 * States.Format placeholders against a literal template), then evaluated
 * bottom-up: arguments first, then the function on their values.  The
 * definition validator only parses; the data flow parses and evaluates on
 * each use (expressions are short).  Argument errors are
 * States.IntrinsicFailure faults; a Path argument that matches nothing is
 * States.Runtime, like every Path.
 */
#include "intrinsic.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "path.h"

#define MAX_NESTING 10 /* nested calls in one field, as AWS allows */
#define MAX_RANGE 1000 /* elements States.ArrayRange may build */

typedef enum {
    NODE_STRING = 1,
    NODE_NUMBER,
    NODE_NULL,
    NODE_BOOL,
    NODE_PATH,
    NODE_CALL,
} node_kind_t;

typedef struct node node_t;
typedef struct fn fn_t;

struct node {
    node_kind_t kind;
    char *text;     /* STRING: value; PATH: the path; owned */
    char *raw;      /* STRING: as written, escapes kept (States.Format) */
    json_t *number; /* NUMBER, owned */
    int boolean;    /* BOOL */
    const fn_t *fn; /* CALL */
    node_t **args;  /* CALL, owned */
    size_t n_args;
};

/* A function: argv holds the evaluated arguments (call->n_args of them,
 * borrowed).  Returns BATON_OK with *out new, or a fault, or NOMEM. */
typedef baton_err_t (*fn_impl_t)(baton_asl_env_t *env, const node_t *call,
                                 json_t **argv, json_t **out,
                                 baton_asl_fault_t *fault);

struct fn {
    const char *name;
    int min_args;
    int max_args; /* -1: any number */
    fn_impl_t impl;
};

static const fn_t *fn_find(const char *name, size_t len);
static baton_err_t fn_format(baton_asl_env_t *env, const node_t *call,
                             json_t **argv, json_t **out,
                             baton_asl_fault_t *fault);
static baton_err_t fn_json_to_string(baton_asl_env_t *env, const node_t *call,
                                     json_t **argv, json_t **out,
                                     baton_asl_fault_t *fault);

/* ---- small helpers --------------------------------------------------- */

/* A growable string; oom is sticky so callers check once at the end. */
typedef struct sbuf {
    char *d;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *d;
        while (cap < b->len + n + 1) cap *= 2;
        d = baton_realloc(b->d, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    if (n) memcpy(b->d + b->len, s, n);
    b->len += n;
    b->d[b->len] = '\0';
}

/* Fills an States.IntrinsicFailure fault; returns BATON_ERR_INVALID. */
static baton_err_t ifail(baton_asl_fault_t *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static baton_err_t ifail(baton_asl_fault_t *f, const char *fmt, ...) {
    va_list ap;
    snprintf(f->error, sizeof(f->error), "%s", BATON_ASL_ERR_INTRINSIC);
    va_start(ap, fmt);
    vsnprintf(f->cause, sizeof(f->cause), fmt, ap);
    va_end(ap);
    return BATON_ERR_INVALID;
}

/* Reads an integer argument (the spec: "MUST be integers"; a JSON real
 * with no fraction, such as 4.0, is the same number).  Returns 0, or -1
 * when v is not an integral number in the int64 range. */
static int arg_int(json_t *v, int64_t *out) {
    double d;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v)) return -1;
    d = json_real_value(v);
    if (!(d > -9.2e18 && d < 9.2e18) || d != (double)(int64_t)d) return -1;
    *out = (int64_t)d;
    return 0;
}

#define MAX_DATA_CHARS 10000 /* spec: Base64Encode/Decode and Hash input */

/* Counts the UTF-8 characters of s[0..n). */
static size_t utf8_count(const char *s, size_t n) {
    size_t i, c = 0;
    for (i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* Formats a real in its shortest round-tripping form ("2.5", "0.1"). */
static void fmt_real(double d, char *buf, size_t len) {
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEni")) {
        size_t n = strlen(buf);
        if (n + 3 <= len) memcpy(buf + n, ".0", 3);
    }
}

/* Serializes v as compact JSON into a baton_malloc'd string.  NULL on
 * allocation failure. */
static char *dump_compact(json_t *v, size_t *len) {
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t n = json_dumpb(v, NULL, 0, flags);
    char *s;
    if (n == 0) return NULL;
    s = baton_malloc(n + 1);
    if (!s) return NULL;
    if (json_dumpb(v, s, n, flags) != n) {
        baton_free(s);
        return NULL;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

/* Returns a new JSON string of s[0..n) or NULL (no memory, or not UTF-8). */
static json_t *new_string(const char *s, size_t n) {
    return json_stringn(s, n);
}

/* ---- parsing --------------------------------------------------------- */

typedef struct parser {
    const char *p;
    char *errstr;
    size_t errlen;
    int depth;
} parser_t;

static baton_err_t perr(parser_t *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static baton_err_t perr(parser_t *ps, const char *fmt, ...) {
    va_list ap;
    if (ps->errstr && ps->errlen) {
        va_start(ap, fmt);
        vsnprintf(ps->errstr, ps->errlen, fmt, ap);
        va_end(ap);
    }
    return BATON_ERR_INVALID;
}

static void node_free(node_t *n) {
    size_t i;
    if (!n) return;
    baton_free(n->text);
    baton_free(n->raw);
    json_decref(n->number);
    for (i = 0; i < n->n_args; i++) node_free(n->args[i]);
    baton_free(n->args);
    baton_free(n);
}

static void skip_ws(parser_t *ps) {
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static int is_ident(int c) {
    return isalnum((unsigned char)c) || c == '.' || c == '_';
}

/* 'text' with the escapes \' \{ \} \\ ; any other backslash is an error. */
static baton_err_t parse_string(parser_t *ps, node_t *n) {
    const char *p = ps->p + 1;
    size_t cap = strlen(p) + 1, tl = 0, rl = 0;
    n->kind = NODE_STRING;
    n->text = baton_malloc(cap);
    n->raw = baton_malloc(cap);
    if (!n->text || !n->raw) return BATON_ERR_NOMEM;
    while (*p && *p != '\'') {
        if (*p == '\\') {
            if (!p[1] || !strchr("'{}\\", p[1]))
                return perr(ps,
                            "open escape '\\%c' in a string argument "
                            "(only \\' \\{ \\} \\\\ are allowed)",
                            p[1] ? p[1] : ' ');
            n->raw[rl++] = p[0];
            n->raw[rl++] = p[1];
            n->text[tl++] = p[1];
            p += 2;
            continue;
        }
        n->raw[rl++] = *p;
        n->text[tl++] = *p++;
    }
    if (*p != '\'') return perr(ps, "unterminated string argument");
    n->text[tl] = '\0';
    n->raw[rl] = '\0';
    ps->p = p + 1;
    return BATON_OK;
}

/* A Path argument runs to the next ',' ')' or blank outside brackets. */
static baton_err_t parse_path(parser_t *ps, node_t *n) {
    const char *start = ps->p, *p = ps->p;
    char reason[256];
    int depth = 0;
    char quote = 0;
    baton_err_t err;
    for (; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        } else if (quote) {
            if (*p == quote) quote = 0;
        } else if (depth && (*p == '\'' || *p == '"')) {
            quote = *p;
        } else if (*p == '[') {
            depth++;
        } else if (*p == ']' && depth) {
            depth--;
        } else if (!depth &&
                   (*p == ',' || *p == ')' || isspace((unsigned char)*p))) {
            break;
        }
    }
    n->kind = NODE_PATH;
    n->text = baton_strndup(start, (size_t)(p - start));
    if (!n->text) return BATON_ERR_NOMEM;
    err = baton_asl_path_check(n->text, 0, reason, sizeof(reason));
    if (err == BATON_ERR_INVALID)
        return perr(ps, "bad path '%s': %s", n->text, reason);
    ps->p = p;
    return err;
}

static baton_err_t parse_number(parser_t *ps, node_t *n) {
    const char *p = ps->p;
    int is_real = 0;
    char *text;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p)) return perr(ps, "bad number");
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '.') {
        is_real = 1;
        p++;
        if (!isdigit((unsigned char)*p)) return perr(ps, "bad number");
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'e' || *p == 'E') {
        is_real = 1;
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return perr(ps, "bad number");
        while (isdigit((unsigned char)*p)) p++;
    }
    text = baton_strndup(ps->p, (size_t)(p - ps->p));
    if (!text) return BATON_ERR_NOMEM;
    n->kind = NODE_NUMBER;
    if (!is_real) {
        long long v;
        errno = 0;
        v = strtoll(text, NULL, 10);
        if (errno == ERANGE)
            is_real = 1;
        else
            n->number = json_integer(v);
    }
    if (is_real) n->number = json_real(strtod(text, NULL));
    baton_free(text);
    if (!n->number) return BATON_ERR_NOMEM;
    ps->p = p;
    return BATON_OK;
}

/* Returns 1 and consumes `word` when it stands alone at the cursor. */
static int take_word(parser_t *ps, const char *word) {
    size_t n = strlen(word);
    if (strncmp(ps->p, word, n) != 0 || is_ident(ps->p[n])) return 0;
    ps->p += n;
    return 1;
}

static baton_err_t parse_call(parser_t *ps, node_t **out);

/* Returns 1 when a literal null/true/false stands at p. */
static int is_keyword(const char *p) {
    static const char *const words[] = {"null", "true", "false"};
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(words); i++) {
        size_t n = strlen(words[i]);
        if (strncmp(p, words[i], n) == 0 && !is_ident(p[n])) return 1;
    }
    return 0;
}

/* One argument: 'string', number, null, true, false, $path or a call. */
static baton_err_t parse_arg(parser_t *ps, node_t **out) {
    node_t *n;
    baton_err_t err = BATON_OK;
    char c = *ps->p;
    if (isalpha((unsigned char)c) && !is_keyword(ps->p))
        return parse_call(ps, out);
    n = baton_calloc(1, sizeof(*n));
    if (!n) return BATON_ERR_NOMEM;
    if (c == '\'')
        err = parse_string(ps, n);
    else if (c == '$')
        err = parse_path(ps, n);
    else if (c == '-' || isdigit((unsigned char)c))
        err = parse_number(ps, n);
    else if (take_word(ps, "null"))
        n->kind = NODE_NULL;
    else if (take_word(ps, "true") || take_word(ps, "false")) {
        n->kind = NODE_BOOL;
        n->boolean = c == 't';
    } else
        err = c ? perr(ps, "unexpected '%c' in the arguments", c)
                : perr(ps, "missing ')'");
    if (err) {
        node_free(n);
        return err;
    }
    *out = n;
    return BATON_OK;
}

/* Counts the {} placeholders of a literal template (escapes kept). */
static size_t count_placeholders(const char *raw) {
    size_t n = 0;
    while (*raw) {
        if (raw[0] == '\\' && raw[1]) {
            raw += 2;
        } else if (raw[0] == '{' && raw[1] == '}') {
            n++;
            raw += 2;
        } else {
            raw++;
        }
    }
    return n;
}

/* Checks the argument count (and a literal Format template). */
static baton_err_t check_arity(parser_t *ps, const node_t *n) {
    const fn_t *fn = n->fn;
    size_t got = n->n_args;
    if ((int)got < fn->min_args ||
        (fn->max_args >= 0 && (int)got > fn->max_args)) {
        if (fn->max_args < 0)
            return perr(ps, "%s takes at least %d argument%s, got %zu",
                        fn->name, fn->min_args, fn->min_args == 1 ? "" : "s",
                        got);
        if (fn->min_args == fn->max_args)
            return perr(ps, "%s takes %d argument%s, got %zu", fn->name,
                        fn->min_args, fn->min_args == 1 ? "" : "s", got);
        return perr(ps, "%s takes %d to %d arguments, got %zu", fn->name,
                    fn->min_args, fn->max_args, got);
    }
    if (fn->impl == fn_json_to_string && n->args[0]->kind != NODE_PATH)
        return perr(ps, "States.JsonToString takes a Path ($...)");
    if (fn->impl == fn_format && n->args[0]->kind == NODE_STRING) {
        size_t want = count_placeholders(n->args[0]->raw);
        if (want != got - 1)
            return perr(ps,
                        "States.Format has %zu '{}' placeholder%s but "
                        "%zu value%s",
                        want, want == 1 ? "" : "s", got - 1,
                        got == 2 ? "" : "s");
    }
    return BATON_OK;
}

/* Appends an argument to a call node. */
static baton_err_t push_arg(node_t *call, node_t *arg) {
    node_t **a = baton_realloc(call->args, (call->n_args + 1) * sizeof(*a));
    if (!a) {
        node_free(arg);
        return BATON_ERR_NOMEM;
    }
    call->args = a;
    call->args[call->n_args++] = arg;
    return BATON_OK;
}

/* Parses the comma-separated arguments after '(' up to ')'. */
static baton_err_t parse_args(parser_t *ps, node_t *n) {
    baton_err_t err;
    skip_ws(ps);
    if (*ps->p == ')') {
        ps->p++;
        return BATON_OK;
    }
    for (;;) {
        node_t *a = NULL;
        skip_ws(ps);
        if ((err = parse_arg(ps, &a))) return err;
        if ((err = push_arg(n, a))) return err;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == ')') {
            ps->p++;
            return BATON_OK;
        }
        return perr(ps, "expected ',' or ')' in the arguments of %s",
                    n->fn->name);
    }
}

/* Name(args...) */
static baton_err_t parse_call(parser_t *ps, node_t **out) {
    const char *start = ps->p;
    const fn_t *fn;
    node_t *n;
    baton_err_t err;
    while (is_ident(*ps->p)) ps->p++;
    fn = fn_find(start, (size_t)(ps->p - start));
    if (!fn)
        return perr(ps, "unknown intrinsic function '%.*s'",
                    (int)(ps->p - start), start);
    if (++ps->depth > MAX_NESTING)
        return perr(ps, "more than %d nested intrinsic functions", MAX_NESTING);
    skip_ws(ps);
    if (*ps->p != '(') return perr(ps, "expected '(' after %s", fn->name);
    ps->p++;
    n = baton_calloc(1, sizeof(*n));
    if (!n) return BATON_ERR_NOMEM;
    n->kind = NODE_CALL;
    n->fn = fn;
    err = parse_args(ps, n);
    if (!err) err = check_arity(ps, n);
    if (err) {
        node_free(n);
        return err;
    }
    ps->depth--;
    *out = n;
    return BATON_OK;
}

/* Parses a whole expression: one call and nothing after it. */
static baton_err_t parse_expr(const char *expr, node_t **out, char *errstr,
                              size_t errlen) {
    parser_t ps = {expr, errstr, errlen, 0};
    baton_err_t err;
    skip_ws(&ps);
    if (!isalpha((unsigned char)*ps.p))
        return perr(&ps, "expected a path ($...) or an intrinsic function "
                         "(States.Name(...))");
    if ((err = parse_call(&ps, out))) return err;
    skip_ws(&ps);
    if (*ps.p) {
        node_free(*out);
        *out = NULL;
        return perr(&ps, "unexpected text after the call: '%s'", ps.p);
    }
    return BATON_OK;
}

baton_err_t baton_asl_intrinsic_check(const char *expr, char *errstr,
                                      size_t errlen) {
    node_t *n = NULL;
    baton_err_t err = parse_expr(expr, &n, errstr, errlen);
    node_free(n);
    return err;
}

/* ---- evaluation ------------------------------------------------------ */

static baton_err_t eval_node(baton_asl_env_t *env, const node_t *n,
                             json_t *input, json_t **out,
                             baton_asl_fault_t *fault);

static baton_err_t eval_call(baton_asl_env_t *env, const node_t *n,
                             json_t *input, json_t **out,
                             baton_asl_fault_t *fault) {
    json_t **argv = baton_calloc(n->n_args + 1, sizeof(*argv));
    baton_err_t err = BATON_OK;
    size_t i;
    if (!argv) return BATON_ERR_NOMEM;
    for (i = 0; i < n->n_args && !err; i++)
        err = eval_node(env, n->args[i], input, &argv[i], fault);
    if (!err) err = n->fn->impl(env, n, argv, out, fault);
    for (i = 0; i < n->n_args; i++) json_decref(argv[i]);
    baton_free(argv);
    return err;
}

static baton_err_t eval_node(baton_asl_env_t *env, const node_t *n,
                             json_t *input, json_t **out,
                             baton_asl_fault_t *fault) {
    json_t *v = NULL;
    switch (n->kind) {
    case NODE_STRING: v = json_string(n->text); break;
    case NODE_NUMBER: v = json_incref(n->number); break;
    case NODE_NULL: v = json_null(); break;
    case NODE_BOOL: v = json_boolean(n->boolean); break;
    case NODE_PATH:
        return baton_asl_env_select(env, "intrinsic argument", n->text, input,
                                    out, fault);
    case NODE_CALL: return eval_call(env, n, input, out, fault);
    }
    if (!v) return BATON_ERR_NOMEM;
    *out = v;
    return BATON_OK;
}

baton_err_t baton_asl_intrinsic_eval(baton_asl_env_t *env, const char *expr,
                                     json_t *input, json_t **out,
                                     baton_asl_fault_t *fault) {
    node_t *n = NULL;
    char why[512];
    baton_err_t err = parse_expr(expr, &n, why, sizeof(why));
    if (err == BATON_ERR_INVALID) return ifail(fault, "%s", why);
    if (err) return err;
    err = eval_call(env, n, input, out, fault);
    node_free(n);
    return err;
}

/* ---- the functions: generic and JSON --------------------------------- */

/* Appends the natural string form of a Format value. */
static baton_err_t format_value(sbuf_t *b, json_t *v, size_t pos,
                                baton_asl_fault_t *fault) {
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        sb_put(b, json_string_value(v), json_string_length(v));
        return BATON_OK;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        break;
    case JSON_REAL: fmt_real(json_real_value(v), num, sizeof(num)); break;
    case JSON_TRUE: snprintf(num, sizeof(num), "true"); break;
    case JSON_FALSE: snprintf(num, sizeof(num), "false"); break;
    case JSON_NULL: snprintf(num, sizeof(num), "null"); break;
    default:
        return ifail(fault,
                     "States.Format: value %zu is an object or an "
                     "array",
                     pos);
    }
    sb_put(b, num, strlen(num));
    return BATON_OK;
}

/* States.Format(template, values...): each {} takes the next value.  A
 * literal template honours the escapes \{ \} \' \\ ; one read from a Path
 * is taken as is. */
static baton_err_t fn_format(baton_asl_env_t *env, const node_t *call,
                             json_t **argv, json_t **out,
                             baton_asl_fault_t *fault) {
    int literal = call->args[0]->kind == NODE_STRING;
    const char *t = literal ? call->args[0]->raw : json_string_value(argv[0]);
    sbuf_t b = {NULL, 0, 0, 0};
    size_t next = 1;
    baton_err_t err = BATON_OK;
    (void)env;
    if (!t) return ifail(fault, "States.Format: the template is not a string");
    while (*t && !err) {
        if (literal && t[0] == '\\' && t[1]) {
            sb_put(&b, t + 1, 1);
            t += 2;
        } else if (t[0] == '{' && t[1] == '}') {
            if (next >= call->n_args)
                err = ifail(fault, "States.Format: more '{}' than values");
            else
                err = format_value(&b, argv[next], next, fault);
            next++;
            t += 2;
        } else {
            sb_put(&b, t++, 1);
        }
    }
    if (!err && next != call->n_args)
        err = ifail(fault, "States.Format: fewer '{}' than values");
    sb_put(&b, "", 0);
    if (!err && b.oom) err = BATON_ERR_NOMEM;
    if (!err && !(*out = new_string(b.d, b.len))) err = BATON_ERR_NOMEM;
    baton_free(b.d);
    return err;
}

static baton_err_t fn_string_to_json(baton_asl_env_t *env, const node_t *call,
                                     json_t **argv, json_t **out,
                                     baton_asl_fault_t *fault) {
    json_error_t jerr;
    (void)env;
    (void)call;
    if (!json_is_string(argv[0]))
        return ifail(fault, "States.StringToJson: the argument is not a "
                            "string");
    *out = json_loadb(json_string_value(argv[0]), json_string_length(argv[0]),
                      JSON_DECODE_ANY, &jerr);
    if (!*out)
        return ifail(fault, "States.StringToJson: not JSON: %s", jerr.text);
    return BATON_OK;
}

static baton_err_t fn_json_to_string(baton_asl_env_t *env, const node_t *call,
                                     json_t **argv, json_t **out,
                                     baton_asl_fault_t *fault) {
    size_t len = 0;
    char *s = dump_compact(argv[0], &len);
    (void)env;
    (void)call;
    (void)fault;
    if (!s) return BATON_ERR_NOMEM;
    *out = new_string(s, len);
    baton_free(s);
    return *out ? BATON_OK : BATON_ERR_NOMEM;
}

static baton_err_t fn_json_merge(baton_asl_env_t *env, const node_t *call,
                                 json_t **argv, json_t **out,
                                 baton_asl_fault_t *fault);

/* ---- the functions: arrays ------------------------------------------- */

static baton_err_t fn_array(baton_asl_env_t *env, const node_t *call,
                            json_t **argv, json_t **out,
                            baton_asl_fault_t *fault) {
    json_t *a = json_array();
    size_t i;
    (void)env;
    (void)fault;
    if (!a) return BATON_ERR_NOMEM;
    for (i = 0; i < call->n_args; i++) {
        if (json_array_append(a, argv[i])) {
            json_decref(a);
            return BATON_ERR_NOMEM;
        }
    }
    *out = a;
    return BATON_OK;
}

/* Checks that argument i of `fn` is an array. */
static baton_err_t want_array(json_t **argv, size_t i, const char *fn,
                              baton_asl_fault_t *fault) {
    if (json_is_array(argv[i])) return BATON_OK;
    return ifail(fault, "%s: argument %zu is not an array", fn, i + 1);
}

/* Reads integer argument i of `fn` into *v. */
static baton_err_t want_int(json_t **argv, size_t i, const char *fn, int64_t *v,
                            baton_asl_fault_t *fault) {
    if (arg_int(argv[i], v) == 0) return BATON_OK;
    return ifail(fault, "%s: argument %zu is not an integer", fn, i + 1);
}

static baton_err_t fn_array_partition(baton_asl_env_t *env, const node_t *call,
                                      json_t **argv, json_t **out,
                                      baton_asl_fault_t *fault) {
    const char *fn = "States.ArrayPartition";
    int64_t size;
    size_t i, n;
    json_t *res, *chunk = NULL;
    baton_err_t err;
    (void)env;
    (void)call;
    if ((err = want_array(argv, 0, fn, fault)) ||
        (err = want_int(argv, 1, fn, &size, fault)))
        return err;
    if (size <= 0)
        return ifail(fault, "%s: the chunk size must be positive", fn);
    if (!(res = json_array())) return BATON_ERR_NOMEM;
    n = json_array_size(argv[0]);
    for (i = 0; i < n; i++) {
        if (i % (uint64_t)size == 0 &&
            (!(chunk = json_array()) || json_array_append_new(res, chunk)))
            goto nomem;
        if (json_array_append(chunk, json_array_get(argv[0], i))) goto nomem;
    }
    *out = res;
    return BATON_OK;
nomem:
    json_decref(res);
    return BATON_ERR_NOMEM;
}

/* Returns 1 when arr holds a value equal to v. */
static int array_has(json_t *arr, json_t *v) {
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        if (json_equal(e, v)) return 1;
    }
    return 0;
}

static baton_err_t fn_array_contains(baton_asl_env_t *env, const node_t *call,
                                     json_t **argv, json_t **out,
                                     baton_asl_fault_t *fault) {
    baton_err_t err = want_array(argv, 0, "States.ArrayContains", fault);
    (void)env;
    (void)call;
    if (err) return err;
    *out = json_boolean(array_has(argv[0], argv[1]));
    return BATON_OK;
}

static baton_err_t fn_array_range(baton_asl_env_t *env, const node_t *call,
                                  json_t **argv, json_t **out,
                                  baton_asl_fault_t *fault) {
    const char *fn = "States.ArrayRange";
    int64_t a, b, s;
    uint64_t diff, step, n = 0, i;
    json_t *res;
    baton_err_t err;
    (void)env;
    (void)call;
    if ((err = want_int(argv, 0, fn, &a, fault)) ||
        (err = want_int(argv, 1, fn, &b, fault)) ||
        (err = want_int(argv, 2, fn, &s, fault)))
        return err;
    if (s == 0) return ifail(fault, "%s: the step must not be 0", fn);
    if (s > 0 ? a <= b : a >= b) {
        diff = s > 0 ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b;
        step = s > 0 ? (uint64_t)s : 0 - (uint64_t)s;
        n = diff / step + 1;
    }
    if (n > MAX_RANGE)
        return ifail(fault, "%s: the range has more than %d elements", fn,
                     MAX_RANGE);
    if (!(res = json_array())) return BATON_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        if (json_array_append_new(
                res, json_integer((int64_t)((uint64_t)a + i * (uint64_t)s)))) {
            json_decref(res);
            return BATON_ERR_NOMEM;
        }
    }
    *out = res;
    return BATON_OK;
}

static baton_err_t fn_array_get_item(baton_asl_env_t *env, const node_t *call,
                                     json_t **argv, json_t **out,
                                     baton_asl_fault_t *fault) {
    const char *fn = "States.ArrayGetItem";
    int64_t i;
    baton_err_t err;
    (void)env;
    (void)call;
    if ((err = want_array(argv, 0, fn, fault)) ||
        (err = want_int(argv, 1, fn, &i, fault)))
        return err;
    if (i < 0 || (uint64_t)i >= json_array_size(argv[0]))
        return ifail(fault, "%s: index %lld is out of bounds (size %zu)", fn,
                     (long long)i, json_array_size(argv[0]));
    *out = json_incref(json_array_get(argv[0], (size_t)i));
    return BATON_OK;
}

static baton_err_t fn_array_length(baton_asl_env_t *env, const node_t *call,
                                   json_t **argv, json_t **out,
                                   baton_asl_fault_t *fault) {
    baton_err_t err = want_array(argv, 0, "States.ArrayLength", fault);
    (void)env;
    (void)call;
    if (err) return err;
    *out = json_integer((json_int_t)json_array_size(argv[0]));
    return *out ? BATON_OK : BATON_ERR_NOMEM;
}

static baton_err_t fn_array_unique(baton_asl_env_t *env, const node_t *call,
                                   json_t **argv, json_t **out,
                                   baton_asl_fault_t *fault) {
    baton_err_t err = want_array(argv, 0, "States.ArrayUnique", fault);
    json_t *res, *e;
    size_t i;
    (void)env;
    (void)call;
    if (err) return err;
    if (!(res = json_array())) return BATON_ERR_NOMEM;
    json_array_foreach(argv[0], i, e) {
        if (!array_has(res, e) && json_array_append(res, e)) {
            json_decref(res);
            return BATON_ERR_NOMEM;
        }
    }
    *out = res;
    return BATON_OK;
}

/* ---- the functions: encoding and hashing ----------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(int c) {
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

static baton_err_t fn_base64_encode(baton_asl_env_t *env, const node_t *call,
                                    json_t **argv, json_t **out,
                                    baton_asl_fault_t *fault) {
    const unsigned char *s;
    size_t n, i, o = 0;
    char *buf;
    (void)env;
    (void)call;
    if (!json_is_string(argv[0]))
        return ifail(fault,
                     "States.Base64Encode: the argument is not a string");
    s = (const unsigned char *)json_string_value(argv[0]);
    n = json_string_length(argv[0]);
    if (utf8_count((const char *)s, n) > MAX_DATA_CHARS)
        return ifail(fault,
                     "States.Base64Encode: the string is longer than "
                     "%d characters",
                     MAX_DATA_CHARS);
    if (!(buf = baton_malloc((n + 2) / 3 * 4 + 1))) return BATON_ERR_NOMEM;
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n) v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n) v |= s[i + 2];
        buf[o++] = b64_alphabet[(v >> 18) & 63];
        buf[o++] = b64_alphabet[(v >> 12) & 63];
        buf[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        buf[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    *out = new_string(buf, o);
    baton_free(buf);
    return *out ? BATON_OK : BATON_ERR_NOMEM;
}

/* Decodes base64 (line breaks skipped, padding optional) into buf (at
 * least 3/4 of the input long).  Returns the length or -1. */
static long b64_decode(const char *s, unsigned char *buf) {
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    long o = 0, nchars = 0;
    for (; *s; s++) {
        int v;
        if (*s == '\r' || *s == '\n') continue;
        if (*s == '=') {
            pad++;
            continue;
        }
        if (pad || (v = b64_value(*s)) < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        nchars++;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (nchars % 4 == 1 || pad > 2) return -1;
    return o;
}

static baton_err_t fn_base64_decode(baton_asl_env_t *env, const node_t *call,
                                    json_t **argv, json_t **out,
                                    baton_asl_fault_t *fault) {
    const char *fn = "States.Base64Decode";
    unsigned char *buf;
    long n;
    (void)env;
    (void)call;
    if (!json_is_string(argv[0]))
        return ifail(fault, "%s: the argument is not a string", fn);
    if (json_string_length(argv[0]) > MAX_DATA_CHARS)
        return ifail(fault, "%s: the string is longer than %d characters", fn,
                     MAX_DATA_CHARS);
    buf = baton_malloc(json_string_length(argv[0]) + 1);
    if (!buf) return BATON_ERR_NOMEM;
    n = b64_decode(json_string_value(argv[0]), buf);
    if (n < 0) {
        baton_free(buf);
        return ifail(fault, "%s: not base64", fn);
    }
    if (memchr(buf, '\0', (size_t)n)) { /* no snapshot could hold it */
        baton_free(buf);
        return ifail(fault, "%s: the decoded data holds a NUL byte", fn);
    }
    *out = new_string((const char *)buf, (size_t)n);
    baton_free(buf);
    if (!*out)
        return ifail(fault, "%s: the decoded data is not UTF-8 text", fn);
    return BATON_OK;
}

static baton_err_t fn_hash(baton_asl_env_t *env, const node_t *call,
                           json_t **argv, json_t **out,
                           baton_asl_fault_t *fault) {
    uint8_t digest[BATON_ASL_HASH_MAX];
    char hex[2 * BATON_ASL_HASH_MAX + 1];
    const char *alg = json_string_value(argv[1]);
    char *dumped = NULL;
    const char *data;
    size_t len, dlen, i;
    (void)env;
    (void)call;
    if (!alg) return ifail(fault, "States.Hash: the algorithm is not a string");
    if (json_is_string(argv[0])) {
        data = json_string_value(argv[0]);
        len = json_string_length(argv[0]);
    } else {
        if (!(dumped = dump_compact(argv[0], &len))) return BATON_ERR_NOMEM;
        data = dumped;
    }
    if (utf8_count(data, len) > MAX_DATA_CHARS) {
        baton_free(dumped);
        return ifail(fault,
                     "States.Hash: the data is longer than %d characters",
                     MAX_DATA_CHARS);
    }
    dlen = baton_asl_hash(alg, data, len, digest);
    baton_free(dumped);
    if (!dlen)
        return ifail(fault,
                     "States.Hash: unsupported algorithm '%s' (MD5, "
                     "SHA-1, SHA-256, SHA-384 or SHA-512)",
                     alg);
    for (i = 0; i < dlen; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    *out = json_string(hex);
    return *out ? BATON_OK : BATON_ERR_NOMEM;
}

/* ---- the functions: math, strings, identifiers ----------------------- */

static baton_err_t fn_math_random(baton_asl_env_t *env, const node_t *call,
                                  json_t **argv, json_t **out,
                                  baton_asl_fault_t *fault) {
    const char *fn = "States.MathRandom";
    int64_t a, b, seed;
    uint64_t r;
    baton_err_t err;
    if ((err = want_int(argv, 0, fn, &a, fault)) ||
        (err = want_int(argv, 1, fn, &b, fault)))
        return err;
    if (a >= b)
        return ifail(fault, "%s: the start must be less than the end", fn);
    if (call->n_args == 3) {
        uint64_t st;
        if ((err = want_int(argv, 2, fn, &seed, fault))) return err;
        st = (uint64_t)seed;
        r = baton_asl_splitmix64(&st);
    } else {
        r = baton_asl_env_random(env);
    }
    *out = json_integer(
        (json_int_t)((uint64_t)a + r % ((uint64_t)b - (uint64_t)a)));
    return *out ? BATON_OK : BATON_ERR_NOMEM;
}

static baton_err_t fn_math_add(baton_asl_env_t *env, const node_t *call,
                               json_t **argv, json_t **out,
                               baton_asl_fault_t *fault) {
    const char *fn = "States.MathAdd";
    int64_t a, b;
    baton_err_t err;
    (void)env;
    (void)call;
    if ((err = want_int(argv, 0, fn, &a, fault)) ||
        (err = want_int(argv, 1, fn, &b, fault)))
        return err;
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return ifail(fault, "%s: the sum overflows a 64-bit integer", fn);
    *out = json_integer(a + b);
    return *out ? BATON_OK : BATON_ERR_NOMEM;
}

/* Length of the UTF-8 character starting with byte c. */
static size_t utf8_len(unsigned char c) {
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) return 2;
    if ((c & 0xf0) == 0xe0) return 3;
    if ((c & 0xf8) == 0xf0) return 4;
    return 1;
}

/* Returns 1 when the character s[0..n) is one of the characters of set. */
static int char_in(const char *s, size_t n, const char *set, size_t setlen) {
    size_t i = 0;
    while (i < setlen) {
        size_t m = utf8_len((unsigned char)set[i]);
        if (m == n && i + m <= setlen && memcmp(set + i, s, n) == 0) return 1;
        i += m;
    }
    return 0;
}

/* States.StringSplit(string, delimiters): splits at every character of the
 * delimiter string; empty pieces are dropped. */
static baton_err_t fn_string_split(baton_asl_env_t *env, const node_t *call,
                                   json_t **argv, json_t **out,
                                   baton_asl_fault_t *fault) {
    const char *s = json_string_value(argv[0]);
    const char *d = json_string_value(argv[1]);
    size_t n, dn, i = 0, start = 0;
    json_t *res;
    (void)env;
    (void)call;
    if (!s || !d)
        return ifail(fault, "States.StringSplit: both arguments must be "
                            "strings");
    n = json_string_length(argv[0]);
    dn = json_string_length(argv[1]);
    if (!(res = json_array())) return BATON_ERR_NOMEM;
    while (i <= n) {
        size_t m = i < n ? utf8_len((unsigned char)s[i]) : 0;
        if (i + m > n) m = n - i;
        if (i == n || char_in(s + i, m, d, dn)) {
            if (i > start &&
                json_array_append_new(res, new_string(s + start, i - start))) {
                json_decref(res);
                return BATON_ERR_NOMEM;
            }
            start = i + m;
        }
        if (i == n) break;
        i += m;
    }
    *out = res;
    return BATON_OK;
}

/* States.UUID(): a version 4 UUID from the seeded generator. */
static baton_err_t fn_uuid(baton_asl_env_t *env, const node_t *call,
                           json_t **argv, json_t **out,
                           baton_asl_fault_t *fault) {
    uint8_t u[16];
    char s[37];
    uint64_t r1 = baton_asl_env_random(env), r2 = baton_asl_env_random(env);
    int i, o = 0;
    (void)call;
    (void)argv;
    (void)fault;
    for (i = 0; i < 8; i++) {
        u[i] = (uint8_t)(r1 >> (8 * i));
        u[8 + i] = (uint8_t)(r2 >> (8 * i));
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s[o++] = '-';
        snprintf(s + o, 3, "%02x", u[i]);
        o += 2;
    }
    *out = json_string(s);
    return *out ? BATON_OK : BATON_ERR_NOMEM;
}

/* Merges src into dst (owned exclusively), recursing into objects. */
static baton_err_t merge_deep(json_t *dst, json_t *src) {
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(d) && json_is_object(v)) {
            if (merge_deep(d, v)) return BATON_ERR_NOMEM;
        } else if (json_object_set(dst, k, v)) {
            return BATON_ERR_NOMEM;
        }
    }
    return BATON_OK;
}

/* States.JsonMerge(a, b, deep): b's fields win; `deep` merges nested
 * objects too.  Both modes are in the spec's Appendix B ("false to do a
 * shallow merge, and true to do a deep merge"); AWS accepts only false. */
static baton_err_t fn_json_merge(baton_asl_env_t *env, const node_t *call,
                                 json_t **argv, json_t **out,
                                 baton_asl_fault_t *fault) {
    json_t *res;
    baton_err_t err;
    (void)env;
    (void)call;
    if (!json_is_object(argv[0]) || !json_is_object(argv[1]))
        return ifail(fault, "States.JsonMerge: the first two arguments must "
                            "be objects");
    if (!json_is_boolean(argv[2]))
        return ifail(fault, "States.JsonMerge: the third argument must be a "
                            "boolean");
    if (json_is_true(argv[2])) {
        if (!(res = json_deep_copy(argv[0]))) return BATON_ERR_NOMEM;
        err = merge_deep(res, argv[1]);
    } else {
        if (!(res = json_copy(argv[0]))) return BATON_ERR_NOMEM;
        err = json_object_update(res, argv[1]) ? BATON_ERR_NOMEM : BATON_OK;
    }
    if (err) {
        json_decref(res);
        return err;
    }
    *out = res;
    return BATON_OK;
}

/* ---- the table ------------------------------------------------------- */

static const fn_t fns[] = {
    {"States.Format", 1, -1, fn_format},
    {"States.StringToJson", 1, 1, fn_string_to_json},
    {"States.JsonToString", 1, 1, fn_json_to_string},
    {"States.Array", 0, -1, fn_array},
    {"States.ArrayPartition", 2, 2, fn_array_partition},
    {"States.ArrayContains", 2, 2, fn_array_contains},
    {"States.ArrayRange", 3, 3, fn_array_range},
    {"States.ArrayGetItem", 2, 2, fn_array_get_item},
    {"States.ArrayLength", 1, 1, fn_array_length},
    {"States.ArrayUnique", 1, 1, fn_array_unique},
    {"States.Base64Encode", 1, 1, fn_base64_encode},
    {"States.Base64Decode", 1, 1, fn_base64_decode},
    {"States.Hash", 2, 2, fn_hash},
    {"States.JsonMerge", 3, 3, fn_json_merge},
    {"States.MathRandom", 2, 3, fn_math_random},
    {"States.MathAdd", 2, 2, fn_math_add},
    {"States.StringSplit", 2, 2, fn_string_split},
    {"States.UUID", 0, 0, fn_uuid},
};

static const fn_t *fn_find(const char *name, size_t len) {
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(fns); i++)
        if (strlen(fns[i].name) == len && memcmp(fns[i].name, name, len) == 0)
            return &fns[i];
    return NULL;
}
