//! The new activations and elementwise ops on the CPU: leaky_relu, gelu (erf and tanh),
//! silu, clamp, minimum / maximum, pow with a tensor exponent and the comparison masks.
//! Values against known constants or independent formulas, PyTorch's gradient rules at the
//! corners (kinks, ties, base 0), f64 finite-difference gradient checks on odd shapes with
//! transposed views and broadcasting, and the nn modules.

use engine::nn::{self, Module};
use engine::{DType, Device, GeluApproximate, Rng, Tensor};
use tests::{assert_close, check, leaf, positive_leaf};

fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn grad_of(x: &Tensor) -> Vec<f64> {
    x.grad().expect("gradient").to_vec_f64().unwrap()
}

/// erf from the alternating Taylor series (fine to 1e-14 for |x| <= 3): independent of the
/// engine's series / continued-fraction erf.
fn erf_taylor(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..300 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * std::f64::consts::FRAC_2_SQRT_PI
}

#[test]
fn gelu_matches_known_values_and_a_series_erf() {
    // x Φ(x) with Φ(1), Φ(2), Φ(0.5) from the normal table (to 16 digits).
    let x = t64(&[1.0, -1.0, 2.0, 0.5, 0.0], &[5]);
    let want = [
        0.841_344_746_068_542_9,
        -0.158_655_253_931_457_05,
        2.0 * 0.977_249_868_051_820_8,
        0.5 * 0.691_462_461_274_013_1,
        0.0,
    ];
    let got = x.gelu(GeluApproximate::None).unwrap().to_vec_f64().unwrap();
    assert_close(&got, &want, 1e-15);
    let xs: Vec<f64> = (0..121).map(|i| -4.2 + 0.07 * i as f64).collect();
    let got = t64(&xs, &[121])
        .gelu(GeluApproximate::None)
        .unwrap()
        .to_vec_f64()
        .unwrap();
    let want: Vec<f64> = xs
        .iter()
        .map(|&x| 0.5 * x * (1.0 + erf_taylor(x / std::f64::consts::SQRT_2)))
        .collect();
    assert_close(&got, &want, 1e-13);
    // Far tails: exactly x above, exactly -0 (or a tiny negative) below.
    let tails = t64(&[12.0, -12.0], &[2])
        .gelu(GeluApproximate::None)
        .unwrap();
    let v = tails.to_vec_f64().unwrap();
    assert_eq!(v[0], 12.0);
    assert!(v[1] <= 0.0 && v[1] > -1e-30);
}

#[test]
fn gelu_tanh_and_silu_match_their_formulas() {
    let xs: Vec<f64> = (0..41).map(|i| -5.0 + 0.25 * i as f64).collect();
    let x = t64(&xs, &[41]);
    let beta = (2.0 / std::f64::consts::PI).sqrt();
    let want: Vec<f64> = xs
        .iter()
        .map(|&x| 0.5 * x * (1.0 + (beta * (x + 0.044715 * x * x * x)).tanh()))
        .collect();
    let got = x.gelu(GeluApproximate::Tanh).unwrap().to_vec_f64().unwrap();
    assert_close(&got, &want, 1e-15);
    // PyTorch: F.gelu(torch.tensor(1.), approximate='tanh') = 0.8411920070648193 (f32).
    let one = Tensor::from_vec(vec![1.0f32], [1]).unwrap();
    let g = one
        .gelu(GeluApproximate::Tanh)
        .unwrap()
        .to_vec_f64()
        .unwrap()[0];
    assert!((g - 0.841_192_007_064_819_3).abs() < 1e-7, "{g}");
    let want: Vec<f64> = xs.iter().map(|&x| x / (1.0 + (-x).exp())).collect();
    assert_close(&x.silu().unwrap().to_vec_f64().unwrap(), &want, 1e-15);
    // silu(1) = sigmoid(1).
    let s = t64(&[1.0], &[1]).silu().unwrap().item().unwrap();
    assert!((s - 0.731_058_578_630_004_9).abs() < 1e-15);
}

#[test]
fn leaky_relu_values_and_slope_gradient_at_zero() {
    let x = t64(&[-2.0, 0.0, 3.0], &[3]).requires_grad_(true);
    let y = x.leaky_relu(0.2).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![-0.4, 0.0, 3.0]);
    y.sum_all().unwrap().backward().unwrap();
    // PyTorch: x > 0 ? 1 : negative_slope, so the kink takes the slope.
    assert_eq!(grad_of(&x), vec![0.2, 0.2, 1.0]);
}

