/*
 * trigger.c -- parsing and validation of trigger files (trigger.h).
 *
 * Every check names the field it refuses; the filter and the templates are
 * checked by the workflow language itself (asl.h standalone expressions),
 * so a trigger accepts exactly the Choice rules and Parameters a workflow
 * would.
 */
#include "trigger.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl.h"
#include "codec.h"

#define TRIGGER_TOPIC_MAX 249
#define TRIGGER_MAX_FILES 256

/* "<file>: field '<field>': <reason>"; returns BATON_ERR_INVALID. */
static baton_err_t terr(char *errstr, size_t errlen, const char *file,
                        const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static baton_err_t terr(char *errstr, size_t errlen, const char *file,
                        const char *field, const char *fmt, ...) {
    char m[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID, "%s: field '%s': %s",
                        file, field, m);
}

static const char *const top_fields[] = {
    "comment", "topics",    "group",     "format", "avro",
    "filter",  "unmatched", "max_bytes", "action", NULL};
static const char *const avro_fields[] = {
    "registry_url", "registry_user", "registry_password_file", "schemas", NULL};
static const char *const action_fields[] = {"type",
                                            "workflow_type",
                                            "id_reuse",
                                            "signal",
                                            "id",
                                            "id.$",
                                            "input",
                                            "input.$",
                                            "payload",
                                            "payload.$",
                                            "message_id.$",
                                            "dedupe_window_seconds",
                                            "signal_hold_seconds",
                                            "comment",
                                            NULL};

static int in_list(const char *const *list, const char *key) {
    for (; *list; list++)
        if (!strcmp(*list, key)) return 1;
    return 0;
}

static baton_err_t check_known(json_t *obj, const char *const *known,
                               const char *prefix, const char *file,
                               char *errstr, size_t errlen) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char f[300];
        if (in_list(known, key)) continue;
        snprintf(f, sizeof f, "%s%s", prefix, key);
        if (!strcmp(key, "message_id"))
            return terr(errstr, errlen, file, f,
                        "a message id is taken from the event: write "
                        "\"message_id.$\"");
        return terr(errstr, errlen, file, f, "unknown field");
    }
    return BATON_OK;
}

/* Kafka's legal topic names: [A-Za-z0-9._-], 1..249 bytes. */
static int topic_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > TRIGGER_TOPIC_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static baton_err_t parse_topics(baton_trigger_t *t, json_t *v, char *errstr,
                                size_t errlen) {
    size_t i, n;
    json_t *e;
    if (!v) return terr(errstr, errlen, t->file, "topics", "required");
    if (json_is_string(v))
        n = 1;
    else if (json_is_array(v) && json_array_size(v) > 0)
        n = json_array_size(v);
    else
        return terr(errstr, errlen, t->file, "topics",
                    "must be a topic name or a non-empty list of them");
    if (!(t->topics = baton_calloc(n, sizeof(char *)))) return BATON_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        char f[32];
        e = json_is_string(v) ? v : json_array_get(v, i);
        snprintf(f, sizeof f, json_is_string(v) ? "topics" : "topics[%zu]", i);
        if (!json_is_string(e) || !topic_ok(json_string_value(e)))
            return terr(errstr, errlen, t->file, f,
                        "not a Kafka topic name (1 to 249 of "
                        "[A-Za-z0-9._-])");
        for (size_t j = 0; j < t->ntopics; j++)
            if (!strcmp(t->topics[j], json_string_value(e)))
                return terr(errstr, errlen, t->file, f,
                            "topic '%s' listed twice", t->topics[j]);
        if (!(t->topics[i] = baton_strdup(json_string_value(e))))
            return BATON_ERR_NOMEM;
        t->ntopics++;
    }
    return BATON_OK;
}

