//! The copy kernels (cuda/copy.cu) on the simulator, f32 and f64: strided gathers (transposes,
//! broadcast by stride 0, offsets, rank 0 and rank 8), fill, and dtype conversion, on odd
//! sizes with NaN-poisoned outputs.

mod kernels_util;

use kernels::ptx::{copy, ptx, Module, Strided, MAX_RANK};
use kernels::sim::{Context, KernelArg, LaunchStats};
use kernels_util::*;

/// The view (dims, strides, offset) as the kernel's by-value struct.
fn strided(dims: &[usize], strides: &[i64], offset: i64) -> Strided {
    let mut s = Strided {
        rank: dims.len() as u32,
        offset,
        ..Strided::default()
    };
    for d in 0..dims.len() {
        s.dims[d] = dims[d] as u32;
        s.strides[d] = strides[d];
    }
    s
}

/// Gathers the view in row-major order with a recursive walk (independent of the kernel's
/// divide-and-modulo unravelling).
fn gather<T: Copy>(src: &[T], dims: &[usize], strides: &[i64], offset: i64, out: &mut Vec<T>) {
    match dims.split_first() {
        None => out.push(src[offset as usize]),
        Some((&d, rest)) => {
            for i in 0..d {
                gather(
                    src,
                    rest,
                    &strides[1..],
                    offset + i as i64 * strides[0],
                    out,
                );
            }
        }
    }
}

fn copy_case<T: Elem>(
    ctx: &Context,
    rng: &mut Rng,
    dims: &[usize],
    strides: &[i64],
    offset: i64,
    grid: u32,
) -> LaunchStats {
    let f = function(ctx, ptx(Module::Copy), &entry::<T>("copy_strided"));
    // Highest element the view touches (negative strides walk down from the offset).
    let extent = offset
        + dims
            .iter()
            .zip(strides)
            .map(|(&d, &s)| ((d as i64 - 1) * s).max(0))
            .sum::<i64>()
        + 1;
    let src: Vec<T> = vec_t(rng, extent as usize, -5.0, 5.0);
    let mut want = Vec::new();
    gather(&src, dims, strides, offset, &mut want);
    let n = want.len();
    let (ps, pd) = (upload_t(ctx, &src), poisoned_t::<T>(ctx, n));
    let s = launch_args(
        ctx,
        &f,
        cfg1(grid, copy::THREADS),
        &[
            KernelArg::Ptr(ps).into(),
            KernelArg::Ptr(pd).into(),
            KernelArg::U32(n as u32).into(),
            Arg::Bytes(strided(dims, strides, offset).to_bytes()),
        ],
    );
    let got = download_t::<T>(ctx, pd, n);
    assert_eq!(
        got,
        want,
        "copy_strided_{} dims={dims:?} strides={strides:?} offset={offset}",
        T::SUFFIX
    );
    ctx.free(ps).unwrap();
    ctx.free(pd).unwrap();
    s
}

fn copy_cases<T: Elem>(ctx: &Context, rng: &mut Rng) {
    copy_case::<T>(ctx, rng, &[1001], &[1], 5, 2); // contiguous with offset
    copy_case::<T>(ctx, rng, &[37, 29], &[1, 37], 0, 3); // transpose
    copy_case::<T>(ctx, rng, &[5, 7, 9], &[0, 9, 1], 2, 1); // expand dim 0 (stride 0)
    copy_case::<T>(ctx, rng, &[13, 11], &[22, -1], 10, 4); // every other row, reversed columns
    copy_case::<T>(ctx, rng, &[], &[], 3, 1); // rank 0: one element
    let dims = [2, 3, 2, 1, 3, 2, 2, 3];
    assert_eq!(dims.len(), MAX_RANK);
    // A permuted rank-8 view of a dense buffer, with one broadcast dim.
    let dense = [216i64, 72, 36, 36, 12, 6, 3, 1];
    let strides = [
        dense[7], dense[0], 0, dense[3], dense[4], dense[1], dense[2], dense[5],
    ];
    copy_case::<T>(ctx, rng, &dims, &strides, 1, 2);
}

