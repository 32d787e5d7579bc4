//! The fused optimizer kernels on CUDA against the CPU's update rules: a few steps of a small
//! least-squares problem, every optimizer variant, parameters and state compared. Four steps
//! compound the f32 rounding differences of the matmuls (different summation orders), so
//! the trajectory bound is 1e-4 relative, the bound the issue sets for training losses.
//! On CUDA a step is one launch for all the parameters.

use engine::optim::{Adam, AdamW, Optimizer, Sgd};
use engine::{DType, Device, Rng, Tensor};
use tests::agree::{cuda_devices, rel_error};

/// Runs `steps` updates of `make_opt` on `0.5 |X w - y|^2` from the same start on `dev`.
fn train(
    dev: Device,
    make_opt: &dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut rng = Rng::new(51);
    let x = Tensor::rand([9, 5], -1.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let y = Tensor::rand([9, 3], -1.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let w0 = Tensor::rand([5, 3], -1.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let b0 = Tensor::rand([3], -1.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
    let (x, y) = (x.to_device(dev).unwrap(), y.to_device(dev).unwrap());
    let w = w0.to_device(dev).unwrap().detach().requires_grad_(true);
    let b = b0.to_device(dev).unwrap().detach().requires_grad_(true);
    let mut opt = make_opt(vec![w.clone(), b.clone()]);
    for step in 0..4 {
        opt.zero_grad();
        let r = x.matmul(&w).unwrap().add(&b).unwrap().sub(&y).unwrap();
        let loss = r
            .mul(&r)
            .unwrap()
            .sum_all()
            .unwrap()
            .mul_scalar(0.5)
            .unwrap();
        loss.backward().unwrap();
        let before = launches(dev);
        opt.step().unwrap();
        // From the second step on (the first also zero-fills the new optimizer state):
        // one fused launch for both parameters.
        if dev.is_cuda() && step > 0 {
            let n = launches(dev) - before;
            assert_eq!(n, 1, "one launch for all the parameters, got {n}");
        }
    }
    let state = opt
        .state()
        .iter()
        .map(|(_, t)| t.to_vec_f64().unwrap())
        .collect();
    let mut params = w.to_vec_f64().unwrap();
    params.extend(b.to_vec_f64().unwrap());
    (params, state)
}

/// Kernel launches so far on `dev` (0 on the CPU).
fn launches(dev: Device) -> u64 {
    match dev {
        Device::Cpu => 0,
        d => {
            engine::backend::cuda::CudaDevice::get(d)
                .unwrap()
                .gpu()
                .counters()
                .launches
        }
    }
}

#[test]
fn every_optimizer_agrees_with_the_cpu() {
    type Make = Box<dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>>;
    let cases: Vec<(&str, Make)> = vec![
        ("adam", Box::new(|p| Box::new(Adam::new(p, 0.05)))),
        (
            "adam l2",
            Box::new(|p| Box::new(Adam::new(p, 0.05).weight_decay(0.1))),
        ),
        ("adamw", Box::new(|p| Box::new(AdamW::new(p, 0.05)))),
        ("sgd", Box::new(|p| Box::new(Sgd::new(p, 0.1)))),
        (
            "sgd momentum",
            Box::new(|p| {
                Box::new(
                    Sgd::new(p, 0.1)
                        .momentum(0.9)
                        .dampening(0.1)
                        .weight_decay(0.01),
                )
            }),
        ),
        (
            "sgd nesterov",
            Box::new(|p| Box::new(Sgd::new(p, 0.1).momentum(0.9).nesterov(true))),
        ),
    ];
    for (name, make) in &cases {
        let (w_cpu, s_cpu) = train(Device::Cpu, make.as_ref());
        for dev in cuda_devices() {
            let (w, s) = train(dev, make.as_ref());
            let e = rel_error(&w, &w_cpu);
            assert!(e < 1e-4, "{name} on {dev}: parameters differ by {e:.2e}");
            assert_eq!(s.len(), s_cpu.len(), "{name}: state entries");
            for (a, b) in s.iter().zip(&s_cpu) {
                assert!(
                    rel_error(a, b) < 1e-4,
                    "{name} on {dev}: state differs: {a:?} vs {b:?}"
                );
            }
        }
    }
}
