//! The f32 GEMM of the SIMD paths: operands packed into MR-row and NR-column panels, cache
//! blocked in the GotoBLAS loop order, an MR x NR register-tile micro-kernel per ISA.
//!
//! Every micro-kernel adds the products of one element in `k` order, one fused
//! multiply-add at a time, starting from zero (first block, `beta = 0`), `beta * C`
//! (first block) or the partial result (later blocks). The blocking along `k` ([`KC`]) is
//! the same for every ISA, so all paths give the same bits, and a scalar `mul_add` chain
//! ([`reference`]) gives them too: the tests compare exactly.

use std::cell::RefCell;

/// Depth of one packed block: 256 rows of B (NR wide) stay in L1/L2 between tiles.
pub const KC: usize = 256;
/// Rows of A packed at once (rounded down to a multiple of MR): MC x KC floats in L2.
const MC: usize = 144;
/// Columns of B packed at once (rounded down to a multiple of NR): KC x NC floats in L2/L3.
const NC: usize = 2048;

/// How a tile's accumulators start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// From zero: C is not read (it may hold anything, NaN included).
    Zero,
    /// From C as it is.
    Load,
    /// From `beta * C`.
    Scale(f32),
}

impl Init {
    /// The start of the block at depth `p0` of `C = A B + beta C`.
    pub fn of_block(p0: usize, beta: f32) -> Init {
        match (p0, beta) {
            (0, 0.0) => Init::Zero,
            (0, 1.0) | (1.., _) => Init::Load,
            (0, beta) => Init::Scale(beta),
        }
    }

    /// The start of an accumulator whose C element is `c` (read only when needed).
    #[inline(always)]
    pub fn start(self, c: impl FnOnce() -> f32) -> f32 {
        match self {
            Init::Zero => 0.0,
            Init::Load => c(),
            Init::Scale(beta) => beta * c(),
        }
    }
}

/// An MR x NR register tile: `c[i * rsc + j] = init + sum_p a[p * MR + i] * b[p * NR + j]`.
pub trait MicroKernel {
    const MR: usize;
    const NR: usize;
    /// # Safety
    /// `a` holds `kc * MR` and `b` `kc * NR` floats, `c` an MR x NR tile with row stride
    /// `rsc`, and the CPU supports the kernel's instructions.
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, init: Init);
}

