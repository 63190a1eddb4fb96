/*
 * interp.c -- the ASL interpreter: baton_asl_run, baton_asl_task_complete
 * and baton_asl_task_fail (see asl.h for the contract with the engine).
 *
 * baton_asl_run loops over the states that need nothing from outside:
 *
 *   Pass     InputPath -> Parameters | Result -> ResultPath -> OutputPath
 *   Choice   InputPath -> first matching rule (or Default) -> OutputPath
 *   Succeed  InputPath -> OutputPath, the run ends
 *   Fail     Error/ErrorPath, Cause/CausePath, the run ends
 *   Task baton:append   InputPath -> Parameters -> the list extended in
 *                       the raw input -> OutputPath (append.c)
 *
 * and stops at a Task (after InputPath and Parameters: the engine
 * dispatches the activity, waits for the signal or starts the child
 * workflow), at a Parallel or Map (FANOUT, fanout.c: the engine runs the
 * branches / iterations as sub-runs), at a Wait (the engine sets a timer)
 * or at the end of the run.  The results and errors of Tasks, Parallel
 * and Map states come back through baton_asl_task_complete / _task_fail.  A runtime error of the language
 * in a Task's data flow goes through the Task's Catch (never Retry: the
 * same input would fail the same way); elsewhere it fails the run.  A run
 * that makes MAX_TRANSITIONS transitions without stopping fails with
 * States.Runtime, so a Choice loop without a Task cannot spin forever.
 *
 * Everything is a function of (definition, state, input, ctx): time and
 * randomness come from ctx, so the engine may re-apply a step and obtain
 * the same result.  Pure; any thread; the definition is read-only.
 */
#include <stdio.h>
#include <string.h>

#include "asl_int.h"
#include "dataflow.h"
#include "intrinsic.h"
#include "path.h"

#define MAX_TRANSITIONS 10000
#define MAX_DELAY_MS (366LL * 86400 * 1000) /* cap of any retry delay */
#define SALT_COMPLETE 0x636f6d706c657465ULL /* env salt of task_complete */
#define SALT_FAIL 0x6661696c65642121ULL     /* env salt of task_fail */

/* ---- out-structs ----------------------------------------------------- */

void baton_asl_stop_clear(baton_asl_stop_t *s) {
    if (!s) return;
    baton_free(s->state);
    json_decref(s->state_input);
    baton_free(s->queue);
    baton_free(s->activity_type);
    json_decref(s->task_input);
    baton_free(s->signal_name);
    baton_free(s->child_type);
    json_decref(s->output);
    baton_free(s->error);
    baton_free(s->cause);
    baton_free(s->next_state);
    memset(s, 0, sizeof(*s));
}

void baton_asl_next_clear(baton_asl_next_t *n) {
    if (!n) return;
    baton_free(n->next_state);
    json_decref(n->output);
    baton_free(n->error);
    baton_free(n->cause);
    memset(n, 0, sizeof(*n));
    n->retrier = -1;
}

/* Ends the run with an error in state `state`.  A NULL cause (a Fail
 * state without Cause/CausePath) stays NULL: "no cause", null in the
 * history, describe and the run's error, never "". */
static baton_err_t stop_fail(baton_asl_stop_t *out, const char *state,
                             const char *error, const char *cause) {
    out->kind = BATON_ASL_STOP_FAIL;
    out->state = baton_strdup(state);
    out->error = baton_strdup(error ? error : "");
    out->cause = cause ? baton_strdup(cause) : NULL;
    return out->state && out->error && (out->cause || !cause) ? BATON_OK
                                                              : BATON_ERR_NOMEM;
}

/* Ends the run successfully with `output` (stolen). */
static baton_err_t stop_succeed(baton_asl_stop_t *out, const char *state,
                                json_t *output) {
    out->kind = BATON_ASL_STOP_SUCCEED;
    out->output = output;
    out->state = baton_strdup(state);
    return out->state ? BATON_OK : BATON_ERR_NOMEM;
}

/* ---- per-state execution --------------------------------------------- */

/* Where one state leads when it does not stop the run. */
typedef struct step {
    const char *next; /* borrowed from the definition */
    json_t *output;   /* owned: the next state's input */
} step_t;

static json_t *field(const baton_asl_state_t *st, const char *name) {
    return json_object_get(st->obj, name);
}

