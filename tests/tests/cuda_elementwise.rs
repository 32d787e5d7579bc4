//! CPU vs CUDA (simulator; a GPU too when present): the unary table, broadcasting binary ops,
//! strided copies and dtype conversion, forward and backward.

use engine::{DType, Device, Rng, Tensor, UnaryOp};
use tests::agree::{assert_agrees, cuda_devices, inputs, rel_error, F32_TOL};

#[test]
fn unary_table_agrees() {
    let mut rng = Rng::new(11);
    for op in tests::sample_unary_ops() {
        let x = inputs(&[&[3, 37]], &mut rng);
        assert_agrees(op.name(), &x, F32_TOL, |t| t[0].unary(op));
    }
    // Ops that need positive inputs.
    for op in [UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Powf(1.7)] {
        let x = inputs(&[&[5, 13]], &mut rng);
        let x: Vec<Tensor> = x
            .iter()
            .map(|t| {
                t.abs()
                    .unwrap()
                    .add_scalar(0.5)
                    .unwrap()
                    .detach()
                    .requires_grad_(true)
            })
            .collect();
        assert_agrees(op.name(), &x, F32_TOL, |t| t[0].unary(op));
    }
}

#[test]
fn unary_on_a_strided_view_agrees() {
    let mut rng = Rng::new(12);
    let x = inputs(&[&[4, 6, 5]], &mut rng);
    assert_agrees("tanh of a permuted view", &x, F32_TOL, |t| {
        t[0].permute(&[2, 0, 1])?.tanh()
    });
}

#[test]
fn broadcasting_binary_ops_agree() {
    let mut rng = Rng::new(13);
    let cases: [(&[usize], &[usize]); 4] = [
        (&[7, 9], &[7, 9]),
        (&[3, 1, 5], &[4, 1]),
        (&[2, 3, 4], &[4]),
        (&[1], &[6, 1, 3]),
    ];
    for (sa, sb) in cases {
        let t = inputs(&[sa, sb], &mut rng);
        assert_agrees("add", &t, F32_TOL, |t| t[0].add(&t[1]));
        assert_agrees("sub", &t, F32_TOL, |t| t[0].sub(&t[1]));
        assert_agrees("mul", &t, F32_TOL, |t| t[0].mul(&t[1]));
        let pos: Vec<Tensor> = vec![
            t[0].clone(),
            t[1].abs()
                .unwrap()
                .add_scalar(0.5)
                .unwrap()
                .detach()
                .requires_grad_(true),
        ];
        assert_agrees("div", &pos, F32_TOL, |t| t[0].div(&t[1]));
    }
}

#[test]
fn binary_on_transposed_operands_agrees() {
    let mut rng = Rng::new(14);
    let t = inputs(&[&[5, 8], &[8, 5]], &mut rng);
    assert_agrees("mul with a transposed operand", &t, F32_TOL, |t| {
        t[0].mul(&t[1].t()?)
    });
}

#[test]
fn contiguous_and_dtype_conversion_agree() {
    let mut rng = Rng::new(15);
    let x = Tensor::rand([3, 4, 5], -1.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    for dev in cuda_devices() {
        let d = x.to_device(dev).unwrap();
        let p = d.permute(&[1, 2, 0]).unwrap().contiguous().unwrap();
        assert!(p.is_contiguous() && p.device() == dev);
        let want = x.permute(&[1, 2, 0]).unwrap().to_vec_f64().unwrap();
        assert_eq!(p.to_vec_f64().unwrap(), want, "gathered on {dev}");
        let wide = d.to_dtype(DType::F64).unwrap();
        assert_eq!((wide.dtype(), wide.device()), (DType::F64, dev));
        assert_eq!(wide.to_vec_f64().unwrap(), x.to_vec_f64().unwrap());
        let narrow = wide
            .mul_scalar(1.0 / 3.0)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        let cpu: Vec<f64> = x
            .to_vec_f64()
            .unwrap()
            .iter()
            .map(|v| (v / 3.0) as f32 as f64)
            .collect();
        assert!(rel_error(&narrow.to_vec_f64().unwrap(), &cpu) < 1e-7);
        let full = Tensor::full([2, 3], -4.25, DType::F64, dev).unwrap();
        assert_eq!(full.to_vec_f64().unwrap(), vec![-4.25; 6]);
    }
}

#[test]
fn f64_kernels_agree_tightly() {
    let mut rng = Rng::new(16);
    let a = Tensor::rand([6, 7], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let b = Tensor::rand([7], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let t = [a.requires_grad_(true), b.requires_grad_(true)];
    assert_agrees("f64 sigmoid(a) * b", &t, 1e-12, |t| {
        t[0].sigmoid()?.mul(&t[1])
    });
}
