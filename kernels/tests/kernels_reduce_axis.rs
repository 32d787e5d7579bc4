//! The axis reductions of cuda/reduce.cu (sum_axis, max_axis, max_axis_bwd) on the simulator,
//! f32 and f64, over [outer, red, inner] views that take each of the three thread maps (warp
//! per row, block per row, thread per output), with ties and NaNs for the max, against f64
//! reference loops, outputs NaN-poisoned.

mod kernels_util;

use kernels::ptx::{ptx, reduce, Module};
use kernels::sim::{Context, KernelArg, LaunchStats};
use kernels_util::*;

/// (outer, red, inner, grid): warp rows, block rows (red >= 4096), thread per output,
/// degenerate axes, and grids smaller than the work.
const SHAPES: [(usize, usize, usize, u32); 8] = [
    (7, 33, 1, 1),
    (37, 5, 1, 2),
    (3, 4103, 1, 2),
    (1, 9001, 1, 1),
    (4, 17, 9, 1),
    (3, 7, 65, 2),
    (2, 1, 40, 1),
    (5, 0, 3, 1),
];

fn run_sum<T: Elem>(
    ctx: &Context,
    x: &[T],
    o: usize,
    r: usize,
    i: usize,
    grid: u32,
) -> (Vec<T>, LaunchStats) {
    let f = function(ctx, ptx(Module::Reduce), &entry::<T>("sum_axis"));
    let (px, po) = (upload_t(ctx, x), poisoned_t::<T>(ctx, o * i));
    let s = launch(
        ctx,
        &f,
        cfg1(grid, reduce::AXIS_THREADS),
        &[
            KernelArg::Ptr(px),
            KernelArg::Ptr(po),
            KernelArg::U32(o as u32),
            KernelArg::U32(r as u32),
            KernelArg::U32(i as u32),
        ],
    );
    let got = download_t::<T>(ctx, po, o * i);
    ctx.free(px).unwrap();
    ctx.free(po).unwrap();
    (got, s)
}

fn sum_cases<T: Elem>(ctx: &Context, rng: &mut Rng) {
    for &(o, r, i, grid) in &SHAPES {
        let x: Vec<T> = vec_t(rng, o * r * i, -1.0, 1.0);
        let want: Vec<f64> = (0..o * i)
            .map(|k| {
                (0..r)
                    .map(|rr| x[((k / i) * r + rr) * i + k % i].to_f64())
                    .sum()
            })
            .collect();
        let (got, _) = run_sum(ctx, &x, o, r, i, grid);
        assert_rel(
            &format!("sum_axis outer={o} red={r} inner={i} grid={grid}"),
            &got,
            &want,
        );
        // Deterministic: a different grid gives the same bits.
        let (again, _) = run_sum(ctx, &x, o, r, i, grid + 3);
        assert_eq!(got, again, "sum_axis depends on the grid size");
    }
}

#[test]
fn sum_axis_shapes_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("sum_axis_shapes_f32_f64");
    sum_cases::<f32>(&ctx, &mut rng);
    sum_cases::<f64>(&ctx, &mut rng);
}

/// The CPU's rule, scanned sequentially: the first NaN if any, else the first maximum;
/// an empty line gives (-inf, 0).
fn ref_max(line: &[f64]) -> (f64, u32) {
    let mut best: Option<usize> = None;
    for (k, &v) in line.iter().enumerate() {
        match best {
            None => best = Some(k),
            Some(b) if line[b].is_nan() => {}
            Some(_) if v.is_nan() => best = Some(k),
            Some(b) if v > line[b] => best = Some(k),
            _ => {}
        }
    }
    best.map_or((f64::NEG_INFINITY, 0), |b| (line[b], b as u32))
}

fn max_cases<T: Elem>(ctx: &Context, rng: &mut Rng) {
    let f = function(ctx, ptx(Module::Reduce), &entry::<T>("max_axis"));
    for &(o, r, i, grid) in &SHAPES {
        // Few distinct values (many ties), some -inf, and NaNs in about a third of the lines.
        let mut x: Vec<T> = (0..o * r * i)
            .map(|_| {
                T::from_f64(match rng.below(10) {
                    0 => f64::NEG_INFINITY,
                    k => (k as f64 - 5.0) * 0.5,
                })
            })
            .collect();
        for k in 0..o * i {
            if r > 0 && rng.below(3) == 0 {
                for _ in 0..2 {
                    let rr = rng.below(r as u64) as usize;
                    x[((k / i) * r + rr) * i + k % i] = T::from_f64(f64::NAN);
                }
            }
        }
        let (px, po, pa) = (
            upload_t(ctx, &x),
            poisoned_t::<T>(ctx, o * i),
            poisoned(ctx, o * i),
        );
        launch(
            ctx,
            &f,
            cfg1(grid, reduce::AXIS_THREADS),
            &[
                KernelArg::Ptr(px),
                KernelArg::Ptr(po),
                KernelArg::Ptr(pa),
                KernelArg::U32(o as u32),
                KernelArg::U32(r as u32),
                KernelArg::U32(i as u32),
            ],
        );
        let (got, arg) = (
            download_t::<T>(ctx, po, o * i),
            download_u32(ctx, pa, o * i),
        );
        for k in 0..o * i {
            let line: Vec<f64> = (0..r)
                .map(|rr| x[((k / i) * r + rr) * i + k % i].to_f64())
                .collect();
            let (v, a) = ref_max(&line);
            let what = format!(
                "max_axis_{} outer={o} red={r} inner={i} output {k}: line {line:?}",
                T::SUFFIX
            );
            assert_eq!(arg[k], a, "argmax {what}");
            let g = got[k].to_f64();
            assert!(
                g == v || (g.is_nan() && v.is_nan()),
                "max {what}: got {g}, want {v}"
            );
        }
        for p in [px, po, pa] {
            ctx.free(p).unwrap();
        }
    }
}

