//! `nn` layers, optimizers and schedules: update rules against hand-computed steps,
//! schedule values against PyTorch's formulas, an MLP fitting a batch, state_dict names
//! and parameter counts of the MNIST cnn, initialisation bounds and summaries.

use engine::nn::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module,
    ReLU, Sequential,
};
use engine::optim::{
    Adam, AdamW, ConstantLr, CosineAnnealing, LrSchedule, OneCycle, Optimizer, Sgd, StepLr,
};
use engine::{DType, Device, Rng, Tensor};

fn t64(v: &[f64]) -> Tensor {
    Tensor::from_vec(v.to_vec(), [v.len()])
        .unwrap()
        .requires_grad_(true)
}

fn set_grad(p: &Tensor, g: &[f64]) {
    let g = Tensor::from_vec(g.to_vec(), p.shape().clone())
        .unwrap()
        .to_dtype(p.dtype())
        .unwrap();
    p.set_grad(Some(g));
}

fn close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol, "element {i}: {a} vs expected {e}");
    }
}

/// Two SGD steps on p = [1, -2] with grads g1 = [0.5, 1], g2 = [0.25, -0.5].
fn sgd_two_steps(make: impl Fn(Vec<Tensor>) -> Sgd) -> Vec<f64> {
    let p = t64(&[1.0, -2.0]);
    let mut opt = make(vec![p.clone()]);
    set_grad(&p, &[0.5, 1.0]);
    opt.step().unwrap();
    set_grad(&p, &[0.25, -0.5]);
    opt.step().unwrap();
    p.to_vec_f64().unwrap()
}

#[test]
fn sgd_plain_matches_hand_computed() {
    // p - 0.1 * g1 - 0.1 * g2
    let p = sgd_two_steps(|ps| Sgd::new(ps, 0.1));
    close(&p, &[1.0 - 0.05 - 0.025, -2.0 - 0.1 + 0.05], 1e-12);
}

#[test]
fn sgd_momentum_matches_hand_computed() {
    // buf1 = g1 = [0.5, 1]; p1 = [0.95, -2.1]
    // buf2 = 0.9 buf1 + g2 = [0.7, 0.4]; p2 = [0.88, -2.14]
    let p = sgd_two_steps(|ps| Sgd::new(ps, 0.1).momentum(0.9));
    close(&p, &[0.88, -2.14], 1e-12);
}

#[test]
fn sgd_dampening_skips_the_first_step() {
    // buf1 = g1 (no dampening on the first step); buf2 = 0.9 buf1 + 0.5 g2 = [0.575, 0.65]
    // p1 = [0.95, -2.1]; p2 = [0.8925, -2.165]
    let p = sgd_two_steps(|ps| Sgd::new(ps, 0.1).momentum(0.9).dampening(0.5));
    close(&p, &[0.8925, -2.165], 1e-12);
}

#[test]
fn sgd_nesterov_matches_hand_computed() {
    // step 1: buf = [0.5, 1], d = g1 + 0.9 buf = [0.95, 1.9], p = [0.905, -2.19]
    // step 2: buf = [0.7, 0.4], d = g2 + 0.9 buf = [0.88, -0.14], p = [0.817, -2.176]
    let p = sgd_two_steps(|ps| Sgd::new(ps, 0.1).momentum(0.9).nesterov(true));
    close(&p, &[0.817, -2.176], 1e-12);
}

#[test]
fn sgd_weight_decay_matches_hand_computed() {
    // d1 = g1 + 0.1 p0 = [0.6, 0.8] -> p1 = [0.94, -2.08]
    // d2 = g2 + 0.1 p1 = [0.344, -0.708] -> p2 = [0.9056, -2.0092]
    let p = sgd_two_steps(|ps| Sgd::new(ps, 0.1).weight_decay(0.1));
    close(&p, &[0.9056, -2.0092], 1e-12);
}

#[test]
fn sgd_nesterov_without_momentum_is_an_error() {
    let p = t64(&[1.0]);
    set_grad(&p, &[1.0]);
    let err = Sgd::new(vec![p], 0.1).nesterov(true).step().unwrap_err();
    assert!(err.to_string().contains("nesterov"), "{err}");
}

