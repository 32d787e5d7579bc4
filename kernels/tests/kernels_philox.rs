//! The shipped Philox4x32-10 kernels (cuda/philox.cu) against a Rust implementation of
//! Philox4x32-10 (the shared host reference `kernels::philox`), bit for bit; the reference
//! against the Random123 known answers.
#![allow(clippy::needless_range_loop)] // index loops mirror the kernels' index math

mod kernels_util;

use kernels::philox::{self as reference, philox4x32_10, unit_f32 as unit};
use kernels::ptx::{philox, ptx, Module};
use kernels::sim::{DevicePtr, KernelArg};
use kernels_util::*;

/// Word i of the (seed, offset) stream, as documented in kernels::ptx::philox.
fn stream(seed: u64, offset: u64, n: usize) -> Vec<u32> {
    (0..n.div_ceil(4) as u64)
        .flat_map(|g| reference::block(seed, offset.wrapping_add(g)))
        .take(n)
        .collect()
}

#[test]
fn reference_matches_random123_known_answers() {
    // kat_vectors from Random123 1.14 (philox4x32 10 rounds).
    assert_eq!(
        philox4x32_10([0; 4], [0; 2]),
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    );
}

#[test]
fn philox_u32_and_uniform_bit_exact() {
    let ctx = context();
    let raw = function(&ctx, ptx(Module::Philox), philox::PHILOX_U32);
    let uni = function(&ctx, ptx(Module::Philox), philox::PHILOX_UNIFORM_F32);
    let mut rng = Rng::fresh("philox_u32_and_uniform_bit_exact");
    // seed 0 offset 0: the first four words are the Random123 known answer.
    let cases = [
        (0u64, 0u64, 4usize, (1u32, 32u32)),
        (rng.next_u64(), rng.next_u64(), 1, (1, 1)),
        (rng.next_u64(), u64::MAX - 3, 4099, (3, 96)), // counter wraps past 2^64
        (rng.next_u64(), rng.next_u64() >> 1, 1003, (64, 128)),
        (rng.next_u64(), 1 << 32, 257, (1, 33)), // carry into the counter's high word
    ];
    // shift 0: 16-byte aligned output (vector stores for complete counter blocks);
    // shift 4: misaligned by one word (scalar stores only).
    for (seed, offset, n, (grid, block)) in cases {
        for shift in [0u64, 4] {
            let want = stream(seed, offset, n);
            let base = poisoned(&ctx, n + 4);
            let out = DevicePtr(base.0 + shift);
            let args = [
                KernelArg::Ptr(out),
                KernelArg::U32(n as u32),
                KernelArg::U64(seed),
                KernelArg::U64(offset),
            ];
            let what = format!("seed={seed} offset={offset} n={n} shift={shift}");
            launch(&ctx, &raw, cfg1(grid, block), &args);
            let all = download_u32(&ctx, base, n + 4);
            let (s, e) = (shift as usize / 4, shift as usize / 4 + n);
            assert_eq!(all[s..e], want[..], "philox_u32 {what}");
            assert!(
                all[..s].iter().chain(&all[e..]).all(|&w| w == u32::MAX),
                "wrote outside: {what}"
            );
            ctx.memset_d8(base, 0xFF, 4 * (n + 4)).unwrap();
            launch(&ctx, &uni, cfg1(grid, block), &args);
            let got = download_f32(&ctx, base, n + 4);
            for (i, (&g, &w)) in got[s..e].iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    unit(w).to_bits(),
                    "uniform element {i} ({what})"
                );
                assert!((0.0..1.0).contains(&g));
            }
            ctx.free(base).unwrap();
        }
    }
    // Resuming: offset + 5 blocks continues the stream 20 words later.
    let seed = rng.next_u64();
    assert_eq!(stream(seed, 7, 40)[20..], stream(seed, 12, 20)[..]);
}

