#!/bin/sh
":" //; export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"; exec node "$0" "$@"
// The `cgihost` command: the bundled CLI (`npm run build` makes dist/).
//
// The line above is read by sh and skipped by node (a string, then a comment): it starts node in place of
// the shell (exec: one process) with glibc's mmap threshold fixed at its default 128 KiB. Left dynamic,
// glibc raises it after the first large free, so later large Buffers of a CGI worker come from the
// allocator's per-thread arenas, and when the worker is terminated (over its memory bound) that memory
// stays resident in the host instead of going back to the system (README "Memory").
import '../dist/cli.js';
