//! The shipped reductions (cuda/reduce.cu) on the simulator: odd sizes, blocks that are not a
//! multiple of 32 (partial warp masks), grid-stride loops, two-pass totals, poisoned outputs.

mod kernels_util;

use kernels::ptx::{ptx, reduce, Module};
use kernels::sim::KernelArg;
use kernels_util::*;

/// The kernels' block reduction, replayed in f32 in the same order: per-warp shuffle trees over
/// the existing lanes (lane l adds lane l + offset for offset 16, 8, 4, 2, 1 when that lane
/// exists), then the same tree over the per-warp sums. The kernels are deterministic, so the
/// results must match bit for bit.
fn block_reduce(per_thread: &[f32]) -> f32 {
    fn warp_tree(v: &mut [f32]) -> f32 {
        let k = v.len();
        for offset in [16, 8, 4, 2, 1] {
            let old = v.to_vec();
            for l in 0..k {
                if l + offset < k {
                    v[l] = old[l] + old[l + offset];
                }
            }
        }
        v[0]
    }
    let warp_sums: Vec<f32> = per_thread
        .chunks(32)
        .map(|w| warp_tree(&mut w.to_vec()))
        .collect();
    warp_tree(&mut warp_sums.clone())
}

/// sum_f32's result for block b: thread t accumulates x[b*B + t], x[b*B + t + G*B], ... in f32.
fn sum_f32_partials(x: &[f32], grid: usize, block: usize) -> Vec<f32> {
    (0..grid)
        .map(|b| {
            let per_thread: Vec<f32> = (0..block)
                .map(|t| {
                    x.iter()
                        .skip(b * block + t)
                        .step_by(grid * block)
                        .fold(0.0f32, |a, &v| a + v)
                })
                .collect();
            block_reduce(&per_thread)
        })
        .collect()
}

#[test]
fn sum_f32_two_pass_odd_sizes() {
    let ctx = context();
    let f = function(&ctx, ptx(Module::Reduce), reduce::SUM_F32);
    let mut rng = Rng::fresh("sum_f32_two_pass_odd_sizes");
    for &n in &[0usize, 1, 31, 33, 100, 1000, 4099, 100_003] {
        for &(grid, block) in &[
            (1u32, 32u32),
            (3, 100),
            (7, 256),
            (2, 1024),
            (5, 33),
            (1, 1),
        ] {
            let x = rng.vec_f32(n, -1.0, 1.0);
            let dx = upload_f32(&ctx, &x);
            let partial = poisoned(&ctx, grid as usize);
            launch(
                &ctx,
                &f,
                cfg1(grid, block),
                &[
                    KernelArg::Ptr(dx),
                    KernelArg::Ptr(partial),
                    KernelArg::U32(n as u32),
                ],
            );
            let want_partial = sum_f32_partials(&x, grid as usize, block as usize);
            let got_partial = download_f32(&ctx, partial, grid as usize);
            let what = format!("n={n} grid={grid} block={block}");
            assert_eq!(bits(&got_partial), bits(&want_partial), "partials {what}");
            // Second pass: one block over the partials.
            let total = poisoned(&ctx, 1);
            launch(
                &ctx,
                &f,
                cfg1(1, 64),
                &[
                    KernelArg::Ptr(partial),
                    KernelArg::Ptr(total),
                    KernelArg::U32(grid),
                ],
            );
            let want = sum_f32_partials(&want_partial, 1, 64);
            let got = download_f32(&ctx, total, 1);
            assert_eq!(bits(&got), bits(&want), "total {what}");
            // And close to the exact sum.
            let exact: f64 = x.iter().map(|&v| v as f64).sum();
            let l1: f64 = x.iter().map(|&v| v.abs() as f64).sum();
            assert_close(&what, &got, &[exact], 1e-6 * l1 + 1e-6, 0.0);
            for p in [dx, partial, total] {
                ctx.free(p).unwrap();
            }
        }
    }
}

#[test]
fn sum_rows_f32_odd_shapes() {
    let ctx = context();
    let f = function(&ctx, ptx(Module::Reduce), reduce::SUM_ROWS_F32);
    let mut rng = Rng::fresh("sum_rows_f32_odd_shapes");
    for &(rows, cols) in &[(1usize, 1usize), (7, 3), (5, 1000), (33, 65), (130, 17)] {
        for &(grid, block) in &[(1u32, 64u32), (4, 96), (200, 128), (3, 1000)] {
            let x = rng.vec_f32(rows * cols, -2.0, 2.0);
            let dx = upload_f32(&ctx, &x);
            let out = poisoned(&ctx, rows);
            launch(
                &ctx,
                &f,
                cfg1(grid, block),
                &[
                    KernelArg::Ptr(dx),
                    KernelArg::Ptr(out),
                    KernelArg::U32(rows as u32),
                    KernelArg::U32(cols as u32),
                ],
            );
            let want: Vec<f32> = x
                .chunks(cols.max(1))
                .take(rows)
                .map(|row| {
                    let per_thread: Vec<f32> = (0..block as usize)
                        .map(|t| {
                            row.iter()
                                .skip(t)
                                .step_by(block as usize)
                                .fold(0.0f32, |a, &v| a + v)
                        })
                        .collect();
                    block_reduce(&per_thread)
                })
                .collect();
            let got = download_f32(&ctx, out, rows);
            assert_eq!(
                bits(&got),
                bits(&want),
                "rows={rows} cols={cols} grid={grid} block={block}"
            );
            ctx.free(dx).unwrap();
            ctx.free(out).unwrap();
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}