#[test]
fn clamp_follows_pytorch_at_the_bounds_nan_and_min_above_max() {
    let x = t64(&[-3.0, -1.0, 0.5, 2.0, 4.0, f64::NAN], &[6]).requires_grad_(true);
    let y = x.clamp(Some(-1.0), Some(2.0)).unwrap();
    let v = y.to_vec_f64().unwrap();
    assert_eq!(&v[..5], &[-1.0, -1.0, 0.5, 2.0, 2.0]);
    assert!(v[5].is_nan(), "NaN stays NaN");
    y.sum_all().unwrap().backward().unwrap();
    // Inclusive at both bounds, 0 outside and at NaN.
    assert_eq!(grad_of(&x), vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);

    let x = t64(&[-3.0, 0.0, 3.0], &[3]).requires_grad_(true);
    let y = x.clamp(Some(1.0), Some(-1.0)).unwrap();
    assert_eq!(
        y.to_vec_f64().unwrap(),
        vec![-1.0; 3],
        "min > max gives max"
    );
    y.sum_all().unwrap().backward().unwrap();
    assert_eq!(grad_of(&x), vec![0.0; 3]);

    let x = t64(&[-3.0, 0.0, 3.0], &[3]);
    assert_eq!(
        x.clamp(Some(0.0), None).unwrap().to_vec_f64().unwrap(),
        vec![0.0, 0.0, 3.0]
    );
    assert_eq!(
        x.clamp(None, Some(0.0)).unwrap().to_vec_f64().unwrap(),
        vec![-3.0, 0.0, 0.0]
    );
    for (lo, hi) in [(None, None), (Some(f64::NAN), None), (None, Some(f64::NAN))] {
        let e = x.clamp(lo, hi).unwrap_err().to_string();
        assert!(e.starts_with("clamp:"), "{e}");
    }
}

#[test]
fn minimum_maximum_broadcast_propagate_nan_and_split_ties() {
    // Per op: the first three values, then the gradients of a and b. Tie: half each; NaN:
    // PyTorch's masks leave the full gradient on both sides.
    type Op = fn(&Tensor, &Tensor) -> engine::Result<Tensor>;
    type Case = (Op, [f64; 3], [f64; 4], [f64; 4]);
    let cases: [Case; 2] = [
        (
            |a, b| a.minimum(b),
            [1.0, 4.0, 3.0],
            [1.0, 0.0, 0.5, 1.0],
            [0.0, 1.0, 0.5, 1.0],
        ),
        (
            |a, b| a.maximum(b),
            [2.0, 5.0, 3.0],
            [0.0, 1.0, 0.5, 1.0],
            [1.0, 0.0, 0.5, 1.0],
        ),
    ];
    for (op, values, grad_a, grad_b) in cases {
        let a = t64(&[1.0, 5.0, 3.0, f64::NAN], &[4]).requires_grad_(true);
        let b = t64(&[2.0, 4.0, 3.0, 0.0], &[4]).requires_grad_(true);
        let y = op(&a, &b).unwrap();
        let v = y.to_vec_f64().unwrap();
        assert_eq!(&v[..3], &values);
        assert!(v[3].is_nan());
        y.sum_all().unwrap().backward().unwrap();
        assert_eq!(grad_of(&a), grad_a);
        assert_eq!(grad_of(&b), grad_b);
    }

    // Broadcasting: [2, 1] against [3].
    let a = t64(&[0.0, 10.0], &[2, 1]);
    let b = t64(&[-1.0, 5.0, 20.0], &[3]);
    let m = a.maximum(&b).unwrap();
    assert_eq!(m.dims(), &[2, 3]);
    assert_eq!(
        m.to_vec_f64().unwrap(),
        vec![0.0, 5.0, 20.0, 10.0, 10.0, 20.0]
    );
    let e = a
        .minimum(&Tensor::zeros([2], DType::F32, Device::Cpu).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("minimum:"), "{e}");
}

#[test]
fn pow_values_and_gradients_at_base_zero() {
    let a = t64(&[2.0, 0.0, 0.0, 0.0, 3.0], &[5]).requires_grad_(true);
    let b = t64(&[3.0, 2.0, 0.0, 0.5, 0.0], &[5]).requires_grad_(true);
    let y = a.pow(&b).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![8.0, 0.0, 1.0, 0.0, 1.0]);
    y.sum_all().unwrap().backward().unwrap();
    // d/da = b a^(b-1), 0 where b == 0; 0^0.5 gives 0.5 * 0^-0.5 = inf, as in PyTorch.
    assert_eq!(grad_of(&a), vec![12.0, 0.0, 0.0, f64::INFINITY, 0.0]);
    // d/db = a^b ln a, 0 where a == 0 and b >= 0.
    let gb = grad_of(&b);
    assert_close(&gb, &[8.0 * 2f64.ln(), 0.0, 0.0, 0.0, 3f64.ln()], 1e-15);

    // A negative base has NaN d/dexponent (ln), like PyTorch.
    let a = t64(&[-2.0], &[1]);
    let b = t64(&[2.0], &[1]).requires_grad_(true);
    let y = a.pow(&b).unwrap();
    assert_eq!(y.item().unwrap(), 4.0);
    y.sum_all().unwrap().backward().unwrap();
    assert!(grad_of(&b)[0].is_nan());

    // Broadcast exponent.
    let a = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let e = t64(&[2.0, 0.5], &[2]);
    assert_close(
        &a.pow(&e).unwrap().to_vec_f64().unwrap(),
        &[1.0, 2f64.sqrt(), 9.0, 2.0],
        1e-15,
    );
}

type Compare = fn(&Tensor, &Tensor) -> engine::Result<Tensor>;