/* Continues at st->next with output (stolen), or ends the run with it. */
static baton_err_t finish(const baton_asl_state_t *st, json_t *output,
                          step_t *r, baton_asl_stop_t *out) {
    if (!st->next) return stop_succeed(out, st->name, output);
    r->next = st->next;
    r->output = output;
    return BATON_OK;
}

static baton_err_t exec_pass(baton_asl_env_t *env, const baton_asl_state_t *st,
                             json_t *input, step_t *r, baton_asl_stop_t *out,
                             baton_asl_fault_t *fault) {
    json_t *eff = NULL, *res = NULL, *comb = NULL, *output = NULL;
    json_t *result = field(st, "Result"), *params = field(st, "Parameters");
    baton_err_t err = baton_asl_apply_path(
        env, "InputPath", field(st, "InputPath"), input, &eff, fault);
    if (!err) {
        if (result)
            res = json_incref(result);
        else if (params)
            err = baton_asl_apply_template(env, "Parameters", params, eff, &res,
                                           fault);
        else
            res = json_incref(eff);
    }
    if (!err)
        err = baton_asl_apply_result_path(env, field(st, "ResultPath"), input,
                                          res, &comb, fault);
    if (!err)
        err = baton_asl_apply_path(env, "OutputPath", field(st, "OutputPath"),
                                   comb, &output, fault);
    json_decref(eff);
    json_decref(res);
    json_decref(comb);
    return err ? err : finish(st, output, r, out);
}

static baton_err_t exec_choice(baton_asl_env_t *env,
                               const baton_asl_state_t *st, json_t *input,
                               step_t *r, baton_asl_fault_t *fault) {
    json_t *eff = NULL, *output = NULL;
    const char *next = NULL;
    baton_err_t err = baton_asl_apply_path(
        env, "InputPath", field(st, "InputPath"), input, &eff, fault);
    if (!err) err = baton_asl_choice_select(env, st->obj, eff, &next, fault);
    if (!err)
        err = baton_asl_apply_path(env, "OutputPath", field(st, "OutputPath"),
                                   eff, &output, fault);
    json_decref(eff);
    if (err) return err;
    r->next = next;
    r->output = output;
    return BATON_OK;
}

static baton_err_t exec_succeed(baton_asl_env_t *env,
                                const baton_asl_state_t *st, json_t *input,
                                baton_asl_stop_t *out,
                                baton_asl_fault_t *fault) {
    json_t *eff = NULL, *output = NULL;
    baton_err_t err = baton_asl_apply_path(
        env, "InputPath", field(st, "InputPath"), input, &eff, fault);
    if (!err)
        err = baton_asl_apply_path(env, "OutputPath", field(st, "OutputPath"),
                                   eff, &output, fault);
    json_decref(eff);
    return err ? err : stop_succeed(out, st->name, output);
}

/* Error or Cause of a Fail state: the literal field, or ErrorPath /
 * CausePath (a path or an intrinsic) resolved against the input.  *val is
 * a new reference to a string, or NULL when neither field is there. */
static baton_err_t fail_text(baton_asl_env_t *env, const baton_asl_state_t *st,
                             const char *lit, const char *pathf, json_t *input,
                             json_t **val, baton_asl_fault_t *fault) {
    const char *expr = json_string_value(field(st, pathf));
    baton_err_t err;
    *val = NULL;
    if (field(st, lit)) {
        *val = json_incref(field(st, lit));
        return BATON_OK;
    }
    if (!expr) return BATON_OK;
    err = expr[0] == '$'
              ? baton_asl_env_select(env, pathf, expr, input, val, fault)
              : baton_asl_intrinsic_eval(env, expr, input, val, fault);
    if (err) return err;
    if (!json_is_string(*val)) {
        json_decref(*val);
        *val = NULL;
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "%s '%s' must give a string", pathf, expr);
    }
    return BATON_OK;
}

static baton_err_t exec_fail(baton_asl_env_t *env, const baton_asl_state_t *st,
                             json_t *input, baton_asl_stop_t *out,
                             baton_asl_fault_t *fault) {
    json_t *error = NULL, *cause = NULL;
    baton_err_t err =
        fail_text(env, st, "Error", "ErrorPath", input, &error, fault);
    if (!err)
        err = fail_text(env, st, "Cause", "CausePath", input, &cause, fault);
    if (!err)
        err = stop_fail(out, st->name, json_string_value(error),
                        json_string_value(cause));
    json_decref(error);
    json_decref(cause);
    return err;
}

