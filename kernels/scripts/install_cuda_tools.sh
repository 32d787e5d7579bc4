#!/usr/bin/env bash
# Installs the pinned CUDA compiler pieces from PyPI into a virtual environment (no GPU needed):
#   nvidia-cuda-nvrtc-cu11==11.8.89  (NVRTC: CUDA C -> PTX, used by build_ptx.py)
#   nvidia-cuda-nvcc-cu12==12.9.86   (ptxas: validates the PTX for sm_70/80/90, check_ptxas.sh)
# The venv lives at $CUDA_TOOLS (default: $HOME/cuda-tools). Idempotent: quick when present.
set -euo pipefail

CUDA_TOOLS="${CUDA_TOOLS:-$HOME/cuda-tools}"
NVRTC_PKG="nvidia-cuda-nvrtc-cu11==11.8.89"
NVCC_PKG="nvidia-cuda-nvcc-cu12==12.9.86"

if [ ! -x "$CUDA_TOOLS/bin/python" ]; then
    echo "install_cuda_tools: creating venv at $CUDA_TOOLS"
    python3 -m venv "$CUDA_TOOLS"
fi

have() {
    # have NAME VERSION: is exactly that version installed in the venv?
    local v
    v="$("$CUDA_TOOLS/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true)"
    [ "$v" = "$2" ]
}

missing=()
have nvidia-cuda-nvrtc-cu11 11.8.89 || missing+=("$NVRTC_PKG")
have nvidia-cuda-nvcc-cu12 12.9.86 || missing+=("$NVCC_PKG")

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install_cuda_tools: installing ${missing[*]}"
    "$CUDA_TOOLS/bin/pip" install --disable-pip-version-check -q "${missing[@]}"
fi

site="$("$CUDA_TOOLS/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
test -f "$site/nvidia/cuda_nvrtc/lib/libnvrtc.so.11.2" || { echo "install_cuda_tools: libnvrtc.so.11.2 missing under $site" >&2; exit 1; }
test -x "$site/nvidia/cuda_nvcc/bin/ptxas" || { echo "install_cuda_tools: ptxas missing under $site" >&2; exit 1; }
echo "install_cuda_tools: ok ($CUDA_TOOLS)"
