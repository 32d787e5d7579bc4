//! Test-only kernels (tests/cuda/features.cu) exercising simulator features against Rust
//! references: shared atomics, 3-D grids, real calls, local arrays, dynamic shared memory,
//! early return before a barrier with partial warps, partial-mask vote and shuffle.
#![allow(clippy::needless_range_loop)] // index loops mirror the kernels' index math

mod kernels_util;

use kernels::sim::KernelArg;
use kernels_util::*;

#[test]
fn histogram_with_shared_atomics() {
    let ctx = context();
    let f = function(&ctx, FEATURES_PTX, "histogram_u8");
    let mut rng = Rng::fresh("histogram_with_shared_atomics");
    for &(n, grid, block) in &[
        (1usize, 1u32, 32u32),
        (1000, 3, 100),
        (65_537, 8, 256),
        (300, 2, 1000),
    ] {
        // Skewed data so that many threads hit the same bin at once.
        let x: Vec<u8> = (0..n)
            .map(|_| {
                if rng.below(3) == 0 {
                    7
                } else {
                    rng.below(256) as u8
                }
            })
            .collect();
        let dx = upload(&ctx, &x);
        let bins = upload_u32(&ctx, &[0u32; 256]);
        launch(
            &ctx,
            &f,
            cfg1(grid, block),
            &[
                KernelArg::Ptr(dx),
                KernelArg::U32(n as u32),
                KernelArg::Ptr(bins),
            ],
        );
        let mut want = [0u32; 256];
        for &v in &x {
            want[v as usize] += 1;
        }
        assert_eq!(
            download_u32(&ctx, bins, 256),
            want.to_vec(),
            "n={n} grid={grid} block={block}"
        );
    }
}

#[test]
fn grid_3d_indexing() {
    let ctx = context();
    let f = function(&ctx, FEATURES_PTX, "grid3d_index");
    for &(dims, grid, block) in &[
        ((5u32, 7u32, 3u32), (1u32, 1u32, 1u32), (4u32, 2u32, 2u32)),
        ((33, 9, 5), (2, 3, 2), (8, 4, 2)),
        ((17, 1, 11), (3, 1, 4), (6, 1, 3)),
    ] {
        let (nx, ny, nz) = dims;
        let n = (nx * ny * nz) as usize;
        let out = poisoned(&ctx, n);
        launch(
            &ctx,
            &f,
            cfg(grid, block, 0),
            &[
                KernelArg::Ptr(out),
                KernelArg::U32(nx),
                KernelArg::U32(ny),
                KernelArg::U32(nz),
            ],
        );
        let got = download_u32(&ctx, out, n);
        let mut i = 0;
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    assert_eq!(
                        got[i],
                        x + 1000 * y + 1_000_000 * z,
                        "({x},{y},{z}) grid {grid:?}"
                    );
                    i += 1;
                }
            }
        }
    }
}

#[test]
fn noinline_device_function_calls() {
    let ctx = context();
    let f = function(&ctx, FEATURES_PTX, "devfunc_poly");
    let mut rng = Rng::fresh("noinline_device_function_calls");
    let n = 1001;
    let x = rng.vec_f32(n, -5.0, 5.0);
    let (a, b, c) = (rng.f32(-1.0, 1.0), rng.f32(-2.0, 2.0), rng.f32(-3.0, 3.0));
    let (dx, dy) = (upload_f32(&ctx, &x), poisoned(&ctx, n));
    launch(
        &ctx,
        &f,
        cfg1(3, 96),
        &[
            KernelArg::Ptr(dx),
            KernelArg::Ptr(dy),
            KernelArg::U32(n as u32),
            KernelArg::F32(a),
            KernelArg::F32(b),
            KernelArg::F32(c),
        ],
    );
    let got = download_f32(&ctx, dy, n);
    for i in 0..n {
        let want = a.mul_add(x[i], b).mul_add(x[i], c).clamp(-10.0, 10.0);
        assert_eq!(got[i].to_bits(), want.to_bits(), "element {i}: x={}", x[i]);
    }
}

