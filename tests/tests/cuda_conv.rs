//! CPU vs CUDA (simulator; a GPU too when present): conv2d with stride, padding, dilation,
//! groups and bias, forward and all three gradients, odd sizes.

use engine::{Conv2dParams, DType, Device, Rng, Tensor};
use tests::agree::{assert_agrees, inputs, F32_TOL};

#[test]
fn conv2d_geometries_agree() {
    let mut rng = Rng::new(91);
    let p = |stride, padding, dilation, groups| Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    };
    let cases = [
        // (input, weight, params)
        ([2, 3, 7, 6], [4, 3, 3, 3], p((1, 1), (1, 1), (1, 1), 1)),
        ([3, 2, 9, 9], [5, 2, 3, 2], p((2, 1), (0, 1), (1, 1), 1)),
        ([1, 4, 8, 7], [6, 2, 3, 3], p((1, 2), (2, 1), (2, 1), 2)),
        ([2, 1, 5, 5], [3, 1, 1, 1], p((1, 1), (0, 0), (1, 1), 1)),
    ];
    for (xs, ws, params) in cases {
        let t = inputs(&[&xs, &ws, &[ws[0]]], &mut rng);
        assert_agrees("conv2d", &t, F32_TOL, |t| {
            t[0].conv2d(&t[1], Some(&t[2]), params)
        });
        assert_agrees("conv2d without bias", &t[..2], F32_TOL, |t| {
            t[0].conv2d(&t[1], None, params)
        });
    }
}

#[test]
fn f64_conv2d_agrees_tightly() {
    let mut rng = Rng::new(92);
    let x = Tensor::rand([2, 3, 6, 5], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let w = Tensor::rand([4, 3, 3, 3], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let t = [x.requires_grad_(true), w.requires_grad_(true)];
    let params = Conv2dParams {
        padding: (1, 1),
        ..Conv2dParams::default()
    };
    assert_agrees("f64 conv2d", &t, 1e-12, |t| {
        t[0].conv2d(&t[1], None, params)
    });
}
