//! The losses' PyTorch options: cross_entropy / nll_loss with reduction, class weights,
//! ignore_index and (weighted) label smoothing; mse_loss; binary_cross_entropy_with_logits
//! with weight and pos_weight. Values against straightforward reference loops written here
//! and hand-derived corners, f64 gradient checks on odd shapes, argument errors, and CPU vs
//! cuda-sim agreement (host and device labels).

use engine::{
    BceWithLogitsOptions, CrossEntropyOptions, DType, Device, Labels, NllLossOptions, Reduction,
    Rng, Tensor,
};
use tests::agree::{assert_agrees, cuda_devices, inputs, F32_TOL};
use tests::{assert_close, check, leaf};

const REDUCTIONS: [Reduction; 3] = [Reduction::Mean, Reduction::Sum, Reduction::None];

/// PyTorch's cross_entropy with class-index targets, by loops: per row
/// `(1 - eps) w_t (-logp_t) + eps / C Σ_j w_j (-logp_j)`, ignored rows 0; the mean divides
/// by the sum of `w_t` over the rows that count. `eps = 0` is nll_loss of log_softmax.
fn ref_cross_entropy(
    x: &[f64],
    c: usize,
    targets: &[usize],
    opts: &CrossEntropyOptions,
) -> Vec<f64> {
    let eps = opts.label_smoothing;
    let weight = opts.weight.as_deref();
    let class = (weight, opts.ignore_index, opts.reduction);
    ref_class_loss(targets, class, |i, t, w_t| {
        let row = &x[i * c..(i + 1) * c];
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        let mut smooth = 0.0;
        for (j, v) in row.iter().enumerate() {
            smooth += weight.map_or(1.0, |w| w[j]) * (lse - v);
        }
        (1.0 - eps) * w_t * (lse - row[t]) + eps / c as f64 * smooth
    })
}

/// PyTorch's nll_loss by loops: `-w_t x_t`, ignored rows 0, mean over Σ w_t.
fn ref_nll(x: &[f64], c: usize, targets: &[usize], opts: &NllLossOptions) -> Vec<f64> {
    let class = (opts.weight.as_deref(), opts.ignore_index, opts.reduction);
    ref_class_loss(targets, class, |i, t, w_t| -w_t * x[i * c + t])
}

/// The part the class losses share, given (weight, ignore_index, reduction): `row(i, t, w_t)`
/// per row that counts, 0 for an ignored one, then the reduction, whose mean divides by the
/// summed `w_t` of the rows that count.
fn ref_class_loss(
    targets: &[usize],
    (weight, ignore_index, reduction): (Option<&[f64]>, i64, Reduction),
    row: impl Fn(usize, usize, f64) -> f64,
) -> Vec<f64> {
    let mut rows = Vec::new();
    let mut wsum = 0.0;
    for (i, &t) in targets.iter().enumerate() {
        if t as i64 == ignore_index {
            rows.push(0.0);
        } else {
            let w_t = weight.map_or(1.0, |w| w[t]);
            rows.push(row(i, t, w_t));
            wsum += w_t;
        }
    }
    reduce_ref(rows, wsum, reduction)
}

fn reduce_ref(rows: Vec<f64>, denominator: f64, reduction: Reduction) -> Vec<f64> {
    match reduction {
        Reduction::None => rows,
        Reduction::Sum => vec![rows.iter().sum()],
        Reduction::Mean => vec![rows.iter().sum::<f64>() / denominator],
    }
}

/// Every combination of the class-loss options on 7 classes (targets 2 and 5 present).
fn option_grid() -> Vec<CrossEntropyOptions> {
    let weight = vec![0.5, 2.0, 1.5, 0.25, 1.0, 3.0, 0.75];
    let mut out = Vec::new();
    for reduction in REDUCTIONS {
        for weight in [None, Some(weight.clone())] {
            for ignore_index in [-100, 2, 9] {
                for label_smoothing in [0.0, 0.3] {
                    out.push(CrossEntropyOptions {
                        reduction,
                        weight: weight.clone(),
                        ignore_index,
                        label_smoothing,
                    });
                }
            }
        }
    }
    out
}

fn nll_opts(o: &CrossEntropyOptions) -> NllLossOptions {
    NllLossOptions {
        reduction: o.reduction,
        weight: o.weight.clone(),
        ignore_index: o.ignore_index,
    }
}

/// Targets for 5 rows of 7 classes; 9 is beyond the classes (allowed only as ignore_index).
const TARGETS: [usize; 5] = [2, 5, 2, 0, 6];
const TARGETS_WITH_9: [usize; 5] = [2, 9, 5, 9, 1];

