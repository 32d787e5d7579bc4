//! LayerNorm on the CPU: values against a plain per-row reference (biased variance, eps
//! inside the square root), the affine parts, f64 finite-difference gradient checks of the
//! input, weight and bias (one and two normalised dims, a transposed input), argument
//! errors, and the `nn::LayerNorm` module.

use engine::nn::{self, Module};
use engine::{DType, Device, Rng, Tensor};
use tests::{assert_all_fail, assert_close, check, leaf};

/// LayerNorm of each run of `d` trailing values, straight from the definition.
fn reference(x: &[f64], d: usize, w: Option<&[f64]>, b: Option<&[f64]>, eps: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(d) {
        let mean = row.iter().sum::<f64>() / d as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
        for (j, v) in row.iter().enumerate() {
            let y = (v - mean) / (var + eps).sqrt();
            out.push(y * w.map_or(1.0, |w| w[j]) + b.map_or(0.0, |b| b[j]));
        }
    }
    out
}

#[test]
fn known_values() {
    // [1, 2, 3]: mean 2, biased variance 2/3.
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], [1, 3]).unwrap();
    let y = x.layer_norm(&[3], None, None, 0.0).unwrap();
    let s = (1.5f64).sqrt();
    assert_close(&y.to_vec_f64().unwrap(), &[-s, 0.0, s], 1e-15);
    let y = x.layer_norm(&[3], None, None, 1e-5).unwrap();
    let r = 1.0 / (2.0f64 / 3.0 + 1e-5).sqrt();
    assert_close(&y.to_vec_f64().unwrap(), &[-r, 0.0, r], 1e-15);
    // A constant row normalises to 0 (var 0, eps > 0).
    let c = Tensor::full([2, 4], 3.5, DType::F64, Device::Cpu).unwrap();
    let y = c.layer_norm(&[4], None, None, 1e-5).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![0.0; 8]);
}

#[test]
fn matches_the_reference_over_one_and_two_dims_with_affine() {
    let mut rng = Rng::new(61);
    let x = Tensor::rand([3, 5, 7], -2.0, 3.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let xv = x.to_vec_f64().unwrap();
    for shape in [&[7usize][..], &[5, 7]] {
        let d: usize = shape.iter().product();
        let w = Tensor::rand(shape, 0.5, 1.5, DType::F64, Device::Cpu, &mut rng).unwrap();
        let b = Tensor::rand(shape, -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
        let (wv, bv) = (w.to_vec_f64().unwrap(), b.to_vec_f64().unwrap());
        let got = x.layer_norm(shape, Some(&w), Some(&b), 1e-5).unwrap();
        assert_eq!(got.dims(), x.dims());
        let want = reference(&xv, d, Some(&wv), Some(&bv), 1e-5);
        assert_close(&got.to_vec_f64().unwrap(), &want, 1e-13);
        let got = x.layer_norm(shape, Some(&w), None, 1e-3).unwrap();
        let want = reference(&xv, d, Some(&wv), None, 1e-3);
        assert_close(&got.to_vec_f64().unwrap(), &want, 1e-13);
    }
    // f32 too, against the f64 reference.
    let x32 = x.to_dtype(DType::F32).unwrap();
    let got = x32.layer_norm(&[7], None, None, 1e-5).unwrap();
    let want = reference(&x32.to_vec_f64().unwrap(), 7, None, None, 1e-5);
    assert_close(&got.to_vec_f64().unwrap(), &want, 1e-5);
}

#[test]
fn layer_norm_gradcheck() {
    let mut rng = Rng::new(62);
    let x = leaf(&[3, 5, 7], &mut rng);
    let (w, b) = (leaf(&[7], &mut rng), leaf(&[7], &mut rng));
    check(&[x.clone(), w, b], |t| {
        t[0].layer_norm(&[7], Some(&t[1]), Some(&t[2]), 1e-5)
    });
    let (w2, b2) = (leaf(&[5, 7], &mut rng), leaf(&[5, 7], &mut rng));
    check(&[x.clone(), w2, b2], |t| {
        t[0].layer_norm(&[5, 7], Some(&t[1]), Some(&t[2]), 1e-5)
    });
    // A transposed input, no affine; one row of length 1 (var 0: output and gradient 0).
    check(std::slice::from_ref(&x), |t| {
        t[0].transpose(0, 2)?.layer_norm(&[3], None, None, 1e-5)
    });
    check(&[leaf(&[4, 1], &mut rng)], |t| {
        t[0].layer_norm(&[1], None, None, 1e-5)
    });
}

#[test]
fn bad_arguments_are_errors_naming_layer_norm() {
    let x = Tensor::zeros([2, 3], DType::F64, Device::Cpu).unwrap();
    let w = Tensor::ones([2], DType::F64, Device::Cpu).unwrap();
    let w32 = Tensor::ones([3], DType::F32, Device::Cpu).unwrap();
    let cases = [
        x.layer_norm(&[2], None, None, 1e-5),
        x.layer_norm(&[], None, None, 1e-5),
        x.layer_norm(&[1, 2, 3], None, None, 1e-5),
        x.layer_norm(&[3], Some(&w), None, 1e-5),
        x.layer_norm(&[3], None, Some(&w), 1e-5),
        x.layer_norm(&[3], Some(&w32), None, 1e-5),
        x.layer_norm(&[3], None, None, -1.0),
        x.layer_norm(&[3], None, None, f64::NAN),
    ];
    assert_all_fail(cases, "layer_norm:");
}

#[test]
fn module_has_pytorch_defaults_names_and_repr() {
    let m = nn::LayerNorm::new(&[4]);
    assert_eq!(
        m.describe(),
        "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    );
    let names: Vec<String> = m.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
    assert_eq!(
        m.weight.as_ref().unwrap().to_vec_f32().unwrap(),
        vec![1.0; 4]
    );
    assert_eq!(m.bias.as_ref().unwrap().to_vec_f32().unwrap(), vec![0.0; 4]);
    let mut rng = Rng::new(63);
    let x = Tensor::rand([2, 3, 4], -1.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let want = x.layer_norm(&[4], None, None, 1e-5).unwrap();
    assert_eq!(
        m.forward(&x).unwrap().to_vec_f32().unwrap(),
        want.to_vec_f32().unwrap()
    );
    // Training moves the parameters: their gradients arrive.
    m.forward(&x)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert!(m.parameters().iter().all(|p| p.grad().is_some()));

    let plain = nn::LayerNorm::new(&[3, 4])
        .eps(1e-6)
        .elementwise_affine(false);
    assert_eq!(
        plain.describe(),
        "LayerNorm((3, 4), eps=1e-06, elementwise_affine=False)"
    );
    assert!(plain.named_parameters().is_empty());
    let no_bias = nn::LayerNorm::new(&[4]).bias(false);
    assert_eq!(
        no_bias.describe(),
        "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=False)"
    );
    assert_eq!(no_bias.named_parameters().len(), 1);
}
