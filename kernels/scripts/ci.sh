#!/usr/bin/env bash
# CI for the CUDA kernels (no GPU needed): install the pinned NVRTC/ptxas from PyPI (cached in
# $CUDA_TOOLS, default ~/cuda-tools), check that the committed PTX is exactly what the sources
# compile to, and validate every .ptx with ptxas for sm_70/sm_80/sm_90 (errors, spills).
# The Rust tests (cargo test -p kernels) run the PTX on the simulator; they are not run here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/install_cuda_tools.sh"
py="${CUDA_TOOLS:-$HOME/cuda-tools}/bin/python"
"$py" "$here/build_ptx.py" --check
"$py" "$here/check_ptxas.py"
