//! Helpers shared by the kernel tests (`mod kernels_util;` in each tests/kernels_*.rs).
#![allow(dead_code)]

use kernels::sim::{
    Context, DevicePtr, Function, KernelArg, LaunchConfig, LaunchStats, SimOptions,
};

/// A simulator context with all checks on; sequential when `KERNELS_SIM_SEQUENTIAL` is set.
pub fn context() -> Context {
    let parallel = std::env::var_os("KERNELS_SIM_SEQUENTIAL").is_none();
    Context::new(SimOptions {
        checks: true,
        parallel,
    })
}

/// The test-only PTX modules (kernels/tests/ptx).
pub const FEATURES_PTX: &str = include_str!("../ptx/features.ptx");
pub const PLANTED_BUGS_PTX: &str = include_str!("../ptx/planted_bugs.ptx");

/// The names of the `.entry` kernels declared in a PTX text, in order.
pub fn entry_names(ptx: &str) -> Vec<&str> {
    ptx.lines()
        .filter_map(|l| l.split(".entry ").nth(1))
        .filter_map(|rest| rest.split(|c: char| c == '(' || c.is_whitespace()).next())
        .collect()
}

/// Loads `ptx` and returns the named entry, panicking with the simulator's message.
pub fn function(ctx: &Context, ptx: &str, name: &str) -> Function {
    let m = ctx
        .load_module(ptx)
        .unwrap_or_else(|e| panic!("load_module: {e}"));
    m.function(name)
        .unwrap_or_else(|e| panic!("function {name}: {e}"))
}

/// A small deterministic generator (SplitMix64) for test inputs. The seed is fresh per run
/// (time-based) unless `KERNELS_TEST_SEED` is set; tests print it so a failure can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn fresh(test: &str) -> Rng {
        let seed = match std::env::var("KERNELS_TEST_SEED") {
            Ok(s) => s.parse().expect("KERNELS_TEST_SEED must be a u64"),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64,
        };
        eprintln!("{test}: KERNELS_TEST_SEED={seed}");
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn vec_f32(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(lo, hi)).collect()
    }
}

pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Allocates a device buffer holding `bytes` (at least 4 bytes, so empty inputs stay valid).
pub fn upload(ctx: &Context, bytes: &[u8]) -> DevicePtr {
    let p = ctx.alloc(bytes.len().max(4)).unwrap();
    if !bytes.is_empty() {
        ctx.copy_htod(p, bytes).unwrap();
    }
    p
}

pub fn upload_f32(ctx: &Context, v: &[f32]) -> DevicePtr {
    upload(ctx, &f32_bytes(v))
}

pub fn upload_u32(ctx: &Context, v: &[u32]) -> DevicePtr {
    upload(ctx, &u32_bytes(v))
}

/// A buffer of `n` 4-byte words filled with 0xFF bytes: NaN as f32 (and u32::MAX), so any
/// element a kernel fails to write shows up.
pub fn poisoned(ctx: &Context, n: usize) -> DevicePtr {
    let p = ctx.alloc((4 * n).max(4)).unwrap();
    ctx.memset_d8(p, 0xFF, (4 * n).max(4)).unwrap();
    p
}

pub fn download(ctx: &Context, p: DevicePtr, bytes: usize) -> Vec<u8> {
    let mut out = vec![0u8; bytes];
    if bytes > 0 {
        ctx.copy_dtoh(&mut out, p).unwrap();
    }
    out
}

pub fn download_f32(ctx: &Context, p: DevicePtr, n: usize) -> Vec<f32> {
    download(ctx, p, 4 * n)
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

pub fn download_u32(ctx: &Context, p: DevicePtr, n: usize) -> Vec<u32> {
    download(ctx, p, 4 * n)
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

pub fn cfg(grid: (u32, u32, u32), block: (u32, u32, u32), shared_bytes: u32) -> LaunchConfig {
    LaunchConfig {
        grid,
        block,
        shared_bytes,
    }
}

pub fn cfg1(grid: u32, block: u32) -> LaunchConfig {
    cfg((grid, 1, 1), (block, 1, 1), 0)
}

/// Launches and panics with the simulator's message on any error or violation.
pub fn launch(ctx: &Context, f: &Function, c: LaunchConfig, args: &[KernelArg]) -> LaunchStats {
    ctx.launch(f, c, args)
        .unwrap_or_else(|e| panic!("launch {c:?}: [{}] {e}", e.kind()))
}

/// Asserts |got - want| <= atol + rtol * |want| elementwise (and no NaN in got).
pub fn assert_close(what: &str, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            !g.is_nan() && err <= atol + rtol * w.abs(),
            "{what}: element {i}: got {g}, want {w} (error {err:e})"
        );
    }
}

// ===== kerna: f32/f64-generic helpers and packed (by-value struct) launches =====

/// A kernel element type (f32 or f64): the entry suffix, the test tolerance and conversions.
pub trait Elem: Copy + PartialEq + std::fmt::Debug + Send + Sync + 'static {
    /// Entry name suffix: "f32" or "f64".
    const SUFFIX: &'static str;
    /// Bound on ||gpu - ref|| / ||ref|| for this type (kernel_abi.md).
    const TOL: f64;
    const SIZE: usize;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn arg(self) -> KernelArg;
    fn to_le(self) -> Vec<u8>;
    fn from_le(b: &[u8]) -> Self;
}

