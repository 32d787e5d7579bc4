//! The shipped SGEMM (cuda/gemm.cu) on the simulator against a CPU reference: odd shapes,
//! transposes, batches, alpha/beta, poisoned outputs, small grids (tile-stride loops).
#![allow(clippy::needless_range_loop)] // index loops mirror the kernels' index math

mod kernels_util;

use kernels::ptx::{gemm, ptx, Module};
use kernels::sim::{Context, DevicePtr, Function, KernelArg, LaunchStats};
use kernels_util::*;

#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    batch: usize,
    alpha: f32,
    beta: f32,
    /// Grid override (x, y, z); None = one block per tile.
    grid: Option<(u32, u32, u32)>,
}

impl Case {
    fn new(m: usize, n: usize, k: usize) -> Case {
        Case {
            m,
            n,
            k,
            trans_a: false,
            trans_b: false,
            batch: 1,
            alpha: 1.0,
            beta: 0.0,
            grid: None,
        }
    }
}

/// C[b] = alpha op(A[b]) op(B[b]) + beta C[b] in f64, with the same storage conventions.
fn reference(c: &Case, a: &[f32], b: &[f32], c0: &[f32]) -> Vec<f64> {
    let (m, n, k) = (c.m, c.n, c.k);
    let lda = if c.trans_a { m } else { k };
    let ldb = if c.trans_b { k } else { n };
    let mut out = vec![0f64; c.batch * m * n];
    for bt in 0..c.batch {
        let (ab, bb, cb) = (&a[bt * m * k..], &b[bt * k * n..], bt * m * n);
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for p in 0..k {
                    let av = if c.trans_a {
                        ab[p * lda + i]
                    } else {
                        ab[i * lda + p]
                    };
                    let bv = if c.trans_b {
                        bb[j * ldb + p]
                    } else {
                        bb[p * ldb + j]
                    };
                    s += av as f64 * bv as f64;
                }
                let mut v = c.alpha as f64 * s;
                if c.beta != 0.0 {
                    v += c.beta as f64 * c0[cb + i * n + j] as f64;
                }
                out[cb + i * n + j] = v;
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn launch_gemm(
    ctx: &Context,
    f: &Function,
    c: &Case,
    a: DevicePtr,
    b: DevicePtr,
    cc: DevicePtr,
) -> LaunchStats {
    let (m, n, k) = (c.m as i32, c.n as i32, c.k as i32);
    let lda = if c.trans_a { m } else { k };
    let ldb = if c.trans_b { k } else { n };
    let tile = gemm::SGEMM_TILE;
    let grid = c.grid.unwrap_or((
        (c.n as u32).div_ceil(tile).max(1),
        (c.m as u32).div_ceil(tile).max(1),
        c.batch as u32,
    ));
    let args = [
        KernelArg::I32(m),
        KernelArg::I32(n),
        KernelArg::I32(k),
        KernelArg::F32(c.alpha),
        KernelArg::Ptr(a),
        KernelArg::I32(lda),
        KernelArg::I64((c.m * c.k) as i64),
        KernelArg::I32(c.trans_a as i32),
        KernelArg::Ptr(b),
        KernelArg::I32(ldb),
        KernelArg::I64((c.k * c.n) as i64),
        KernelArg::I32(c.trans_b as i32),
        KernelArg::F32(c.beta),
        KernelArg::Ptr(cc),
        KernelArg::I32(n),
        KernelArg::I64((c.m * c.n) as i64),
        KernelArg::I32(c.batch as i32),
    ];
    launch(ctx, f, cfg(grid, gemm::SGEMM_BLOCK, 0), &args)
}

fn run_case(ctx: &Context, f: &Function, rng: &mut Rng, c: Case) -> LaunchStats {
    let a = rng.vec_f32(c.batch * c.m * c.k, -1.0, 1.0);
    let b = rng.vec_f32(c.batch * c.k * c.n, -1.0, 1.0);
    let c0 = rng.vec_f32(c.batch * c.m * c.n, -1.0, 1.0);
    let (da, db) = (upload_f32(ctx, &a), upload_f32(ctx, &b));
    // beta == 0: C is poisoned with NaN and must not be read; otherwise it holds c0.
    let dc = if c.beta == 0.0 {
        poisoned(ctx, c0.len())
    } else {
        upload_f32(ctx, &c0)
    };
    let stats = launch_gemm(ctx, f, &c, da, db, dc);
    let got = download_f32(ctx, dc, c0.len());
    let want = reference(&c, &a, &b, &c0);
    // f32 accumulation of k products of magnitude <= 1.
    let atol = 1e-5 * (c.k as f64 + 1.0) * c.alpha.abs().max(1.0) as f64;
    assert_close(&format!("{c:?}"), &got, &want, atol, 1e-5);
    for p in [da, db, dc] {
        ctx.free(p).unwrap();
    }
    stats
}

#[test]
fn sgemm_odd_shapes_and_transposes() {
    let ctx = context();
    let f = function(&ctx, ptx(Module::Gemm), gemm::SGEMM_F32);
    let mut rng = Rng::fresh("sgemm_odd_shapes_and_transposes");
    let shapes = [
        (1, 1, 1),
        (3, 5, 7),
        (17, 33, 9),
        (64, 64, 16),
        (65, 63, 17),
        (70, 130, 33),
    ];
    for &(m, n, k) in &shapes {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            run_case(
                &ctx,
                &f,
                &mut rng,
                Case {
                    trans_a: ta,
                    trans_b: tb,
                    ..Case::new(m, n, k)
                },
            );
        }
    }
}

#[test]
fn sgemm_alpha_beta_batch_and_small_grids() {
    let ctx = context();
    let f = function(&ctx, ptx(Module::Gemm), gemm::SGEMM_F32);
    let mut rng = Rng::fresh("sgemm_alpha_beta_batch_and_small_grids");
    // alpha/beta with C read back.
    run_case(
        &ctx,
        &f,
        &mut rng,
        Case {
            alpha: -0.5,
            beta: 0.75,
            ..Case::new(33, 47, 29)
        },
    );
    // Batched, transposed B (a backward-pass shape).
    run_case(
        &ctx,
        &f,
        &mut rng,
        Case {
            batch: 3,
            trans_b: true,
            beta: 1.0,
            ..Case::new(19, 70, 21)
        },
    );
    // K = 0: C = beta C.
    run_case(
        &ctx,
        &f,
        &mut rng,
        Case {
            beta: 2.0,
            ..Case::new(5, 6, 0)
        },
    );
    // A grid smaller than the tile count (and than the batch): tile- and batch-stride loops.
    run_case(
        &ctx,
        &f,
        &mut rng,
        Case {
            grid: Some((1, 1, 1)),
            batch: 2,
            ..Case::new(130, 129, 18)
        },
    );
    run_case(
        &ctx,
        &f,
        &mut rng,
        Case {
            grid: Some((2, 1, 1)),
            trans_a: true,
            ..Case::new(100, 200, 40)
        },
    );
}

#[test]
fn sgemm_launch_stats() {
    // For the record: coalescing and shared-memory cost of one 128 x 128 x 128 product.
    let ctx = context();
    let f = function(&ctx, ptx(Module::Gemm), gemm::SGEMM_F32);
    let mut rng = Rng::fresh("sgemm_launch_stats");
    let s = run_case(&ctx, &f, &mut rng, Case::new(128, 128, 128));
    let requests = s.global_load_requests + s.global_store_requests;
    println!("sgemm_f32 128x128x128, block 16x16, grid 2x2:\n{s}");
    println!(
        "global sectors per warp request: {:.2} ({} sectors / {} requests); shared bank conflicts: {}",
        s.global_sectors as f64 / requests.max(1) as f64,
        s.global_sectors,
        requests,
        s.shared_bank_conflicts
    );
    // Each warp request of the tile loads and the stores touches 64 contiguous bytes in 2 rows:
    // 4 sectors. Anything above that means the access pattern regressed.
    assert!(s.global_sectors <= 4 * requests, "poor coalescing: {s}");
}
