// The file watcher on the scripts folder: one libuv fs event handle per
// folder (inotify watches a folder, not what is under it), a debounce timer
// (editors save in several steps) and the SIGHUP handler. Owns those
// handles; what a change leads to is the caller's (host.cpp reloads).
//
// A watcher is never closed to be opened again for the same folder: events
// queued on a closed inotify watch are dropped, so a file saved in between
// would be missed (issue 10: a reload that re-armed every watcher lost the
// file written right after it).
#include "script/watch.h"

#include "model/up.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_WATCH 64
#define MAX_DEPTH 4
#define DEBOUNCE_MS 150

struct Watch {
    uv_fs_event_t h;
    dev_t dev; // the folder watched: a folder removed and made again is another
    ino_t ino;
    bool seen; // found again by the refresh under way
};

static uv_loop_t *g_loop;
static char g_dir[1024];
static int (*g_on_change)(const char *why);
static Watch *g_watch[MAX_WATCH];
static int g_nwatch;
static uv_timer_t g_debounce;
static uv_signal_t g_sighup;
static bool g_started;

static void watch_closed(uv_handle_t *h) { free(h->data); }

static void on_debounce(uv_timer_t *) { g_on_change("a script file changed"); }

static void on_fs(uv_fs_event_t *, const char *filename, int, int) {
    if (filename) {
        size_t n = strlen(filename);
        bool lua = n > 4 && !strcmp(filename + n - 4, ".lua");
        bool hidden = filename[0] == '.';
        if (hidden || (!lua && strchr(filename, '.'))) return; // editor swap and backup files
    }
    // editors save in several steps; wait for the last
    uv_timer_start(&g_debounce, on_debounce, DEBOUNCE_MS, 0);
}

// A sysop's reload: on a board of many processes, it reaches them all (a
// file that changed is seen by each process that reads the folder).
static void on_sighup(uv_signal_t *, int) {
    if (g_on_change("SIGHUP") == 0 && g_up.reload_asked) g_up.reload_asked("SIGHUP on another process");
}

static Watch *find(const struct stat *st) {
    for (int i = 0; i < g_nwatch; i++)
        if (g_watch[i]->dev == st->st_dev && g_watch[i]->ino == st->st_ino) return g_watch[i];
    return NULL;
}

// Marks path and the folders under it seen, watching those not yet watched.
static void visit(const char *path, int depth) {
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) return;
    Watch *w = find(&st);
    if (w) {
        w->seen = true;
    } else if (g_nwatch < MAX_WATCH) {
        w = (Watch *)calloc(1, sizeof *w);
        if (!w) return;
        w->h.data = w;
        w->dev = st.st_dev;
        w->ino = st.st_ino;
        w->seen = true;
        uv_fs_event_init(g_loop, &w->h);
        if (uv_fs_event_start(&w->h, on_fs, path, 0) != 0) {
            uv_close((uv_handle_t *)&w->h, watch_closed);
            return;
        }
        g_watch[g_nwatch++] = w;
    }
    if (depth >= MAX_DEPTH) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        visit(sub, depth + 1);
    }
    closedir(d);
}

void watch_refresh(void) {
    if (!g_started) return;
    for (int i = 0; i < g_nwatch; i++) g_watch[i]->seen = false;
    visit(g_dir, 0);
    int kept = 0;
    for (int i = 0; i < g_nwatch; i++) {
        Watch *w = g_watch[i];
        if (w->seen) {
            g_watch[kept++] = w;
            continue;
        }
        uv_fs_event_stop(&w->h);
        uv_close((uv_handle_t *)&w->h, watch_closed);
    }
    g_nwatch = kept;
}

int watch_start(uv_loop_t *loop, const char *dir, int (*on_change)(const char *why)) {
    g_loop = loop;
    g_on_change = on_change;
    snprintf(g_dir, sizeof g_dir, "%s", dir);
    uv_timer_init(loop, &g_debounce);
    uv_signal_init(loop, &g_sighup);
    uv_signal_start(&g_sighup, on_sighup, SIGHUP);
    g_started = true;
    watch_refresh();
    return g_nwatch > 0 ? 0 : -1;
}

void watch_stop(void) {
    if (!g_started) return;
    g_started = false;
    for (int i = 0; i < g_nwatch; i++) {
        uv_fs_event_stop(&g_watch[i]->h);
        uv_close((uv_handle_t *)&g_watch[i]->h, watch_closed);
    }
    g_nwatch = 0;
    uv_close((uv_handle_t *)&g_debounce, NULL);
    uv_close((uv_handle_t *)&g_sighup, NULL);
}
