#!/usr/bin/env bash
# The full-size WebGPU-vs-PyTorch step timing on a GPU machine (tools/bench/gpu_step.py).
#   bash bench/python/gpu_step.sh prepare   here, with network: Vulkan loader debs into .gl/, wheels
#                                          the GPU machine lacks into .whl/ (both git-ignored)
#   bash bench/python/gpu_step.sh run OUT   there (carry .gl and .whl): unpack, install, time;
#                                          writes OUT/gpu_step.json and OUT/gpu_step.log
# Extra arguments after OUT go to gpu_step.py (e.g. --resolutions 512 --budget-seconds 400).
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
prepare)
  grep -qx '/.gl/' .git/info/exclude || echo /.gl/ >> .git/info/exclude
  grep -qx '/.whl/' .git/info/exclude || echo /.whl/ >> .git/info/exclude
  mkdir -p .gl .whl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1)
  # Python 3.12 wheels: the exporter's needs that the GPU machine's image does not have.
  for w in diffusers==0.42.1 onnxscript==0.7.2 onnx-ir==1.1.0 ml_dtypes==0.6.0 onnxruntime-ep-webgpu==0.4.0; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d .whl "$w"
  done
  du -sh .gl .whl
  ;;
run)
  out=${2:?usage: gpu_step.sh run OUT [gpu_step.py options]}
  shift 2
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  # the GPU machine's Python has no editable install of this repository: its packages by path
  export PYTHONPATH=/tmp/site:$PWD/tools/export:$PWD/tools/shapes PYTHONUNBUFFERED=1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  python3 bench/python/gpu_step.py --json "$out/gpu_step.json" "$@" 2>&1 | tee "$out/gpu_step.log"
  ;;
*)
  sed -n 2,7p "$0"
  exit 2
  ;;
esac