/// A scalar Adam/AdamW reference, written out step by step.
fn adam_reference(p0: f64, grads: &[f64], lr: f64, wd: f64, decoupled: bool) -> f64 {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
    for (i, &g0) in grads.iter().enumerate() {
        let t = (i + 1) as i32;
        let g = if decoupled {
            p -= lr * wd * p;
            g0
        } else {
            g0 + wd * p
        };
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let m_hat = m / (1.0 - b1.powi(t));
        let v_hat = v / (1.0 - b2.powi(t));
        p -= lr * m_hat / (v_hat.sqrt() + eps);
    }
    p
}

fn adam_two_steps(opt_for: impl Fn(Vec<Tensor>) -> Adam, dtype: DType) -> Vec<f64> {
    let p = Tensor::from_vec(vec![1.0f64, -2.0, 0.5], [3])
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
        .requires_grad_(true);
    let mut opt = opt_for(vec![p.clone()]);
    set_grad(&p, &[0.5, 1.0, -0.1]);
    opt.step().unwrap();
    set_grad(&p, &[0.25, -0.5, 0.3]);
    opt.step().unwrap();
    p.to_vec_f64().unwrap()
}

#[test]
fn adam_matches_hand_computed() {
    // First step by hand: m_hat = g, v_hat = g^2, so p1 = p0 - lr * g / (|g| + eps).
    let p = t64(&[1.0]);
    let mut opt = Adam::new(vec![p.clone()], 0.1);
    set_grad(&p, &[0.5]);
    opt.step().unwrap();
    close(
        &p.to_vec_f64().unwrap(),
        &[1.0 - 0.1 * 0.5 / (0.5 + 1e-8)],
        1e-15,
    );

    let g1 = [0.5, 1.0, -0.1];
    let g2 = [0.25, -0.5, 0.3];
    let expected: Vec<f64> = [1.0, -2.0, 0.5]
        .iter()
        .enumerate()
        .map(|(i, &p0)| adam_reference(p0, &[g1[i], g2[i]], 0.1, 0.0, false))
        .collect();
    close(
        &adam_two_steps(|ps| Adam::new(ps, 0.1), DType::F64),
        &expected,
        1e-12,
    );
    close(
        &adam_two_steps(|ps| Adam::new(ps, 0.1), DType::F32),
        &expected,
        1e-6,
    );
}

#[test]
fn adam_l2_and_adamw_decoupled_decay_match_hand_computed() {
    let g1 = [0.5, 1.0, -0.1];
    let g2 = [0.25, -0.5, 0.3];
    for decoupled in [false, true] {
        let expected: Vec<f64> = [1.0, -2.0, 0.5]
            .iter()
            .enumerate()
            .map(|(i, &p0)| adam_reference(p0, &[g1[i], g2[i]], 0.01, 0.1, decoupled))
            .collect();
        let make = |ps| {
            if decoupled {
                AdamW::new(ps, 0.01).weight_decay(0.1)
            } else {
                Adam::new(ps, 0.01).weight_decay(0.1)
            }
        };
        close(&adam_two_steps(make, DType::F64), &expected, 1e-12);
        close(&adam_two_steps(make, DType::F32), &expected, 1e-6);
    }
    // The two decays really differ.
    let l2 = adam_reference(1.0, &[0.5, 0.25], 0.01, 0.1, false);
    let dec = adam_reference(1.0, &[0.5, 0.25], 0.01, 0.1, true);
    assert!((l2 - dec).abs() > 1e-6);
}

#[test]
fn adamw_defaults_to_weight_decay_0_01() {
    let p = t64(&[2.0]);
    let mut opt = AdamW::new(vec![p.clone()], 0.1);
    set_grad(&p, &[0.5]);
    opt.step().unwrap();
    let expected = adam_reference(2.0, &[0.5], 0.1, 0.01, true);
    close(&p.to_vec_f64().unwrap(), &[expected], 1e-12);
}

#[test]
fn optimizers_skip_parameters_without_grad_and_zero_grad_clears() {
    let (a, b) = (t64(&[1.0, 2.0]), t64(&[3.0]));
    let mut opt = Adam::new(vec![a.clone(), b.clone()], 0.1);
    set_grad(&a, &[1.0, 1.0]);
    opt.step().unwrap();
    assert_eq!(b.to_vec_f64().unwrap(), vec![3.0]);
    let names: Vec<String> = opt.state().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.step", "0.exp_avg", "0.exp_avg_sq"]);
    opt.zero_grad();
    assert!(a.grad().is_none());
}

