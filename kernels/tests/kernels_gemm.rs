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
fn reference<T: Elem>(c: &Case, a: &[T], b: &[T], c0: &[T]) -> Vec<f64> {
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
                    s += av.to_f64() * bv.to_f64();
                }
                let mut v = c.alpha as f64 * s;
                if c.beta != 0.0 {
                    v += c.beta as f64 * c0[cb + i * n + j].to_f64();
                }
                out[cb + i * n + j] = v;
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn launch_gemm<T: Elem>(
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
        T::from_f64(c.alpha as f64).arg(),
        KernelArg::Ptr(a),
        KernelArg::I32(lda),
        KernelArg::I64((c.m * c.k) as i64),
        KernelArg::I32(c.trans_a as i32),
        KernelArg::Ptr(b),
        KernelArg::I32(ldb),
        KernelArg::I64((c.k * c.n) as i64),
        KernelArg::I32(c.trans_b as i32),
        T::from_f64(c.beta as f64).arg(),
        KernelArg::Ptr(cc),
        KernelArg::I32(n),
        KernelArg::I64((c.m * c.n) as i64),
        KernelArg::I32(c.batch as i32),
    ];
    launch(ctx, f, cfg(grid, gemm::SGEMM_BLOCK, 0), &args)
}

fn run_case(ctx: &Context, f: &Function, rng: &mut Rng, c: Case) -> LaunchStats {
    run_case_t::<f32>(ctx, f, rng, c)
}

fn run_case_t<T: Elem>(ctx: &Context, f: &Function, rng: &mut Rng, c: Case) -> LaunchStats {
    let a: Vec<T> = vec_t(rng, c.batch * c.m * c.k, -1.0, 1.0);
    let b: Vec<T> = vec_t(rng, c.batch * c.k * c.n, -1.0, 1.0);
    let c0: Vec<T> = vec_t(rng, c.batch * c.m * c.n, -1.0, 1.0);
    let (da, db) = (upload_t(ctx, &a), upload_t(ctx, &b));
    // beta == 0: C is poisoned with NaN and must not be read; otherwise it holds c0.
    let dc = if c.beta == 0.0 {
        poisoned_t::<T>(ctx, c0.len())
    } else {
        upload_t(ctx, &c0)
    };
    let stats = launch_gemm::<T>(ctx, f, &c, da, db, dc);
    let got = download_t::<T>(ctx, dc, c0.len());
    let want = reference(&c, &a, &b, &c0);
    // Accumulation in T of k products of magnitude <= 1.
    let atol = T::TOL * (c.k as f64 + 1.0) * c.alpha.abs().max(1.0) as f64;
    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
        let err = (g.to_f64() - w).abs();
        assert!(
            err <= atol + T::TOL * w.abs(),
            "{c:?} [{}]: element {i}: got {g:?}, want {w} (error {err:e})",
            T::SUFFIX
        );
    }
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

#[test]
fn gemm_f64_shapes_transposes_batches() {
    let ctx = context();
    let f = function(&ctx, ptx(Module::Gemm), gemm::GEMM_F64);
    let mut rng = Rng::fresh("gemm_f64_shapes_transposes_batches");
    for &(m, n, k) in &[(1, 1, 1), (17, 33, 9), (65, 63, 17)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let c = Case {
                trans_a: ta,
                trans_b: tb,
                ..Case::new(m, n, k)
            };
            run_case_t::<f64>(&ctx, &f, &mut rng, c);
        }
    }
    let c = Case {
        alpha: -0.5,
        beta: 0.75,
        batch: 2,
        grid: Some((1, 1, 1)),
        ..Case::new(70, 66, 21)
    };
    let s = run_case_t::<f64>(&ctx, &f, &mut rng, c);
    // Tile loads and stores: a warp touches two rows of 16 doubles (128 B each): 8 sectors.
    let requests = s.global_load_requests + s.global_store_requests;
    println!("gemm_f64 70x66x21 batch 2:\n{s}");
    assert!(s.global_sectors <= 8 * requests, "gemm_f64 coalescing: {s}");
}