/// A view of a strided matrix: element (i, j) at `ptr + i * rs + j * cs`.
#[derive(Clone, Copy)]
pub struct View {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

impl View {
    #[inline(always)]
    unsafe fn at(self, i: usize, j: usize) -> f32 {
        *self.ptr.add(i * self.rs + j * self.cs)
    }
}

/// 64-byte aligned storage for the packed panels, so full-width loads never split lines.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

thread_local! {
    /// Per-thread packing buffers (A panels, B panels), grown once and reused: no
    /// allocation in the steady state.
    static PACK: RefCell<(Vec<Line>, Vec<Line>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

fn floats(buf: &mut Vec<Line>, len: usize) -> &mut [f32] {
    let lines = len.div_ceil(16);
    if buf.len() < lines {
        buf.resize(lines, Line([0.0; 16]));
    }
    // SAFETY: `Line` is 16 f32 with no padding; the slice covers `lines` whole lines.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<f32>(), len) }
}

/// Packs `count` lines from `first` (line `i`, depth `p` at `src.at(i, p)`) and depths
/// `p0..p0 + kc` into `width`-line panels (`dst[panel][p * width + i]`), zero lines past the
/// edge. A's rows pack as they are; B's columns pack through its transposed view.
unsafe fn pack_panels(
    src: View,
    first: usize,
    count: usize,
    p0: usize,
    kc: usize,
    width: usize,
    dst: &mut [f32],
) {
    for (panel, out) in dst
        .chunks_exact_mut(kc * width)
        .take(count.div_ceil(width))
        .enumerate()
    {
        let l0 = panel * width;
        let lines = width.min(count - l0);
        if lines < width {
            out.fill(0.0);
        }
        if src.rs == 1 {
            // The lines are contiguous at each depth: copy a panel row at a time.
            for p in 0..kc {
                let from = src.ptr.add(first + l0 + (p0 + p) * src.cs);
                std::ptr::copy_nonoverlapping(from, out.as_mut_ptr().add(p * width), lines);
            }
        } else {
            for i in 0..lines {
                for p in 0..kc {
                    out[p * width + i] = src.at(first + l0 + i, p0 + p);
                }
            }
        }
    }
}

/// Packs rows `i0..i0 + mc` and depths `p0..p0 + kc` of A into MR-row panels.
unsafe fn pack_a<K: MicroKernel>(
    a: View,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    dst: &mut [f32],
) {
    pack_panels(a, i0, mc, p0, kc, K::MR, dst);
}

/// Packs depths `p0..p0 + kc` and columns `j0..j0 + nc` of B into NR-column panels.
unsafe fn pack_b<K: MicroKernel>(
    b: View,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
    dst: &mut [f32],
) {
    let columns = View {
        ptr: b.ptr,
        rs: b.cs,
        cs: b.rs,
    };
    pack_panels(columns, j0, nc, p0, kc, K::NR, dst);
}

/// `C (m x n, row stride rsc) = A B + beta C` through micro-kernel `K`.
///
/// # Safety
/// `a`, `b` describe valid m x k and k x n matrices, `c` a valid m x n one with unit
/// column stride, no overlap with A or B; the CPU supports `K`'s instructions; `k > 0`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<K: MicroKernel>(
    m: usize,
    k: usize,
    n: usize,
    a: View,
    b: View,
    beta: f32,
    c: *mut f32,
    rsc: usize,
) {
    let mc_max = (MC / K::MR).max(1) * K::MR;
    let nc_max = (NC / K::NR).max(1) * K::NR;
    PACK.with_borrow_mut(|(pa, pb)| {
        for j0 in (0..n).step_by(nc_max) {
            let nc = nc_max.min(n - j0);
            for p0 in (0..k).step_by(KC) {
                let kc = KC.min(k - p0);
                let init = Init::of_block(p0, beta);
                let bp = floats(pb, nc.div_ceil(K::NR) * K::NR * kc);
                pack_b::<K>(b, p0, kc, j0, nc, bp);
                for i0 in (0..m).step_by(mc_max) {
                    let mc = mc_max.min(m - i0);
                    let ap = floats(pa, mc.div_ceil(K::MR) * K::MR * kc);
                    pack_a::<K>(a, i0, mc, p0, kc, ap);
                    macro_block::<K>(ap, bp, kc, mc, nc, c.add(i0 * rsc + j0), rsc, init);
                }
            }
        }
    });
}

/// One packed block: every MR x NR tile of an `mc x nc` part of C.
#[allow(clippy::too_many_arguments)]
unsafe fn macro_block<K: MicroKernel>(
    ap: &[f32],
    bp: &[f32],
    kc: usize,
    mc: usize,
    nc: usize,
    c: *mut f32,
    rsc: usize,
    init: Init,
) {
    for (jp, bpanel) in bp
        .chunks_exact(kc * K::NR)
        .take(nc.div_ceil(K::NR))
        .enumerate()
    {
        let cols = K::NR.min(nc - jp * K::NR);
        for (ip, apanel) in ap
            .chunks_exact(kc * K::MR)
            .take(mc.div_ceil(K::MR))
            .enumerate()
        {
            let rows = K::MR.min(mc - ip * K::MR);
            let ct = c.add(ip * K::MR * rsc + jp * K::NR);
            if rows == K::MR && cols == K::NR {
                K::tile(kc, apanel.as_ptr(), bpanel.as_ptr(), ct, rsc, init);
            } else {
                edge_tile::<K>(kc, apanel, bpanel, ct, rsc, rows, cols, init);
            }
        }
    }
}

/// A tile cut by the edge of C: computed whole in a scratch tile, its valid part copied
/// (C outside the matrix is never read or written).
#[allow(clippy::too_many_arguments)]
unsafe fn edge_tile<K: MicroKernel>(
    kc: usize,
    apanel: &[f32],
    bpanel: &[f32],
    c: *mut f32,
    rsc: usize,
    rows: usize,
    cols: usize,
    init: Init,
) {
    // The widest tile of any kernel: 16 x 64 floats.
    let mut tmp = [0.0f32; 1024];
    debug_assert!(K::MR * K::NR <= tmp.len());
    if init != Init::Zero {
        for i in 0..rows {
            std::ptr::copy_nonoverlapping(c.add(i * rsc), tmp.as_mut_ptr().add(i * K::NR), cols);
        }
    }
    K::tile(
        kc,
        apanel.as_ptr(),
        bpanel.as_ptr(),
        tmp.as_mut_ptr(),
        K::NR,
        init,
    );
    for i in 0..rows {
        std::ptr::copy_nonoverlapping(tmp.as_ptr().add(i * K::NR), c.add(i * rsc), cols);
    }
}

/// The same sums as every micro-kernel, element by element with `f32::mul_add`: the
/// exact reference of the tests (`C` dense, row stride `n`).
#[allow(clippy::too_many_arguments)]
pub fn reference(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    sa: (usize, usize),
    b: &[f32],
    sb: (usize, usize),
    beta: f32,
    c: &mut [f32],
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = c[i * n + j];
            for p0 in (0..k).step_by(KC) {
                acc = Init::of_block(p0, beta).start(|| acc);
                for p in p0..(p0 + KC).min(k) {
                    acc = a[i * sa.0 + p * sa.1].mul_add(b[p * sb.0 + j * sb.1], acc);
                }
            }
            c[i * n + j] = acc;
        }
    }
}

