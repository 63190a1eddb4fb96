/*
 * fanout.c -- the Parallel and Map states: their validation (with the
 * nested state machines they hold), their run up to the FANOUT stop, the
 * input of each sub-run (baton_asl_fanout_item) and the sub-paths that
 * name nested machines (baton_asl_def_sub).  See asl.h for the contract
 * with the engine: the engine runs each branch / iteration as a sub-run of
 * the nested definition and hands the array of their outputs (in index
 * order) to baton_asl_task_complete, or a failure to baton_asl_task_fail.
 *
 * Data flow, per the spec:
 *
 *   Parallel  InputPath -> Parameters = the input of every branch
 *   Map       InputPath -> ItemsPath (an array: the items) -> for item i,
 *             ItemSelector (or the deprecated Parameters) evaluated against
 *             the effective input with $$.Map.Item.Index = i and
 *             $$.Map.Item.Value = item (without one: the item itself)
 *   both      result array -> ResultSelector -> ResultPath -> OutputPath
 *             (interp.c, as for a Task)
 *
 * baton_asl_run evaluates every item's ItemSelector once before stopping,
 * so that a runtime error there (States.ParameterPathFailure, ...) goes
 * through the state's Catch like any other, and baton_asl_fanout_item,
 * called later with the same arguments, cannot fail.
 *
 * Sub-path format: the state names from the top-level definition down,
 * joined with '/', with a Parallel's branch index after its name ("Fan/1",
 * "Fan/1/Each"); '/' and '%' inside a name are written %2F and %25.
 * ItemReader, ItemBatcher and ResultWriter (S3 and batching features) are
 * refused at load with a message saying so.  Pure; any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_int.h"
#include "dataflow.h"
#include "path.h"

#define SALT_ITEM 0x6974656d73212121ULL /* env salt of the item inputs */

/* ---- sub-paths ------------------------------------------------------- */