#[test]
fn large_parameters_update_across_chunks_like_small_ones() {
    // 100k elements span several rayon chunks; each element must follow the scalar rule.
    let n = 100_003;
    let p0: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let g: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
    let p = Tensor::from_vec(p0.clone(), [n])
        .unwrap()
        .requires_grad_(true);
    let mut opt = Adam::new(vec![p.clone()], 0.01);
    set_grad(&p, &g);
    opt.step().unwrap();
    let out = p.to_vec_f64().unwrap();
    for i in [0, 1, 16383, 16384, 50_000, n - 1] {
        let e = adam_reference(p0[i], &[g[i]], 0.01, 0.0, false);
        assert!((out[i] - e).abs() < 1e-12, "element {i}");
    }
}

#[test]
fn optimizer_state_round_trip_continues_identically() {
    let run = |resume: bool| -> Vec<f64> {
        let p = t64(&[1.0, -2.0, 0.5]);
        let mut opt = Adam::new(vec![p.clone()], 0.05);
        set_grad(&p, &[0.5, 1.0, -0.1]);
        opt.step().unwrap();
        if resume {
            let state: Vec<(String, Tensor)> = opt
                .state()
                .into_iter()
                .map(|(n, t)| {
                    (
                        n,
                        Tensor::from_vec(t.to_vec_f64().unwrap(), t.shape().clone()).unwrap(),
                    )
                })
                .collect();
            opt = Adam::new(vec![p.clone()], 0.05);
            opt.load_state(&state).unwrap();
        }
        set_grad(&p, &[0.25, -0.5, 0.3]);
        opt.step().unwrap();
        p.to_vec_f64().unwrap()
    };
    assert_eq!(run(false), run(true));

    let p = t64(&[1.0]);
    let mut sgd = Sgd::new(vec![p.clone()], 0.1).momentum(0.9);
    let bad = vec![("0.momentum_buffer".to_string(), t64(&[1.0, 2.0]))];
    let err = sgd.load_state(&bad).unwrap_err().to_string();
    assert!(
        err.contains("0.momentum_buffer") && err.contains("[2]"),
        "{err}"
    );
    let err = sgd
        .load_state(&[("0.velocity".to_string(), t64(&[1.0]))])
        .unwrap_err()
        .to_string();
    assert!(err.contains("0.velocity"), "{err}");
    let err = Adam::new(vec![p], 0.1)
        .load_state(&[("0.exp_avg".to_string(), t64(&[1.0]))])
        .unwrap_err()
        .to_string();
    assert!(err.contains("parameter 0"), "{err}");
}

#[test]
fn step_lr_matches_pytorch() {
    let s = StepLr {
        base_lr: 0.1,
        step_size: 30,
        gamma: 0.1,
    };
    close(
        &[
            s.lr_at(0),
            s.lr_at(29),
            s.lr_at(30),
            s.lr_at(59),
            s.lr_at(65),
        ],
        &[0.1, 0.1, 0.01, 0.01, 0.001],
        1e-15,
    );
    assert_eq!(ConstantLr { lr: 0.3 }.lr_at(1000), 0.3);
}

#[test]
fn cosine_annealing_matches_pytorch() {
    let s = CosineAnnealing {
        base_lr: 0.1,
        t_max: 10,
        eta_min: 0.001,
    };
    // eta_min + (0.1 - 0.001) * (1 + cos(pi t / 10)) / 2; cos(pi/5) = 0.8090169943749475
    close(
        &[s.lr_at(0), s.lr_at(2), s.lr_at(5), s.lr_at(10)],
        &[0.1, 0.001 + 0.099 * 1.8090169943749475 / 2.0, 0.0505, 0.001],
        1e-15,
    );
}

#[test]
fn one_cycle_matches_pytorch() {
    // max_lr 0.1, 100 steps: initial 0.004, min 4e-7; phase 1 ends at step 29, phase 2 at 99.
    let s = OneCycle::new(0.1, 100);
    close(
        &[s.lr_at(0), s.lr_at(29), s.lr_at(99)],
        &[0.004, 0.1, 4e-7],
        1e-15,
    );
    // Step 64 is halfway through phase 2: (0.1 + 4e-7) / 2.
    close(&[s.lr_at(64)], &[0.0500002], 1e-15);
    // Step 10: 0.1 + (0.004 - 0.1) / 2 * (cos(pi * 10 / 29) + 1); cos(10 pi / 29) = 0.46840844069979015
    close(&[s.lr_at(10)], &[0.1 - 0.048 * 1.4684084406997902], 1e-15);
    // Momentum cycles inversely: 0.95 -> 0.85 -> 0.95.
    let m: Vec<f64> = [0, 29, 64, 99]
        .iter()
        .map(|&t| s.momentum_at(t).unwrap())
        .collect();
    close(&m, &[0.95, 0.85, 0.9, 0.95], 1e-15);
}

