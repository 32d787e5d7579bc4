//! Optimizer and schedule options: Adam / AdamW `amsgrad` against a reference loop of
//! PyTorch's `_single_tensor_adam` written here, its state in checkpoints, the CUDA
//! multi-tensor kernel (cuda-sim) against the CPU; OneCycle `anneal_strategy='linear'` and
//! `three_phase` against hand-derived values of PyTorch's phase table.

use engine::optim::{Adam, AdamW, Anneal, LrSchedule, OneCycle, Optimizer};
use engine::{DType, Device, Rng, Tensor};
use tests::agree::{cuda_devices, rel_error};
use tests::assert_close;

/// PyTorch's Adam / AdamW step in f64 for one tensor (amsgrad keeps `vmax`).
struct RefAdam {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    wd: f64,
    decoupled: bool,
    amsgrad: bool,
    t: i32,
    m: Vec<f64>,
    v: Vec<f64>,
    vmax: Vec<f64>,
}

impl RefAdam {
    fn step(&mut self, p: &mut [f64], g: &[f64]) {
        self.t += 1;
        let (b1, b2) = self.betas;
        let bc1 = 1.0 - b1.powi(self.t);
        let bc2 = 1.0 - b2.powi(self.t);
        for i in 0..p.len() {
            let mut gi = g[i];
            if self.decoupled {
                p[i] *= 1.0 - self.lr * self.wd;
            } else {
                gi += self.wd * p[i];
            }
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * gi;
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * gi * gi;
            let second = if self.amsgrad {
                self.vmax[i] = self.vmax[i].max(self.v[i]);
                self.vmax[i]
            } else {
                self.v[i]
            };
            let denom = second.sqrt() / bc2.sqrt() + self.eps;
            p[i] -= self.lr / bc1 * self.m[i] / denom;
        }
    }
}

/// Gradients that shrink after step 2, so the running maximum of v differs from v.
fn grads(rng: &mut Rng, steps: usize, n: usize) -> Vec<Vec<f64>> {
    (0..steps)
        .map(|s| {
            let scale = if s < 2 { 1.0 } else { 0.05 };
            (0..n)
                .map(|_| scale * (rng.uniform() * 2.0 - 1.0))
                .collect()
        })
        .collect()
}

fn set_grad(p: &Tensor, g: &[f64]) {
    let g = Tensor::from_vec(g.to_vec(), p.shape().clone())
        .unwrap()
        .to_dtype(p.dtype())
        .unwrap()
        .to_device(p.device())
        .unwrap();
    p.set_grad(Some(g));
}

#[test]
fn amsgrad_matches_pytorch_reference_adam_and_adamw() {
    let mut rng = Rng::new(401);
    for decoupled in [false, true] {
        let p0: Vec<f64> = (0..7).map(|_| rng.uniform() * 2.0 - 1.0).collect();
        let p = Tensor::from_vec(p0.clone(), [7])
            .unwrap()
            .requires_grad_(true);
        let (lr, wd) = (0.05, 0.1);
        let mut opt = if decoupled {
            AdamW::new(vec![p.clone()], lr).weight_decay(wd)
        } else {
            Adam::new(vec![p.clone()], lr).weight_decay(wd)
        }
        .betas(0.8, 0.9)
        .amsgrad(true);
        let mut r = RefAdam {
            lr,
            betas: (0.8, 0.9),
            eps: 1e-8,
            wd,
            decoupled,
            amsgrad: true,
            t: 0,
            m: vec![0.0; 7],
            v: vec![0.0; 7],
            vmax: vec![0.0; 7],
        };
        let mut want = p0.clone();
        let mut plain = RefAdam {
            amsgrad: false,
            m: vec![0.0; 7],
            v: vec![0.0; 7],
            vmax: vec![0.0; 7],
            ..r
        };
        let mut without = p0;
        for g in grads(&mut rng, 6, 7) {
            set_grad(&p, &g);
            opt.step().unwrap();
            r.step(&mut want, &g);
            plain.step(&mut without, &g);
        }
        assert_close(&p.to_vec_f64().unwrap(), &want, 1e-13);
        // The maximum mattered: plain Adam ends elsewhere.
        assert!(
            rel_error(&without, &want) > 1e-4,
            "amsgrad made no difference"
        );
        let state = opt.state();
        let vmax = state
            .iter()
            .find(|(n, _)| n == "0.max_exp_avg_sq")
            .expect("max_exp_avg_sq in the state");
        assert_close(&vmax.1.to_vec_f64().unwrap(), &r.vmax, 1e-13);
    }
}