#[test]
fn dropout_fwd_bwd_exact() {
    let ctx = context();
    let fwd = function(&ctx, ptx(Module::Philox), philox::DROPOUT_FWD_F32);
    let bwd = function(&ctx, ptx(Module::Philox), philox::DROPOUT_BWD_F32);
    let mut rng = Rng::fresh("dropout_fwd_bwd_exact");
    // shift 4 moves x and y off 16-byte alignment: the scalar path.
    for &(n, p, shift) in &[
        (1usize, 0.5f32, 0u64),
        (1001, 0.1, 0),
        (1001, 0.1, 4),
        (4097, 0.5, 0),
        (4097, 0.5, 4),
        (333, 0.0, 0),
        (77, 1.0, 4),
    ] {
        let (seed, offset) = (rng.next_u64(), rng.below(1 << 40));
        let x = rng.vec_f32(n, -3.0, 3.0);
        let dy = rng.vec_f32(n, -3.0, 3.0);
        let mut xs = vec![0.0f32; shift as usize / 4];
        xs.extend(&x);
        let dx_in = DevicePtr(upload_f32(&ctx, &xs).0 + shift);
        let ddy = upload_f32(&ctx, &dy);
        let (y, dx) = (
            DevicePtr(poisoned(&ctx, n + 1).0 + shift),
            poisoned(&ctx, n),
        );
        let mask = ctx.alloc(n.max(1)).unwrap();
        ctx.memset_d8(mask, 0xAB, n.max(1)).unwrap();
        launch(
            &ctx,
            &fwd,
            cfg1(5, 64),
            &[
                KernelArg::Ptr(dx_in),
                KernelArg::Ptr(y),
                KernelArg::Ptr(mask),
                KernelArg::U32(n as u32),
                KernelArg::F32(p),
                KernelArg::U64(seed),
                KernelArg::U64(offset),
            ],
        );
        launch(
            &ctx,
            &bwd,
            cfg1(3, 100),
            &[
                KernelArg::Ptr(ddy),
                KernelArg::Ptr(mask),
                KernelArg::Ptr(dx),
                KernelArg::U32(n as u32),
                KernelArg::F32(p),
            ],
        );
        let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
        let words = stream(seed, offset, n);
        let (got_y, got_dx) = (download_f32(&ctx, y, n), download_f32(&ctx, dx, n));
        let got_mask = download(&ctx, mask, n);
        for i in 0..n {
            let keep = unit(words[i]) >= p;
            assert_eq!(got_mask[i], keep as u8, "mask {i} (n={n} p={p})");
            let wy = if keep { x[i] * scale } else { 0.0 };
            let wdx = if keep { dy[i] * scale } else { 0.0 };
            assert_eq!(got_y[i].to_bits(), wy.to_bits(), "y {i} (n={n} p={p})");
            assert_eq!(got_dx[i].to_bits(), wdx.to_bits(), "dx {i} (n={n} p={p})");
        }
    }
}

// ---- kerna: f64 dropout, the same masks as the f32 kernel ----

/// Runs dropout_fwd_f32 and dropout_fwd_f64 on the same inputs; returns (mask32, mask64, y64).
#[allow(clippy::too_many_arguments)]
fn dropout_both(
    ctx: &kernels::sim::Context,
    x: &[f64],
    p: f64,
    seed: u64,
    offset: u64,
    grid: u32,
    block: u32,
) -> (Vec<u8>, Vec<u8>, Vec<f64>, kernels::sim::LaunchStats) {
    let n = x.len();
    let f32k = function(ctx, ptx(Module::Philox), philox::DROPOUT_FWD_F32);
    let f64k = function(ctx, ptx(Module::Philox), philox::DROPOUT_FWD_F64);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let (px32, py32) = (upload_f32(ctx, &x32), poisoned(ctx, n));
    let (px64, py64) = (upload_t(ctx, x), poisoned_t::<f64>(ctx, n));
    let (m32, m64) = (ctx.alloc(n.max(1)).unwrap(), ctx.alloc(n.max(1)).unwrap());
    ctx.memset_d8(m32, 0xAB, n.max(1)).unwrap();
    ctx.memset_d8(m64, 0xAB, n.max(1)).unwrap();
    let tail = [KernelArg::U32(n as u32)];
    let rng_args = [KernelArg::U64(seed), KernelArg::U64(offset)];
    let a32: Vec<KernelArg> = [
        KernelArg::Ptr(px32),
        KernelArg::Ptr(py32),
        KernelArg::Ptr(m32),
    ]
    .into_iter()
    .chain(tail)
    .chain([KernelArg::F32(p as f32)])
    .chain(rng_args)
    .collect();
    launch(ctx, &f32k, cfg1(grid, block), &a32);
    let a64: Vec<KernelArg> = [
        KernelArg::Ptr(px64),
        KernelArg::Ptr(py64),
        KernelArg::Ptr(m64),
    ]
    .into_iter()
    .chain(tail)
    .chain([KernelArg::F64(p)])
    .chain(rng_args)
    .collect();
    let stats = launch(ctx, &f64k, cfg1(grid, block), &a64);
    let out = (
        download(ctx, m32, n),
        download(ctx, m64, n),
        download_t::<f64>(ctx, py64, n),
        stats,
    );
    for q in [px32, py32, px64, py64, m32, m64] {
        ctx.free(q).unwrap();
    }
    out
}