#[test]
fn cross_entropy_and_nll_values_match_reference_loops() {
    let mut rng = Rng::new(101);
    let x = leaf(&[5, 7], &mut rng).mul_scalar(3.0).unwrap();
    let xv = x.to_vec_f64().unwrap();
    for opts in option_grid() {
        let targets: &[usize] = if opts.ignore_index == 9 {
            &TARGETS_WITH_9
        } else {
            &TARGETS
        };
        let got = x.cross_entropy_with(targets, &opts).unwrap();
        let want = ref_cross_entropy(&xv, 7, targets, &opts);
        let shape: &[usize] = if opts.reduction == Reduction::None {
            &[5]
        } else {
            &[]
        };
        assert_eq!(got.dims(), shape, "{opts:?}");
        assert_close(&got.to_vec_f64().unwrap(), &want, 1e-12);

        let n = nll_opts(&opts);
        let got = x.nll_loss_with(targets, &n).unwrap();
        assert_close(
            &got.to_vec_f64().unwrap(),
            &ref_nll(&xv, 7, targets, &n),
            1e-12,
        );
    }
}

#[test]
fn weighted_label_smoothing_by_hand() {
    // Two equal logits: -log p = ln 2 for both classes. Target 0, weights (2, 1), eps 0.2:
    // (1 - 0.2) * 2 ln 2 + 0.2 / 2 * (2 + 1) ln 2 = 1.9 ln 2; the mean divides by w_0 = 2.
    let x = Tensor::from_vec(vec![0.0f64, 0.0], [1, 2]).unwrap();
    let ln2 = std::f64::consts::LN_2;
    let mut opts = CrossEntropyOptions {
        weight: Some(vec![2.0, 1.0]),
        label_smoothing: 0.2,
        ..Default::default()
    };
    assert_close(
        &[x.cross_entropy_with(&[0], &opts).unwrap().item().unwrap()],
        &[0.95 * ln2],
        1e-14,
    );
    opts.reduction = Reduction::Sum;
    assert_close(
        &[x.cross_entropy_with(&[0], &opts).unwrap().item().unwrap()],
        &[1.9 * ln2],
        1e-14,
    );
    // Weighted mean without smoothing: (2 * 1 + 0.5 * 3) / (2 + 0.5) for logp = -(1, 3).
    let logp = Tensor::from_vec(vec![-1.0f64, -5.0, -7.0, -3.0], [2, 2]).unwrap();
    let nll = NllLossOptions {
        weight: Some(vec![2.0, 0.5]),
        ..Default::default()
    };
    let got = logp.nll_loss_with(&[0, 1], &nll).unwrap().item().unwrap();
    assert_close(&[got], &[(2.0 + 1.5) / 2.5], 1e-14);
}

#[test]
fn all_ignored_gives_nan_mean_zero_sum_and_zero_gradient() {
    let mut rng = Rng::new(102);
    let x = leaf(&[3, 4], &mut rng);
    let mut opts = CrossEntropyOptions {
        ignore_index: 1,
        label_smoothing: 0.1,
        ..Default::default()
    };
    let loss = x.cross_entropy_with(&[1, 1, 1], &opts).unwrap();
    assert!(loss.item().unwrap().is_nan(), "mean over no targets is NaN");
    opts.reduction = Reduction::Sum;
    let loss = x.cross_entropy_with(&[1, 1, 1], &opts).unwrap();
    assert_eq!(loss.item().unwrap(), 0.0);
    loss.backward().unwrap();
    assert!(x
        .grad()
        .unwrap()
        .to_vec_f64()
        .unwrap()
        .iter()
        .all(|&g| g == 0.0));
    opts.reduction = Reduction::None;
    let rows = x
        .cross_entropy_with(&[1, 0, 1], &opts)
        .unwrap()
        .to_vec_f64()
        .unwrap();
    assert_eq!((rows[0], rows[2]), (0.0, 0.0));
    assert!(rows[1] > 0.0);
    let nll = NllLossOptions {
        ignore_index: 3,
        ..Default::default()
    };
    assert!(x
        .nll_loss_with(&[3, 3, 3], &nll)
        .unwrap()
        .item()
        .unwrap()
        .is_nan());
}

#[test]
fn class_loss_gradchecks_over_every_option() {
    let mut rng = Rng::new(103);
    let x = leaf(&[5, 7], &mut rng);
    for opts in option_grid() {
        let targets: &[usize] = if opts.ignore_index == 9 {
            &TARGETS_WITH_9
        } else {
            &TARGETS
        };
        check(std::slice::from_ref(&x), |a| {
            a[0].cross_entropy_with(targets, &opts)
        });
        let n = nll_opts(&opts);
        check(std::slice::from_ref(&x), |a| {
            a[0].log_softmax(1)?.nll_loss_with(targets, &n)
        });
    }
}