fn mlp(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Linear::new(4, 16, rng))
        .push(ReLU)
        .push(Linear::new(16, 1, rng))
}

/// A fixed batch: 8 points in 4-D with targets from a smooth function.
fn batch() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..32).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let y: Vec<f32> = x
        .chunks(4)
        .map(|r| r[0] - 0.5 * r[1] + r[2] * r[3])
        .collect();
    (
        Tensor::from_vec(x, [8, 4]).unwrap(),
        Tensor::from_vec(y, [8, 1]).unwrap(),
    )
}

#[test]
fn mlp_fits_a_fixed_batch_with_adam_and_sgd() {
    let (x, y) = batch();
    for use_adam in [true, false] {
        let mut rng = Rng::new(3);
        let model = mlp(&mut rng);
        let mut opt: Box<dyn Optimizer> = if use_adam {
            Box::new(Adam::new(model.parameters(), 0.01))
        } else {
            Box::new(Sgd::new(model.parameters(), 0.05).momentum(0.9))
        };
        let mse = |m: &Sequential| {
            m.forward(&x)
                .unwrap()
                .sub(&y)
                .unwrap()
                .powf(2.0)
                .unwrap()
                .mean_all()
                .unwrap()
        };
        let first = mse(&model).item().unwrap();
        for _ in 0..600 {
            opt.zero_grad();
            mse(&model).backward().unwrap();
            opt.step().unwrap();
        }
        let last = mse(&model).item().unwrap();
        assert!(
            last < 1e-3 && last < first / 100.0,
            "adam={use_adam}: loss {first} -> {last}"
        );
    }
}

#[test]

fn mlp_fits_a_fixed_batch_with_cross_entropy() {
    let (x, _) = batch();
    let targets = [0usize, 1, 2, 0, 1, 2, 0, 1];
    let mut rng = Rng::new(5);
    let model = Sequential::new()
        .push(Linear::new(4, 32, &mut rng))
        .push(ReLU)
        .push(Linear::new(32, 3, &mut rng));
    let mut opt = Adam::new(model.parameters(), 0.01);
    for _ in 0..500 {
        opt.zero_grad();
        model
            .forward(&x)
            .unwrap()
            .cross_entropy(&targets, 0.0)
            .unwrap()
            .backward()
            .unwrap();
        opt.step().unwrap();
    }
    let loss = model
        .forward(&x)
        .unwrap()
        .cross_entropy(&targets, 0.0)
        .unwrap()
        .item()
        .unwrap();
    assert!(loss < 0.05, "loss {loss}");
}

/// The MNIST cnn: conv32-relu-bn-pool, conv64-relu-bn-pool, flatten, fc128, relu, dropout, fc10.
fn cnn(rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Conv2d::new(1, 32, 3, rng).padding(1))
        .push(ReLU)
        .push(BatchNorm2d::new(32))
        .push(MaxPool2d::new(2))
        .push(Conv2d::new(32, 64, 3, rng).padding(1))
        .push(ReLU)
        .push(BatchNorm2d::new(64))
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(64 * 7 * 7, 128, rng))
        .push(ReLU)
        .push(Dropout::new(0.5, 7))
        .push(Linear::new(128, 10, rng))
}

