/*
 * path.c -- the JSONPath subset of the States Language (see path.h).
 *
 * A path is compiled into a small array of steps (field, index, wildcard,
 * slice, union), then walked over jansson values: a definite path (fields
 * and indexes only) walks one node; any other collects the matching nodes
 * into an array, as the spec asks ("the interpreter gathers the texts into
 * an array").  Compilation allocates through baton_malloc; paths are short
 * and compiled on each use, which keeps the callers free of caches.
 */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    STEP_NAME = 1, /* .name ['name'] */
    STEP_INDEX,    /* [3] [-1] */
    STEP_WILDCARD, /* [*] .* */
    STEP_SLICE,    /* [a:b:c] */
    STEP_UNION,    /* [0,1] ['a','b']: alts are NAME or INDEX steps */
} step_kind_t;

typedef struct step {
    step_kind_t kind;
    char *name;    /* NAME, owned */
    int64_t index; /* INDEX */
    int64_t start, end, stride;
    int has_start, has_end;
    struct step *alts; /* UNION, owned */
    size_t n_alts;
} step_t;

typedef struct path {
    int context;  /* "$$" */
    int definite; /* only NAME and INDEX steps */
    step_t *steps;
    size_t n, cap;
} path_t;

/* ---- compiling ------------------------------------------------------- */

static void step_free(step_t *s) {
    size_t i;
    baton_free(s->name);
    for (i = 0; i < s->n_alts; i++) step_free(&s->alts[i]);
    baton_free(s->alts);
}

static void path_free(path_t *p) {
    size_t i;
    for (i = 0; i < p->n; i++) step_free(&p->steps[i]);
    baton_free(p->steps);
    memset(p, 0, sizeof(*p));
}

/* Appends a step (moved in: the path owns what it points to). */
static baton_err_t path_push(path_t *p, step_t *s) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        step_t *n = baton_realloc(p->steps, cap * sizeof(*n));
        if (!n) return BATON_ERR_NOMEM;
        p->steps = n;
        p->cap = cap;
    }
    p->steps[p->n++] = *s;
    memset(s, 0, sizeof(*s));
    return BATON_OK;
}

/* Sets errstr to msg and returns BATON_ERR_INVALID. */
static baton_err_t bad(char *errstr, size_t errlen, const char *msg) {
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID, "%s", msg);
}

/* Parses a dot-notation field name at *pp (up to '.', '[' or the end; a
 * backslash escapes the next character).  Returns the name in *out. */
static baton_err_t parse_dot_name(const char **pp, char **out, char *errstr,
                                  size_t errlen) {
    const char *p = *pp;
    size_t len = 0;
    char *name = baton_malloc(strlen(p) + 1);
    if (!name) return BATON_ERR_NOMEM;
    while (*p && *p != '.' && *p != '[') {
        if (*p == '\\') {
            if (!p[1]) {
                baton_free(name);
                return bad(errstr, errlen, "dangling '\\' at the end");
            }
            p++;
        }
        name[len++] = *p++;
    }
    name[len] = '\0';
    if (len == 0) {
        baton_free(name);
        return bad(errstr, errlen, "empty field name after '.'");
    }
    *pp = p;
    *out = name;
    return BATON_OK;
}

/* Parses a quoted name ('...' or "...", backslash escapes) at *pp. */
static baton_err_t parse_quoted(const char **pp, char **out, char *errstr,
                                size_t errlen) {
    const char *p = *pp;
    char quote = *p++;
    size_t len = 0;
    char *name = baton_malloc(strlen(p) + 1);
    if (!name) return BATON_ERR_NOMEM;
    while (*p && *p != quote) {
        if (*p == '\\' && p[1]) p++;
        name[len++] = *p++;
    }
    if (*p != quote) {
        baton_free(name);
        return bad(errstr, errlen, "unterminated quoted name");
    }
    name[len] = '\0';
    *pp = p + 1;
    *out = name;
    return BATON_OK;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Parses an optionally negative decimal integer at *pp into *v.  Returns
 * 1 when there was one. */
static int parse_int(const char **pp, int64_t *v) {
    const char *p = *pp;
    int neg = 0;
    int64_t x = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') {
        if (x > (INT64_MAX - 9) / 10) return 0;
        x = x * 10 + (*p++ - '0');
    }
    *v = neg ? -x : x;
    *pp = p;
    return 1;
}