#[test]
fn bad_class_loss_arguments_are_errors() {
    let x = Tensor::zeros([2, 3], DType::F64, Device::Cpu).unwrap();
    let short = CrossEntropyOptions {
        weight: Some(vec![1.0, 2.0]),
        ..Default::default()
    };
    let e = x
        .cross_entropy_with(&[0, 1], &short)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cross_entropy") && e.contains("weight has 2 elements for 3 classes"),
        "{e}"
    );
    let e = x
        .nll_loss_with(&[0, 1], &nll_opts(&short))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nll_loss") && e.contains("weight"), "{e}");
    // A target beyond the classes is an error unless it is the ignore_index.
    let e = x.nll_loss(&[0, 7]).unwrap_err().to_string();
    assert!(e.contains("nll_loss") && e.contains("out of range"), "{e}");
    let ignore7 = NllLossOptions {
        ignore_index: 7,
        ..Default::default()
    };
    assert!(x.nll_loss_with(&[0, 7], &ignore7).is_ok());
    let smooth = CrossEntropyOptions {
        label_smoothing: 1.5,
        ..Default::default()
    };
    let e = x
        .cross_entropy_with(&[0, 1], &smooth)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label_smoothing"), "{e}");
}

#[test]
fn class_losses_agree_on_cuda_sim() {
    let mut rng = Rng::new(104);
    for opts in option_grid() {
        let targets: &[usize] = if opts.ignore_index == 9 {
            &TARGETS_WITH_9
        } else {
            &TARGETS
        };
        let x = inputs(&[&[5, 7]], &mut rng);
        assert_agrees("cross_entropy options", &x, F32_TOL, |t| {
            t[0].cross_entropy_with(targets, &opts)
        });
        let n = nll_opts(&opts);
        assert_agrees("nll_loss options", &x, F32_TOL, |t| {
            t[0].nll_loss_with(targets, &n)
        });
    }
}

