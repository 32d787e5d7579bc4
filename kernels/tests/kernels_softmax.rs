//! The softmax kernels (cuda/softmax.cu) on the simulator, f32 and f64: softmax and
//! log-softmax forward/backward, fused cross-entropy forward/backward with label smoothing,
//! against f64 reference loops on odd shapes (cols below, at and above a warp), NaN-poisoned
//! outputs, large logits (max subtraction), out-of-range labels.

mod kernels_util;

use kernels::ptx::{ptx, softmax as sm, Module};
use kernels::sim::{Context, DevicePtr, KernelArg, LaunchStats};
use kernels_util::*;

/// (rows, cols, grid): one row, fewer cols than a warp, exactly a warp, many rows per warp
/// slot, long rows.
const SHAPES: [(usize, usize, u32); 6] = [
    (1, 1, 1),
    (3, 10, 1),
    (33, 32, 2),
    (70, 7, 1),
    (5, 257, 3),
    (9, 1000, 2),
];

/// Per-row softmax in f64 (from the definition).
fn ref_softmax(row: &[f64]) -> Vec<f64> {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|&v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn lse(row: &[f64]) -> f64 {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + row.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
}

fn launch_rows(
    ctx: &Context,
    name: &str,
    rows: usize,
    grid: u32,
    ptrs: &[DevicePtr],
    cols: usize,
    extra: Vec<KernelArg>,
) -> LaunchStats {
    let f = function(ctx, ptx(Module::Softmax), name);
    let mut args: Vec<KernelArg> = ptrs.iter().map(|&p| KernelArg::Ptr(p)).collect();
    args.push(KernelArg::U32(rows as u32));
    args.push(KernelArg::U32(cols as u32));
    args.extend(extra);
    launch(ctx, &f, cfg1(grid, sm::THREADS), &args)
}

/// Logits with a large common offset per row (overflows exp without the max subtraction).
fn logits<T: Elem>(rng: &mut Rng, rows: usize, cols: usize) -> Vec<T> {
    let mut x: Vec<T> = vec_t(rng, rows * cols, -4.0, 4.0);
    for r in 0..rows {
        let shift = if r % 2 == 1 { 80.0 } else { 0.0 };
        for c in 0..cols {
            x[r * cols + c] = T::from_f64(x[r * cols + c].to_f64() + shift);
        }
    }
    x
}

fn softmax_cases<T: Elem>(ctx: &Context, rng: &mut Rng) {
    for &(rows, cols, grid) in &SHAPES {
        let x = logits::<T>(rng, rows, cols);
        let xf: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
        let p: Vec<f64> = xf.chunks(cols).flat_map(ref_softmax).collect();
        let logp: Vec<f64> = xf
            .chunks(cols)
            .flat_map(|r| {
                let l = lse(r);
                r.iter().map(move |v| v - l).collect::<Vec<_>>()
            })
            .collect();
        let n = rows * cols;
        let px = upload_t(ctx, &x);
        for (log, want) in [(false, &p), (true, &logp)] {
            let stem = if log { "log_softmax" } else { "softmax" };
            let py = poisoned_t::<T>(ctx, n);
            launch_rows(
                ctx,
                &entry::<T>(&format!("{stem}_fwd")),
                rows,
                grid,
                &[px, py],
                cols,
                vec![],
            );
            let y = download_t::<T>(ctx, py, n);
            assert_rel(&format!("{stem}_fwd rows={rows} cols={cols}"), &y, want);
            // Backward from the kernel's own y, reference from the exact softmax.
            let dy: Vec<T> = vec_t(rng, n, -1.0, 1.0);
            let mut dx_ref = vec![0.0; n];
            for r in 0..rows {
                let (pr, gr) = (&p[r * cols..(r + 1) * cols], &dy[r * cols..(r + 1) * cols]);
                let s: f64 = if log {
                    gr.iter().map(|g| g.to_f64()).sum()
                } else {
                    gr.iter().zip(pr).map(|(g, p)| g.to_f64() * p).sum()
                };
                for c in 0..cols {
                    let g = gr[c].to_f64();
                    dx_ref[r * cols + c] = if log { g - pr[c] * s } else { pr[c] * (g - s) };
                }
            }
            let (pdy, pdx) = (upload_t(ctx, &dy), poisoned_t::<T>(ctx, n));
            launch_rows(
                ctx,
                &entry::<T>(&format!("{stem}_bwd")),
                rows,
                grid,
                &[py, pdy, pdx],
                cols,
                vec![],
            );
            assert_rel(
                &format!("{stem}_bwd rows={rows} cols={cols}"),
                &download_t::<T>(ctx, pdx, n),
                &dx_ref,
            );
            for q in [py, pdy, pdx] {
                ctx.free(q).unwrap();
            }
        }
        ctx.free(px).unwrap();
    }
}

#[test]
fn softmax_log_softmax_fwd_bwd_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("softmax_log_softmax_fwd_bwd_f32_f64");
    softmax_cases::<f32>(&ctx, &mut rng);
    softmax_cases::<f64>(&ctx, &mut rng);
}