/// Defines `$name`, a [`MicroKernel`] of `$mr` rows by `$nv` vectors of `$lanes` floats,
/// from one ISA's intrinsics; the body is the same for every ISA.
macro_rules! micro_kernel {
    ($name:ident, $feature:literal, $mr:literal, $nv:literal, $lanes:literal,
     $zero:ident, $load:ident, $store:ident, $set1:ident, $mul:ident, $fma:ident) => {
        pub struct $name;

        impl $crate::backend::cpu::gemm_blocked::MicroKernel for $name {
            const MR: usize = $mr;
            const NR: usize = $nv * $lanes;
            #[inline]
            unsafe fn tile(
                kc: usize,
                a: *const f32,
                b: *const f32,
                c: *mut f32,
                rsc: usize,
                init: $crate::backend::cpu::gemm_blocked::Init,
            ) {
                tile(kc, a, b, c, rsc, init)
            }
        }

        #[target_feature(enable = $feature)]
        unsafe fn tile(
            kc: usize,
            a: *const f32,
            b: *const f32,
            c: *mut f32,
            rsc: usize,
            init: $crate::backend::cpu::gemm_blocked::Init,
        ) {
            use $crate::backend::cpu::gemm_blocked::Init;
            let mut acc = [[$zero(); $nv]; $mr];
            match init {
                Init::Zero => {}
                Init::Load => {
                    for (i, row) in acc.iter_mut().enumerate() {
                        for (v, r) in row.iter_mut().enumerate() {
                            *r = $load(c.add(i * rsc + v * $lanes));
                        }
                    }
                }
                Init::Scale(beta) => {
                    let beta = $set1(beta);
                    for (i, row) in acc.iter_mut().enumerate() {
                        for (v, r) in row.iter_mut().enumerate() {
                            *r = $mul(beta, $load(c.add(i * rsc + v * $lanes)));
                        }
                    }
                }
            }
            for p in 0..kc {
                let bp = b.add(p * $nv * $lanes);
                let mut bv = [$zero(); $nv];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = $load(bp.add(v * $lanes));
                }
                let ap = a.add(p * $mr);
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = $set1(*ap.add(i));
                    for (r, x) in row.iter_mut().zip(&bv) {
                        *r = $fma(ai, *x, *r);
                    }
                }
            }
            for (i, row) in acc.iter().enumerate() {
                for (v, r) in row.iter().enumerate() {
                    $store(c.add(i * rsc + v * $lanes), *r);
                }
            }
        }
    };
}
pub(crate) use micro_kernel;
