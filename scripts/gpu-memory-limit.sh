#!/bin/sh
# Chromium's --gpu-launcher for tests that run the GPU out of memory for real: starts the GPU
# process with its data memory capped at GPU_DATA_LIMIT_KB (RLIMIT_DATA). With SwiftShader the
# GPU's memory is the GPU process's own, so allocations past the cap end that process, as a driver
# reset or an exhausted GPU does. Chromium applies a --gpu-launcher only with --no-zygote.
ulimit -d "${GPU_DATA_LIMIT_KB:?set GPU_DATA_LIMIT_KB}"
exec "$@"
