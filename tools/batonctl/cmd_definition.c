/*
 * cmd_definition.c -- the offline commands on definition files: validate
 * (batond's own parser, orchestrator/asl; trigger files of baton-bridge
 * -- in a folder named triggers, or named *.trigger.json -- with the
 * bridge's own parser, bridge/trigger.c) and graph (the Mermaid flowchart
 * of a definition).  They need no configuration, Kafka or Redis.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "asl.h"
#include "baton_common.h"
#include "batonctl.h"
#include "trigger.h"

/* ---- validate, graph (offline) ------------------------------------------ */

/* Reads a whole file into *text (baton_malloc'd, NUL-terminated).  Returns
 * 0, or -1 with the reason in errstr. */
static int ctl_read_file(const char *path, char **text, char *errstr,
                         size_t errlen) {
    FILE *fp = fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;
    int failed = 0;
    *text = NULL;
    if (!fp) {
        snprintf(errstr, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    for (;;) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 8192;
            if (!(nb = baton_realloc(buf, cap))) {
                snprintf(errstr, errlen, "out of memory");
                failed = 1;
                break;
            }
            buf = nb;
        }
        if ((n = fread(buf + len, 1, cap - len - 1, fp)) == 0) break;
        len += n;
    }
    if (!failed && ferror(fp)) {
        snprintf(errstr, errlen, "read error");
        failed = 1;
    }
    fclose(fp);
    if (failed) {
        baton_free(buf);
        return -1;
    }
    buf[len] = '\0';
    *text = buf;
    return 0;
}

/* The definition name batond gives a file: its base name without
 * ".asl.json" or ".json" (orchestrator/registry.c). */
static void ctl_def_name(const char *path, char *buf, size_t len) {
    static const char *const exts[] = {".asl.json", ".json"};
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

/* Reads and parses a definition file.  Returns 0 with *def, or -1 with the
 * problem in errstr. */
static int ctl_load_def(const char *path, baton_asl_def_t **def, char *errstr,
                        size_t errlen) {
    char name[256], *text;
    baton_err_t err;
    *def = NULL;
    if (ctl_read_file(path, &text, errstr, errlen)) return -1;
    ctl_def_name(path, name, sizeof name);
    err = baton_asl_def_parse(name, text, def, errstr, errlen);
    baton_free(text);
    return err ? -1 : 0;
}

/* 1 when path is a baton-bridge trigger file: in a folder named
 * "triggers" or named *.trigger.json. */
static int ctl_is_trigger(const char *path) {
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    if (n > 13 && !strcmp(path + n - 13, ".trigger.json")) return 1;
    if (!slash) return 0;
    return slash - path >= 8 && !strncmp(slash - 8, "triggers", 8) &&
           (slash - path == 8 || slash[-9] == '/');
}

/* Validates one file; 0 or -1 with errstr. */
static int ctl_validate_one(const char *file, char *errstr, size_t errlen) {
    baton_asl_def_t *def = NULL;
    baton_trigger_t *t = NULL;
    char err[1024];
    int rc;
    if (ctl_is_trigger(file)) {
        rc = baton_trigger_load_file(file, "baton.bridge", &t, err, sizeof err)
                 ? -1
                 : 0;
        baton_trigger_destroy(t);
        /* the trigger's messages start with the file name already */
        if (rc) {
            size_t fl = strlen(file);
            snprintf(errstr, errlen, "%s",
                     !strncmp(err, file, fl) && err[fl] == ':' ? err + fl + 2
                                                               : err);
        }
        return rc;
    }
    rc = ctl_load_def(file, &def, errstr, errlen);
    baton_asl_def_destroy(def);
    return rc;
}

int ctl_cmd_validate(ctl_t *ctl) {
    json_t *rows = json_array();
    int bad = 0, rc;
    if (!rows) return ctl_fail("out of memory");
    for (int i = 0; i < ctl->o.nargs; i++) {
        const char *file = ctl->o.args[i];
        char errstr[1024];
        int ok = ctl_validate_one(file, errstr, sizeof errstr) == 0;
        bad |= !ok;
        if (!ctl->o.json_out)
            printf("%s: %s\n", file, ok ? "ok" : errstr);
        else if (json_array_append_new(
                     rows, ok ? json_pack("{ss sb}", "file", file, "ok", 1)
                              : json_pack("{ss sb ss}", "file", file, "ok", 0,
                                          "error", errstr))) {
            json_decref(rows);
            return ctl_fail("out of memory");
        }
    }
    rc = ctl->o.json_out ? ctl_print_json(rows) : BATON_CLI_EXIT_OK;
    json_decref(rows);
    return rc ? rc : bad ? BATON_CLI_EXIT_FAIL : BATON_CLI_EXIT_OK;
}

int ctl_cmd_graph(ctl_t *ctl) {
    const char *file = ctl->o.pos[0];
    char errstr[1024], *mermaid = NULL;
    baton_asl_def_t *def = NULL;
    json_t *o;
    int rc;
    if (ctl_load_def(file, &def, errstr, sizeof errstr))
        return ctl_fail("%s: %s", file, errstr);
    if (baton_asl_graph_mermaid(def, ctl->o.highlight, &mermaid)) {
        baton_asl_def_destroy(def);
        return ctl_fail("out of memory");
    }
    if (!ctl->o.json_out) {
        fputs(mermaid, stdout);
        rc = BATON_CLI_EXIT_OK;
    } else if (!(o = json_pack("{ss ss ss}", "file", file, "definition",
                               baton_asl_def_name(def), "mermaid", mermaid))) {
        rc = ctl_fail("out of memory");
    } else {
        rc = ctl_print_json(o);
        json_decref(o);
    }
    baton_free(mermaid);
    baton_asl_def_destroy(def);
    return rc;
}