#[test]
fn comparisons_are_zero_one_masks_without_gradient() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    let b = t64(&[2.0], &[1]);
    let cases: [(&str, Compare, [f64; 3]); 6] = [
        ("gt", Tensor::gt, [0.0, 0.0, 1.0]),
        ("ge", Tensor::ge, [0.0, 1.0, 1.0]),
        ("lt", Tensor::lt, [1.0, 0.0, 0.0]),
        ("le", Tensor::le, [1.0, 1.0, 0.0]),
        ("eq", Tensor::eq, [0.0, 1.0, 0.0]),
        ("ne", Tensor::ne, [1.0, 0.0, 1.0]),
    ];
    for (name, f, want) in cases {
        let m = f(&a, &b).unwrap();
        assert_eq!(m.to_vec_f64().unwrap(), want.to_vec(), "{name}");
        assert!(!m.requires_grad(), "{name} is not differentiable");
    }
}

#[test]
fn activations_gradcheck() {
    let mut rng = Rng::new(41);
    for shape in [&[3usize, 5][..], &[2, 3, 7]] {
        let x = leaf(shape, &mut rng);
        check(std::slice::from_ref(&x), |t| t[0].leaky_relu(0.03));
        check(std::slice::from_ref(&x), |t| {
            t[0].gelu(GeluApproximate::None)
        });
        check(std::slice::from_ref(&x), |t| {
            t[0].gelu(GeluApproximate::Tanh)
        });
        check(std::slice::from_ref(&x), |t| t[0].silu());
        check(std::slice::from_ref(&x), |t| {
            t[0].clamp(Some(-0.4), Some(0.3))
        });
        check(std::slice::from_ref(&x), |t| t[0].clamp(None, Some(0.1)));
        // A transposed (non-contiguous) view.
        let r = shape.len();
        check(std::slice::from_ref(&x), |t| {
            t[0].transpose(r - 2, r - 1)?.gelu(GeluApproximate::None)
        });
        check(&[x], |t| t[0].transpose(0, r - 1)?.silu());
    }
    // Wide inputs: the erf's continued-fraction range and the GELU tails.
    let wide = Tensor::rand([4, 9], -5.0, 5.0, DType::F64, Device::Cpu, &mut rng)
        .unwrap()
        .requires_grad_(true);
    check(std::slice::from_ref(&wide), |t| {
        t[0].gelu(GeluApproximate::None)
    });
    check(&[wide], |t| t[0].gelu(GeluApproximate::Tanh));
}

#[test]
fn minimum_maximum_pow_gradcheck_with_broadcasting_and_views() {
    let mut rng = Rng::new(42);
    let shapes: [(&[usize], &[usize]); 3] =
        [(&[3, 5], &[3, 5]), (&[2, 3, 4], &[4]), (&[3, 1], &[1, 5])];
    for (sa, sb) in shapes {
        let (a, b) = (leaf(sa, &mut rng), leaf(sb, &mut rng));
        check(&[a.clone(), b.clone()], |t| t[0].minimum(&t[1]));
        check(&[a.clone(), b.clone()], |t| t[0].maximum(&t[1]));
        let (pa, pb) = (positive_leaf(sa, &mut rng), leaf(sb, &mut rng));
        check(&[pa, pb], |t| t[0].pow(&t[1]));
    }
    // Transposed operands.
    let (a, b) = (leaf(&[5, 3], &mut rng), leaf(&[3, 5], &mut rng));
    check(&[a.clone(), b.clone()], |t| t[0].t()?.maximum(&t[1]));
    let p = positive_leaf(&[5, 3], &mut rng);
    check(&[p, b], |t| t[0].t()?.pow(&t[1]));
}

#[test]
fn activation_modules() {
    let x = Tensor::from_vec(vec![-1.0f32, 0.5, 2.0], [3]).unwrap();
    let cases: Vec<(Box<dyn Module>, &str, Tensor)> = vec![
        (
            Box::new(nn::LeakyReLU::default()),
            "LeakyReLU(negative_slope=0.01)",
            x.leaky_relu(0.01).unwrap(),
        ),
        (
            Box::new(nn::GELU::default()),
            "GELU(approximate='none')",
            x.gelu(GeluApproximate::None).unwrap(),
        ),
        (
            Box::new(nn::GELU::new(GeluApproximate::Tanh)),
            "GELU(approximate='tanh')",
            x.gelu(GeluApproximate::Tanh).unwrap(),
        ),
        (Box::new(nn::SiLU), "SiLU()", x.silu().unwrap()),
    ];
    for (m, describe, want) in cases {
        assert_eq!(m.describe(), describe);
        assert!(m.named_parameters().is_empty());
        assert_eq!(
            m.forward(&x).unwrap().to_vec_f64().unwrap(),
            want.to_vec_f64().unwrap()
        );
    }
    assert_eq!(
        nn::LeakyReLU::new(0.2)
            .forward(&x)
            .unwrap()
            .to_vec_f32()
            .unwrap(),
        vec![-0.2, 0.5, 2.0]
    );
}