#[test]
fn cnn_state_dict_names_shapes_and_parameter_count() {
    let model = cnn(&mut Rng::new(0));
    assert_eq!(model.num_parameters(), 421_834);
    let sd: Vec<(String, Vec<usize>)> = model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.dims().to_vec()))
        .collect();
    let expected: Vec<(&str, Vec<usize>)> = vec![
        ("0.weight", vec![32, 1, 3, 3]),
        ("0.bias", vec![32]),
        ("2.weight", vec![32]),
        ("2.bias", vec![32]),
        ("2.running_mean", vec![32]),
        ("2.running_var", vec![32]),
        ("2.num_batches_tracked", vec![]),
        ("4.weight", vec![64, 32, 3, 3]),
        ("4.bias", vec![64]),
        ("6.weight", vec![64]),
        ("6.bias", vec![64]),
        ("6.running_mean", vec![64]),
        ("6.running_var", vec![64]),
        ("6.num_batches_tracked", vec![]),
        ("9.weight", vec![128, 3136]),
        ("9.bias", vec![128]),
        ("12.weight", vec![10, 128]),
        ("12.bias", vec![10]),
    ];
    let expected: Vec<(String, Vec<usize>)> = expected
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
    assert_eq!(sd, expected);
    // Parameters exclude the buffers; all are F32 leaves that require grad.
    let params = model.named_parameters();
    assert_eq!(params.len(), 12);
    assert!(params
        .iter()
        .all(|(_, p)| p.requires_grad() && p.dtype() == DType::F32 && p.is_leaf()));
    assert!(model
        .named_buffers()
        .iter()
        .all(|(_, b)| !b.requires_grad()));
    let bn = model.state_dict();
    let get = |name: &str| {
        bn.iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .to_vec_f64()
            .unwrap()
    };
    assert!(get("2.weight").iter().all(|&v| v == 1.0));
    assert!(get("2.bias").iter().all(|&v| v == 0.0));
    assert!(get("2.running_mean").iter().all(|&v| v == 0.0));
    assert!(get("2.running_var").iter().all(|&v| v == 1.0));
    assert_eq!(get("2.num_batches_tracked"), vec![0.0]);
}

#[test]
fn layer_descriptions_read_like_pytorch() {
    let mut rng = Rng::new(0);
    let d: Vec<String> = vec![
        Conv2d::new(1, 32, 3, &mut rng).padding(1).describe(),
        Conv2d::new(4, 8, (3, 5), &mut rng)
            .stride(2)
            .dilation(2)
            .groups(2)
            .bias(false)
            .describe(),
        BatchNorm2d::new(32).describe(),
        MaxPool2d::new(2).describe(),
        AvgPool2d::new(3).stride(1).padding(1).describe(),
        AdaptiveAvgPool2d::new((1, 1)).describe(),
        Linear::new(3136, 128, &mut rng).describe(),
        Linear::new(3, 2, &mut rng).no_bias().describe(),
        Dropout::new(0.5, 0).describe(),
        ReLU.describe(),
        Flatten.describe(),
    ];
    assert_eq!(
        d,
        [
            "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
            "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), groups=2, bias=False)",
            "BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
            "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
            "AvgPool2d(kernel_size=3, stride=1, padding=1)",
            "AdaptiveAvgPool2d(output_size=(1, 1))",
            "Linear(in_features=3136, out_features=128, bias=True)",
            "Linear(in_features=3, out_features=2, bias=False)",
            "Dropout(p=0.5, inplace=False)",
            "ReLU()",
            "Flatten(start_dim=1, end_dim=-1)",
        ]
    );
    let seq = mlp(&mut rng).describe();
    assert!(
        seq.starts_with(
            "Sequential(\n  (0): Linear(in_features=4, out_features=16, bias=True)\n  (1): ReLU()"
        ),
        "{seq}"
    );
}

/// Checks that `t`'s values lie in [-bound, bound] and spread over most of it.
fn check_uniform(t: &Tensor, bound: f64) {
    let v = t.to_vec_f64().unwrap();
    let max = v.iter().fold(0f64, |m, x| m.max(x.abs()));
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    assert!(max <= bound * (1.0 + 1e-6), "max {max} above bound {bound}");
    assert!(max > bound * 0.9, "max {max} far below bound {bound}");
    assert!(mean.abs() < bound * 0.1, "mean {mean} for bound {bound}");
}

