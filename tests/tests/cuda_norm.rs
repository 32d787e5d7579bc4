//! CPU vs CUDA (simulator; a GPU too when present): BatchNorm in training (batch statistics
//! and the running-stat update) and eval mode, (N, C) and (N, C, H, W), with and without the
//! affine parameters, forward and backward.

use engine::{DType, Device, Rng, Tensor};
use tests::agree::{assert_agrees, cuda_devices, inputs, rel_error, F32_TOL};

/// Running statistics `(mean, var)` of `c` channels on `dev`, as fresh copies.
fn running(c: usize, dev: Device) -> (Tensor, Tensor) {
    let mut rng = Rng::new(81);
    let m = Tensor::rand([c], -0.5, 0.5, DType::F32, Device::Cpu, &mut rng).unwrap();
    let v = Tensor::rand([c], 0.5, 1.5, DType::F32, Device::Cpu, &mut rng).unwrap();
    (m.to_device(dev).unwrap(), v.to_device(dev).unwrap())
}

#[test]
fn training_batch_norm_agrees() {
    let mut rng = Rng::new(82);
    for shape in [&[6, 3, 5, 4][..], &[9, 5]] {
        let c = shape[1];
        let t = inputs(&[shape, &[c], &[c]], &mut rng);
        assert_agrees("batch_norm train", &t, F32_TOL, |t| {
            let (rm, rv) = running(c, t[0].device());
            t[0].batch_norm(&rm, &rv, Some(&t[1]), Some(&t[2]), true, 0.1, 1e-5)
        });
        let x = vec![t[0].clone()];
        assert_agrees("batch_norm train, no affine", &x, F32_TOL, |t| {
            let (rm, rv) = running(c, t[0].device());
            t[0].batch_norm(&rm, &rv, None, None, true, 0.1, 1e-5)
        });
    }
}

#[test]
fn eval_batch_norm_agrees() {
    let mut rng = Rng::new(83);
    let t = inputs(&[&[4, 3, 3, 5], &[3], &[3]], &mut rng);
    assert_agrees("batch_norm eval", &t, F32_TOL, |t| {
        let (rm, rv) = running(3, t[0].device());
        t[0].batch_norm(&rm, &rv, Some(&t[1]), Some(&t[2]), false, 0.1, 1e-5)
    });
}

#[test]
fn running_statistics_update_agrees() {
    let mut rng = Rng::new(84);
    let x = Tensor::rand([5, 4, 3, 3], 1.0, 3.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let (rm, rv) = running(4, Device::Cpu);
    x.batch_norm(&rm, &rv, None, None, true, 0.3, 1e-5).unwrap();
    for dev in cuda_devices() {
        let (dm, dv) = running(4, dev);
        x.to_device(dev)
            .unwrap()
            .batch_norm(&dm, &dv, None, None, true, 0.3, 1e-5)
            .unwrap();
        for (a, b) in [(&dm, &rm), (&dv, &rv)] {
            let e = rel_error(&a.to_vec_f64().unwrap(), &b.to_vec_f64().unwrap());
            assert!(e < F32_TOL, "running statistics on {dev}: {e:.2e}");
        }
    }
}