#[test]
fn device_labels_with_options_match_the_cpu() {
    let mut rng = Rng::new(105);
    let x = Tensor::rand([5, 7], -2.0, 2.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let opts = CrossEntropyOptions {
        weight: Some(vec![0.5, 2.0, 1.5, 0.25, 1.0, 3.0, 0.75]),
        ignore_index: 2,
        label_smoothing: 0.2,
        reduction: Reduction::Mean,
    };
    let want = x
        .cross_entropy_with(&TARGETS, &opts)
        .unwrap()
        .item()
        .unwrap();
    for dev in cuda_devices() {
        let labels = Labels::host(&TARGETS).to_device(dev).unwrap();
        let xd = x.to_device(dev).unwrap();
        let got = xd.cross_entropy_labels_with(&labels, &opts).unwrap();
        assert!((got.item().unwrap() - want).abs() < 1e-6 * want.abs().max(1.0));
    }
}

/// PyTorch's per-element BCE with logits, by the plain formula in f64 (fine for the
/// moderate logits used here): `w (-(pw y ln σ(x) + (1 - y) ln(1 - σ(x))))`.
fn ref_bce(x: f64, y: f64, w: f64, pw: f64) -> f64 {
    let s = 1.0 / (1.0 + (-x).exp());
    -w * (pw * y * s.ln() + (1.0 - y) * (1.0 - s).ln())
}

#[test]
fn mse_and_bce_values_match_reference_loops() {
    let mut rng = Rng::new(106);
    let x = leaf(&[3, 5], &mut rng).mul_scalar(4.0).unwrap();
    let y = Tensor::rand([3, 5], 0.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let w = Tensor::rand([3, 1], 0.5, 2.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let pw = Tensor::rand([5], 0.5, 3.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let (xv, yv) = (x.to_vec_f64().unwrap(), y.to_vec_f64().unwrap());
    let (wv, pwv) = (w.to_vec_f64().unwrap(), pw.to_vec_f64().unwrap());
    let sq: Vec<f64> = xv.iter().zip(&yv).map(|(a, b)| (a - b) * (a - b)).collect();
    for reduction in REDUCTIONS {
        let want = reduce_ref(sq.clone(), 15.0, reduction);
        let got = x.mse_loss(&y, reduction).unwrap().to_vec_f64().unwrap();
        assert_close(&got, &want, 1e-12);
        for (weighted, pos) in [(false, false), (true, false), (false, true), (true, true)] {
            let opts = BceWithLogitsOptions {
                reduction,
                weight: weighted.then(|| w.clone()),
                pos_weight: pos.then(|| pw.clone()),
            };
            let rows: Vec<f64> = (0..15)
                .map(|i| {
                    let wi = if weighted { wv[i / 5] } else { 1.0 };
                    let pi = if pos { pwv[i % 5] } else { 1.0 };
                    ref_bce(xv[i], yv[i], wi, pi)
                })
                .collect();
            let got = x.binary_cross_entropy_with_logits(&y, &opts).unwrap();
            assert_close(
                &got.to_vec_f64().unwrap(),
                &reduce_ref(rows, 15.0, reduction),
                1e-12,
            );
        }
    }
}

#[test]
fn bce_is_stable_and_exact_at_the_corners() {
    // Huge logits: no overflow; the loss is the linear tail (1 - y) x or -y x.
    let x = Tensor::from_vec(vec![500.0f64, -500.0, 0.0], [3])
        .unwrap()
        .requires_grad_(true);
    let y = Tensor::from_vec(vec![0.25f64, 0.25, 0.3], [3]).unwrap();
    let opts = BceWithLogitsOptions {
        reduction: Reduction::None,
        ..Default::default()
    };
    let l = x.binary_cross_entropy_with_logits(&y, &opts).unwrap();
    let v = l.to_vec_f64().unwrap();
    assert_close(
        &v,
        &[0.75 * 500.0, 0.25 * 500.0, std::f64::consts::LN_2],
        1e-12,
    );
    l.sum_all().unwrap().backward().unwrap();
    // d/dx = sigmoid(x) - y: 0.75, -0.25, and at exactly 0, 0.5 - 0.3 = 0.2.
    assert_close(
        &x.grad().unwrap().to_vec_f64().unwrap(),
        &[0.75, -0.25, 0.2],
        1e-12,
    );
}

#[test]
fn mse_and_bce_gradchecks() {
    let mut rng = Rng::new(107);
    let x = leaf(&[3, 5], &mut rng);
    let y = Tensor::rand([3, 5], 0.0, 1.0, DType::F64, Device::Cpu, &mut rng)
        .unwrap()
        .requires_grad_(true);
    let w = Tensor::rand([5], 0.5, 2.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let pw = Tensor::rand([3, 1], 0.5, 3.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    for reduction in REDUCTIONS {
        check(&[x.clone(), y.clone()], |a| a[0].mse_loss(&a[1], reduction));
        let opts = BceWithLogitsOptions {
            reduction,
            weight: Some(w.clone()),
            pos_weight: Some(pw.clone()),
        };
        check(&[x.clone(), y.clone()], |a| {
            a[0].binary_cross_entropy_with_logits(&a[1], &opts)
        });
        let plain = BceWithLogitsOptions {
            reduction,
            ..Default::default()
        };
        check(&[x.clone(), y.clone()], |a| {
            a[0].binary_cross_entropy_with_logits(&a[1], &plain)
        });
    }
}

#[test]
fn bce_rejects_mismatched_shapes() {
    let x = Tensor::zeros([2, 3], DType::F64, Device::Cpu).unwrap();
    let y = Tensor::zeros([3], DType::F64, Device::Cpu).unwrap();
    let e = x
        .binary_cross_entropy_with_logits(&y, &BceWithLogitsOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("binary_cross_entropy_with_logits") && e.contains("same as input size"),
        "{e}"
    );
    let pw = Tensor::ones([4], DType::F64, Device::Cpu).unwrap();
    let opts = BceWithLogitsOptions {
        pos_weight: Some(pw),
        ..Default::default()
    };
    assert!(x.binary_cross_entropy_with_logits(&x, &opts).is_err());
}

#[test]
fn mse_and_bce_agree_on_cuda_sim() {
    let mut rng = Rng::new(108);
    let xy = inputs(&[&[4, 6], &[4, 6]], &mut rng);
    let w = Tensor::rand([6], 0.5, 2.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let pw = Tensor::rand([6], 0.5, 3.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    for reduction in REDUCTIONS {
        assert_agrees("mse_loss", &xy, F32_TOL, |t| {
            t[0].mse_loss(&t[1], reduction)
        });
        assert_agrees("bce_with_logits", &xy, F32_TOL, |t| {
            let dev = t[0].device();
            let opts = BceWithLogitsOptions {
                reduction,
                weight: Some(w.to_device(dev)?),
                pos_weight: Some(pw.to_device(dev)?),
            };
            t[0].binary_cross_entropy_with_logits(&t[1].mul_scalar(0.5)?.add_scalar(0.5)?, &opts)
        });
    }
}