#[test]
fn init_matches_pytorch_default_bounds() {
    let mut rng = Rng::new(11);
    let fc = Linear::new(3136, 128, &mut rng);
    check_uniform(&fc.weight, 1.0 / 56.0);
    check_uniform(fc.bias.as_ref().unwrap(), 1.0 / 56.0);
    let conv = Conv2d::new(32, 64, 3, &mut rng);
    check_uniform(&conv.weight, 1.0 / 288f64.sqrt());
    check_uniform(conv.bias.as_ref().unwrap(), 1.0 / 288f64.sqrt());
    // Groups change the weight shape and fan-in: (8, 4 / 2, 3, 3), fan_in 18.
    let grouped = Conv2d::new(4, 8, 3, &mut rng).groups(2);
    assert_eq!(grouped.weight.dims(), &[8, 2, 3, 3]);
    check_uniform(&grouped.weight, 1.0 / 18f64.sqrt());
    // Same seed, same weights; a different seed, different weights.
    let a = Linear::new(5, 3, &mut Rng::new(1))
        .weight
        .to_vec_f64()
        .unwrap();
    let b = Linear::new(5, 3, &mut Rng::new(1))
        .weight
        .to_vec_f64()
        .unwrap();
    let c = Linear::new(5, 3, &mut Rng::new(2))
        .weight
        .to_vec_f64()
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn linear_forward_matches_a_naive_loop_and_converts_to_f64() {
    let mut rng = Rng::new(4);
    let mut fc = Linear::new(3, 2, &mut rng);
    fc.to_dtype(DType::F64).unwrap();
    assert_eq!(fc.weight.dtype(), DType::F64);
    assert!(fc.weight.requires_grad());
    let x = Tensor::rand([4, 3], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let y = fc.forward(&x).unwrap().to_vec_f64().unwrap();
    let (w, b, xs) = (
        fc.weight.to_vec_f64().unwrap(),
        fc.bias.as_ref().unwrap().to_vec_f64().unwrap(),
        x.to_vec_f64().unwrap(),
    );
    for n in 0..4 {
        for o in 0..2 {
            let e: f64 = b[o] + (0..3).map(|i| xs[n * 3 + i] * w[o * 3 + i]).sum::<f64>();
            assert!((y[n * 2 + o] - e).abs() < 1e-12);
        }
    }
}

#[test]
fn mlp_summary_reports_shapes_and_counts() {
    let model = mlp(&mut Rng::new(0));
    let rows = model.summary(&[2, 4]).unwrap();
    let got: Vec<(String, Vec<usize>, usize)> = rows
        .iter()
        .map(|r| (r.name.clone(), r.output_shape.clone(), r.params))
        .collect();
    assert_eq!(
        got,
        vec![
            ("0".to_string(), vec![2, 16], 80),
            ("1".to_string(), vec![2, 16], 0),
            ("2".to_string(), vec![2, 1], 17),
        ]
    );
    let table = engine::nn::LayerSummary::table(&rows);
    assert!(table.contains("Total trainable parameters: 97"), "{table}");
}

#[test]
fn flatten_and_relu_forward() {
    let x = Tensor::from_vec(
        (0..24).map(|i| i as f64 - 12.0).collect::<Vec<_>>(),
        [2, 3, 2, 2],
    )
    .unwrap();
    let y = Flatten.forward(&x).unwrap();
    assert_eq!(y.dims(), &[2, 12]);
    let r = ReLU.forward(&y).unwrap().to_vec_f64().unwrap();
    assert!(r
        .iter()
        .zip(x.to_vec_f64().unwrap())
        .all(|(a, b)| *a == b.max(0.0)));
}

#[test]

fn cnn_summary_reports_mnist_shapes() {
    let model = cnn(&mut Rng::new(0));
    let before = model.state_dict();
    let before: Vec<Vec<f64>> = before
        .iter()
        .map(|(_, t)| t.to_vec_f64().unwrap())
        .collect();
    let rows = model.summary(&[1, 1, 28, 28]).unwrap();
    let shapes: Vec<Vec<usize>> = rows.iter().map(|r| r.output_shape.clone()).collect();
    assert_eq!(
        shapes,
        vec![
            vec![1, 32, 28, 28],
            vec![1, 32, 28, 28],
            vec![1, 32, 28, 28],
            vec![1, 32, 14, 14],
            vec![1, 64, 14, 14],
            vec![1, 64, 14, 14],
            vec![1, 64, 14, 14],
            vec![1, 64, 7, 7],
            vec![1, 3136],
            vec![1, 128],
            vec![1, 128],
            vec![1, 128],
            vec![1, 10],
        ]
    );
    assert_eq!(rows.iter().map(|r| r.params).sum::<usize>(), 421_834);
    // The summary leaves running statistics and dropout offsets untouched.
    let after: Vec<Vec<f64>> = model
        .state_dict()
        .iter()
        .map(|(_, t)| t.to_vec_f64().unwrap())
        .collect();
    assert_eq!(before, after);
    assert_eq!(model.rng_state(), vec![("11.offset".to_string(), 0)]);
}

#[test]

fn eval_mode_is_deterministic_and_training_mode_updates_state() {
    let mut rng = Rng::new(1);
    let mut model = cnn(&mut rng);
    let x = Tensor::rand([4, 1, 28, 28], 0.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    // Training: BatchNorm counts batches, dropout draws a fresh mask each call.
    let a = model.forward(&x).unwrap().to_vec_f32().unwrap();
    let b = model.forward(&x).unwrap().to_vec_f32().unwrap();
    assert_ne!(a, b);
    let sd = model.state_dict();
    let nbt = sd
        .iter()
        .find(|(n, _)| n == "2.num_batches_tracked")
        .unwrap()
        .1
        .item()
        .unwrap();
    assert_eq!(nbt, 2.0);
    assert_eq!(
        model.rng_state(),
        vec![("11.offset".to_string(), 2 * 4 * 128)]
    );
    // Eval: identical outputs, no state change.
    model.eval();
    let c = model.forward(&x).unwrap().to_vec_f32().unwrap();
    let d = model.forward(&x).unwrap().to_vec_f32().unwrap();
    assert_eq!(c, d);
    assert_eq!(
        model.rng_state(),
        vec![("11.offset".to_string(), 2 * 4 * 128)]
    );
    model.set_rng_state(&[("11.offset".to_string(), 0)]);
    assert_eq!(model.rng_state(), vec![("11.offset".to_string(), 0)]);
    // Restoring the dropout offset replays the same mask; masks keep about half and
    // scale the kept elements by 2.
    let e = Dropout::new(0.5, 7);
    let z = Tensor::ones([4, 128], DType::F32, Device::Cpu).unwrap();
    let m1 = e.forward(&z).unwrap().to_vec_f32().unwrap();
    let fresh = e.forward(&z).unwrap().to_vec_f32().unwrap();
    assert_ne!(m1, fresh);
    e.set_offset(0);
    let m2 = e.forward(&z).unwrap().to_vec_f32().unwrap();
    assert_eq!(m1, m2);
    assert_eq!(e.offset(), 512);
    assert!(m1.iter().all(|&v| v == 0.0 || v == 2.0));
    let kept = m1.iter().filter(|&&v| v == 2.0).count();
    assert!((200..312).contains(&kept), "kept {kept} of 512");
}

#[test]

fn cnn_trains_on_a_fixed_batch() {
    let mut rng = Rng::new(2);
    let model = cnn(&mut rng);
    let x = Tensor::rand([16, 1, 28, 28], 0.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let targets: Vec<usize> = (0..16).map(|i| i % 10).collect();
    let mut opt = Adam::new(model.parameters(), 1e-3);
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..30 {
        opt.zero_grad();
        let loss = model
            .forward(&x)
            .unwrap()
            .cross_entropy(&targets, 0.0)
            .unwrap();
        last = loss.item().unwrap();
        first.get_or_insert(last);
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    assert!(last < first.unwrap() * 0.5, "loss {first:?} -> {last}");
}

#[test]
fn train_and_eval_switch_every_layer() {
    // Dropout in eval mode is the identity and leaves its RNG offset alone; the mode
    // reaches children through Sequential.
    let mut model = Sequential::new()
        .push(Dropout::new(0.5, 1))
        .push(Dropout::new(0.2, 2));
    model.eval();
    let x = Tensor::ones([2, 3], DType::F32, Device::Cpu).unwrap();
    assert_eq!(
        model.forward(&x).unwrap().to_vec_f32().unwrap(),
        vec![1.0; 6]
    );
    assert_eq!(
        model.rng_state(),
        vec![("0.offset".to_string(), 0), ("1.offset".to_string(), 0)]
    );
    let mut d = Dropout::new(0.5, 1);
    assert!(d.is_training());
    d.eval();
    assert!(!d.is_training());
    d.train();
    assert!(d.is_training());
    let mut bn = BatchNorm2d::new(3);
    bn.eval();
    assert!(!bn.is_training());
    // Offsets restore by name, ignoring unknown ones.
    model.set_rng_state(&[("1.offset".to_string(), 77), ("5.offset".to_string(), 1)]);
    assert_eq!(
        model.rng_state(),
        vec![("0.offset".to_string(), 0), ("1.offset".to_string(), 77)]
    );
}