#[test]
fn amsgrad_state_round_trips_and_is_required() {
    let mut rng = Rng::new(402);
    let gs = grads(&mut rng, 5, 4);
    let make = |p: &Tensor| Adam::new(vec![p.clone()], 0.1).amsgrad(true);
    let p = Tensor::from_vec(vec![0.5, -0.25, 1.0, 2.0], [4])
        .unwrap()
        .requires_grad_(true);
    let mut a = make(&p);
    for g in &gs[..3] {
        set_grad(&p, g);
        a.step().unwrap();
    }
    // Resume a copy from the state after 3 steps; both take the last 2 steps.
    let q = Tensor::from_vec(p.to_vec_f64().unwrap(), [4])
        .unwrap()
        .requires_grad_(true);
    let mut b = make(&q);
    b.load_state(&a.state()).unwrap();
    for g in &gs[3..] {
        set_grad(&p, g);
        a.step().unwrap();
        set_grad(&q, g);
        b.step().unwrap();
    }
    assert_eq!(p.to_vec_f64().unwrap(), q.to_vec_f64().unwrap());
    // Without amsgrad's entry the state is incomplete; a plain Adam refuses it.
    let partial: Vec<_> = a
        .state()
        .into_iter()
        .filter(|(n, _)| !n.ends_with("max_exp_avg_sq"))
        .collect();
    let e = make(&q).load_state(&partial).unwrap_err().to_string();
    assert!(e.contains("max_exp_avg_sq"), "{e}");
    let e = Adam::new(vec![q.clone()], 0.1)
        .load_state(&a.state())
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_exp_avg_sq"), "{e}");
}

#[test]
fn amsgrad_multi_tensor_kernel_agrees_on_cuda_sim() {
    let mut rng = Rng::new(403);
    let shapes: [&[usize]; 3] = [&[5, 3], &[3], &[17]];
    let starts: Vec<Vec<f64>> = shapes
        .iter()
        .map(|s| {
            (0..s.iter().product())
                .map(|_| rng.uniform() - 0.5)
                .collect()
        })
        .collect();
    let steps: Vec<Vec<Vec<f64>>> = shapes
        .iter()
        .map(|s| grads(&mut rng, 5, s.iter().product()))
        .collect();
    for decoupled in [false, true] {
        let run = |dev: Device| -> Vec<Vec<f64>> {
            let ps: Vec<Tensor> = shapes
                .iter()
                .zip(&starts)
                .map(|(s, v)| {
                    Tensor::from_vec(v.clone(), *s)
                        .unwrap()
                        .to_dtype(DType::F32)
                        .unwrap()
                        .to_device(dev)
                        .unwrap()
                        .requires_grad_(true)
                })
                .collect();
            // beta2 0.5: v forgets fast, so the maximum stays well above it.
            let mut opt = Adam::new(ps.clone(), 0.02)
                .betas(0.9, 0.5)
                .weight_decay(0.05)
                .decoupled(decoupled)
                .amsgrad(true);
            for k in 0..5 {
                for (p, g) in ps.iter().zip(&steps) {
                    set_grad(p, &g[k]);
                }
                opt.step().unwrap();
            }
            let mut out: Vec<Vec<f64>> = ps.iter().map(|p| p.to_vec_f64().unwrap()).collect();
            out.extend(opt.state().iter().map(|(_, t)| t.to_vec_f64().unwrap()));
            out
        };
        let cpu = run(Device::Cpu);
        // State order per parameter: step, exp_avg, exp_avg_sq, max_exp_avg_sq; the maximum
        // is not the last second moment (the gradients shrank).
        let (v, vmax) = (&cpu[3 + 2], &cpu[3 + 3]);
        assert!(vmax.iter().zip(v).all(|(a, b)| a >= b) && rel_error(v, vmax) > 0.5);
        for dev in cuda_devices() {
            let got = run(dev);
            assert_eq!(got.len(), cpu.len());
            for (i, (g, c)) in got.iter().zip(&cpu).enumerate() {
                let e = rel_error(g, c);
                // The device rounds the step's coefficients (1 - beta2, lr / bc1, ...) to f32
                // where the CPU computes them in f64 (PyTorch's Python scalars): about 1.3e-5
                // relative in the second moments, as for plain Adam (see cuda_optim.rs).
                assert!(
                    e < 1e-4,
                    "tensor {i} on {dev} (decoupled={decoupled}): {e:.2e}"
                );
            }
        }
    }
}