/* An optional string field out of a fixed set; *out its index (or dflt). */
static baton_err_t parse_enum(const char *file, const char *field, json_t *v,
                              const char *const *names, int dflt, int *out,
                              char *errstr, size_t errlen) {
    char list[256] = "";
    *out = dflt;
    if (!v) return BATON_OK;
    for (int i = 0; names[i]; i++) {
        if (json_is_string(v) && !strcmp(json_string_value(v), names[i])) {
            *out = i;
            return BATON_OK;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i ? ", " : "", names[i]);
    }
    return terr(errstr, errlen, file, field, "must be one of %s", list);
}

static baton_err_t parse_opt_string(const char *file, const char *field,
                                    json_t *v, char **out, char *errstr,
                                    size_t errlen) {
    if (!v) return BATON_OK;
    if (!json_is_string(v) || !json_string_length(v))
        return terr(errstr, errlen, file, field, "must be a non-empty string");
    return (*out = baton_strdup(json_string_value(v))) ? BATON_OK
                                                       : BATON_ERR_NOMEM;
}

/* A whole number of seconds in [min, max], as ms. */
static baton_err_t parse_seconds(const char *file, const char *field, json_t *v,
                                 int64_t min, int64_t max, int64_t *ms,
                                 char *errstr, size_t errlen) {
    if (!v) return BATON_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max)
        return terr(errstr, errlen, file, field,
                    "must be a whole number from %lld to %lld", (long long)min,
                    (long long)max);
    *ms = (int64_t)json_integer_value(v) * 1000;
    return BATON_OK;
}

/* Moves the template field `key` (plain or ".$") of the action into tmpl,
 * after checking it; `allowed` 0 refuses it for this action type. */
static baton_err_t take_template(baton_trigger_t *t, json_t *action,
                                 const char *key, int allowed,
                                 const char *why_not, char *errstr,
                                 size_t errlen) {
    char dkey[64], field[80], reason[768];
    json_t *plain, *dollar, *one;
    baton_err_t err;
    snprintf(dkey, sizeof dkey, "%s.$", key);
    plain = json_object_get(action, key);
    dollar = json_object_get(action, dkey);
    if (!plain && !dollar) return BATON_OK;
    snprintf(field, sizeof field, "action.%s", dollar ? dkey : key);
    if (!allowed) return terr(errstr, errlen, t->file, field, "%s", why_not);
    if (plain && dollar)
        return terr(errstr, errlen, t->file, field,
                    "give either '%s' or '%s', not both", key, dkey);
    if (!(one = json_object()) ||
        json_object_set(one, dollar ? dkey : key, dollar ? dollar : plain)) {
        json_decref(one);
        return BATON_ERR_NOMEM;
    }
    err = baton_asl_template_validate(one, field, reason, sizeof reason);
    json_decref(one);
    if (err == BATON_ERR_INVALID)
        return terr(errstr, errlen, t->file, field, "%s", reason);
    if (err) return err;
    if (json_object_set(t->tmpl, dollar ? dkey : key, dollar ? dollar : plain))
        return BATON_ERR_NOMEM;
    return BATON_OK;
}

