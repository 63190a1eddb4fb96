/*
 * json_limits.c -- the nesting and NUL rule of accepted JSON values
 * (json_limits.h).
 */
#include "json_limits.h"

#include <stdio.h>
#include <string.h>

/* Depth-first walk; level is v's own depth (1 for the top). */
static int check(const json_t *v, int level, int max, char *why, size_t len) {
    if (level > max) {
        snprintf(why, len, "nested deeper than %d levels", max);
        return -1;
    }
    if (json_is_string(v)) {
        if (memchr(json_string_value(v), '\0', json_string_length(v))) {
            snprintf(why, len, "a string holds a NUL byte");
            return -1;
        }
        return 0;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (check(json_array_get(v, i), level + 1, max, why, len))
                return -1;
        return 0;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        void *it;
        for (it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            k = json_object_iter_key(it);
            m = json_object_iter_value(it);
            if (strlen(k) != json_object_iter_key_len(it)) {
                snprintf(why, len, "an object key holds a NUL byte");
                return -1;
            }
            if (check(m, level + 1, max, why, len)) return -1;
        }
    }
    return 0;
}

int baton_json_check(const json_t *v, int max_depth, char *why, size_t len) {
    if (!v) return 0;
    return check(v, 1, max_depth, why, len);
}
