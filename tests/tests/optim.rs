//! Optimizers and schedules: SGD/Adam/AdamW update rules against hand-computed steps,
//! optimizer state round trips, and schedule values against PyTorch's formulas.

use engine::optim::{
    Adam, AdamW, ConstantLr, CosineAnnealing, LrSchedule, OneCycle, Optimizer, Sgd, StepLr,
};
use engine::{DType, Tensor};

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