static baton_err_t parse_action(baton_trigger_t *t, json_t *a, char *errstr,
                                size_t errlen) {
    static const char *const types[] = {"start", "signal", "start_or_signal",
                                        NULL};
    static const char *const reuses[] = {BATON_ID_REUSE_REFUSE_WHILE_RUNNING,
                                         BATON_ID_REUSE_ALLOW_AFTER_CLOSE,
                                         BATON_ID_REUSE_NEVER, NULL};
    const char *tname;
    int type, reuse, starts, signals;
    baton_err_t err;
    json_t *v;

    if (!a) return terr(errstr, errlen, t->file, "action", "required");
    if (!json_is_object(a))
        return terr(errstr, errlen, t->file, "action", "must be an object");
    if ((err =
             check_known(a, action_fields, "action.", t->file, errstr, errlen)))
        return err;
    if (!json_object_get(a, "type"))
        return terr(errstr, errlen, t->file, "action.type", "required");
    if ((err = parse_enum(t->file, "action.type", json_object_get(a, "type"),
                          types, 0, &type, errstr, errlen)))
        return err;
    t->action = (baton_trigger_action_t)type;
    tname = types[type];
    starts = t->action != BATON_TRIGGER_SIGNAL;
    signals = t->action != BATON_TRIGGER_START;

    v = json_object_get(a, "workflow_type");
    if (starts && !v)
        return terr(errstr, errlen, t->file, "action.workflow_type",
                    "required for action type '%s'", tname);
    if (!starts && v)
        return terr(errstr, errlen, t->file, "action.workflow_type",
                    "only for action types start and start_or_signal (a "
                    "signal goes to the workflow named by the id)");
    if ((err = parse_opt_string(t->file, "action.workflow_type", v,
                                &t->workflow_type, errstr, errlen)))
        return err;

    v = json_object_get(a, "id_reuse");
    if (v && !starts)
        return terr(errstr, errlen, t->file, "action.id_reuse",
                    "only for action types start and start_or_signal");
    if ((err = parse_enum(t->file, "action.id_reuse", v, reuses, 0, &reuse,
                          errstr, errlen)))
        return err;
    if (v && !(t->id_reuse = baton_strdup(reuses[reuse])))
        return BATON_ERR_NOMEM;

    v = json_object_get(a, "signal");
    if (signals && !v)
        return terr(errstr, errlen, t->file, "action.signal",
                    "required for action type '%s'", tname);
    if (!signals && v)
        return terr(errstr, errlen, t->file, "action.signal",
                    "only for action types signal and start_or_signal");
    if ((err = parse_opt_string(t->file, "action.signal", v, &t->signal, errstr,
                                errlen)))
        return err;

    if (!(t->tmpl = json_object())) return BATON_ERR_NOMEM;
    if (!json_object_get(a, "id") && !json_object_get(a, "id.$"))
        return terr(errstr, errlen, t->file, "action.id.$",
                    "required: the workflow id (\"id.$\": a path or an "
                    "intrinsic function over the event, or \"id\": a "
                    "constant)");
    if ((err = take_template(t, a, "id", 1, "", errstr, errlen)) ||
        (err = take_template(t, a, "input", starts,
                             "only for action types start and "
                             "start_or_signal (a signal carries a payload)",
                             errstr, errlen)) ||
        (err = take_template(t, a, "payload", signals,
                             "only for action types signal and "
                             "start_or_signal (a start carries an input)",
                             errstr, errlen)) ||
        (err = take_template(t, a, "message_id", 1, "", errstr, errlen)))
        return err;
    /* defaults: the event's value is the input / the payload */
    if (starts && !json_object_get(t->tmpl, "input") &&
        !json_object_get(t->tmpl, "input.$") &&
        json_object_set_new(t->tmpl, "input.$", json_string("$.value")))
        return BATON_ERR_NOMEM;
    if (signals && !json_object_get(t->tmpl, "payload") &&
        !json_object_get(t->tmpl, "payload.$") &&
        json_object_set_new(t->tmpl, "payload.$", json_string("$.value")))
        return BATON_ERR_NOMEM;

    v = json_object_get(a, "dedupe_window_seconds");
    if (v && !json_object_get(a, "message_id.$"))
        return terr(errstr, errlen, t->file, "action.dedupe_window_seconds",
                    "only with \"message_id.$\" (source-offset dedupe "
                    "needs no window)");
    if ((err = parse_seconds(t->file, "action.dedupe_window_seconds", v, 1,
                             INT64_C(31536000), &t->dedupe_window_ms, errstr,
                             errlen)))
        return err;
    v = json_object_get(a, "signal_hold_seconds");
    if (v && t->action != BATON_TRIGGER_SIGNAL)
        return terr(errstr, errlen, t->file, "action.signal_hold_seconds",
                    "only for action type signal (start_or_signal starts "
                    "the workflow instead of holding)");
    return parse_seconds(t->file, "action.signal_hold_seconds", v, 1,
                         INT64_C(31536000), &t->signal_hold_ms, errstr, errlen);
}

