//! `matmul` with 1-D operands, like `torch.matmul`: vector @ matrix, matrix @ vector, the
//! dot product (0-D), and their batched forms. Shapes and values against loops written here,
//! f64 gradient checks, shape errors, and CPU vs cuda-sim agreement.

use engine::{DType, Device, Rng, Tensor};
use tests::agree::{assert_agrees, inputs, F32_TOL};
use tests::{assert_close, check, leaf};

/// `a (batch_a.., m, k) @ b (batch_b.., k, n)` by loops, where a 1-D `a` is one row and a 1-D
/// `b` one column; batches broadcast by repeating the single batch of a 3-D/2-D pairing.
fn ref_matmul(a: &Tensor, b: &Tensor) -> Vec<f64> {
    let (av, bv) = (a.to_vec_f64().unwrap(), b.to_vec_f64().unwrap());
    let mat = |t: &Tensor, vec_is_row: bool| -> (usize, usize, usize) {
        let d = t.dims();
        match d.len() {
            1 if vec_is_row => (1, 1, d[0]),
            1 => (1, d[0], 1),
            2 => (1, d[0], d[1]),
            _ => (d[0], d[1], d[2]),
        }
    };
    let (ba, m, k) = mat(a, true);
    let (bb, _, n) = mat(b, false);
    let batch = ba.max(bb);
    let mut out = Vec::new();
    for bi in 0..batch {
        let (oa, ob) = ((bi % ba) * m * k, (bi % bb) * k * n);
        for i in 0..m {
            for j in 0..n {
                out.push(
                    (0..k)
                        .map(|p| av[oa + i * k + p] * bv[ob + p * n + j])
                        .sum(),
                );
            }
        }
    }
    out
}

/// (a shape, b shape, expected output shape).
const CASES: &[(&[usize], &[usize], &[usize])] = &[
    (&[5], &[5, 3], &[3]),
    (&[4, 7], &[7], &[4]),
    (&[6], &[6], &[]),
    (&[3, 4, 5], &[5], &[3, 4]),
    (&[5], &[2, 5, 3], &[2, 3]),
    (&[1], &[1], &[]),
];

#[test]
fn vector_products_have_torch_shapes_and_values() {
    let mut rng = Rng::new(301);
    for &(sa, sb, so) in CASES {
        let (a, b) = (leaf(sa, &mut rng), leaf(sb, &mut rng));
        let y = a.matmul(&b).unwrap();
        assert_eq!(y.dims(), so, "{sa:?} @ {sb:?}");
        assert_close(&y.to_vec_f64().unwrap(), &ref_matmul(&a, &b), 1e-13);
    }
    // The dot product by hand.
    let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], [3]).unwrap();
    let b = Tensor::from_vec(vec![4.0f64, -5.0, 6.0], [3]).unwrap();
    assert_eq!(a.matmul(&b).unwrap().item().unwrap(), 12.0);
}

#[test]
fn vector_product_gradchecks() {
    let mut rng = Rng::new(302);
    for &(sa, sb, _) in CASES {
        let (a, b) = (leaf(sa, &mut rng), leaf(sb, &mut rng));
        check(&[a, b], |t| t[0].matmul(&t[1]));
    }
    // A strided (transposed) matrix against a vector.
    let m = leaf(&[3, 4], &mut rng);
    let v = leaf(&[3], &mut rng);
    check(&[m, v], |t| t[1].matmul(&t[0])?.matmul(&t[0].t()?));
}

#[test]
fn vector_shape_errors() {
    let a = Tensor::zeros([3], DType::F64, Device::Cpu).unwrap();
    let b = Tensor::zeros([4], DType::F64, Device::Cpu).unwrap();
    let e = a.matmul(&b).unwrap_err().to_string();
    assert!(
        e.contains("matmul") && e.contains("inner dimensions"),
        "{e}"
    );
    let m = Tensor::zeros([4, 2], DType::F64, Device::Cpu).unwrap();
    assert!(a.matmul(&m).is_err());
    let s = Tensor::scalar(2.0, DType::F64, Device::Cpu).unwrap();
    let e = s.matmul(&a).unwrap_err().to_string();
    assert!(e.contains("matmul") && e.contains("at least 1-D"), "{e}");
}

#[test]
fn vector_products_agree_on_cuda_sim() {
    let mut rng = Rng::new(303);
    for &(sa, sb, _) in CASES {
        let x = inputs(&[sa, sb], &mut rng);
        assert_agrees("matmul vectors", &x, F32_TOL, |t| t[0].matmul(&t[1]));
    }
}
