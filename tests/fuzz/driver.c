/*
 * driver.c -- the standalone fuzz driver (fuzz.h): a main() that feeds
 * every file named on the command line, and every file of every folder
 * named, to LLVMFuzzerTestOneInput once.  It lets `make test` replay the
 * committed corpus and the regression inputs with gcc, where libFuzzer is
 * not available.  Exit 0 when every input ran (a crash aborts instead).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    if (!f) {
        fprintf(stderr, "fuzz driver: cannot open %s\n", path);
        return -1;
    }
    do {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (!(buf = realloc(buf, cap))) abort();
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int run_path(const char *path, int *count) {
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;
    if (stat(path, &st)) {
        fprintf(stderr, "fuzz driver: no such file or folder %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    if (!(d = opendir(path))) return -1;
    while ((e = readdir(d)) && !rc) {
        char sub[4096];
        if (e->d_name[0] == '.') continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rc = run_path(sub, count);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv) {
    int count = 0;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-' && run_path(argv[i], &count)) return 1;
    printf("%s: %d inputs replayed, no crash\n", argv[0], count);
    return count ? 0 : 1;
}
