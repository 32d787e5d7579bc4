//! The f64 finite-difference gradient checks run on the CUDA path too (the f64 twin of every
//! kernel, on the simulator): the CUDA backward kernels are checked against the definition
//! of the derivative, not only against the CPU.

use engine::{Conv2dParams, DType, Device, Rng, Tensor};
use tests::check;

/// A random f64 leaf on the simulator, values in [lo, hi).
fn leaf(shape: &[usize], (lo, hi): (f64, f64), rng: &mut Rng) -> Tensor {
    Tensor::rand(shape, lo, hi, DType::F64, Device::Cpu, rng)
        .and_then(|t| t.to_device(Device::CudaSim))
        .expect("rand")
        .requires_grad_(true)
}

#[test]
fn elementwise_reduce_and_matmul() {
    let mut rng = Rng::new(101);
    let (a, b) = (
        leaf(&[3, 4], (-1.0, 1.0), &mut rng),
        leaf(&[4], (0.5, 2.0), &mut rng),
    );
    check(&[a.clone(), b.clone()], |t| {
        t[0].mul(&t[1])?.tanh()?.div(&t[1])
    });
    check(std::slice::from_ref(&a), |t| {
        t[0].sigmoid()?.sum(&[1], false)
    });
    check(std::slice::from_ref(&a), |t| t[0].max(&[0], true));
    let c = leaf(&[4, 5], (-1.0, 1.0), &mut rng);
    check(&[a, c], |t| t[0].matmul(&t[1]));
}

#[test]
fn softmax_and_cross_entropy() {
    let mut rng = Rng::new(102);
    let x = leaf(&[3, 5], (-2.0, 2.0), &mut rng);
    check(std::slice::from_ref(&x), |t| t[0].log_softmax(1));
    check(std::slice::from_ref(&x), |t| t[0].softmax(0));
    check(&[x], |t| t[0].cross_entropy(&[4, 0, 2], 0.1));
}

#[test]
fn conv_pool_and_batch_norm() {
    let mut rng = Rng::new(103);
    let x = leaf(&[2, 2, 5, 4], (-1.0, 1.0), &mut rng);
    let w = leaf(&[3, 2, 3, 3], (-1.0, 1.0), &mut rng);
    let b = leaf(&[3], (-1.0, 1.0), &mut rng);
    let p = Conv2dParams {
        stride: (1, 2),
        padding: (1, 1),
        ..Conv2dParams::default()
    };
    check(&[x.clone(), w, b], |t| t[0].conv2d(&t[1], Some(&t[2]), p));
    check(std::slice::from_ref(&x), |t| {
        t[0].max_pool2d((2, 2), (1, 1), (0, 0))
    });
    check(std::slice::from_ref(&x), |t| {
        t[0].avg_pool2d((3, 3), (2, 1), (1, 1))
    });
    check(std::slice::from_ref(&x), |t| {
        t[0].adaptive_avg_pool2d((2, 3))
    });
    let (g, beta) = (
        leaf(&[2], (0.5, 1.5), &mut rng),
        leaf(&[2], (-1.0, 1.0), &mut rng),
    );
    check(&[x, g, beta], |t| {
        let rm = Tensor::zeros([2], DType::F64, Device::CudaSim)?;
        let rv = Tensor::ones([2], DType::F64, Device::CudaSim)?;
        t[0].batch_norm(&rm, &rv, Some(&t[1]), Some(&t[2]), true, 0.1, 1e-5)
    });
}

#[test]
fn dropout_and_index_ops() {
    let mut rng = Rng::new(104);
    let x = leaf(&[4, 6], (-1.0, 1.0), &mut rng);
    check(std::slice::from_ref(&x), |t| t[0].dropout(0.4, true, 7, 3));
    check(std::slice::from_ref(&x), |t| {
        t[0].index_select(1, &[5, 0, 5])
    });
    check(&[x], |t| t[0].narrow(0, 1, 2)?.exp());
}
