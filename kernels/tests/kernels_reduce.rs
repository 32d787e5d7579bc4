//! The shipped reductions (cuda/reduce.cu) on the simulator: odd sizes, blocks that are not a
//! multiple of 32 (partial warp masks), grid-stride loops, two-pass totals, poisoned outputs.

mod kernels_util;

use kernels::ptx::{ptx, reduce, Module};
use kernels::sim::KernelArg;
use kernels_util::*;

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
            // Per-block partial sums: block b owns elements i with (i / block) % grid == b.
            let mut want_partial = vec![0f64; grid as usize];
            for (i, &v) in x.iter().enumerate() {
                want_partial[(i / block as usize) % grid as usize] += v as f64;
            }
            let got_partial = download_f32(&ctx, partial, grid as usize);
            let tol = 1e-6 * (n as f64).sqrt().max(1.0) * 4.0;
            assert_close(
                &format!("partials n={n} grid={grid} block={block}"),
                &got_partial,
                &want_partial,
                tol,
                1e-6,
            );
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
            let want: f64 = x.iter().map(|&v| v as f64).sum();
            assert_close(
                &format!("total n={n} grid={grid} block={block}"),
                &download_f32(&ctx, total, 1),
                &[want],
                tol,
                1e-6,
            );
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
            let want: Vec<f64> = x
                .chunks(cols)
                .map(|r| r.iter().map(|&v| v as f64).sum())
                .collect();
            assert_close(
                &format!("rows={rows} cols={cols} grid={grid} block={block}"),
                &download_f32(&ctx, out, rows),
                &want,
                1e-5 * cols as f64,
                1e-6,
            );
            ctx.free(dx).unwrap();
            ctx.free(out).unwrap();
        }
    }
}
