//! CPU vs CUDA (simulator; a GPU too when present): reductions over any dims and batched,
//! broadcast, transposed matmul, forward and backward.

use engine::{DType, Device, Rng, Tensor};
use tests::agree::{assert_agrees, cuda_devices, inputs, F32_TOL};

#[test]
fn sums_and_means_over_any_dims_agree() {
    let mut rng = Rng::new(21);
    let x = inputs(&[&[3, 5, 7]], &mut rng);
    for dims in [&[][..], &[0], &[1], &[2], &[0, 2], &[1, 2]] {
        assert_agrees("sum", &x, F32_TOL, |t| t[0].sum(dims, false));
        assert_agrees("mean keepdim", &x, F32_TOL, |t| t[0].mean(dims, true));
    }
    // A long row (one block per row) and many short ones.
    let long = inputs(&[&[2, 5000]], &mut rng);
    assert_agrees("sum of long rows", &long, F32_TOL, |t| {
        t[0].sum(&[1], false)
    });
}

#[test]
fn max_and_argmax_agree() {
    let mut rng = Rng::new(22);
    // Random inputs have no ties, so both backends route the gradient to the same element.
    let x = inputs(&[&[4, 6, 9]], &mut rng);
    for dims in [&[2][..], &[0], &[0, 1]] {
        assert_agrees("max", &x, F32_TOL, |t| t[0].max(dims, false));
    }
    for dev in cuda_devices() {
        let d = x[0].detach().to_device(dev).unwrap();
        for dim in 0..3 {
            let want = x[0].argmax(dim, false).unwrap().to_vec_f64().unwrap();
            let got = d.argmax(dim, true).unwrap();
            assert_eq!(got.rank(), 3);
            assert_eq!(
                got.to_vec_f64().unwrap(),
                want,
                "argmax over {dim} on {dev}"
            );
        }
    }
}

#[test]
fn empty_sum_is_zero_on_the_device() {
    for dev in cuda_devices() {
        let x = Tensor::zeros([3, 0], DType::F32, dev).unwrap();
        let s = x.sum(&[1], false).unwrap();
        assert_eq!(s.to_vec_f32().unwrap(), vec![0.0; 3]);
    }
}

#[test]
fn matmul_shapes_agree() {
    let mut rng = Rng::new(23);
    let cases: [(&[usize], &[usize]); 5] = [
        (&[1, 1], &[1, 1]),
        (&[7, 13], &[13, 5]),
        (&[65, 70], &[70, 66]),
        (&[3, 9, 4], &[3, 4, 6]),
        (&[2, 1, 5, 3], &[4, 3, 2]), // broadcast batch dims
    ];
    for (sa, sb) in cases {
        let t = inputs(&[sa, sb], &mut rng);
        assert_agrees("matmul", &t, F32_TOL, |t| t[0].matmul(&t[1]));
    }
}

#[test]
fn matmul_with_transposed_operands_agrees() {
    let mut rng = Rng::new(24);
    let t = inputs(&[&[9, 17], &[11, 9]], &mut rng);
    // a^T (17x9) @ b^T (9x11): both operands transposed by strides.
    assert_agrees("matmul of transposes", &t, F32_TOL, |t| {
        t[0].t()?.matmul(&t[1].t()?)
    });
    let t = inputs(&[&[10, 12], &[5, 12], &[5]], &mut rng);
    assert_agrees("linear", &t, F32_TOL, |t| t[0].linear(&t[1], Some(&t[2])));
}

#[test]
fn f64_matmul_agrees_tightly() {
    let mut rng = Rng::new(25);
    let a = Tensor::rand([6, 33], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let b = Tensor::rand([33, 7], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let t = [a.requires_grad_(true), b.requires_grad_(true)];
    assert_agrees("f64 matmul", &t, 1e-12, |t| t[0].matmul(&t[1]));
}
