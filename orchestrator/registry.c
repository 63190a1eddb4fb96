/*
 * registry.c -- definitions by name and version (registry.h).
 *
 * A flat array: deployments hold tens of definitions, not thousands, and
 * lookups happen once per input at most.
 */
#include "registry.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct baton_registry {
    baton_defn_t *defs;
    size_t cnt, cap;
    size_t *current; /* index of the current version per name, by name */
};

baton_registry_t *baton_registry_new(void) {
    return baton_calloc(1, sizeof(baton_registry_t));
}

void baton_registry_destroy(baton_registry_t *reg) {
    if (!reg) return;
    for (size_t i = 0; i < reg->cnt; i++) {
        baton_free(reg->defs[i].name);
        baton_free(reg->defs[i].ver);
        baton_free(reg->defs[i].text);
        baton_asl_def_destroy(reg->defs[i].def);
    }
    baton_free(reg->defs);
    baton_free(reg->current);
    baton_free(reg);
}

void baton_registry_version(const char *text, char buf[17]) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    snprintf(buf, 17, "%016llx", (unsigned long long)h);
}

const baton_defn_t *baton_registry_get(const baton_registry_t *reg,
                                       const char *name, const char *ver) {
    for (size_t i = 0; i < reg->cnt; i++)
        if (!strcmp(reg->defs[i].name, name) && !strcmp(reg->defs[i].ver, ver))
            return &reg->defs[i];
    return NULL;
}

const baton_defn_t *baton_registry_current(const baton_registry_t *reg,
                                           const char *name) {
    for (size_t i = 0; i < reg->cnt; i++)
        if (reg->current[i] == 1 && !strcmp(reg->defs[i].name, name))
            return &reg->defs[i];
    return NULL;
}

size_t baton_registry_count(const baton_registry_t *reg) {
    return reg->cnt;
}

const baton_defn_t *baton_registry_at(const baton_registry_t *reg, size_t i) {
    return i < reg->cnt ? &reg->defs[i] : NULL;
}

static void registry_make_current(baton_registry_t *reg, size_t idx) {
    for (size_t i = 0; i < reg->cnt; i++)
        if (!strcmp(reg->defs[i].name, reg->defs[idx].name))
            reg->current[i] = 0;
    reg->current[idx] = 1;
}

static baton_err_t registry_grow(baton_registry_t *reg) {
    size_t ncap = reg->cap ? reg->cap * 2 : 16;
    baton_defn_t *d;
    size_t *c;
    if (reg->cnt < reg->cap) return BATON_OK;
    if (!(d = baton_realloc(reg->defs, ncap * sizeof(*d))))
        return BATON_ERR_NOMEM;
    reg->defs = d;
    if (!(c = baton_realloc(reg->current, ncap * sizeof(*c))))
        return BATON_ERR_NOMEM;
    reg->current = c;
    reg->cap = ncap;
    return BATON_OK;
}

baton_err_t baton_registry_add(baton_registry_t *reg, const char *name,
                               const char *text, int current,
                               const baton_defn_t **out, char *errstr,
                               size_t errlen) {
    char ver[17];
    const baton_defn_t *have;
    baton_defn_t *d;
    baton_asl_def_t *def = NULL;
    baton_err_t rc;

    baton_registry_version(text, ver);
    if ((have = baton_registry_get(reg, name, ver))) {
        if (current) registry_make_current(reg, (size_t)(have - reg->defs));
        if (out) *out = have;
        return BATON_OK;
    }
    if ((rc = baton_asl_def_parse(name, text, &def, errstr, errlen))) return rc;
    if (registry_grow(reg)) {
        baton_asl_def_destroy(def);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    d = &reg->defs[reg->cnt];
    d->name = baton_strdup(name);
    d->ver = baton_strdup(ver);
    d->text = baton_strdup(text);
    d->def = def;
    reg->current[reg->cnt] = 0;
    reg->cnt++;
    if (!d->name || !d->ver || !d->text)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    if (current) registry_make_current(reg, reg->cnt - 1);
    if (out) *out = d;
    return BATON_OK;
}

/* The definition name of a file name, or 0 when it is not a definition. */
static int registry_name_of(const char *file, char *name, size_t len) {
    static const char *exts[] = {".asl.json", ".json"};
    size_t n = strlen(file);
    for (size_t i = 0; i < BATON_ARRAY_SIZE(exts); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && !strcmp(file + n - e, exts[i]) && n - e < len) {
            memcpy(name, file, n - e);
            name[n - e] = '\0';
            return 1;
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

baton_err_t baton_registry_load_dir(baton_registry_t *reg, const char *dir,
                                    char *errstr, size_t errlen) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char *files[1024];
    size_t nfiles = 0;
    baton_err_t rc = BATON_OK;

    if (!d)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "workflows folder '%s' cannot be opened", dir);
    while ((de = readdir(d)) && nfiles < BATON_ARRAY_SIZE(files)) {
        char name[256];
        if (de->d_name[0] != '.' &&
            registry_name_of(de->d_name, name, sizeof name))
            files[nfiles++] = baton_strdup(de->d_name);
    }
    closedir(d);
    qsort(files, nfiles, sizeof files[0], cmp_str);
    for (size_t i = 0; i < nfiles; i++) {
        char path[4096], name[256], err[1024];
        char *text;
        if (rc) {
            baton_free(files[i]);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        registry_name_of(files[i], name, sizeof name);
        if (!(text = baton_read_file(path, NULL, err, sizeof err)))
            rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s", err);
        else if ((rc = baton_registry_add(reg, name, text, 1, NULL, err,
                                          sizeof err)))
            baton_seterr(errstr, errlen, rc, "%s: %s", path, err);
        baton_free(text);
        baton_free(files[i]);
    }
    if (!rc && nfiles == 0)
        rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                          "workflows folder '%s' holds no *.asl.json or "
                          "*.json definition",
                          dir);
    return rc;
}
