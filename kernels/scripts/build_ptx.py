#!/usr/bin/env python3
"""Regenerate the committed PTX from the CUDA C sources with NVRTC 11.8 (no GPU needed).

    kernels/cuda/NAME.cu        -> kernels/ptx/NAME.ptx        (shipped, embedded by src/ptx.rs)
    kernels/tests/cuda/NAME.cu  -> kernels/tests/ptx/NAME.ptx  (test-only kernels)

NVRTC is driven through its C API with ctypes (libnvrtc.so.11.2 from the PyPI wheel
nvidia-cuda-nvrtc-cu11==11.8.89, found in the venv at $CUDA_TOOLS, default ~/cuda-tools).
Options: --gpu-architecture=compute_70 -default-device -I kernels/cuda.

The first line of every .ptx records the source's hash:
    // source-sha256: <hex>
where the hash is SHA-256 over the bytes of the .cu file followed by the bytes of every header
it includes with `#include "NAME"` (looked up next to the source, then in kernels/cuda/), in the
order of the include lines (not recursive). kernels/tests/kernels_ptx_hash.rs recomputes it.

Usage:
    build_ptx.py            regenerate every .ptx in place
    build_ptx.py --check    regenerate into a temp dir; fail if a committed .ptx differs or is stale
"""
import ctypes
import glob
import hashlib
import os
import re
import sys
import sysconfig
import tempfile

KERNELS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE_DIR = os.path.join(KERNELS, "cuda")
PAIRS = [  # (source dir, ptx dir)
    (os.path.join(KERNELS, "cuda"), os.path.join(KERNELS, "ptx")),
    (os.path.join(KERNELS, "tests", "cuda"), os.path.join(KERNELS, "tests", "ptx")),
]
OPTIONS = ["--gpu-architecture=compute_70", "-default-device", "-I" + INCLUDE_DIR]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def find_nvrtc():
    tools = os.environ.get("CUDA_TOOLS", os.path.join(os.path.expanduser("~"), "cuda-tools"))
    candidates = glob.glob(os.path.join(tools, "lib", "python3*", "site-packages", "nvidia",
                                        "cuda_nvrtc", "lib", "libnvrtc.so.11.2"))
    here = os.path.join(sysconfig.get_paths()["purelib"], "nvidia", "cuda_nvrtc", "lib",
                        "libnvrtc.so.11.2")
    if os.path.exists(here):
        candidates.insert(0, here)
    if not candidates:
        sys.exit(f"build_ptx: libnvrtc.so.11.2 not found under {tools}; "
                 "run kernels/scripts/install_cuda_tools.sh")
    lib = candidates[0]
    # Load the builtins library first so NVRTC finds it without LD_LIBRARY_PATH.
    for b in glob.glob(os.path.join(os.path.dirname(lib), "libnvrtc-builtins.so*")):
        ctypes.CDLL(b, mode=ctypes.RTLD_GLOBAL)
    nvrtc = ctypes.CDLL(lib)
    nvrtc.nvrtcGetErrorString.restype = ctypes.c_char_p
    return nvrtc


def source_hash(path):
    """SHA-256 of the source followed by its directly included local headers."""
    with open(path, "rb") as f:
        src = f.read()
    h = hashlib.sha256(src)
    for name in INCLUDE_RE.findall(src.decode("utf-8")):
        for d in (os.path.dirname(path), INCLUDE_DIR):
            p = os.path.join(d, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    h.update(f.read())
                break
        else:
            sys.exit(f"build_ptx: {path}: include \"{name}\" not found")
    return h.hexdigest()


def compile_one(nvrtc, path):
    def check(rc, what):
        if rc != 0:
            raise RuntimeError(f"{what}: {nvrtc.nvrtcGetErrorString(rc).decode()}")

    with open(path, "rb") as f:
        src = f.read()
    prog = ctypes.c_void_p()
    name = os.path.basename(path).encode()
    check(nvrtc.nvrtcCreateProgram(ctypes.byref(prog), src, name, 0, None, None),
          "nvrtcCreateProgram")
    try:
        opts = (ctypes.c_char_p * len(OPTIONS))(*[o.encode() for o in OPTIONS])
        rc = nvrtc.nvrtcCompileProgram(prog, len(OPTIONS), opts)
        log_size = ctypes.c_size_t()
        nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(log_size))
        log = ctypes.create_string_buffer(log_size.value)
        nvrtc.nvrtcGetProgramLog(prog, log)
        log = log.value.decode(errors="replace").strip()
        if rc != 0:
            raise RuntimeError(f"compile failed:\n{log}")
        if log:
            print(f"build_ptx: {os.path.relpath(path, KERNELS)}: {log}", file=sys.stderr)
        size = ctypes.c_size_t()
        check(nvrtc.nvrtcGetPTXSize(prog, ctypes.byref(size)), "nvrtcGetPTXSize")
        buf = ctypes.create_string_buffer(size.value)
        check(nvrtc.nvrtcGetPTX(prog, buf), "nvrtcGetPTX")
        ptx = buf.value.decode()
    finally:
        nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))
    return f"// source-sha256: {source_hash(path)}\n" + ptx


def main():
    check_mode = "--check" in sys.argv[1:]
    unknown = [a for a in sys.argv[1:] if a != "--check"]
    if unknown:
        sys.exit(f"build_ptx: unknown argument {unknown[0]} (usage: build_ptx.py [--check])")
    nvrtc = find_nvrtc()
    failures = []
    tmp = tempfile.mkdtemp(prefix="ptx-check-") if check_mode else None
    count = 0
    for src_dir, ptx_dir in PAIRS:
        sources = sorted(glob.glob(os.path.join(src_dir, "*.cu")))
        expected = set()
        for src in sources:
            stem = os.path.splitext(os.path.basename(src))[0]
            expected.add(stem + ".ptx")
            rel = os.path.relpath(src, KERNELS)
            try:
                ptx = compile_one(nvrtc, src)
            except RuntimeError as e:
                failures.append(f"{rel}: {e}")
                continue
            count += 1
            committed = os.path.join(ptx_dir, stem + ".ptx")
            if check_mode:
                out = os.path.join(tmp, os.path.relpath(ptx_dir, KERNELS), stem + ".ptx")
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with open(out, "w") as f:
                    f.write(ptx)
                old = open(committed).read() if os.path.exists(committed) else None
                if old != ptx:
                    failures.append(f"{os.path.relpath(committed, KERNELS)} differs from a fresh "
                                    f"compile of {rel} (fresh copy: {out}); run build_ptx.py")
            else:
                os.makedirs(ptx_dir, exist_ok=True)
                old = open(committed).read() if os.path.exists(committed) else None
                if old != ptx:
                    with open(committed, "w") as f:
                        f.write(ptx)
                    print(f"build_ptx: wrote {os.path.relpath(committed, KERNELS)}")
        for p in sorted(glob.glob(os.path.join(ptx_dir, "*.ptx"))):
            if os.path.basename(p) not in expected:
                failures.append(f"{os.path.relpath(p, KERNELS)} has no source .cu (stale)")
    for f in failures:
        print(f"build_ptx: FAIL {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"build_ptx: {count} sources {'match the committed PTX' if check_mode else 'compiled'}")


if __name__ == "__main__":
    main()
