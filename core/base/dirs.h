// Directories the server makes for itself (data_dir).
#pragma once

// Makes path and its parents; the last one is the server's alone (0700)
// when made here, one that exists keeps the mode its owner chose. 0, or -1
// with errno.
int dir_make(const char *path);