/* A non-negative integer selected by a Reference Path field. */
static baton_err_t path_seconds(baton_asl_env_t *env, const char *what,
                                const char *path, json_t *input, int min,
                                int64_t *secs, baton_asl_fault_t *fault) {
    json_t *v = NULL;
    baton_err_t err = baton_asl_env_select(env, what, path, input, &v, fault);
    if (err) return err;
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        json_decref(v);
        return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                   "%s '%s' must select a %s integer", what,
                                   path, min ? "positive" : "non-negative");
    }
    *secs = json_integer_value(v);
    json_decref(v);
    return BATON_OK;
}

/* TimeoutSeconds or TimeoutSecondsPath (0 when neither). */
static baton_err_t task_seconds(baton_asl_env_t *env,
                                const baton_asl_state_t *st, const char *name,
                                const char *pathname, json_t *input,
                                int32_t *out, baton_asl_fault_t *fault) {
    const char *path = json_string_value(field(st, pathname));
    int64_t secs = 0;
    baton_err_t err;
    if (field(st, name)) secs = json_integer_value(field(st, name));
    if (path &&
        (err = path_seconds(env, pathname, path, input, 1, &secs, fault)))
        return err;
    *out = secs > INT32_MAX ? INT32_MAX : (int32_t)secs;
    return BATON_OK;
}

/* Fills the TASK / SIGNAL / CHILD stop; task_input is stolen. */
static baton_err_t stop_task(const baton_asl_state_t *st, json_t *input,
                             json_t *task_input, baton_asl_stop_t *out) {
    out->kind = st->task_kind == BATON_ASL_TASK_SIGNAL  ? BATON_ASL_STOP_SIGNAL
                : st->task_kind == BATON_ASL_TASK_CHILD ? BATON_ASL_STOP_CHILD
                                                        : BATON_ASL_STOP_TASK;
    out->state = baton_strdup(st->name);
    out->state_input = json_incref(input);
    out->task_input = task_input;
    if (!out->state) return BATON_ERR_NOMEM;
    if (st->task_kind == BATON_ASL_TASK_SIGNAL) {
        out->signal_name = baton_strdup(st->signal_name);
        return out->signal_name ? BATON_OK : BATON_ERR_NOMEM;
    }
    if (st->task_kind == BATON_ASL_TASK_CHILD) {
        out->child_type = baton_strdup(st->child_type);
        return out->child_type ? BATON_OK : BATON_ERR_NOMEM;
    }
    out->queue = baton_strdup(st->queue);
    out->activity_type = baton_strdup(st->activity_type);
    out->schedule_to_start_seconds = st->schedule_to_start_s;
    out->schedule_to_close_seconds = st->schedule_to_close_s;
    return out->queue && out->activity_type ? BATON_OK : BATON_ERR_NOMEM;
}

static baton_err_t exec_task(baton_asl_env_t *env, const baton_asl_state_t *st,
                             json_t *input, baton_asl_stop_t *out,
                             baton_asl_fault_t *fault) {
    json_t *eff = NULL, *task_input = NULL, *params = field(st, "Parameters");
    int32_t timeout = 0, heartbeat = 0;
    baton_err_t err = baton_asl_apply_path(
        env, "InputPath", field(st, "InputPath"), input, &eff, fault);
    if (!err && params)
        err = baton_asl_apply_template(env, "Parameters", params, eff,
                                       &task_input, fault);
    else if (!err)
        task_input = json_incref(eff);
    json_decref(eff);
    if (!err)
        err = task_seconds(env, st, "TimeoutSeconds", "TimeoutSecondsPath",
                           input, &timeout, fault);
    if (!err)
        err = task_seconds(env, st, "HeartbeatSeconds", "HeartbeatSecondsPath",
                           input, &heartbeat, fault);
    if (err) {
        json_decref(task_input);
        return err;
    }
    out->timeout_seconds = timeout;
    out->heartbeat_seconds = heartbeat;
    return stop_task(st, input, task_input, out);
}

