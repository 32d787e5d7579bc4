//! The dataset kernels (cuda/data.cu) on the simulator: batch gather + normalise from u8
//! images (f32, f64), label gather, and the device-side accuracy / loss accumulators, against
//! reference loops on odd batch and image sizes with NaN-poisoned outputs.

mod kernels_util;

use kernels::ptx::{data, ptx, Module};
use kernels::sim::{Context, KernelArg, LaunchStats};
use kernels_util::*;

fn bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.below(256) as u8).collect()
}

fn gather_case<T: Elem>(
    ctx: &Context,
    rng: &mut Rng,
    images: usize,
    batch: usize,
    pixels: usize,
    grid: u32,
) -> LaunchStats {
    let f = function(ctx, ptx(Module::Data), &entry::<T>("gather_normalize_u8"));
    let img = bytes(rng, images * pixels);
    let idx: Vec<u32> = (0..batch)
        .map(|_| rng.below(images as u64) as u32)
        .collect();
    let (mean, std) = (0.1307, 0.3081);
    let (pi, px, po) = (
        upload(ctx, &img),
        upload_u32(ctx, &idx),
        poisoned_t::<T>(ctx, batch * pixels),
    );
    let s = launch(
        ctx,
        &f,
        cfg1(grid, data::THREADS),
        &[
            KernelArg::Ptr(pi),
            KernelArg::Ptr(px),
            KernelArg::Ptr(po),
            KernelArg::U32(batch as u32),
            KernelArg::U32(pixels as u32),
            T::from_f64(mean).arg(),
            T::from_f64(std).arg(),
        ],
    );
    let (m, sd) = (T::from_f64(mean).to_f64(), T::from_f64(std).to_f64());
    let want: Vec<f64> = (0..batch * pixels)
        .map(|k| (img[idx[k / pixels] as usize * pixels + k % pixels] as f64 / 255.0 - m) / sd)
        .collect();
    assert_rel(
        &format!("gather_normalize_u8 batch={batch} pixels={pixels}"),
        &download_t::<T>(ctx, po, batch * pixels),
        &want,
    );
    for p in [pi, px, po] {
        ctx.free(p).unwrap();
    }
    s
}

#[test]
fn gather_normalize_u8_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("gather_normalize_u8_f32_f64");
    for &(images, batch, pixels, grid) in &[
        (1usize, 1usize, 1usize, 1u32),
        (50, 7, 784, 3),
        (9, 33, 25, 1),
    ] {
        gather_case::<f32>(&ctx, &mut rng, images, batch, pixels, grid);
        gather_case::<f64>(&ctx, &mut rng, images, batch, pixels, grid);
    }
}

#[test]
fn gather_labels_u32_odd_batches() {
    let ctx = context();
    let mut rng = Rng::fresh("gather_labels_u32_odd_batches");
    let f = function(&ctx, ptx(Module::Data), data::GATHER_LABELS_U32);
    for &(n, batch) in &[(1usize, 1usize), (1000, 77), (60, 300)] {
        let labels = bytes(&mut rng, n);
        let idx: Vec<u32> = (0..batch).map(|_| rng.below(n as u64) as u32).collect();
        let (pl, pi, po) = (
            upload(&ctx, &labels),
            upload_u32(&ctx, &idx),
            poisoned(&ctx, batch),
        );
        launch(
            &ctx,
            &f,
            cfg1(2, data::THREADS),
            &[
                KernelArg::Ptr(pl),
                KernelArg::Ptr(pi),
                KernelArg::Ptr(po),
                KernelArg::U32(batch as u32),
            ],
        );
        let want: Vec<u32> = idx.iter().map(|&i| labels[i as usize] as u32).collect();
        assert_eq!(
            download_u32(&ctx, po, batch),
            want,
            "gather_labels_u32 batch={batch}"
        );
    }
}

