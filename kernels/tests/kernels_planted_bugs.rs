//! Planted bugs (tests/cuda/planted_bugs.cu): each `_bad` kernel must be reported with the right
//! SimError kind; its `_ok` twin must run clean and compute the right thing.
#![allow(clippy::needless_range_loop)] // index loops mirror the kernels' index math

mod kernels_util;

use kernels::sim::KernelArg;
use kernels_util::*;

/// Runs `name` over n = 100 floats in blocks of 64 and returns the error kind, if any, with the
/// output (only meaningful on success).
fn run(name: &str) -> (Result<(), String>, Vec<f32>, Vec<f32>) {
    let ctx = context();
    let f = function(&ctx, PLANTED_BUGS_PTX, name);
    let mut rng = Rng::fresh(name);
    let n = 100usize;
    let x = rng.vec_f32(n, -1.0, 1.0);
    let (dx, dy) = (upload_f32(&ctx, &x), poisoned(&ctx, n));
    let r = ctx
        .launch(
            &f,
            cfg1(2, 64),
            &[
                KernelArg::Ptr(dx),
                KernelArg::Ptr(dy),
                KernelArg::U32(n as u32),
            ],
        )
        .map(|_| ())
        .map_err(|e| {
            eprintln!("{name}: [{}] {e}", e.kind());
            e.kind().to_string()
        });
    let y = if r.is_ok() {
        download_f32(&ctx, dy, n)
    } else {
        vec![]
    };
    (r, x, y)
}

#[test]
fn out_of_bounds_write_is_reported() {
    assert_eq!(run("oob_write_bad").0, Err("out-of-bounds".to_string()));
    let (r, x, y) = run("oob_write_ok");
    assert_eq!(r, Ok(()));
    assert_eq!(y, x.iter().map(|v| v * 2.0).collect::<Vec<_>>());
}

#[test]
fn shared_memory_race_is_reported() {
    assert_eq!(run("shared_race_bad").0, Err("shared-race".to_string()));
    let (r, x, y) = run("shared_race_ok");
    assert_eq!(r, Ok(()));
    for i in 0..x.len() {
        let (b, t) = (i / 64, i % 64);
        let j = b * 64 + (t + 1) % 64;
        let want = if j < x.len() { x[j] } else { 0.0 };
        assert_eq!(y[i], want, "element {i}");
    }
}

#[test]
fn divergent_barrier_is_reported() {
    assert_eq!(
        run("barrier_divergence_bad").0,
        Err("barrier-divergence".to_string())
    );
    let (r, x, y) = run("barrier_divergence_ok");
    assert_eq!(r, Ok(()));
    for i in 0..x.len() {
        let (b, t) = (i / 64, i % 64);
        let src = 63 - t;
        let j = b * 64 + src;
        let v = if j < x.len() { x[j] } else { 0.0 };
        let want = if src < 16 { v * 2.0 } else { v };
        assert_eq!(y[i], want, "element {i}");
    }
}