/* path resolved against the folder of the trigger file (absolute paths
 * stay). */
static char *resolve_path(const char *file, const char *path) {
    const char *slash = strrchr(file, '/');
    size_t d = slash ? (size_t)(slash - file) + 1 : 0, n = strlen(path);
    char *s;
    if (path[0] == '/' || !d) return baton_strdup(path);
    if (!(s = baton_malloc(d + n + 1))) return NULL;
    memcpy(s, file, d);
    memcpy(s + d, path, n + 1);
    return s;
}

static baton_err_t parse_avro(baton_trigger_t *t, json_t *a, char *errstr,
                              size_t errlen) {
    json_t *v;
    size_t i;
    baton_err_t err;
    if (!a) return BATON_OK;
    if (t->format != BATON_TRIGGER_FORMAT_AVRO)
        return terr(errstr, errlen, t->file, "avro", "only with format avro");
    if (!json_is_object(a))
        return terr(errstr, errlen, t->file, "avro", "must be an object");
    if ((err = check_known(a, avro_fields, "avro.", t->file, errstr, errlen)) ||
        (err = parse_opt_string(t->file, "avro.registry_url",
                                json_object_get(a, "registry_url"),
                                &t->avro_registry_url, errstr, errlen)) ||
        (err = parse_opt_string(t->file, "avro.registry_user",
                                json_object_get(a, "registry_user"),
                                &t->avro_registry_user, errstr, errlen)) ||
        (err = parse_opt_string(t->file, "avro.registry_password_file",
                                json_object_get(a, "registry_password_file"),
                                &t->avro_password_file, errstr, errlen)))
        return err;
    if (t->avro_registry_url && strncmp(t->avro_registry_url, "http://", 7) &&
        strncmp(t->avro_registry_url, "https://", 8))
        return terr(errstr, errlen, t->file, "avro.registry_url",
                    "must be an http:// or https:// URL");
    if (!(v = json_object_get(a, "schemas"))) return BATON_OK;
    if (!json_is_array(v))
        return terr(errstr, errlen, t->file, "avro.schemas",
                    "must be a list of schema file paths");
    if (!(t->avro_schemas =
              baton_calloc(json_array_size(v) + 1, sizeof(char *))))
        return BATON_ERR_NOMEM;
    for (i = 0; i < json_array_size(v); i++) {
        const char *p = json_string_value(json_array_get(v, i));
        char f[40];
        snprintf(f, sizeof f, "avro.schemas[%zu]", i);
        if (!p || !*p)
            return terr(errstr, errlen, t->file, f, "must be a file path");
        if (!(t->avro_schemas[i] = resolve_path(t->file, p)))
            return BATON_ERR_NOMEM;
        t->navro_schemas++;
    }
    return BATON_OK;
}

static baton_err_t parse_format(baton_trigger_t *t, json_t *v, char *errstr,
                                size_t errlen) {
    const char *s = json_string_value(v);
    if (!v) return BATON_OK;
    if (s && !strcmp(s, "json"))
        t->format = BATON_TRIGGER_FORMAT_JSON;
    else if (s && !strcmp(s, "cloudevents"))
        t->format = BATON_TRIGGER_FORMAT_CLOUDEVENTS;
    else if (s && !strcmp(s, "avro"))
        t->format = BATON_TRIGGER_FORMAT_AVRO;
    else
        return terr(errstr, errlen, t->file, "format",
                    "must be json, cloudevents or avro");
    return BATON_OK;
}

