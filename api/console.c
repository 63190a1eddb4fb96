/*
 * console.c -- the web console's static files (api/console/, bundled by
 * the build into api.console.dir): GET / is index.html, GET /ui/<path> is
 * <dir>/<path>.  A path with a ".." or "." segment, a backslash or a NUL
 * is refused (404), and the file's real path must lie inside the real
 * console folder (no way out through a symbolic link either).  Content
 * types by extension: html, js, css, svg, png, json (else
 * application/octet-stream).  No token needed.
 *
 * Thread: the connection's thread (api.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"

static const struct {
    const char *ext, *type;
} api_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
};

static const char *api_content_type(const char *path) {
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof api_types / sizeof api_types[0]; i++) {
        size_t e = strlen(api_types[i].ext);
        if (n > e && !strcmp(path + n - e, api_types[i].ext))
            return api_types[i].type;
    }
    return "application/octet-stream";
}

/* 1 when rel (after /ui/) is a safe relative path: no empty, "." or ".."
 * segment, no backslash. */
static int api_rel_safe(const char *rel) {
    const char *s = rel;
    if (!*rel || strchr(rel, '\\')) return 0;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') ||
            (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        if (!e) return 1;
        s = e + 1;
    }
}

/* Queues a small plain-text error. */
static enum MHD_Result api_console_error(struct MHD_Connection *con,
                                         unsigned status, const char *msg) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(msg), (void *)msg, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    ret = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Opens dir/rel if its real path lies inside dir's; -1 when not. */
static int api_console_open(const char *dir, const char *rel, struct stat *st) {
    char path[PATH_MAX], real[PATH_MAX], realdir[PATH_MAX];
    size_t n;
    int fd;
    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path ||
        !realpath(dir, realdir) || !realpath(path, real))
        return -1;
    n = strlen(realdir);
    if (strncmp(real, realdir, n) || real[n] != '/') return -1;
    if ((fd = open(real, O_RDONLY | O_CLOEXEC)) < 0) return -1;
    if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

enum MHD_Result api_console(const api_t *api, struct MHD_Connection *con,
                            const char *url) {
    const char *rel =
        !strcmp(url, "/") || !strcmp(url, "/ui") || !strcmp(url, "/ui/")
            ? "index.html"
            : url + 4;
    struct MHD_Response *resp;
    struct stat st;
    enum MHD_Result ret;
    int fd;

    if (!api_rel_safe(rel) ||
        (fd = api_console_open(api->console_dir, rel, &st)) < 0)
        return api_console_error(con, MHD_HTTP_NOT_FOUND, "not found\n");
    if (!(resp = MHD_create_response_from_fd((size_t)st.st_size, fd))) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            api_content_type(rel));
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response(con, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