/* Adds seconds to a time in ms without overflowing. */
static int64_t add_seconds(int64_t ms, int64_t secs) {
    if (secs > (INT64_MAX - ms) / 1000) return INT64_MAX;
    return ms + secs * 1000;
}

/* The absolute end of a Wait state's delay. */
static baton_err_t wait_until(baton_asl_env_t *env, const baton_asl_state_t *st,
                              json_t *eff, int64_t *until,
                              baton_asl_fault_t *fault) {
    const char *ts = json_string_value(field(st, "Timestamp"));
    const char *spath = json_string_value(field(st, "SecondsPath"));
    const char *tpath = json_string_value(field(st, "TimestampPath"));
    json_t *v = NULL;
    int64_t secs = 0, sec;
    int32_t ns;
    baton_err_t err;
    if (field(st, "Seconds")) secs = json_integer_value(field(st, "Seconds"));
    if (spath &&
        (err = path_seconds(env, "SecondsPath", spath, eff, 0, &secs, fault)))
        return err;
    if (!ts && !tpath) {
        *until = add_seconds(env->ctx->now_ms, secs);
        return BATON_OK;
    }
    if (tpath) {
        if ((err = baton_asl_env_select(env, "TimestampPath", tpath, eff, &v,
                                        fault)))
            return err;
        ts = json_string_value(v);
    }
    err = BATON_OK;
    if (!ts || baton_asl_timestamp_parse(ts, &sec, &ns))
        err = baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME,
                                  "TimestampPath '%s' must select an RFC "
                                  "3339 timestamp",
                                  tpath ? tpath : "");
    else
        *until = add_seconds(ns / 1000000, sec);
    json_decref(v);
    return err;
}

static baton_err_t exec_wait(baton_asl_env_t *env, const baton_asl_state_t *st,
                             json_t *input, baton_asl_stop_t *out,
                             baton_asl_fault_t *fault) {
    json_t *eff = NULL, *output = NULL;
    int64_t until = 0;
    baton_err_t err = baton_asl_apply_path(
        env, "InputPath", field(st, "InputPath"), input, &eff, fault);
    if (!err) err = wait_until(env, st, eff, &until, fault);
    if (!err)
        err = baton_asl_apply_path(env, "OutputPath", field(st, "OutputPath"),
                                   eff, &output, fault);
    json_decref(eff);
    if (err) return err;
    out->kind = BATON_ASL_STOP_WAIT;
    out->output = output;
    out->wait_until_ms = until;
    out->state = baton_strdup(st->name);
    if (!out->state) return BATON_ERR_NOMEM;
    if (st->next && !(out->next_state = baton_strdup(st->next)))
        return BATON_ERR_NOMEM;
    return BATON_OK;
}

/* Task baton:append: inline, like a Pass (append.c). */
static baton_err_t exec_append(baton_asl_env_t *env,
                               const baton_asl_state_t *st, json_t *input,
                               step_t *r, baton_asl_stop_t *out,
                               baton_asl_fault_t *fault) {
    json_t *output = NULL;
    baton_err_t err =
        baton_asl_append_exec(env, st->obj, input, &output, fault);
    return err ? err : finish(st, output, r, out);
}

/* Runs one state: fills *out to stop the run, or *r to go on. */
static baton_err_t exec_state(baton_asl_env_t *env, const baton_asl_state_t *st,
                              json_t *input, step_t *r, baton_asl_stop_t *out,
                              baton_asl_fault_t *fault) {
    switch (st->type) {
    case BATON_ASL_STATE_PASS: return exec_pass(env, st, input, r, out, fault);
    case BATON_ASL_STATE_CHOICE: return exec_choice(env, st, input, r, fault);
    case BATON_ASL_STATE_SUCCEED:
        return exec_succeed(env, st, input, out, fault);
    case BATON_ASL_STATE_FAIL: return exec_fail(env, st, input, out, fault);
    case BATON_ASL_STATE_TASK:
        if (st->task_kind == BATON_ASL_TASK_APPEND)
            return exec_append(env, st, input, r, out, fault);
        return exec_task(env, st, input, out, fault);
    case BATON_ASL_STATE_WAIT: return exec_wait(env, st, input, out, fault);
    case BATON_ASL_STATE_PARALLEL:
    case BATON_ASL_STATE_MAP:
        return baton_asl_fanout_exec(env, st, input, out, fault);
    }
    return baton_asl_fault_set(fault, BATON_ASL_ERR_RUNTIME, "bad state type");
}