static baton_err_t parse_root(baton_trigger_t *t, json_t *root,
                              const char *group_prefix, char *errstr,
                              size_t errlen) {
    static const char *const unmatched[] = {"skip", "dlq", NULL};
    char reason[768];
    json_t *v;
    baton_err_t err;
    int u;

    if (!json_is_object(root))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: a trigger must be a JSON object", t->file);
    if ((err = check_known(root, top_fields, "", t->file, errstr, errlen)) ||
        (err =
             parse_topics(t, json_object_get(root, "topics"), errstr, errlen)))
        return err;
    v = json_object_get(root, "comment");
    if (v && !json_is_string(v))
        return terr(errstr, errlen, t->file, "comment", "must be a string");
    if ((err =
             parse_opt_string(t->file, "group", json_object_get(root, "group"),
                              &t->group, errstr, errlen)))
        return err;
    if (!t->group) {
        size_t n = strlen(group_prefix) + strlen(t->name) + 2;
        if (!(t->group = baton_malloc(n))) return BATON_ERR_NOMEM;
        snprintf(t->group, n, "%s.%s", group_prefix, t->name);
    }
    if ((err = parse_format(t, json_object_get(root, "format"), errstr,
                            errlen)) ||
        (err = parse_avro(t, json_object_get(root, "avro"), errstr, errlen)))
        return err;
    if ((v = json_object_get(root, "filter"))) {
        err = baton_asl_rule_check(v, "filter", reason, sizeof reason);
        if (err == BATON_ERR_INVALID)
            return baton_seterr(errstr, errlen, err, "%s: field %s", t->file,
                                reason);
        if (err) return err;
        t->filter = json_incref(v);
    }
    if ((err = parse_enum(t->file, "unmatched",
                          json_object_get(root, "unmatched"), unmatched, 0, &u,
                          errstr, errlen)))
        return err;
    t->unmatched_dlq = u == 1;
    v = json_object_get(root, "max_bytes");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1))
        return terr(errstr, errlen, t->file, "max_bytes",
                    "must be a whole number >= 1");
    if (v) t->max_bytes = (int64_t)json_integer_value(v);
    return parse_action(t, json_object_get(root, "action"), errstr, errlen);
}

baton_err_t baton_trigger_parse(const char *name, const char *file,
                                const char *text, const char *group_prefix,
                                baton_trigger_t **out, char *errstr,
                                size_t errlen) {
    baton_trigger_t *t;
    json_error_t jerr;
    json_t *root;
    baton_err_t err;

    *out = NULL;
    if (!(t = baton_calloc(1, sizeof *t))) return BATON_ERR_NOMEM;
    if (!(t->name = baton_strdup(name)) || !(t->file = baton_strdup(file))) {
        baton_trigger_destroy(t);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    if (!(root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr))) {
        baton_trigger_destroy(t);
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s: not valid JSON: %s (line %d, column %d)", file,
                            jerr.text, jerr.line, jerr.column);
    }
    if (!*name)
        err = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                           "%s: empty trigger name", file);
    else
        err = parse_root(t, root, group_prefix, errstr, errlen);
    json_decref(root);
    if (err == BATON_ERR_NOMEM)
        baton_seterr(errstr, errlen, err, "%s: out of memory", file);
    if (err) {
        baton_trigger_destroy(t);
        return err;
    }
    *out = t;
    return BATON_OK;
}

void baton_trigger_name_of(const char *path, char *buf, size_t len) {
    static const char *const exts[] = {".trigger.json", ".json"};
    const char *base = strrchr(path, '/');
    size_t n;
    base = base ? base + 1 : path;
    n = strlen(base);
    for (size_t i = 0; i < BATON_ARRAY_SIZE(exts); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && !strcmp(base + n - e, exts[i])) {
            n -= e;
            break;
        }
    }
    snprintf(buf, len, "%.*s", (int)n, base);
}

baton_err_t baton_trigger_load_file(const char *path, const char *group_prefix,
                                    baton_trigger_t **out, char *errstr,
                                    size_t errlen) {
    char name[256], err[512];
    char *text = baton_read_file(path, NULL, err, sizeof err);
    baton_err_t rc;
    *out = NULL;
    if (!text)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s: %s", path,
                            err);
    baton_trigger_name_of(path, name, sizeof name);
    rc = baton_trigger_parse(name, path, text, group_prefix, out, errstr,
                             errlen);
    baton_free(text);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