#[test]
fn max_axis_ties_nan_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("max_axis_ties_nan_f32_f64");
    max_cases::<f32>(&ctx, &mut rng);
    max_cases::<f64>(&ctx, &mut rng);
}

fn max_bwd_case<T: Elem>(
    ctx: &Context,
    rng: &mut Rng,
    o: usize,
    r: usize,
    i: usize,
    grid: u32,
) -> LaunchStats {
    let f = function(ctx, ptx(Module::Reduce), &entry::<T>("max_axis_bwd"));
    let dy: Vec<T> = vec_t(rng, o * i, -1.0, 1.0);
    let am: Vec<u32> = (0..o * i)
        .map(|_| rng.below(r.max(1) as u64) as u32)
        .collect();
    let (pdy, pa, pdx) = (
        upload_t(ctx, &dy),
        upload_u32(ctx, &am),
        poisoned_t::<T>(ctx, o * r * i),
    );
    let s = launch(
        ctx,
        &f,
        cfg1(grid, reduce::AXIS_THREADS),
        &[
            KernelArg::Ptr(pdy),
            KernelArg::Ptr(pa),
            KernelArg::Ptr(pdx),
            KernelArg::U32(o as u32),
            KernelArg::U32(r as u32),
            KernelArg::U32(i as u32),
        ],
    );
    let mut want = vec![0.0f64; o * r * i];
    for oo in 0..o {
        for j in 0..i {
            want[(oo * r + am[oo * i + j] as usize) * i + j] = dy[oo * i + j].to_f64();
        }
    }
    let got = download_t::<T>(ctx, pdx, o * r * i);
    let got64: Vec<f64> = got.iter().map(|v| v.to_f64()).collect();
    assert_eq!(
        got64,
        want,
        "max_axis_bwd_{} outer={o} red={r} inner={i}",
        T::SUFFIX
    );
    for p in [pdy, pa, pdx] {
        ctx.free(p).unwrap();
    }
    s
}

#[test]
fn max_axis_bwd_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("max_axis_bwd_f32_f64");
    for &(o, r, i, grid) in &SHAPES[..7] {
        max_bwd_case::<f32>(&ctx, &mut rng, o, r, i, grid);
        max_bwd_case::<f64>(&ctx, &mut rng, o, r, i, grid);
    }
}

fn coalescing<T: Elem>(ctx: &Context, rng: &mut Rng) {
    let ideal = ideal_sectors::<T>();
    // Rows of 1024 (aligned): the warp-per-row map; thread-per-output map; block-per-row map.
    for (o, r, i) in [(16usize, 1024usize, 1usize), (3, 7, 256), (2, 8192, 1)] {
        let x: Vec<T> = vec_t(rng, o * r * i, -1.0, 1.0);
        let (_, s) = run_sum(ctx, &x, o, r, i, 4);
        println!(
            "sum_axis_{} [{o}, {r}, {i}]: {:.2} sectors/request\n{s}",
            T::SUFFIX,
            s.sectors_per_request()
        );
        // (One-value row stores touch one sector: they can only lower the average.)
        assert!(
            s.sectors_per_request() <= 1.1 * ideal,
            "sum_axis [{o}, {r}, {i}] coalescing: {s}"
        );
    }
    let s = max_bwd_case::<T>(ctx, rng, 5, 33, 64, 4);
    println!(
        "max_axis_bwd_{}: {:.2} sectors/request",
        T::SUFFIX,
        s.sectors_per_request()
    );
    // dx stores and dy/argmax gathers (neighbouring threads share an (o, j) row).
    assert!(s.sectors_per_request() <= 1.1 * ideal, "max_axis_bwd: {s}");
}

#[test]
fn reduce_axis_launch_stats() {
    let ctx = context();
    let mut rng = Rng::fresh("reduce_axis_launch_stats");
    coalescing::<f32>(&ctx, &mut rng);
    coalescing::<f64>(&ctx, &mut rng);
}