/* Parses the rest of a slice after its start ("[a" then ":b:c]"). */
static baton_err_t parse_slice(const char **pp, step_t *s, char *errstr,
                               size_t errlen) {
    const char *p = *pp + 1; /* past ':' */
    s->kind = STEP_SLICE;
    s->stride = 1;
    p = skip_ws(p);
    if (parse_int(&p, &s->end)) s->has_end = 1;
    p = skip_ws(p);
    if (*p == ':') {
        p = skip_ws(p + 1);
        if (parse_int(&p, &s->stride) && s->stride <= 0)
            return bad(errstr, errlen, "slice step must be positive");
        p = skip_ws(p);
    }
    *pp = p;
    return BATON_OK;
}

/* Parses a union's remaining members ("[a" then ",b,c]"); s holds the
 * first member and becomes the union. */
static baton_err_t parse_union(const char **pp, step_t *s, char *errstr,
                               size_t errlen) {
    const char *p = *pp;
    step_t first = *s;
    baton_err_t err = BATON_OK;
    memset(s, 0, sizeof(*s));
    s->kind = STEP_UNION;
    s->alts = baton_calloc(strlen(p) + 1, sizeof(step_t));
    if (!s->alts) {
        step_free(&first);
        return BATON_ERR_NOMEM;
    }
    s->alts[s->n_alts++] = first;
    while (*p == ',') {
        step_t *alt = &s->alts[s->n_alts];
        p = skip_ws(p + 1);
        if (*p == '\'' || *p == '"') {
            alt->kind = STEP_NAME;
            err = parse_quoted(&p, &alt->name, errstr, errlen);
            if (err) return err;
        } else if (parse_int(&p, &alt->index)) {
            alt->kind = STEP_INDEX;
        } else {
            return bad(errstr, errlen, "bad member in a union");
        }
        s->n_alts++;
        p = skip_ws(p);
    }
    *pp = p;
    return BATON_OK;
}

/* Parses a bracket step at *pp ('[' ... ']') into s. */
static baton_err_t parse_bracket(const char **pp, step_t *s, char *errstr,
                                 size_t errlen) {
    const char *p = skip_ws(*pp + 1);
    baton_err_t err;
    if (*p == '*') {
        s->kind = STEP_WILDCARD;
        p = skip_ws(p + 1);
    } else if (*p == '\'' || *p == '"') {
        s->kind = STEP_NAME;
        if ((err = parse_quoted(&p, &s->name, errstr, errlen))) return err;
        p = skip_ws(p);
        if (*p == ',' && (err = parse_union(&p, s, errstr, errlen))) return err;
    } else if (*p == '?' || *p == '(') {
        return bad(errstr, errlen, "filters and scripts are not supported");
    } else {
        if (parse_int(&p, &s->start)) {
            s->kind = STEP_INDEX;
            s->index = s->start;
            s->has_start = 1;
        }
        p = skip_ws(p);
        if (*p == ':') {
            if ((err = parse_slice(&p, s, errstr, errlen))) return err;
        } else if (*p == ',' && s->kind == STEP_INDEX) {
            if ((err = parse_union(&p, s, errstr, errlen))) return err;
        } else if (s->kind != STEP_INDEX) {
            return bad(errstr, errlen, "bad subscript in '[...]'");
        }
    }
    if (*p != ']') return bad(errstr, errlen, "missing ']'");
    *pp = p + 1;
    return BATON_OK;
}

/* Parses one step after the root at *pp. */
static baton_err_t parse_step(const char **pp, step_t *s, char *errstr,
                              size_t errlen) {
    const char *p = *pp;
    baton_err_t err;
    if (*p == '[') {
        err = parse_bracket(&p, s, errstr, errlen);
    } else if (*p == '.') {
        p++;
        if (*p == '.')
            return bad(errstr, errlen, "deep scan '..' is not supported");
        if (*p == '[') {
            err = parse_bracket(&p, s, errstr, errlen);
        } else if (*p == '*' && (p[1] == '\0' || p[1] == '.' || p[1] == '[')) {
            s->kind = STEP_WILDCARD;
            p++;
            err = BATON_OK;
        } else {
            s->kind = STEP_NAME;
            err = parse_dot_name(&p, &s->name, errstr, errlen);
        }
    } else {
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "unexpected '%c' (expected '.' or '[')", *p);
    }
    *pp = p;
    return err;
}

/* Compiles `text` into p (zeroed by the caller).  On error p is freed. */
static baton_err_t path_compile(const char *text, path_t *p, char *errstr,
                                size_t errlen) {
    const char *c = text;
    baton_err_t err = BATON_OK;
    memset(p, 0, sizeof(*p));
    if (!text || c[0] != '$')
        return bad(errstr, errlen, "a path must begin with '$'");
    c++;
    if (*c == '$') {
        p->context = 1;
        c++;
    }
    p->definite = 1;
    while (*c) {
        step_t s;
        memset(&s, 0, sizeof(s));
        err = parse_step(&c, &s, errstr, errlen);
        if (!err) {
            if (s.kind != STEP_NAME && s.kind != STEP_INDEX) p->definite = 0;
            err = path_push(p, &s);
        }
        if (err) {
            step_free(&s);
            path_free(p);
            return err;
        }
    }
    return BATON_OK;
}