baton_err_t baton_trigger_load_dir(const char *dir, const char *group_prefix,
                                   baton_trigger_t ***out, size_t *n,
                                   char *errstr, size_t errlen) {
    char *files[TRIGGER_MAX_FILES];
    size_t nfiles = 0, i;
    baton_trigger_t **list = NULL;
    baton_err_t rc = BATON_OK;
    struct dirent *de;
    DIR *d = opendir(dir);

    *out = NULL;
    *n = 0;
    if (!d)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "triggers folder '%s' cannot be opened", dir);
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 6 ||
            strcmp(de->d_name + l - 5, ".json"))
            continue;
        if (nfiles == TRIGGER_MAX_FILES) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                              "triggers folder '%s' holds more than %d "
                              "files",
                              dir, TRIGGER_MAX_FILES);
            break;
        }
        if (!(files[nfiles] = baton_malloc(strlen(dir) + l + 2))) {
            rc = BATON_ERR_NOMEM;
            break;
        }
        snprintf(files[nfiles], strlen(dir) + l + 2, "%s/%s", dir, de->d_name);
        nfiles++;
    }
    closedir(d);
    if (!rc && nfiles == 0)
        rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                          "triggers folder '%s' holds no *.json trigger", dir);
    if (!rc && !(list = baton_calloc(nfiles, sizeof *list)))
        rc = BATON_ERR_NOMEM;
    qsort(files, nfiles, sizeof files[0], cmp_str);
    for (i = 0; !rc && i < nfiles; i++) {
        rc = baton_trigger_load_file(files[i], group_prefix, &list[i], errstr,
                                     errlen);
        for (size_t j = 0; !rc && j < i; j++)
            if (!strcmp(list[j]->group, list[i]->group))
                rc = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                  "%s: field 'group': '%s' is already the "
                                  "group of %s (each trigger needs its own)",
                                  files[i], list[i]->group, list[j]->file);
    }
    for (i = 0; i < nfiles; i++) baton_free(files[i]);
    if (rc == BATON_ERR_NOMEM)
        baton_seterr(errstr, errlen, rc, "loading triggers: out of memory");
    if (rc) {
        baton_trigger_list_destroy(list, nfiles);
        return rc;
    }
    *out = list;
    *n = nfiles;
    return BATON_OK;
}

void baton_trigger_destroy(baton_trigger_t *t) {
    if (!t) return;
    for (size_t i = 0; i < t->ntopics; i++) baton_free(t->topics[i]);
    baton_free(t->topics);
    baton_free(t->name);
    baton_free(t->file);
    baton_free(t->group);
    json_decref(t->filter);
    baton_free(t->workflow_type);
    baton_free(t->id_reuse);
    baton_free(t->signal);
    json_decref(t->tmpl);
    for (size_t i = 0; i < t->navro_schemas; i++)
        baton_free(t->avro_schemas[i]);
    baton_free(t->avro_schemas);
    baton_free(t->avro_registry_url);
    baton_free(t->avro_registry_user);
    baton_free(t->avro_password_file);
    baton_free(t);
}

void baton_trigger_list_destroy(baton_trigger_t **list, size_t n) {
    if (!list) return;
    for (size_t i = 0; i < n; i++) baton_trigger_destroy(list[i]);
    baton_free(list);
}

const char *baton_trigger_action_name(baton_trigger_action_t a) {
    switch (a) {
    case BATON_TRIGGER_START: return "start";
    case BATON_TRIGGER_SIGNAL: return "signal";
    case BATON_TRIGGER_START_OR_SIGNAL: return "start_or_signal";
    }
    return "?";
}

const char *baton_trigger_format_name(baton_trigger_format_t f) {
    return f == BATON_TRIGGER_FORMAT_CLOUDEVENTS ? "cloudevents"
           : f == BATON_TRIGGER_FORMAT_AVRO      ? "avro"
                                                 : "json";
}
