//! GFLOP/s of the f32 GEMM on each SIMD path this CPU has, single-threaded, at the
//! shapes the MNIST models' conv and linear layers produce. Each figure is the best of
//! many runs, which stays meaningful on a machine shared with other work. A transposed B
//! (the `dW` and `fc1 fwd` rows) goes to matrixmultiply on every path (see `sgemm.rs`).
//!
//!     cargo run --release -p benches --bin gemm_paths

use std::time::Instant;

use engine::backend::cpu::sgemm::sgemm_on;
use engine::backend::cpu::simd::Isa;

/// (name, m, k, n, B transposed): C (m x n) = A (m x k) B (k x n).
const SHAPES: &[(&str, usize, usize, usize, bool)] = &[
    ("conv2 fwd   W(64x288) cols(288x196)", 64, 288, 196, false),
    ("conv2 dx    W^T(288x64) dY(64x196)", 288, 64, 196, false),
    ("conv2 dW    dY(64x196) cols^T(196x288)", 64, 196, 288, true),
    ("conv1 fwd   W(32x9) cols(9x784)", 32, 9, 784, false),
    ("fc1 fwd     X(32x3136) W^T(3136x128)", 32, 3136, 128, true),
    ("fc1 dW      dY^T(128x64) X(64x3136)", 128, 64, 3136, false),
];

fn main() {
    let paths = Isa::available();
    print!("{:<40}", "shape (m x k x n)");
    for p in &paths {
        print!("{:>12}", p.name());
    }
    println!("   (GFLOP/s, best of runs, 1 thread)");
    for &(name, m, k, n, bt) in SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0.0f32; m * n];
        let (rsb, csb) = if bt { (1, k as isize) } else { (n as isize, 1) };
        print!("{name:<40}");
        // The paths take turns run by run, so a change of machine load or clock hits all.
        let mut best = vec![f64::INFINITY; paths.len()];
        let runs = (2e9 / (2 * m * k * n) as f64).clamp(20.0, 2000.0) as usize;
        for _ in 0..runs {
            for (&isa, best) in paths.iter().zip(best.iter_mut()) {
                let t = Instant::now();
                // SAFETY: a, b, c are dense m x k, k x n, m x n with the strides given.
                unsafe {
                    sgemm_on(
                        isa,
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b.as_ptr(),
                        rsb,
                        csb,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                *best = best.min(t.elapsed().as_secs_f64());
            }
        }
        for b in best {
            print!("{:>12.1}", 2.0 * (m * k * n) as f64 / b / 1e9);
        }
        println!();
    }
}
