/*
 * fuzz_config.c -- fuzz target: the `key = value` configuration parser
 * (common/config.c, baton_conf_load_text): any text is loaded or refused
 * with a message naming the line.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512], *text = fuzz_cstr(data, size);
    baton_conf_t *c;
    /* "<key>.file = PATH" reads PATH: /dev/zero would never end. */
    if (strstr(text, ".file")) {
        free(text);
        return 0;
    }
    c = baton_conf_new();
    err[0] = '\0';
    if (baton_conf_load_text(c, "fuzz.conf", text, err, sizeof err))
        FUZZ_ASSERT(!strncmp(err, "fuzz.conf:", 10) || strstr(err, "memory"),
                    "a refusal names the file and line");
    baton_conf_get(c, "topic.prefix");
    baton_conf_get_int(c, "batond.batch.max");
    baton_conf_destroy(c);
    free(text);
    return 0;
}
