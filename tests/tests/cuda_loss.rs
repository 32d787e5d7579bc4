//! CPU vs CUDA (simulator; a GPU too when present): softmax, log-softmax, NLL and the fused
//! cross-entropy with label smoothing, forward and backward.

use engine::{DType, Device, Labels, Rng, Tensor};
use tests::agree::{assert_agrees, cuda_devices, inputs, F32_TOL};

#[test]
fn softmax_and_log_softmax_agree_on_any_dim() {
    let mut rng = Rng::new(31);
    let x = inputs(&[&[5, 11]], &mut rng);
    assert_agrees("softmax", &x, F32_TOL, |t| t[0].softmax(1));
    assert_agrees("log_softmax", &x, F32_TOL, |t| t[0].log_softmax(1));
    let x = inputs(&[&[3, 4, 6]], &mut rng);
    assert_agrees("softmax over a middle dim", &x, F32_TOL, |t| {
        t[0].softmax(1)
    });
    assert_agrees("log_softmax over dim 0", &x, F32_TOL, |t| {
        t[0].log_softmax(0)
    });
}

#[test]
fn nll_loss_agrees() {
    let mut rng = Rng::new(32);
    let x = inputs(&[&[7, 10]], &mut rng);
    let targets = [3, 0, 9, 9, 1, 4, 2];
    assert_agrees("nll_loss", &x, F32_TOL, |t| {
        t[0].log_softmax(1)?.nll_loss(&targets)
    });
}

#[test]
fn cross_entropy_agrees_with_and_without_smoothing() {
    let mut rng = Rng::new(33);
    let targets = [3, 0, 9, 9, 1, 4, 2, 5, 5, 6, 8, 7, 0];
    for eps in [0.0, 0.1, 1.0] {
        let x = inputs(&[&[13, 10]], &mut rng);
        let x: Vec<Tensor> = vec![x[0].mul_scalar(4.0).unwrap().detach().requires_grad_(true)];
        assert_agrees("cross_entropy", &x, F32_TOL, |t| {
            t[0].cross_entropy(&targets, eps)
        });
    }
}

#[test]
fn device_labels_give_the_same_loss() {
    let mut rng = Rng::new(34);
    let targets = [1usize, 2, 0, 2];
    let x = Tensor::rand([4, 3], -2.0, 2.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let want = x.cross_entropy(&targets, 0.05).unwrap().item().unwrap();
    for dev in cuda_devices() {
        let labels = Labels::host(&targets).to_device(dev).unwrap();
        assert_eq!(labels.device(), dev);
        assert_eq!(labels.to_vec().unwrap(), targets);
        let xd = x.to_device(dev).unwrap();
        let got = xd.cross_entropy_labels(&labels, 0.05).unwrap();
        assert_eq!(got.device(), dev);
        assert!((got.item().unwrap() - want).abs() < 1e-6 * want.abs().max(1.0));
    }
}

#[test]
fn out_of_range_targets_are_errors_on_every_device() {
    for dev in std::iter::once(Device::Cpu).chain(cuda_devices()) {
        let x = Tensor::zeros([2, 3], DType::F32, dev).unwrap();
        let e = x.cross_entropy(&[0, 3], 0.0).unwrap_err().to_string();
        assert!(
            e.contains("cross_entropy") && e.contains("out of range"),
            "{e}"
        );
    }
}
