/*
 * registry.h -- the workflow definitions batond knows, by name and version.
 *
 * At start batond loads every *.asl.json / *.json file of the workflows
 * folder (batond.workflows.dir); a definition's name is its file name
 * without the extension, its version the FNV-1a 64-bit hash of its text
 * (16 hex digits).  New runs take the current version of a name; a run keeps
 * the version it started with, so older versions are kept too (batond
 * stores every version's text in Redis and adds it back here on demand).
 *
 * Thread: batond's loop thread only.
 */
#ifndef BATON_REGISTRY_H
#define BATON_REGISTRY_H

#include "asl.h"
#include "baton_common.h"

typedef struct baton_registry baton_registry_t;

typedef struct baton_defn {
    char *name;
    char *ver;
    char *text;           /* the definition's JSON text */
    baton_asl_def_t *def; /* parsed and validated */
} baton_defn_t;

baton_registry_t *baton_registry_new(void);
void baton_registry_destroy(baton_registry_t *reg); /* NULL is a no-op */

/* Loads every definition of dir as the current versions.  Fails on the
 * first invalid file: errstr names the file, the state and the problem. */
baton_err_t baton_registry_load_dir(baton_registry_t *reg, const char *dir,
                                    char *errstr, size_t errlen);

/* Adds (or finds) the version of `name` with this text; current != 0 makes
 * it the version new runs take.  *out (borrowed) may be NULL. */
baton_err_t baton_registry_add(baton_registry_t *reg, const char *name,
                               const char *text, int current,
                               const baton_defn_t **out, char *errstr,
                               size_t errlen);

/* The current version of name, or NULL. */
const baton_defn_t *baton_registry_current(const baton_registry_t *reg,
                                           const char *name);
/* A given version, or NULL. */
const baton_defn_t *baton_registry_get(const baton_registry_t *reg,
                                       const char *name, const char *ver);

size_t baton_registry_count(const baton_registry_t *reg);
const baton_defn_t *baton_registry_at(const baton_registry_t *reg, size_t i);

/* The version string of a text (16 hex digits + NUL into buf[17]). */
void baton_registry_version(const char *text, char buf[17]);

#endif /* BATON_REGISTRY_H */
