#include "base/stats.h"

Stats g_stats;