fn cross_entropy_cases<T: Elem>(ctx: &Context, rng: &mut Rng) {
    for &(rows, cols, grid) in &SHAPES {
        for eps in [0.0, 0.1] {
            let x = logits::<T>(rng, rows, cols);
            let xf: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
            let mut labels: Vec<u32> = (0..rows).map(|_| rng.below(cols as u64) as u32).collect();
            if rows > 2 {
                labels[1] = cols as u32 + 3; // out of range: NaN loss, no one-hot term
            }
            let loss_ref: Vec<f64> = (0..rows)
                .map(|r| {
                    let row = &xf[r * cols..(r + 1) * cols];
                    let l = lse(row);
                    let t = labels[r] as usize;
                    if t >= cols {
                        return f64::NAN;
                    }
                    let mean = row.iter().sum::<f64>() / cols as f64;
                    (1.0 - eps) * (l - row[t]) + eps * (l - mean)
                })
                .collect();
            let (px, pl, ploss, pw) = (
                upload_t(ctx, &x),
                upload_u32(ctx, &labels),
                poisoned_t::<T>(ctx, rows),
                poisoned_t::<T>(ctx, rows),
            );
            // No class weights (null, their sum = cols), no ignored label (u32::MAX).
            let unweighted = || {
                vec![
                    T::from_f64(eps).arg(),
                    KernelArg::U64(0),
                    T::from_f64(cols as f64).arg(),
                    KernelArg::U32(u32::MAX),
                ]
            };
            launch_rows(
                ctx,
                &entry::<T>("cross_entropy_fwd"),
                rows,
                grid,
                &[px, pl, ploss, pw],
                cols,
                unweighted(),
            );
            let what = format!("cross_entropy_fwd rows={rows} cols={cols} eps={eps}");
            assert_rel(&what, &download_t::<T>(ctx, ploss, rows), &loss_ref);
            let w_ref: Vec<f64> = loss_ref
                .iter()
                .map(|l| if l.is_nan() { f64::NAN } else { 1.0 })
                .collect();
            assert_rel(
                &format!("{what} weights"),
                &download_t::<T>(ctx, pw, rows),
                &w_ref,
            );

            // Backward of the mean loss with an upstream gradient g read on the device.
            let g = T::from_f64(1.0 + rng.below(100) as f64 / 50.0);
            let inv_rows = T::from_f64(1.0 / rows as f64);
            let scale = g.to_f64() * inv_rows.to_f64();
            let mut want = vec![0.0; rows * cols];
            for r in 0..rows {
                let p = ref_softmax(&xf[r * cols..(r + 1) * cols]);
                // An out-of-range label adds no target terms: only the smoothing's.
                let a = if (labels[r] as usize) < cols {
                    1.0
                } else {
                    eps
                };
                for c in 0..cols {
                    let hit = if c == labels[r] as usize {
                        1.0 - eps
                    } else {
                        0.0
                    };
                    want[r * cols + c] = scale * (a * p[c] - eps / cols as f64 - hit);
                }
            }
            let (pg, pdx) = (upload_t(ctx, &[g]), poisoned_t::<T>(ctx, rows * cols));
            launch_rows(
                ctx,
                &entry::<T>("cross_entropy_bwd"),
                rows,
                grid,
                &[px, pl, pdx],
                cols,
                [
                    unweighted(),
                    vec![
                        KernelArg::Ptr(pg),
                        KernelArg::U32(0),
                        KernelArg::U64(0),
                        inv_rows.arg(),
                    ],
                ]
                .concat(),
            );
            let what = format!("cross_entropy_bwd rows={rows} cols={cols} eps={eps}");
            assert_rel(&what, &download_t::<T>(ctx, pdx, rows * cols), &want);
            for q in [px, pl, ploss, pw, pg, pdx] {
                ctx.free(q).unwrap();
            }
        }
    }
}

#[test]
fn cross_entropy_fwd_bwd_label_smoothing_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("cross_entropy_fwd_bwd_label_smoothing_f32_f64");
    cross_entropy_cases::<f32>(&ctx, &mut rng);
    cross_entropy_cases::<f64>(&ctx, &mut rng);
}

fn coalescing<T: Elem>(ctx: &Context, rng: &mut Rng) {
    // Rows of 256 (aligned): each warp request reads or writes 32 consecutive elements.
    let (rows, cols) = (24, 256);
    let x: Vec<T> = vec_t(rng, rows * cols, -3.0, 3.0);
    let (px, py) = (upload_t(ctx, &x), poisoned_t::<T>(ctx, rows * cols));
    let s = launch_rows(
        ctx,
        &entry::<T>("log_softmax_fwd"),
        rows,
        2,
        &[px, py],
        cols,
        vec![],
    );
    let ideal = ideal_sectors::<T>();
    println!(
        "log_softmax_fwd_{} [{rows}, {cols}]: {:.2} sectors/request\n{s}",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "log_softmax_fwd coalescing: {s}"
    );
    let labels: Vec<u32> = (0..rows as u32).map(|r| r % cols as u32).collect();
    let (pl, pg, pdx) = (
        upload_u32(ctx, &labels),
        upload_t(ctx, &[T::from_f64(1.0)]),
        poisoned_t::<T>(ctx, rows * cols),
    );
    let s = launch_rows(
        ctx,
        &entry::<T>("cross_entropy_bwd"),
        rows,
        2,
        &[px, pl, pdx],
        cols,
        vec![
            T::from_f64(0.0).arg(),
            KernelArg::U64(0),
            T::from_f64(cols as f64).arg(),
            KernelArg::U32(u32::MAX),
            KernelArg::Ptr(pg),
            KernelArg::U32(0),
            KernelArg::U64(0),
            T::from_f64(1.0).arg(),
        ],
    );
    println!(
        "cross_entropy_bwd_{}: {:.2} sectors/request",
        T::SUFFIX,
        s.sectors_per_request()
    );
    // Per row, one label load and one dloss load (1 sector each) besides the coalesced rows.
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "cross_entropy_bwd coalescing: {s}"
    );
}

#[test]
fn softmax_launch_stats() {
    let ctx = context();
    let mut rng = Rng::fresh("softmax_launch_stats");
    coalescing::<f32>(&ctx, &mut rng);
    coalescing::<f64>(&ctx, &mut rng);
}