/* Appends n bytes of s to the growing string *buf. */
static int buf_put(char **buf, size_t *len, const char *s, size_t n) {
    char *b = baton_realloc(*buf, *len + n + 1);
    if (!b) return -1;
    memcpy(b + *len, s, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return 0;
}

int baton_asl_subpath_escape(char **buf, size_t *len, const char *s) {
    for (; *s; s++) {
        const char *esc = *s == '/' ? "%2F" : *s == '%' ? "%25" : NULL;
        if (esc ? buf_put(buf, len, esc, 3) : buf_put(buf, len, s, 1))
            return -1;
    }
    if (!*buf) return buf_put(buf, len, "", 0);
    return 0;
}

/* The sub-path of nested machine `index` (-1 for a Map) of state `name`
 * in definition def: def's own path, then the name, then the index. */
static char *subpath_make(const baton_asl_def_t *def, const char *name,
                          int64_t index) {
    char *buf = NULL, num[24];
    size_t len = 0;
    int bad = buf_put(&buf, &len, def->path, strlen(def->path));
    if (!bad && def->path[0]) bad = buf_put(&buf, &len, "/", 1);
    if (!bad) bad = baton_asl_subpath_escape(&buf, &len, name);
    if (!bad && index >= 0) {
        snprintf(num, sizeof(num), "/%lld", (long long)index);
        bad = buf_put(&buf, &len, num, strlen(num));
    }
    if (bad) {
        baton_free(buf);
        return NULL;
    }
    return buf;
}

/* Decodes one segment s[0..n) (%2F, %25) into a new string. */
static char *segment_decode(const char *s, size_t n) {
    char *out = baton_malloc(n + 1);
    size_t i, o = 0;
    if (!out) return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && s[i + 1] == '2' &&
            (s[i + 2] == 'F' || s[i + 2] == '5')) {
            out[o++] = s[i + 2] == 'F' ? '/' : '%';
            i += 2;
            continue;
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

/* Reads a branch index segment; -1 when it is not a decimal number. */
static int64_t segment_index(const char *s, size_t n) {
    int64_t v = 0;
    size_t i;
    if (n == 0 || n > 9) return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Length of the segment at s (up to '/' or the end). */
static size_t segment_len(const char *s) {
    const char *slash = strchr(s, '/');
    return slash ? (size_t)(slash - s) : strlen(s);
}

const baton_asl_def_t *baton_asl_def_sub(const baton_asl_def_t *def,
                                         const char *path) {
    const baton_asl_def_t *cur = def;
    const char *p = path;
    while (cur && p && *p) {
        size_t n = segment_len(p);
        char *name = segment_decode(p, n);
        const baton_asl_state_t *st =
            name ? baton_asl_def_state(cur, name) : NULL;
        baton_free(name);
        p += n + (p[n] == '/');
        if (!st || !st->n_subs) return NULL;
        if (st->type == BATON_ASL_STATE_MAP) {
            cur = st->subs[0];
            continue;
        }
        n = segment_len(p);
        {
            int64_t i = segment_index(p, n);
            if (i < 0 || (size_t)i >= st->n_subs) return NULL;
            cur = st->subs[i];
        }
        p += n + (p[n] == '/');
    }
    return cur;
}

const baton_asl_def_t *baton_asl_def_top(const baton_asl_def_t *def) {
    return def ? def->top : NULL;
}

const char *baton_asl_def_path(const baton_asl_def_t *def) {
    return def ? def->path : NULL;
}

/* ---- validation ------------------------------------------------------ */

/* Formats errstr and returns BATON_ERR_INVALID. */
#define FAIL(...) baton_seterr(errstr, errlen, BATON_ERR_INVALID, __VA_ARGS__)

static int in_list(const char *const *list, const char *key) {
    for (; *list; list++)
        if (!strcmp(*list, key)) return 1;
    return 0;
}

/* Parses nested machine `obj` (`where` is "Branches[1]" or
 * "ItemProcessor") of state st into st->subs[st->n_subs++]. */
static baton_err_t parse_sub(const baton_asl_def_t *def, baton_asl_state_t *st,
                             const char *where, json_t *obj,
                             const char *const *fields, int64_t index,
                             char *errstr, size_t errlen) {
    char msg[1024] = "", *path;
    const char *key;
    json_t *v;
    baton_err_t err;
    if (!json_is_object(obj))
        return FAIL("%s must be an object (a state machine with StartAt and "
                    "States)",
                    where);
    json_object_foreach(obj, key, v) {
        if (!in_list(fields, key))
            return FAIL("%s: unknown field '%s'", where, key);
    }
    if (!(path = subpath_make(def, st->name, index))) return BATON_ERR_NOMEM;
    err = baton_asl_machine_parse(def->name, def->top, path, obj, 0,
                                  &st->subs[st->n_subs], msg, sizeof(msg));
    baton_free(path);
    if (err == BATON_ERR_INVALID) return FAIL("%s: %s", where, msg);
    if (err) return err;
    st->n_subs++;
    return BATON_OK;
}

static baton_err_t check_parallel(const baton_asl_def_t *def,
                                  baton_asl_state_t *st, char *errstr,
                                  size_t errlen) {
    static const char *const fields[] = {"StartAt", "States", "Comment", NULL};
    json_t *branches = json_object_get(st->obj, "Branches"), *b;
    char where[32];
    size_t i;
    baton_err_t err;
    if (!json_is_array(branches) || json_array_size(branches) == 0)
        return FAIL("Branches must be a non-empty array of state machines");
    st->subs = baton_calloc(json_array_size(branches), sizeof(*st->subs));
    if (!st->subs) return BATON_ERR_NOMEM;
    json_array_foreach(branches, i, b) {
        snprintf(where, sizeof(where), "Branches[%zu]", i);
        if ((err = parse_sub(def, st, where, b, fields, (int64_t)i, errstr,
                             errlen)))
            return err;
    }
    return BATON_OK;
}

/* An optional field and its *Path form: a non-negative integer, or (pct)
 * a number between 0 and 100. */
static baton_err_t check_count(json_t *obj, const char *field,
                               const char *path_field, int pct, char *errstr,
                               size_t errlen) {
    json_t *v = json_object_get(obj, field);
    json_t *p = json_object_get(obj, path_field);
    char reason[256];
    baton_err_t err;
    if (v && p) return FAIL("cannot have both %s and %s", field, path_field);
    if (v && pct &&
        (!json_is_number(v) || json_number_value(v) < 0 ||
         json_number_value(v) > 100))
        return FAIL("%s must be a number between 0 and 100", field);
    if (v && !pct &&
        (!json_is_integer(v) || json_integer_value(v) < 0 ||
         json_integer_value(v) > INT32_MAX))
        return FAIL("%s must be a non-negative integer", field);
    if (!p) return BATON_OK;
    if (!json_is_string(p)) return FAIL("%s must be a path", path_field);
    err = baton_asl_path_check(json_string_value(p), BATON_ASL_PATH_REFERENCE,
                               reason, sizeof(reason));
    if (err == BATON_ERR_INVALID)
        return FAIL("bad path '%s' in %s: %s", json_string_value(p), path_field,
                    reason);
    return err;
}

/* MaxConcurrency, the tolerated failures, ItemsPath, ItemSelector. */
static baton_err_t check_map_fields(json_t *o, char *errstr, size_t errlen) {
    static const char *const unsupported[][2] = {
        {"ItemReader", "it reads the items from S3"},
        {"ResultWriter", "it writes the results to S3"},
        {"ItemBatcher", "batching items is not implemented"},
    };
    json_t *label = json_object_get(o, "Label");
    char reason[768];
    size_t i;
    baton_err_t err;
    for (i = 0; i < BATON_ARRAY_SIZE(unsupported); i++)
        if (json_object_get(o, unsupported[i][0]))
            return FAIL("%s is not supported by Baton (%s); give the items "
                        "with ItemsPath",
                        unsupported[i][0], unsupported[i][1]);
    if ((err = check_count(o, "MaxConcurrency", "MaxConcurrencyPath", 0, errstr,
                           errlen)) ||
        (err = check_count(o, "ToleratedFailureCount",
                           "ToleratedFailureCountPath", 0, errstr, errlen)) ||
        (err =
             check_count(o, "ToleratedFailurePercentage",
                         "ToleratedFailurePercentagePath", 1, errstr, errlen)))
        return err;
    if (label && !json_is_string(label)) return FAIL("Label must be a string");
    if (json_object_get(o, "ItemsPath")) {
        const char *ip = json_string_value(json_object_get(o, "ItemsPath"));
        if (!ip) return FAIL("ItemsPath must be a path");
        err = baton_asl_path_check(ip, BATON_ASL_PATH_REFERENCE, reason,
                                   sizeof(reason));
        if (err == BATON_ERR_INVALID)
            return FAIL("bad path '%s' in ItemsPath: %s", ip, reason);
        if (err) return err;
    }
    if (json_object_get(o, "ItemSelector") && json_object_get(o, "Parameters"))
        return FAIL("cannot have both ItemSelector and Parameters (its "
                    "deprecated name)");
    if (!json_object_get(o, "ItemSelector")) return BATON_OK;
    err = baton_asl_template_check(json_object_get(o, "ItemSelector"),
                                   "ItemSelector", errstr, errlen);
    return err;
}

/* ProcessorConfig: an object; Mode INLINE or DISTRIBUTED (both run the
 * same way in Baton: each iteration is a sub-run). */
static baton_err_t check_processor_config(json_t *proc, char *errstr,
                                          size_t errlen) {
    json_t *pc = json_object_get(proc, "ProcessorConfig"), *mode;
    if (!pc) return BATON_OK;
    if (!json_is_object(pc))
        return FAIL("ItemProcessor: ProcessorConfig must be an object");
    mode = json_object_get(pc, "Mode");
    if (mode && (!json_is_string(mode) ||
                 (strcmp(json_string_value(mode), "INLINE") &&
                  strcmp(json_string_value(mode), "DISTRIBUTED"))))
        return FAIL("ItemProcessor: ProcessorConfig.Mode must be INLINE or "
                    "DISTRIBUTED");
    return BATON_OK;
}

static baton_err_t check_map(const baton_asl_def_t *def, baton_asl_state_t *st,
                             char *errstr, size_t errlen) {
    static const char *const proc_fields[] = {"StartAt", "States", "Comment",
                                              "ProcessorConfig", NULL};
    static const char *const iter_fields[] = {"StartAt", "States", "Comment",
                                              NULL};
    json_t *proc = json_object_get(st->obj, "ItemProcessor");
    json_t *iter = json_object_get(st->obj, "Iterator");
    baton_err_t err;
    if ((err = check_map_fields(st->obj, errstr, errlen))) return err;
    if (proc && iter)
        return FAIL("cannot have both ItemProcessor and Iterator (its "
                    "deprecated name)");
    if (!proc && !iter)
        return FAIL("a Map state needs an ItemProcessor (a state machine "
                    "with StartAt and States)");
    if (proc && (err = check_processor_config(proc, errstr, errlen)))
        return err;
    if (!(st->subs = baton_calloc(1, sizeof(*st->subs))))
        return BATON_ERR_NOMEM;
    return parse_sub(def, st, proc ? "ItemProcessor" : "Iterator",
                     proc ? proc : iter, proc ? proc_fields : iter_fields, -1,
                     errstr, errlen);
}

baton_err_t baton_asl_fanout_check(const baton_asl_def_t *def,
                                   baton_asl_state_t *st, char *errstr,
                                   size_t errlen) {
    if (st->type == BATON_ASL_STATE_PARALLEL)
        return check_parallel(def, st, errstr, errlen);
    return check_map(def, st, errstr, errlen);
}

/* ---- running up to the FANOUT stop ----------------------------------- */

static json_t *field(const baton_asl_state_t *st, const char *name) {
    return json_object_get(st->obj, name);
}

/* The template that makes a Map item's input (NULL: the item itself). */
static json_t *item_template(const baton_asl_state_t *st) {
    json_t *t = field(st, "ItemSelector");
    return t ? t : field(st, "Parameters");
}

/* Parallel: the effective input (InputPath, Parameters).  Map: the
 * effective input (InputPath) and the items (ItemsPath, an array). */
static baton_err_t effective_input(baton_asl_env_t *env,
                                   const baton_asl_state_t *st, json_t *input,
                                   json_t **eff, json_t **items,
                                   baton_asl_fault_t *fault) {
    json_t *sel = NULL, *params = field(st, "Parameters");
    const char *ip = json_string_value(field(st, "ItemsPath"));
    baton_err_t err = baton_asl_apply_path(
        env, "InputPath", field(st, "InputPath"), input, &sel, fault);
    if (err) return err;
    if (st->type == BATON_ASL_STATE_PARALLEL) {
        if (params)
            err = baton_asl_apply_template(env, "Parameters", params, sel, eff,
                                           fault);
        else
            *eff = json_incref(sel);
        json_decref(sel);
        return err;
    }
    *eff = sel;
    if (ip)
        err = baton_asl_env_select(env, "ItemsPath", ip, sel, items, fault);
    else
        *items = json_incref(sel);
    if (!err && !json_is_array(*items)) {
        json_decref(*items);
        err = baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                  "ItemsPath '%s' must select an array",
                                  ip ? ip : "$");
    }
    if (err) {
        json_decref(*eff);
        *eff = *items = NULL;
    }
    return err;
}

/* Input of Map item i: ItemSelector with $$.Map.Item, or the item. */
static baton_err_t item_input(baton_asl_env_t *env, const baton_asl_state_t *st,
                              json_t *eff, json_t *items, size_t i,
                              json_t **out, baton_asl_fault_t *fault) {
    json_t *tmpl = item_template(st), *item = json_array_get(items, i);
    baton_err_t err;
    if (!tmpl) {
        *out = json_incref(item);
        return BATON_OK;
    }
    baton_asl_env_set_item(env, (int64_t)i, item);
    err = baton_asl_apply_template(env, "ItemSelector", tmpl, eff, out, fault);
    baton_asl_env_set_item(env, 0, NULL);
    return err;
}

/* MaxConcurrency / ToleratedFailureCount / ...: the literal, or the
 * number its *Path selects in the raw input.  *out keeps its value when
 * neither is there.  is_pct: a number in [0, 100], else an integer >= 0. */
static baton_err_t map_number(baton_asl_env_t *env, const baton_asl_state_t *st,
                              const char *name, json_t *input, int is_pct,
                              double *out, baton_asl_fault_t *fault) {
    char pname[64];
    const char *path;
    json_t *v = NULL;
    double d;
    baton_err_t err;
    snprintf(pname, sizeof(pname), "%sPath", name);
    path = json_string_value(field(st, pname));
    if (field(st, name)) {
        *out = json_number_value(field(st, name));
        return BATON_OK;
    }
    if (!path) return BATON_OK;
    if ((err = baton_asl_env_select(env, pname, path, input, &v, fault)))
        return err;
    d = json_number_value(v);
    if (is_pct ? !json_is_number(v) || d < 0 || d > 100
               : !json_is_integer(v) || d < 0 || d > INT32_MAX) {
        json_decref(v);
        return baton_asl_fault_set(
            fault, BATON_ASL_ERR_RUNTIME, "%s '%s' must select %s", pname, path,
            is_pct ? "a number between 0 and 100" : "a non-negative integer");
    }
    json_decref(v);
    *out = d;
    return BATON_OK;
}

/* Fills the Map-only fields of the stop. */
static baton_err_t map_limits(baton_asl_env_t *env, const baton_asl_state_t *st,
                              json_t *input, baton_asl_stop_t *out,
                              baton_asl_fault_t *fault) {
    double conc = 0, count = -1, pct = -1;
    baton_err_t err;
    if ((err = map_number(env, st, "MaxConcurrency", input, 0, &conc, fault)) ||
        (err = map_number(env, st, "ToleratedFailureCount", input, 0, &count,
                          fault)) ||
        (err = map_number(env, st, "ToleratedFailurePercentage", input, 1, &pct,
                          fault)))
        return err;
    out->max_concurrency = (int32_t)conc;
    out->tolerated_failure_count = (int64_t)count;
    out->tolerated_failure_percentage = pct;
    return BATON_OK;
}

baton_err_t baton_asl_fanout_exec(baton_asl_env_t *env,
                                  const baton_asl_state_t *st, json_t *input,
                                  baton_asl_stop_t *out,
                                  baton_asl_fault_t *fault) {
    json_t *eff = NULL, *items = NULL;
    int is_map = st->type == BATON_ASL_STATE_MAP;
    size_t i;
    baton_err_t err = effective_input(env, st, input, &eff, &items, fault);
    for (i = 0;
         !err && is_map && item_template(st) && i < json_array_size(items);
         i++) {
        json_t *one = NULL; /* evaluated to raise its errors here */
        err = item_input(env, st, eff, items, i, &one, fault);
        json_decref(one);
    }
    out->max_concurrency = 0;
    out->tolerated_failure_count = -1;
    out->tolerated_failure_percentage = -1;
    if (!err && is_map) err = map_limits(env, st, input, out, fault);
    if (err) {
        json_decref(eff);
        json_decref(items);
        return err;
    }
    out->kind = BATON_ASL_STOP_FANOUT;
    out->is_map = is_map;
    out->n_items =
        is_map ? (int64_t)json_array_size(items) : (int64_t)st->n_subs;
    out->state_input = json_incref(input);
    out->task_input = is_map ? items : eff;
    json_decref(is_map ? eff : NULL);
    out->state = baton_strdup(st->name);
    return out->state ? BATON_OK : BATON_ERR_NOMEM;
}

/* ---- the input of one sub-run ---------------------------------------- */

baton_err_t baton_asl_fanout_item(const baton_asl_def_t *def, const char *state,
                                  json_t *state_input, int64_t index,
                                  const baton_asl_ctx_t *ctx, char **sub_path,
                                  json_t **input_new, char *errstr,
                                  size_t errlen) {
    const baton_asl_state_t *st = baton_asl_def_state(def, state);
    int is_map = st && st->type == BATON_ASL_STATE_MAP;
    baton_asl_env_t env;
    baton_asl_fault_t fault;
    json_t *eff = NULL, *items = NULL;
    baton_err_t err;
    *sub_path = NULL;
    *input_new = NULL;
    if (!st || !st->n_subs || !state_input)
        return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                            "%s: no Parallel or Map state '%s'",
                            def ? def->name : "?", state ? state : "(null)");
    baton_asl_env_init(&env, ctx);
    baton_asl_env_enter(&env, st->name,
                        SALT_ITEM ^ (uint64_t)(is_map ? index : -1));
    err = effective_input(&env, st, state_input, &eff, &items, &fault);
    if (!err && index >= (is_map ? (int64_t)json_array_size(items)
                                 : (int64_t)st->n_subs))
        err = BATON_ERR_NOTFOUND;
    if (!err && index < 0) err = BATON_ERR_NOTFOUND;
    if (!err && is_map)
        err =
            item_input(&env, st, eff, items, (size_t)index, input_new, &fault);
    else if (!err)
        *input_new = json_incref(eff);
    if (!err && !(*sub_path = subpath_make(def, st->name, is_map ? -1 : index)))
        err = BATON_ERR_NOMEM;
    json_decref(eff);
    json_decref(items);
    baton_asl_env_clear(&env);
    if (!err) return BATON_OK;
    json_decref(*input_new);
    *input_new = NULL;
    if (err == BATON_ERR_INVALID)
        return baton_seterr(errstr, errlen, err, "%s: state '%s': %s: %s",
                            def->name, state, fault.error, fault.cause);
    return baton_seterr(errstr, errlen, err, "%s: state '%s': item %lld: %s",
                        def->name, state, (long long)index, baton_err2str(err));
}
