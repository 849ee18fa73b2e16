// Prometheus histograms with fixed buckets (seconds).
#pragma once
#include <stdint.h>

#include "base/buf.h"

#define HIST_BUCKETS 12

struct Histogram {
    const char *name;
    const char *help;
    uint64_t counts[HIST_BUCKETS + 1]; // the last is +Inf
    uint64_t count;
    double sum;
};

void hist_observe(Histogram *h, double seconds);
void hist_text(const Histogram *h, Buf *out);

extern Histogram g_event_hist;  // loop time spent on one client message
extern Histogram g_fanout_hist; // publish to write, per delivery