impl Elem for f32 {
    const SUFFIX: &'static str = "f32";
    const TOL: f64 = 1e-5;
    const SIZE: usize = 4;
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn arg(self) -> KernelArg {
        KernelArg::F32(self)
    }
    fn to_le(self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
    fn from_le(b: &[u8]) -> Self {
        f32::from_le_bytes(b.try_into().unwrap())
    }
}

impl Elem for f64 {
    const SUFFIX: &'static str = "f64";
    const TOL: f64 = 1e-12;
    const SIZE: usize = 8;
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn arg(self) -> KernelArg {
        KernelArg::F64(self)
    }
    fn to_le(self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
    fn from_le(b: &[u8]) -> Self {
        f64::from_le_bytes(b.try_into().unwrap())
    }
}

/// `stem_f32` or `stem_f64`.
pub fn entry<T: Elem>(stem: &str) -> String {
    format!("{stem}_{}", T::SUFFIX)
}

/// Uniform values in [lo, hi) as T (drawn in f64, so the f64 kernels get full-precision inputs).
pub fn vec_t<T: Elem>(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<T> {
    (0..n)
        .map(|_| T::from_f64(lo + (hi - lo) * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64))
        .collect()
}

pub fn upload_t<T: Elem>(ctx: &Context, v: &[T]) -> DevicePtr {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le()).collect();
    upload(ctx, &bytes)
}

pub fn download_t<T: Elem>(ctx: &Context, p: DevicePtr, n: usize) -> Vec<T> {
    download(ctx, p, T::SIZE * n)
        .chunks_exact(T::SIZE)
        .map(T::from_le)
        .collect()
}

/// `n` elements of T filled with 0xFF bytes (NaN in f32 and f64).
pub fn poisoned_t<T: Elem>(ctx: &Context, n: usize) -> DevicePtr {
    let bytes = (T::SIZE * n).max(8);
    let p = ctx.alloc(bytes).unwrap();
    ctx.memset_d8(p, 0xFF, bytes).unwrap();
    p
}

/// ||got - want|| / ||want|| (Euclidean; NaN anywhere gives NaN, which fails every bound).
pub fn rel_err<T: Elem>(got: &[T], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "rel_err: lengths differ");
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&g, &w) in got.iter().zip(want) {
        let g = g.to_f64();
        if g.is_nan() != w.is_nan() {
            return f64::NAN;
        }
        if g.is_nan() {
            continue; // NaN expected and produced
        }
        num += (g - w) * (g - w);
        den += w * w;
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

/// Asserts rel_err(got, want) < T::TOL.
pub fn assert_rel<T: Elem>(what: &str, got: &[T], want: &[f64]) {
    let e = rel_err(got, want);
    assert!(
        e < T::TOL,
        "{what} [{}]: relative error {e:e} (bound {:e})\n got {:?}\nwant {:?}",
        T::SUFFIX,
        T::TOL,
        &got[..got.len().min(8)],
        &want[..want.len().min(8)]
    );
}

/// One launch argument: a scalar/pointer or the raw bytes of a by-value struct.
pub enum Arg {
    K(KernelArg),
    Bytes(Vec<u8>),
}

impl From<KernelArg> for Arg {
    fn from(k: KernelArg) -> Arg {
        Arg::K(k)
    }
}

fn kernel_arg_bytes(a: &KernelArg) -> Vec<u8> {
    match a {
        KernelArg::U32(v) => v.to_le_bytes().to_vec(),
        KernelArg::I32(v) => v.to_le_bytes().to_vec(),
        KernelArg::U64(v) => v.to_le_bytes().to_vec(),
        KernelArg::I64(v) => v.to_le_bytes().to_vec(),
        KernelArg::F32(v) => v.to_le_bytes().to_vec(),
        KernelArg::F64(v) => v.to_le_bytes().to_vec(),
        KernelArg::Ptr(p) => p.0.to_le_bytes().to_vec(),
    }
}

/// Packs `args` at the entry's parameter offsets (`Function::params`), checking each size, and
/// launches with `launch_packed`; panics with the simulator's message on any error.
pub fn launch_args(ctx: &Context, f: &Function, c: LaunchConfig, args: &[Arg]) -> LaunchStats {
    let params = f.params();
    assert_eq!(args.len(), params.len(), "argument count");
    let size = params.iter().map(|p| p.offset + p.size).max().unwrap_or(0) as usize;
    let mut buf = vec![0u8; size];
    for (i, (a, p)) in args.iter().zip(params).enumerate() {
        let bytes = match a {
            Arg::K(k) => kernel_arg_bytes(k),
            Arg::Bytes(b) => b.clone(),
        };
        assert_eq!(
            bytes.len(),
            p.size as usize,
            "argument {i}: {} bytes for parameter `{}` ({}, {} bytes)",
            bytes.len(),
            p.name,
            p.ty,
            p.size
        );
        buf[p.offset as usize..(p.offset + p.size) as usize].copy_from_slice(&bytes);
    }
    ctx.launch_packed(f, c, &buf)
        .unwrap_or_else(|e| panic!("launch {c:?}: [{}] {e}", e.kind()))
}

/// Sectors per request of a perfectly coalesced warp access to T (4 for f32, 8 for f64).
pub fn ideal_sectors<T: Elem>() -> f64 {
    (32 * T::SIZE / 32) as f64
}
