//! Dropout on CUDA uses the CPU's Philox stream: the same `(seed, offset)` gives the same mask
//! on every device, and the backward replays it.

use engine::{DType, Device, Rng, Tensor};
use tests::agree::{assert_agrees, cuda_devices, inputs, F32_TOL};

#[test]
fn dropout_masks_and_gradients_agree() {
    let mut rng = Rng::new(41);
    for (p, n) in [(0.5, 1001usize), (0.25, 64), (0.1, 7)] {
        let x = inputs(&[&[n]], &mut rng);
        assert_agrees("dropout", &x, F32_TOL, |t| t[0].dropout(p, true, 1234, 77));
    }
}

#[test]
fn f64_dropout_keeps_the_same_elements() {
    let mut rng = Rng::new(42);
    let x = Tensor::rand([513], 1.0, 2.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let kept = |t: &Tensor| -> Vec<bool> {
        let y = t.dropout(0.3, true, 9, 5).unwrap().to_vec_f64().unwrap();
        y.iter().map(|&v| v != 0.0).collect()
    };
    let want = kept(&x);
    for dev in cuda_devices() {
        let got = kept(&x.to_device(dev).unwrap());
        assert_eq!(got, want, "kept elements on {dev}");
        let kept = got.iter().filter(|&&k| k).count() as f64 / got.len() as f64;
        assert!((kept - 0.7).abs() < 0.07, "keep rate {kept}");
    }
}