fn accumulate_case<T: Elem>(ctx: &Context, rng: &mut Rng, rows: usize, cols: usize, grid: u32) {
    let f = function(
        ctx,
        ptx(Module::Data),
        &entry::<T>("accuracy_loss_accumulate"),
    );
    // Few distinct logits (ties: the first maximum counts) and a NaN row.
    let mut x: Vec<T> = (0..rows * cols)
        .map(|_| T::from_f64(rng.below(4) as f64))
        .collect();
    if rows > 3 {
        x[3 * cols + cols / 2] = T::from_f64(f64::NAN);
    }
    let labels: Vec<u32> = (0..rows).map(|_| rng.below(cols as u64) as u32).collect();
    let loss: Vec<T> = vec_t(rng, 1, 0.0, 3.0); // the batch's mean loss
    let (px, pl, ploss) = (
        upload_t(ctx, &x),
        upload_u32(ctx, &labels),
        upload_t(ctx, &loss),
    );
    // Accumulators start from earlier batches' values.
    let (c0, s0) = (17u32, T::from_f64(2.5));
    let (pc, ps) = (upload_u32(ctx, &[c0]), upload_t(ctx, &[s0]));
    let mut want_correct = c0;
    let mut want_sum = s0.to_f64();
    for _batch in 0..2 {
        launch(
            ctx,
            &f,
            cfg1(grid, data::THREADS),
            &[
                KernelArg::Ptr(px),
                KernelArg::Ptr(pl),
                KernelArg::Ptr(ploss),
                KernelArg::U32(rows as u32),
                KernelArg::U32(cols as u32),
                KernelArg::Ptr(pc),
                KernelArg::Ptr(ps),
            ],
        );
        for r in 0..rows {
            let row = &x[r * cols..(r + 1) * cols];
            let am = row
                .iter()
                .position(|v| v.to_f64().is_nan())
                .unwrap_or_else(|| {
                    let m = row
                        .iter()
                        .map(|v| v.to_f64())
                        .fold(f64::NEG_INFINITY, f64::max);
                    row.iter().position(|v| v.to_f64() == m).unwrap()
                });
            want_correct += (am == labels[r] as usize) as u32;
        }
        want_sum += loss[0].to_f64() * rows as f64;
    }
    let what = format!(
        "accuracy_loss_accumulate_{} rows={rows} cols={cols} grid={grid}",
        T::SUFFIX
    );
    assert_eq!(download_u32(ctx, pc, 1)[0], want_correct, "{what}: correct");
    assert_rel(
        &format!("{what}: loss_sum"),
        &download_t::<T>(ctx, ps, 1),
        &[want_sum],
    );
    for p in [px, pl, ploss, pc, ps] {
        ctx.free(p).unwrap();
    }
}

#[test]
fn accuracy_loss_accumulate_f32_f64() {
    let ctx = context();
    let mut rng = Rng::fresh("accuracy_loss_accumulate_f32_f64");
    for &(rows, cols, grid) in &[
        (1usize, 1usize, 1u32),
        (65, 10, 1),
        (300, 7, 3),
        (1000, 3, 5),
    ] {
        accumulate_case::<f32>(&ctx, &mut rng, rows, cols, grid);
        accumulate_case::<f64>(&ctx, &mut rng, rows, cols, grid);
    }
}

fn coalescing<T: Elem>(ctx: &Context, rng: &mut Rng) {
    // Images of 1024 pixels: per warp step one byte load (1 sector), one index load (1 sector)
    // and one T store (ideal_sectors::<T>()).
    let (batch, pixels) = (6, 1024);
    let s = gather_case::<T>(ctx, rng, 10, batch, pixels, 4);
    let warps = (batch * pixels / 32) as f64;
    let ideal = warps * (2.0 + ideal_sectors::<T>());
    println!(
        "gather_normalize_u8_{}: {} sectors, ideal {ideal}\n{s}",
        T::SUFFIX,
        s.global_sectors
    );
    assert!(
        s.global_sectors as f64 <= 1.1 * ideal,
        "gather_normalize_u8 coalescing: {s}"
    );
}

#[test]
fn data_launch_stats() {
    let ctx = context();
    let mut rng = Rng::fresh("data_launch_stats");
    coalescing::<f32>(&ctx, &mut rng);
    coalescing::<f64>(&ctx, &mut rng);
}