#[test]
fn one_cycle_linear_two_phases_by_hand() {
    // max_lr 1, 10 steps, pct_start 0.3: initial 0.04, min 4e-6; phase ends 2 and 9.
    let s = OneCycle {
        anneal: Anneal::Linear,
        ..OneCycle::new(1.0, 10)
    };
    let (init, min) = (0.04, 0.04 / 1e4);
    let want_lr = [
        init,
        (init + 1.0) / 2.0,
        1.0,
        1.0 + (min - 1.0) / 7.0,
        1.0 + (min - 1.0) * 6.0 / 7.0,
        min,
    ];
    let at = [0, 1, 2, 3, 8, 9];
    let got: Vec<f64> = at.iter().map(|&t| s.lr_at(t)).collect();
    assert_close(&got, &want_lr, 1e-14);
    // Momentum: 0.95 -> 0.85 over phase 1, back to 0.95 at the end.
    let got: Vec<f64> = [0, 1, 2, 9]
        .iter()
        .map(|&t| s.momentum_at(t).unwrap())
        .collect();
    assert_close(&got, &[0.95, 0.90, 0.85, 0.95], 1e-14);
}

#[test]
fn one_cycle_three_phases_by_hand() {
    // Phase ends: 0.3 * 10 - 1 = 2, 2 * 3 - 2 = 4, 9.
    let lin = OneCycle {
        anneal: Anneal::Linear,
        three_phase: true,
        ..OneCycle::new(1.0, 10)
    };
    let (init, min) = (0.04, 0.04 / 1e4);
    let at = [0, 2, 3, 4, 5, 9];
    let want = [
        init,
        1.0,
        (1.0 + init) / 2.0,
        init,
        init + (min - init) / 5.0,
        min,
    ];
    let got: Vec<f64> = at.iter().map(|&t| lin.lr_at(t)).collect();
    assert_close(&got, &want, 1e-14);
    // Momentum: down to 0.85, back up to 0.95 at step 4, then flat at 0.95.
    let got: Vec<f64> = [0, 2, 3, 4, 6, 9]
        .iter()
        .map(|&t| lin.momentum_at(t).unwrap())
        .collect();
    assert_close(&got, &[0.95, 0.85, 0.90, 0.95, 0.95, 0.95], 1e-14);
    // Cosine three-phase: the midpoint of each phase is the mean of its ends.
    let cos = OneCycle {
        three_phase: true,
        ..OneCycle::new(1.0, 21)
    };
    // 0.3 * 21 = 6.3: ends 5.3, 10.6, 20; step 8 is 2.7 / 5.3 into phase 2.
    let pct = (8.0 - 5.3) / (10.6 - 5.3);
    let want = init + (1.0 - init) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0);
    assert_close(&[cos.lr_at(8)], &[want], 1e-12);
}