#[test]
fn dropout_f64_same_mask_as_f32() {
    let ctx = context();
    let bwd = function(&ctx, ptx(Module::Philox), philox::DROPOUT_BWD_F64);
    let mut rng = Rng::fresh("dropout_f64_same_mask_as_f32");
    // p not representable in f32 (0.1, 0.3, 0.7), exact (0.5), the ends (0, 1); sizes that end
    // inside a counter block and inside a warp's 128-element chunk.
    for &(n, p, grid, block) in &[
        (1usize, 0.5f64, 1u32, 32u32),
        (1001, 0.1, 3, 64),
        (4097, 0.3, 2, 256),
        (513, 0.7, 1, 96),
        (333, 0.0, 2, 64),
        (77, 1.0, 1, 32),
    ] {
        let (seed, offset) = (rng.next_u64(), rng.below(1 << 40));
        let x: Vec<f64> = vec_t(&mut rng, n, -3.0, 3.0);
        let (m32, m64, y, _) = dropout_both(&ctx, &x, p, seed, offset, grid, block);
        let what = format!("n={n} p={p}");
        assert_eq!(m64, m32, "f64 mask differs from the f32 kernel's ({what})");
        let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
        let words = stream(seed, offset, n);
        for i in 0..n {
            let keep = unit(words[i]) >= p as f32;
            assert_eq!(m64[i], keep as u8, "mask {i} ({what})");
            let want = if keep { x[i] * scale } else { 0.0 };
            assert_eq!(y[i].to_bits(), want.to_bits(), "y {i} ({what})");
        }
        // Backward from the mask.
        let dy: Vec<f64> = vec_t(&mut rng, n, -3.0, 3.0);
        let (pdy, pm, pdx) = (
            upload_t(&ctx, &dy),
            upload(&ctx, &m64),
            poisoned_t::<f64>(&ctx, n),
        );
        launch(
            &ctx,
            &bwd,
            cfg1(3, 100),
            &[
                KernelArg::Ptr(pdy),
                KernelArg::Ptr(pm),
                KernelArg::Ptr(pdx),
                KernelArg::U32(n as u32),
                KernelArg::F64(p),
            ],
        );
        let got = download_t::<f64>(&ctx, pdx, n);
        for i in 0..n {
            let want = if m64[i] == 1 { dy[i] * scale } else { 0.0 };
            assert_eq!(got[i].to_bits(), want.to_bits(), "dx {i} ({what})");
        }
    }
}

#[test]
fn dropout_f64_launch_stats() {
    let ctx = context();
    let mut rng = Rng::fresh("dropout_f64_launch_stats");
    let n = 8192;
    let x: Vec<f64> = vec_t(&mut rng, n, -1.0, 1.0);
    let (_, _, _, s) = dropout_both(&ctx, &x, 0.25, rng.next_u64(), 0, 8, 256);
    // Per warp step of 32 elements: x load and y store (8 sectors each), mask store (1).
    let ideal = (n / 32) as f64 * 17.0;
    println!(
        "dropout_fwd_f64 n={n}: {} sectors (ideal {ideal})\n{s}",
        s.global_sectors
    );
    assert!(
        s.global_sectors as f64 <= 1.1 * ideal,
        "dropout_fwd_f64 coalescing: {s}"
    );
}