/* ---- public: checking ------------------------------------------------ */

int baton_asl_path_is_context(const char *path) {
    return path && path[0] == '$' && path[1] == '$';
}

/* Returns 1 when p is a Reference Path: names and indexes >= 0 only. */
static int path_is_reference(const path_t *p) {
    size_t i;
    for (i = 0; i < p->n; i++) {
        if (p->steps[i].kind == STEP_NAME) continue;
        if (p->steps[i].kind == STEP_INDEX && p->steps[i].index >= 0) continue;
        return 0;
    }
    return 1;
}

baton_err_t baton_asl_path_check(const char *path, unsigned flags, char *errstr,
                                 size_t errlen) {
    path_t p;
    baton_err_t err = path_compile(path, &p, errstr, errlen);
    if (err) return err;
    if ((flags & BATON_ASL_PATH_NO_CONTEXT) && p.context)
        err =
            bad(errstr, errlen, "the context object '$$' cannot be used here");
    else if ((flags & BATON_ASL_PATH_REFERENCE) && !path_is_reference(&p))
        err = bad(errstr, errlen,
                  "a reference path may only name fields and indexes (no "
                  "wildcards, slices, unions or negative indexes)");
    path_free(&p);
    return err;
}

/* ---- evaluating ------------------------------------------------------ */

/* Returns the element of `arr` at index i (negative from the end), or
 * NULL.  Borrowed. */
static json_t *array_at(json_t *arr, int64_t i) {
    int64_t n;
    if (!json_is_array(arr)) return NULL;
    n = (int64_t)json_array_size(arr);
    if (i < 0) i += n;
    if (i < 0 || i >= n) return NULL;
    return json_array_get(arr, (size_t)i);
}

/* Applies a NAME or INDEX step to one node.  Returns it borrowed or NULL. */
static json_t *step_one(const step_t *s, json_t *node) {
    if (s->kind == STEP_NAME)
        return json_is_object(node) ? json_object_get(node, s->name) : NULL;
    return array_at(node, s->index);
}

/* Clamps a slice bound like Python does. */
static int64_t slice_bound(int64_t v, int64_t n) {
    if (v < 0) v += n;
    if (v < 0) v = 0;
    if (v > n) v = n;
    return v;
}

/* Appends to `acc` (an array) every node that step s selects in node.
 * Returns BATON_OK or BATON_ERR_NOMEM. */
static baton_err_t step_collect(const step_t *s, json_t *node, json_t *acc) {
    size_t i;
    json_t *v;
    const char *k;
    switch (s->kind) {
    case STEP_NAME:
    case STEP_INDEX:
        v = step_one(s, node);
        if (v && json_array_append(acc, v)) return BATON_ERR_NOMEM;
        return BATON_OK;
    case STEP_WILDCARD:
        if (json_is_array(node)) {
            json_array_foreach(node, i, v) {
                if (json_array_append(acc, v)) return BATON_ERR_NOMEM;
            }
        } else if (json_is_object(node)) {
            json_object_foreach(node, k, v) {
                if (json_array_append(acc, v)) return BATON_ERR_NOMEM;
            }
        }
        return BATON_OK;
    case STEP_SLICE: {
        int64_t n, a, b, j;
        if (!json_is_array(node)) return BATON_OK;
        n = (int64_t)json_array_size(node);
        a = s->has_start ? slice_bound(s->start, n) : 0;
        b = s->has_end ? slice_bound(s->end, n) : n;
        /* j + stride may not fit in int64_t ([::9223372036854775000]) */
        for (j = a; j < b; j = s->stride < b - j ? j + s->stride : b)
            if (json_array_append(acc, json_array_get(node, (size_t)j)))
                return BATON_ERR_NOMEM;
        return BATON_OK;
    }
    case STEP_UNION:
        for (i = 0; i < s->n_alts; i++)
            if (step_collect(&s->alts[i], node, acc)) return BATON_ERR_NOMEM;
        return BATON_OK;
    }
    return BATON_OK;
}