/* ---- errors: Catch --------------------------------------------------- */

/* Returns the first catcher of st matching `error`, or NULL. */
static const baton_asl_catcher_t *find_catcher(const baton_asl_state_t *st,
                                               const char *error) {
    size_t i;
    for (i = 0; i < st->n_catchers; i++)
        if (baton_asl_error_matches(st->catchers[i].error_equals, error))
            return &st->catchers[i];
    return NULL;
}

/* A JSON string of s, or of "" when s is NULL or not UTF-8. */
static json_t *safe_string(const char *s) {
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_string("");
}

/* The catcher's next input: {"Error","Cause"} at its ResultPath in the
 * state's raw input.  *output is new. */
static baton_err_t catch_output(baton_asl_env_t *env,
                                const baton_asl_catcher_t *c, json_t *raw,
                                const char *error, const char *cause,
                                json_t **output, baton_asl_fault_t *fault) {
    json_t *eo = json_object();
    baton_err_t err;
    if (!eo || json_object_set_new(eo, "Error", safe_string(error)) ||
        json_object_set_new(eo, "Cause", safe_string(cause))) {
        json_decref(eo);
        return BATON_ERR_NOMEM;
    }
    err = baton_asl_apply_result_path(env, c->result_path, raw, eo, output,
                                      fault);
    json_decref(eo);
    return err;
}

/* An error in the middle of a run: a Catch of the state continues the run
 * at its Next; otherwise the run fails. */
static baton_err_t run_fault(baton_asl_env_t *env, const baton_asl_state_t *st,
                             json_t *raw, const baton_asl_fault_t *fault,
                             step_t *r, baton_asl_stop_t *out) {
    const baton_asl_catcher_t *c = find_catcher(st, fault->error);
    baton_asl_fault_t f2;
    baton_err_t err;
    if (!c) return stop_fail(out, st->name, fault->error, fault->cause);
    err =
        catch_output(env, c, raw, fault->error, fault->cause, &r->output, &f2);
    if (err == BATON_ERR_INVALID)
        return stop_fail(out, st->name, f2.error, f2.cause);
    r->next = c->next;
    return err;
}

/* The same after a Task: fills a NEXT_STATE (caught) or NEXT_FAIL. */
static baton_err_t next_fault(baton_asl_env_t *env, const baton_asl_state_t *st,
                              json_t *raw, const char *error, const char *cause,
                              baton_asl_next_t *out) {
    const baton_asl_catcher_t *c = find_catcher(st, error);
    baton_asl_fault_t f2;
    baton_err_t err = BATON_ERR_INVALID;
    if (c) err = catch_output(env, c, raw, error, cause, &out->output, &f2);
    if (err == BATON_OK) {
        out->kind = BATON_ASL_NEXT_STATE;
        out->next_state = baton_strdup(c->next);
        return out->next_state ? BATON_OK : BATON_ERR_NOMEM;
    }
    if (err != BATON_ERR_INVALID) return err;
    if (c) { /* the catcher's ResultPath failed: that error ends the run */
        error = f2.error;
        cause = f2.cause;
    }
    out->kind = BATON_ASL_NEXT_FAIL;
    out->error = baton_strdup(error ? error : "");
    out->cause = cause ? baton_strdup(cause) : NULL; /* none: null */
    return out->error && (out->cause || !cause) ? BATON_OK : BATON_ERR_NOMEM;
}

/* ---- public ---------------------------------------------------------- */

/* Looks up the state for task_complete / task_fail: a Task that waits
 * (not baton:append, which never stops), a Parallel or a Map. */
static baton_err_t task_state(const baton_asl_def_t *def, const char *state,
                              const baton_asl_state_t **st, char *errstr,
                              size_t errlen) {
    *st = baton_asl_def_state(def, state);
    if (!*st)
        return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                            "%s: no state '%s'", def ? def->name : "?",
                            state ? state : "(null)");
    if ((*st)->type == BATON_ASL_STATE_PARALLEL ||
        (*st)->type == BATON_ASL_STATE_MAP)
        return BATON_OK;
    if ((*st)->type != BATON_ASL_STATE_TASK ||
        (*st)->task_kind == BATON_ASL_TASK_APPEND)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: state '%s' is not a Task, Parallel or Map "
                            "that waits for a result",
                            def->name, state);
    return BATON_OK;
}

