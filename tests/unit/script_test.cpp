// The script layer in process: the file watcher, and the host when the
// scripts' memory runs out.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "model/up_stub.h"
#include "base/config.h"
#include "check.h"
#include "model/session.h"
#include "script/host.h"
#include "script/watch.h"

static uv_loop_t *g_wloop;
static int g_changes;

static int on_change(const char *) {
    g_changes++;
    uv_stop(g_wloop);
    return 0;
}

static void on_give_up(uv_timer_t *t) { uv_stop(t->loop); }

// Runs the loop until the watcher reports a change, or 5 s pass (a hang guard).
static void wait_change(uv_loop_t *loop) {
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, on_give_up, 5000, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void touch(const char *dir, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("-- x\n", f);
        fclose(f);
    }
}

// Issue 10: a reload re-armed every watcher, and a file saved in between was
// missed (inotify drops what was queued on a watch that is removed). A file
// saved before the refresh and read after it must still count; folders that
// come are watched from the refresh on, folders that go are let go.
TEST(watcher_refresh_misses_no_change_and_follows_folders) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    g_wloop = &loop;
    g_changes = 0;
    char dir[] = "/tmp/pl-watch-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[64], later[64];
    snprintf(sub, sizeof sub, "%s/commands", dir);
    snprintf(later, sizeof later, "%s/later", dir);
    mkdir(sub, 0700);
    CHECK(watch_start(&loop, dir, on_change) == 0);

    touch(dir, "a.lua"); // queued in the kernel, not yet read by the loop
    watch_refresh();     // what a reload does before it says it is done
    wait_change(&loop);
    CHECK(g_changes == 1);

    touch(sub, "b.lua");
    watch_refresh();
    wait_change(&loop);
    CHECK(g_changes == 2);

    mkdir(later, 0700);
    wait_change(&loop); // the new folder itself is a change
    CHECK(g_changes == 3);
    watch_refresh();
    touch(later, "c.lua");
    wait_change(&loop);
    CHECK(g_changes == 4);

    char path[128];
    snprintf(path, sizeof path, "%s/c.lua", later);
    unlink(path);
    rmdir(later);
    wait_change(&loop);
    watch_refresh(); // its watcher goes; the others stay
    touch(dir, "d.lua");
    wait_change(&loop);
    CHECK(g_changes == 6);

    watch_stop();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    const char *files[] = {"a.lua", "d.lua", "commands/b.lua"};
    for (const char *f : files) {
        snprintf(path, sizeof path, "%s/%s", dir, f);
        unlink(path);
    }
    rmdir(sub);
    rmdir(dir);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

// With the scripts' memory used up, what the host itself allocates (a new
// session's table, the string of a line of input, a new generation) fails
// with an error; outside a protected call it was a Lua panic, which aborts.
TEST(the_host_survives_running_out_of_script_memory) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    up_stub_install();
    char dir[] = "/tmp/pl-scripts-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    write_file(dir, "init.lua",
               "pl.hooks.input = function(s, line) s.last = line end\n"
               "pl.hooks.missed = function(n) return 'missed ' .. n end\n");
    char saved_dir[sizeof g_cfg.scripts_dir];
    memcpy(saved_dir, g_cfg.scripts_dir, sizeof saved_dir);
    snprintf(g_cfg.scripts_dir, sizeof g_cfg.scripts_dir, "%s", dir);
    char err[512];
    CHECK(script_init(&loop, err, sizeof err) == 0);
    Session *s = session_new();
    s->script_ref = script_session_new(s);
    CHECK(s->script_ref >= 0);
    char out[64];
    script_render_count("missed", 3, out, sizeof out);
    CHECK_STR(out, "missed 3");

    int mb = g_cfg.script_memory_mb;
    g_cfg.script_memory_mb = 0; // every allocation of the Lua state fails from now on
    Session *t = session_new();
    t->script_ref = script_session_new(t);
    CHECK(t->script_ref == -1);
    const char line[] = "a line long enough that Lua must allocate a new string for it";
    script_input(s, line, sizeof line - 1);
    script_render_count("missed", 4, out, sizeof out);
    CHECK_STR(out, "");
    CHECK(script_reload("test") == -1);

    g_cfg.script_memory_mb = mb;
    CHECK(script_reload("test") == 0);
    script_render_count("missed", 5, out, sizeof out);
    CHECK_STR(out, "missed 5");

    script_stop_watching();
    sessions_free_all();
    uv_run(&loop, UV_RUN_DEFAULT);
    script_close();
    CHECK(uv_loop_close(&loop) == 0);
    memcpy(g_cfg.scripts_dir, saved_dir, sizeof saved_dir);
    char path[128];
    snprintf(path, sizeof path, "%s/init.lua", dir);
    unlink(path);
    rmdir(dir);
}