/* Walks an indefinite path; *out gets a new array of the matches. */
static baton_err_t walk_many(const path_t *p, json_t *root, json_t **out) {
    json_t *nodes = json_array();
    size_t i, j;
    if (!nodes || json_array_append(nodes, root)) {
        json_decref(nodes);
        return BATON_ERR_NOMEM;
    }
    for (i = 0; i < p->n; i++) {
        json_t *next = json_array();
        json_t *v;
        if (!next) goto nomem;
        json_array_foreach(nodes, j, v) {
            if (step_collect(&p->steps[i], v, next)) {
                json_decref(next);
                goto nomem;
            }
        }
        json_decref(nodes);
        nodes = next;
    }
    *out = nodes;
    return BATON_OK;
nomem:
    json_decref(nodes);
    return BATON_ERR_NOMEM;
}

/* Walks a definite path; *out is borrowed.  BATON_ERR_NOTFOUND if absent. */
static baton_err_t walk_one(const path_t *p, json_t *root, json_t **out) {
    size_t i;
    json_t *cur = root;
    for (i = 0; i < p->n && cur; i++) cur = step_one(&p->steps[i], cur);
    if (!cur) return BATON_ERR_NOTFOUND;
    *out = cur;
    return BATON_OK;
}

baton_err_t baton_asl_path_select(const char *path, json_t *doc,
                                  json_t *context, json_t **out, char *errstr,
                                  size_t errlen) {
    path_t p;
    json_t *root, *v = NULL;
    baton_err_t err = path_compile(path, &p, errstr, errlen);
    if (err) return err;
    root = p.context ? context : doc;
    if (!root)
        err = BATON_ERR_NOTFOUND;
    else if (p.definite) {
        err = walk_one(&p, root, &v);
        if (!err) json_incref(v);
    } else
        err = walk_many(&p, root, &v);
    path_free(&p);
    if (!err) *out = v;
    return err;
}

baton_err_t baton_asl_path_get(const char *path, json_t *doc, json_t *context,
                               json_t **out, char *errstr, size_t errlen) {
    path_t p;
    json_t *root;
    baton_err_t err = path_compile(path, &p, errstr, errlen);
    if (err) return err;
    root = p.context ? context : doc;
    if (!p.definite)
        err = bad(errstr, errlen, "the path may match several values");
    else if (!root)
        err = BATON_ERR_NOTFOUND;
    else
        err = walk_one(&p, root, out);
    path_free(&p);
    return err;
}

/* ---- setting --------------------------------------------------------- */

/* Returns the child of `cur` for step s, creating an empty object for a
 * missing field.  Borrowed; NULL with errstr set on a type mismatch. */
static json_t *set_descend(json_t *cur, const step_t *s, baton_err_t *err,
                           char *errstr, size_t errlen) {
    json_t *child;
    if (s->kind == STEP_INDEX) {
        child = array_at(cur, s->index);
        if (!child)
            *err = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "no element [%lld] to descend into",
                                (long long)s->index);
        return child;
    }
    if (!json_is_object(cur)) {
        *err = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "cannot add field '%s' to a value that is not "
                            "an object",
                            s->name);
        return NULL;
    }
    child = json_object_get(cur, s->name);
    if (child) return child;
    child = json_object();
    if (!child || json_object_set_new(cur, s->name, child)) {
        *err = BATON_ERR_NOMEM;
        return NULL;
    }
    return child;
}

/* Stores value into cur at the last step s. */
static baton_err_t set_last(json_t *cur, const step_t *s, json_t *value,
                            char *errstr, size_t errlen) {
    if (s->kind == STEP_INDEX) {
        if (!array_at(cur, s->index))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "no element [%lld] to replace",
                                (long long)s->index);
        return json_array_set(cur, (size_t)s->index, value) ? BATON_ERR_NOMEM
                                                            : BATON_OK;
    }
    if (!json_is_object(cur))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "cannot add field '%s' to a value that is not "
                            "an object",
                            s->name);
    return json_object_set(cur, s->name, value) ? BATON_ERR_NOMEM : BATON_OK;
}

baton_err_t baton_asl_path_set(json_t **doc, const char *path, json_t *value,
                               char *errstr, size_t errlen) {
    path_t p;
    json_t *cur;
    size_t i;
    baton_err_t err = path_compile(path, &p, errstr, errlen);
    if (err) return err;
    if (p.context || !path_is_reference(&p)) {
        path_free(&p);
        return bad(errstr, errlen, "not a reference path");
    }
    if (p.n == 0) {
        json_decref(*doc);
        *doc = json_incref(value);
        path_free(&p);
        return BATON_OK;
    }
    cur = *doc;
    for (i = 0; i + 1 < p.n && cur; i++)
        cur = set_descend(cur, &p.steps[i], &err, errstr, errlen);
    if (cur) err = set_last(cur, &p.steps[p.n - 1], value, errstr, errlen);
    path_free(&p);
    return err;
}