baton_err_t baton_asl_run(const baton_asl_def_t *def, const char *state,
                          json_t *input, const baton_asl_ctx_t *ctx,
                          baton_asl_stop_t *out, char *errstr, size_t errlen) {
    const baton_asl_state_t *st = baton_asl_def_state(def, state);
    baton_asl_env_t env;
    json_t *cur;
    uint64_t n;
    baton_err_t err = BATON_OK;
    memset(out, 0, sizeof(*out));
    if (!st || !input)
        return baton_seterr(
            errstr, errlen, st ? BATON_ERR_INVALID : BATON_ERR_NOTFOUND,
            "%s: %s '%s'", def ? def->name : "?",
            st ? "no input for state" : "no state", state ? state : "(null)");
    baton_asl_env_init(&env, ctx);
    cur = json_incref(input);
    for (n = 0; !err && !out->kind; n++) {
        step_t r = {NULL, NULL};
        baton_asl_fault_t fault;
        if (n == MAX_TRANSITIONS) {
            err = stop_fail(out, st->name, BATON_ASL_ERR_RUNTIME,
                            "too many transitions without a task (10000): "
                            "is there a loop of Pass/Choice states?");
            break;
        }
        baton_asl_env_enter(&env, st->name, n);
        err = exec_state(&env, st, cur, &r, out, &fault);
        if (err == BATON_ERR_INVALID) {
            baton_asl_stop_clear(out);
            err = run_fault(&env, st, cur, &fault, &r, out);
        }
        if (err || out->kind) {
            json_decref(r.output);
            break;
        }
        json_decref(cur);
        cur = r.output;
        st = baton_asl_def_state(def, r.next);
    }
    json_decref(cur);
    baton_asl_env_clear(&env);
    if (err) {
        baton_asl_stop_clear(out);
        baton_seterr(errstr, errlen, err, "%s: %s", def->name,
                     baton_err2str(err));
    }
    return err;
}

baton_err_t baton_asl_task_complete(const baton_asl_def_t *def,
                                    const char *state, json_t *state_input,
                                    json_t *result, const baton_asl_ctx_t *ctx,
                                    baton_asl_next_t *out, char *errstr,
                                    size_t errlen) {
    const baton_asl_state_t *st;
    baton_asl_env_t env;
    baton_asl_fault_t fault;
    json_t *res = NULL, *comb = NULL, *output = NULL, *sel;
    baton_err_t err;
    memset(out, 0, sizeof(*out));
    out->retrier = -1;
    if ((err = task_state(def, state, &st, errstr, errlen))) return err;
    baton_asl_env_init(&env, ctx);
    baton_asl_env_enter(&env, st->name, SALT_COMPLETE);
    sel = field(st, "ResultSelector");
    if (sel)
        err = baton_asl_apply_template(&env, "ResultSelector", sel, result,
                                       &res, &fault);
    else
        res = json_incref(result);
    if (!err)
        err = baton_asl_apply_result_path(&env, field(st, "ResultPath"),
                                          state_input, res, &comb, &fault);
    if (!err)
        err = baton_asl_apply_path(&env, "OutputPath", field(st, "OutputPath"),
                                   comb, &output, &fault);
    json_decref(res);
    json_decref(comb);
    if (!err) {
        out->kind = st->next ? BATON_ASL_NEXT_STATE : BATON_ASL_NEXT_END;
        out->output = output;
        if (st->next && !(out->next_state = baton_strdup(st->next)))
            err = BATON_ERR_NOMEM;
    } else if (err == BATON_ERR_INVALID) {
        err = next_fault(&env, st, state_input, fault.error, fault.cause, out);
    }
    baton_asl_env_clear(&env);
    if (err) {
        baton_asl_next_clear(out);
        baton_seterr(errstr, errlen, err, "%s: %s", def->name,
                     baton_err2str(err));
    }
    return err;
}

