//! The f32 GEMM on every SIMD path this CPU runs (AVX-512, AVX2, portable), against an
//! f64 reference within rounding, and the packed paths against the scalar `mul_add`
//! chain they all promise to equal bit for bit: odd sizes, edge tiles in both
//! directions, depths past one packed block, transposed operands, and each `beta`.

use engine::backend::cpu::gemm_blocked::{reference, KC};
use engine::backend::cpu::sgemm::sgemm_on;
use engine::backend::cpu::simd::Isa;
use engine::Rng;

/// (m, k, n): single elements, tails of every tile width (8/6 rows, 32/16 columns),
/// depths of 1, KC and past KC, and the MNIST conv/linear shapes.
const SIZES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 7, 33),
    (5, 3, 17),
    (7, 13, 31),
    (9, KC, 47),
    (13, KC + 1, 15),
    (17, 2 * KC + 3, 65),
    (64, 288, 196),
    (150, 9, 100),
    (33, 64, 2100),
];

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect()
}

/// One product on `isa`: A dense or transposed, B dense or transposed, C dense.
#[allow(clippy::too_many_arguments)]
fn run(
    isa: Isa,
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    at: bool,
    b: &[f32],
    bt: bool,
    beta: f32,
    c: &mut [f32],
) {
    let sa = if at { (1, m) } else { (k, 1) };
    let sb = if bt { (1, k) } else { (n, 1) };
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: a is m x k, b is k x n and c is m x n with these strides, all in bounds.
    unsafe {
        sgemm_on(
            isa,
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa.0 as isize,
            sa.1 as isize,
            b.as_ptr(),
            sb.0 as isize,
            sb.1 as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}

/// Random A (m x k), B (k x n) and a starting C (m x n).
fn operands((m, k, n): (usize, usize, usize), rng: &mut Rng) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    (random(m * k, rng), random(k * n, rng), random(m * n, rng))
}

#[test]
fn every_path_matches_an_f64_reference() {
    let mut rng = Rng::new(7);
    for isa in Isa::available() {
        for &(m, k, n) in SIZES {
            for (at, bt) in [(false, false), (true, false), (false, true)] {
                for beta in [0.0f32, 1.0, -0.5] {
                    let (a, b, c0) = operands((m, k, n), &mut rng);
                    let mut c = c0.clone();
                    run(isa, (m, k, n), &a, at, &b, bt, beta, &mut c);
                    for i in 0..m {
                        for j in 0..n {
                            let mut want = beta as f64 * c0[i * n + j] as f64;
                            let mut mag = want.abs();
                            for p in 0..k {
                                let av = if at { a[p * m + i] } else { a[i * k + p] };
                                let bv = if bt { b[j * k + p] } else { b[p * n + j] };
                                want += av as f64 * bv as f64;
                                mag += (av as f64 * bv as f64).abs();
                            }
                            let got = c[i * n + j] as f64;
                            // f32 summation error bound: k ulps of the magnitude sum.
                            let tol = (k + 2) as f64 * f32::EPSILON as f64 * mag + 1e-30;
                            assert!(
                                (got - want).abs() <= tol,
                                "{isa:?} {m}x{k}x{n} at={at} bt={bt} beta={beta}: C[{i},{j}] = {got}, want {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn packed_paths_equal_the_mul_add_chain_bit_for_bit() {
    let mut rng = Rng::new(11);
    let packed: Vec<Isa> = Isa::available()
        .into_iter()
        .filter(|&i| i != Isa::Portable)
        .collect();
    if packed.is_empty() {
        eprintln!("skipped: this CPU has neither AVX-512 nor AVX2 with FMA");
        return;
    }
    for isa in packed {
        for &(m, k, n) in SIZES {
            // Only B with unit column stride takes the packed path (transposed B goes to
            // matrixmultiply), so A is varied here.
            for at in [false, true] {
                for beta in [0.0f32, 1.0, 0.75] {
                    let (a, b, c0) = operands((m, k, n), &mut rng);
                    let mut got = c0.clone();
                    run(isa, (m, k, n), &a, at, &b, false, beta, &mut got);
                    let mut want = c0.clone();
                    let sa = if at { (1, m) } else { (k, 1) };
                    reference(m, k, n, &a, sa, &b, (n, 1), beta, &mut want);
                    let same = got
                        .iter()
                        .zip(&want)
                        .all(|(g, w)| g.to_bits() == w.to_bits());
                    assert!(same, "{isa:?} {m}x{k}x{n} at={at} beta={beta}: bits differ");
                }
            }
        }
    }
}

#[test]
fn beta_zero_never_reads_c_and_edges_stay_untouched() {
    let mut rng = Rng::new(3);
    for isa in Isa::available() {
        let (m, k, n) = (13, 40, 37);
        let (a, b) = (random(m * k, &mut rng), random(k * n, &mut rng));
        // C is NaN (beta = 0 must not read it), followed by guard values that a tile
        // running past the matrix would overwrite.
        let mut c = vec![f32::NAN; m * n];
        c.extend([42.0f32; 64]);
        run(isa, (m, k, n), &a, false, &b, false, 0.0, &mut c);
        assert!(
            c[..m * n].iter().all(|v| v.is_finite()),
            "{isa:?}: NaN leaked from C"
        );
        assert!(
            c[m * n..].iter().all(|&v| v == 42.0),
            "{isa:?}: wrote past C"
        );
    }
}

#[test]
fn the_chosen_path_is_supported_and_portable_always_is() {
    let chosen = engine::backend::cpu::simd::isa();
    assert!(chosen.supported());
    assert!(Isa::Portable.supported());
    assert_eq!(Isa::available().last(), Some(&Isa::Portable));
}