#[test]
fn copy_strided_views_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("copy_strided_views_f32_f64");
    copy_cases::<f32>(&ctx, &mut rng);
    copy_cases::<f64>(&ctx, &mut rng);
}

fn fill_case<T: Elem>(ctx: &Context, rng: &mut Rng) {
    let f = function(ctx, ptx(Module::Copy), &entry::<T>("fill"));
    for &n in &[1usize, 255, 1037] {
        let v = vec_t::<T>(rng, 1, -9.0, 9.0)[0];
        let p = poisoned_t::<T>(ctx, n + 1);
        launch(
            ctx,
            &f,
            cfg1(3, copy::THREADS),
            &[KernelArg::Ptr(p), KernelArg::U32(n as u32), v.arg()],
        );
        let got = download_t::<T>(ctx, p, n + 1);
        assert!(got[..n].iter().all(|&g| g == v), "fill_{} n={n}", T::SUFFIX);
        assert!(got[n].to_f64().is_nan(), "fill_{} wrote past n", T::SUFFIX);
        ctx.free(p).unwrap();
    }
}

#[test]
fn fill_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("fill_f32_f64");
    fill_case::<f32>(&ctx, &mut rng);
    fill_case::<f64>(&ctx, &mut rng);
}

#[test]
fn convert_f32_f64_both_ways() {
    let ctx = context();
    let mut rng = Rng::fresh("convert_f32_f64_both_ways");
    let n = 777;
    // Widening is exact.
    let x = rng.vec_f32(n, -1e3, 1e3);
    let (px, py) = (upload_f32(&ctx, &x), poisoned_t::<f64>(&ctx, n));
    let f = function(&ctx, ptx(Module::Copy), copy::CONVERT_F32_F64);
    launch(
        &ctx,
        &f,
        cfg1(2, copy::THREADS),
        &[
            KernelArg::Ptr(px),
            KernelArg::Ptr(py),
            KernelArg::U32(n as u32),
        ],
    );
    let want: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    assert_eq!(download_t::<f64>(&ctx, py, n), want);
    // Narrowing rounds to nearest even, like Rust's `as` (bit for bit), incl. overflow to inf.
    let mut w: Vec<f64> = vec_t(&mut rng, n, -1e3, 1e3);
    w[0] = 1e300;
    w[1] = 1.0 + f64::EPSILON * 3.0;
    let (pw, pz) = (upload_t(&ctx, &w), poisoned(&ctx, n));
    let f = function(&ctx, ptx(Module::Copy), copy::CONVERT_F64_F32);
    launch(
        &ctx,
        &f,
        cfg1(2, copy::THREADS),
        &[
            KernelArg::Ptr(pw),
            KernelArg::Ptr(pz),
            KernelArg::U32(n as u32),
        ],
    );
    let want: Vec<u32> = w.iter().map(|&v| (v as f32).to_bits()).collect();
    assert_eq!(download_u32(&ctx, pz, n), want);
}

fn coalescing<T: Elem>(ctx: &Context, rng: &mut Rng) {
    let ideal = ideal_sectors::<T>();
    let s = copy_case::<T>(ctx, rng, &[64, 97], &[97, 1], 0, 8);
    println!(
        "copy_strided_{} dense: {:.2} sectors/request\n{s}",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "copy_strided dense: {s}"
    );
    // Expanding a row (stride 0 over the rows) reads the same row again: still coalesced
    // (rows of 128 so that no warp straddles the wrap back to the row start).
    let s = copy_case::<T>(ctx, rng, &[33, 128], &[0, 1], 0, 8);
    println!(
        "copy_strided_{} expand: {:.2} sectors/request",
        T::SUFFIX,
        s.sectors_per_request()
    );
    assert!(
        s.sectors_per_request() <= 1.1 * ideal,
        "copy_strided expand: {s}"
    );
}

#[test]
fn copy_launch_stats() {
    let ctx = context();
    let mut rng = Rng::fresh("copy_launch_stats");
    coalescing::<f32>(&ctx, &mut rng);
    coalescing::<f64>(&ctx, &mut rng);
}