#[test]
fn dynamically_indexed_local_array() {
    let ctx = context();
    let f = function(&ctx, FEATURES_PTX, "local_array");
    let mut rng = Rng::fresh("dynamically_indexed_local_array");
    let n = 777;
    let x = rng.vec_f32(n, -1.0, 1.0);
    let idx: Vec<u32> = (0..n).map(|_| rng.next_u64() as u32).collect();
    let (dx, di, dy) = (
        upload_f32(&ctx, &x),
        upload_u32(&ctx, &idx),
        poisoned(&ctx, n),
    );
    launch(
        &ctx,
        &f,
        cfg1(4, 64),
        &[
            KernelArg::Ptr(dx),
            KernelArg::Ptr(di),
            KernelArg::Ptr(dy),
            KernelArg::U32(n as u32),
        ],
    );
    let got = download_f32(&ctx, dy, n);
    for i in 0..n {
        let buf = |k: u32| x[i] * (k + 1) as f32;
        let want = buf(idx[i] % 16) + buf(idx[i].wrapping_mul(7) % 16);
        assert_eq!(got[i].to_bits(), want.to_bits(), "element {i}");
    }
}

#[test]
fn dynamic_extern_shared_memory() {
    let ctx = context();
    let f = function(&ctx, FEATURES_PTX, "reverse_segments");
    let mut rng = Rng::fresh("dynamic_extern_shared_memory");
    for &(n, grid, block) in &[
        (1usize, 1u32, 1u32),
        (100, 1, 48),
        (1000, 3, 96),
        (513, 2, 1000),
    ] {
        let x = rng.vec_f32(n, -1.0, 1.0);
        let (dx, dy) = (upload_f32(&ctx, &x), poisoned(&ctx, n));
        launch(
            &ctx,
            &f,
            cfg((grid, 1, 1), (block, 1, 1), 4 * block),
            &[
                KernelArg::Ptr(dx),
                KernelArg::Ptr(dy),
                KernelArg::U32(n as u32),
            ],
        );
        let mut want = Vec::with_capacity(n);
        for seg in x.chunks(block as usize) {
            want.extend(seg.iter().rev());
        }
        assert_eq!(
            download_f32(&ctx, dy, n),
            want,
            "n={n} grid={grid} block={block}"
        );
    }
}

#[test]
fn early_return_before_barrier_partial_warps() {
    let ctx = context();
    let f = function(&ctx, FEATURES_PTX, "early_return_neighbor");
    let mut rng = Rng::fresh("early_return_before_barrier_partial_warps");
    for &(n, block) in &[(1usize, 1u32), (50, 48), (100, 48), (1001, 100), (70, 1000)] {
        let grid = (n as u32).div_ceil(block);
        let x = rng.vec_f32(n, -1.0, 1.0);
        let (dx, dy) = (upload_f32(&ctx, &x), poisoned(&ctx, n));
        launch(
            &ctx,
            &f,
            cfg1(grid, block),
            &[
                KernelArg::Ptr(dx),
                KernelArg::Ptr(dy),
                KernelArg::U32(n as u32),
            ],
        );
        let got = download_f32(&ctx, dy, n);
        for (b, seg) in x.chunks(block as usize).enumerate() {
            for t in 0..seg.len() {
                let want = seg[t] + seg[(t + 1) % seg.len()];
                let i = b * block as usize + t;
                assert_eq!(
                    got[i].to_bits(),
                    want.to_bits(),
                    "element {i} (n={n} block={block})"
                );
            }
        }
    }
}

#[test]
fn partial_mask_vote_and_shuffle() {
    let ctx = context();
    let f = function(&ctx, FEATURES_PTX, "warp_partial");
    let mut rng = Rng::fresh("partial_mask_vote_and_shuffle");
    let (n, block) = (200usize, 96u32);
    let x: Vec<i32> = (0..n).map(|_| rng.below(21) as i32 - 10).collect();
    let xb: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let dx = upload(&ctx, &xb);
    let out = poisoned(&ctx, n);
    launch(
        &ctx,
        &f,
        cfg1((n as u32).div_ceil(block), block),
        &[
            KernelArg::Ptr(dx),
            KernelArg::Ptr(out),
            KernelArg::U32(n as u32),
        ],
    );
    let got = download_u32(&ctx, out, n);
    for i in 0..n {
        let lane = (i % block as usize) % 32;
        if lane >= 8 {
            assert_eq!(got[i], u32::MAX, "element {i} must stay untouched");
            continue;
        }
        // The 8 lanes of this group; all exist here because n is a multiple of 8.
        let base = i - lane;
        let ballot: u32 = (0..8).filter(|&l| x[base + l] > 0).map(|l| 1u32 << l).sum();
        // The xor butterfly over 8 lanes leaves every lane with the group's sum.
        let sum: i32 = (0..8).map(|l| x[base + l]).sum();
        assert_eq!(got[i] as i32, ballot as i32 + 1000 * sum, "element {i}");
    }
}
