#include "base/histogram.h"

#include <stdio.h>

static const double BOUNDS[HIST_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                            0.005,   0.01,   0.025,   0.05,   0.1,   0.25};

Histogram g_event_hist = {"partyline_event_seconds", "Loop time spent handling one client message.", {}, 0, 0};
Histogram g_fanout_hist = {"partyline_fanout_seconds", "Time from publishing an event to writing it, per delivery.",
                           {}, 0, 0};

void hist_observe(Histogram *h, double seconds) {
    int i = 0;
    while (i < HIST_BUCKETS && seconds > BOUNDS[i]) i++;
    h->counts[i]++;
    h->count++;
    h->sum += seconds;
}

void hist_text(const Histogram *h, Buf *out) {
    char line[256];
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
    buf_add(out, line, (size_t)n, 1 << 20);
    uint64_t cum = 0;
    for (int i = 0; i <= HIST_BUCKETS; i++) {
        cum += h->counts[i];
        if (i < HIST_BUCKETS) n = snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", h->name, BOUNDS[i], (unsigned long long)cum);
        else n = snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long)cum);
        buf_add(out, line, (size_t)n, 1 << 20);
    }
    n = snprintf(line, sizeof line, "%s_sum %.9f\n%s_count %llu\n", h->name, h->sum, h->name, (unsigned long long)h->count);
    buf_add(out, line, (size_t)n, 1 << 20);
}