/* The retry delay after `used` earlier retries of retrier rt: Interval *
 * BackoffRate^used, capped by MaxDelaySeconds, full jitter drawn from the
 * seed, then at least the worker's retry_after hint.  The hint is a
 * worker's word, so it is capped like the rest: by MaxDelaySeconds when the
 * retrier has one, by MAX_DELAY_MS always (a hint near INT64_MAX must not
 * overflow the clock or park a run for ever). */
static int64_t retry_delay(const baton_asl_retrier_t *rt, int32_t used,
                           int64_t hint, uint64_t seed) {
    double d = (double)rt->interval_ms;
    int64_t ms;
    int32_t i;
    for (i = 0; i < used && d < (double)MAX_DELAY_MS; i++)
        d *= rt->backoff_rate;
    if (d > (double)MAX_DELAY_MS) d = (double)MAX_DELAY_MS;
    if (rt->max_delay_ms && d > (double)rt->max_delay_ms)
        d = (double)rt->max_delay_ms;
    ms = (int64_t)d;
    if (rt->jitter_full) {
        uint64_t s = seed ^ ((uint64_t)(used + 1) * 0x9e3779b97f4a7c15ULL);
        ms = (int64_t)(baton_asl_splitmix64(&s) % (uint64_t)(ms + 1));
    }
    if (hint > MAX_DELAY_MS) hint = MAX_DELAY_MS;
    if (rt->max_delay_ms && hint > rt->max_delay_ms) hint = rt->max_delay_ms;
    return hint > ms ? hint : ms;
}

/* task_fail with either per-retrier counts or one count for all. */
static baton_err_t task_fail(const baton_asl_def_t *def, const char *state,
                             json_t *state_input, const char *error,
                             const char *cause, const int32_t *counts,
                             size_t n_counts, int32_t uniform,
                             int64_t retry_after_ms, const baton_asl_ctx_t *ctx,
                             baton_asl_next_t *out, char *errstr,
                             size_t errlen) {
    const baton_asl_state_t *st;
    baton_asl_env_t env;
    size_t i;
    baton_err_t err;
    memset(out, 0, sizeof(*out));
    out->retrier = -1;
    if ((err = task_state(def, state, &st, errstr, errlen))) return err;
    for (i = 0; i < st->n_retriers; i++) {
        const baton_asl_retrier_t *rt = &st->retriers[i];
        int32_t used = counts ? (i < n_counts ? counts[i] : 0) : uniform;
        if (!baton_asl_error_matches(rt->error_equals, error)) continue;
        if (used >= rt->max_attempts) break; /* exhausted: go to Catch */
        out->kind = BATON_ASL_NEXT_RETRY;
        out->retrier = (int32_t)i;
        out->delay_ms =
            retry_delay(rt, used, retry_after_ms, ctx ? ctx->seed : 0);
        return BATON_OK;
    }
    baton_asl_env_init(&env, ctx);
    baton_asl_env_enter(&env, st->name, SALT_FAIL);
    err = next_fault(&env, st, state_input, error, cause, out);
    baton_asl_env_clear(&env);
    if (err) {
        baton_asl_next_clear(out);
        baton_seterr(errstr, errlen, err, "%s: %s", def->name,
                     baton_err2str(err));
    }
    return err;
}

baton_err_t baton_asl_task_fail(const baton_asl_def_t *def, const char *state,
                                json_t *state_input, const char *error,
                                const char *cause, int32_t attempt,
                                int64_t retry_after_ms,
                                const baton_asl_ctx_t *ctx,
                                baton_asl_next_t *out, char *errstr,
                                size_t errlen) {
    return task_fail(def, state, state_input, error, cause, NULL, 0,
                     attempt > 1 ? attempt - 1 : 0, retry_after_ms, ctx, out,
                     errstr, errlen);
}

baton_err_t baton_asl_task_fail_per_retrier(
    const baton_asl_def_t *def, const char *state, json_t *state_input,
    const char *error, const char *cause, const int32_t *retry_counts,
    size_t n_counts, int64_t retry_after_ms, const baton_asl_ctx_t *ctx,
    baton_asl_next_t *out, char *errstr, size_t errlen) {
    static const int32_t none = 0;
    return task_fail(def, state, state_input, error, cause,
                     retry_counts ? retry_counts : &none,
                     retry_counts ? n_counts : 0, 0, retry_after_ms, ctx, out,
                     errstr, errlen);
}
