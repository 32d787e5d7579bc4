//! CPU vs CUDA (the simulator with poisoned outputs; a GPU too when present) for the ops of
//! issue 14 part B: the new activations, clamp, minimum / maximum (with ties), pow, masks,
//! where_cond, cat / stack / squeeze, gather (scatter-add backward), min and LayerNorm,
//! forward and backward, on odd shapes with strided and broadcast inputs; f32 within 1e-5 and
//! f64 within 1e-12. Then f64 finite-difference gradient checks on the CUDA path itself.

use engine::{DType, Device, GeluApproximate, Result, Rng, Tensor};
use tests::agree::{assert_agrees, inputs, F32_TOL};
use tests::check;

/// f64 agreement bound (as the other CUDA suites).
const F64_TOL: f64 = 1e-12;

/// The same inputs in f64.
fn widen(xs: &[Tensor]) -> Vec<Tensor> {
    xs.iter()
        .map(|t| {
            t.detach()
                .to_dtype(DType::F64)
                .unwrap()
                .requires_grad_(t.requires_grad())
        })
        .collect()
}

/// Agreement in f32 and in f64 on the same values.
fn agrees_both(name: &str, xs: &[Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    assert_agrees(name, xs, F32_TOL, &f);
    assert_agrees(&format!("{name} f64"), &widen(xs), F64_TOL, &f);
}

#[test]
fn activations_and_clamp_agree() {
    let mut rng = Rng::new(71);
    let x = inputs(&[&[7, 37]], &mut rng);
    // Spread to [-4, 4): both GELU branches and the erf's continued-fraction range.
    let x: Vec<Tensor> = x
        .iter()
        .map(|t| t.mul_scalar(4.0).unwrap().detach().requires_grad_(true))
        .collect();
    agrees_both("leaky_relu", &x, |t| t[0].leaky_relu(0.07));
    agrees_both("gelu", &x, |t| t[0].gelu(GeluApproximate::None));
    agrees_both("gelu_tanh", &x, |t| t[0].gelu(GeluApproximate::Tanh));
    agrees_both("silu", &x, |t| t[0].silu());
    agrees_both("clamp", &x, |t| t[0].clamp(Some(-1.5), Some(2.0)));
    agrees_both("clamp min > max", &x, |t| t[0].clamp(Some(1.0), Some(-1.0)));
    agrees_both("clamp_max of a view", &x, |t| {
        t[0].t()?.clamp(None, Some(0.5))
    });
}

#[test]
fn minimum_maximum_pow_and_masks_agree() {
    let mut rng = Rng::new(72);
    let ab = inputs(&[&[5, 1, 9], &[3, 1]], &mut rng);
    agrees_both("minimum", &ab, |t| t[0].minimum(&t[1]));
    agrees_both("maximum", &ab, |t| t[0].maximum(&t[1]));
    // Ties: rounded values collide often, so the half-and-half rule is exercised.
    let rounded: Vec<Tensor> = ab
        .iter()
        .map(|t| {
            let v: Vec<f32> = t
                .to_vec_f32()
                .unwrap()
                .iter()
                .map(|v| (v * 2.0).round())
                .collect();
            Tensor::from_vec(v, t.shape()).unwrap().requires_grad_(true)
        })
        .collect();
    agrees_both("maximum with ties", &rounded, |t| t[0].maximum(&t[1]));
    agrees_both("minimum with ties", &rounded, |t| t[0].minimum(&t[1]));
    let pos: Vec<Tensor> = inputs(&[&[4, 11]], &mut rng)
        .iter()
        .map(|t| {
            t.abs()
                .unwrap()
                .add_scalar(0.3)
                .unwrap()
                .detach()
                .requires_grad_(true)
        })
        .collect();
    let exp = inputs(&[&[11]], &mut rng);
    let pe = [pos[0].clone(), exp[0].clone()];
    agrees_both("pow", &pe, |t| t[0].pow(&t[1]));
    agrees_both("pow of a view", &pe, |t| {
        t[0].t()?.pow(&t[1].reshape([11, 1])?)
    });
    // Base-0 corners: zeros in the base, zeros in the exponent.
    let base = Tensor::from_vec(vec![0.0f32, 0.0, 2.0, 0.0, 1.5, 3.0], [6]).unwrap();
    let ex = Tensor::from_vec(vec![2.0f32, 0.0, 0.0, 1.0, -0.5, 1.5], [6]).unwrap();
    let corners = [base.requires_grad_(true), ex.requires_grad_(true)];
    agrees_both("pow corners", &corners, |t| t[0].pow(&t[1]));
    for (name, f) in [
        ("gt", Tensor::gt as fn(&Tensor, &Tensor) -> Result<Tensor>),
        ("ge", Tensor::ge),
        ("lt", Tensor::lt),
        ("le", Tensor::le),
        ("eq", Tensor::eq),
        ("ne", Tensor::ne),
    ] {
        let plain: Vec<Tensor> = rounded.iter().map(|t| t.detach()).collect();
        agrees_both(name, &plain, |t| f(&t[0], &t[1]));
    }
}

#[test]
fn where_cat_stack_squeeze_agree() {
    let mut rng = Rng::new(73);
    let xs = inputs(&[&[3, 1, 6], &[4, 6], &[6]], &mut rng);
    agrees_both("where", &xs, |t| {
        let mask = t[0].gt(&t[2])?;
        Tensor::where_cond(&mask, &t[1], &t[2])
    });
    let parts = inputs(&[&[2, 3, 5], &[2, 1, 5], &[5, 4, 2]], &mut rng);
    agrees_both("cat dim 1 with a permuted input", &parts, |t| {
        Tensor::cat(&[&t[0], &t[1], &t[2].permute(&[2, 1, 0])?], 1)
    });
    agrees_both("cat dim 2", &parts, |t| {
        Tensor::cat(&[&t[0], &t[0].narrow(2, 1, 3)?], 2)
    });
    agrees_both("stack", &parts, |t| {
        Tensor::stack(&[&t[0].narrow(1, 2, 1)?.squeeze(1)?, &t[1].squeeze(1)?], 2)
    });
    agrees_both("squeeze, unsqueeze", &parts, |t| {
        t[1].transpose(0, 2)?.squeeze_all()?.unsqueeze(0)?.exp()
    });
}

#[test]
fn gather_and_min_agree() {
    let mut rng = Rng::new(74);
    let x = inputs(&[&[5, 7, 3]], &mut rng);
    for dim in 0..3 {
        let mut id = [4usize, 6, 2];
        id[dim] = 9;
        let size = [5usize, 7, 3][dim];
        let n: usize = id.iter().product();
        // Repeats on purpose: the backward's atomics add colliding gradients.
        let picks: Vec<f64> = (0..n).map(|_| rng.below(size as u64) as f64).collect();
        let index = Tensor::from_vec(picks, id).unwrap();
        for dtype in [DType::F32, DType::F64] {
            let xs = if dtype == DType::F32 {
                x.clone()
            } else {
                widen(&x)
            };
            let tol = if dtype == DType::F32 {
                F32_TOL
            } else {
                F64_TOL
            };
            assert_agrees(&format!("gather dim {dim} {dtype}"), &xs, tol, |t| {
                let idx = index.to_dtype(dtype)?.to_device(t[0].device())?;
                t[0].gather(dim, &idx)
            });
        }
    }
    assert_agrees("gather of a permuted view", &x, F32_TOL, |t| {
        let idx = Tensor::from_vec(vec![2.0f32, 0.0, 4.0, 4.0, 1.0, 3.0], [1, 2, 3])?
            .to_device(t[0].device())?;
        t[0].permute(&[2, 1, 0])?.gather(2, &idx)
    });
    agrees_both("min over dims", &x, |t| t[0].min(&[0, 2], true));
    agrees_both("min_all", &x, |t| t[0].min_all());
    let plain: Vec<Tensor> = x.iter().map(|t| t.detach()).collect();
    agrees_both("argmin", &plain, |t| t[0].argmin(1, false));
}

#[test]
fn layer_norm_agrees() {
    let mut rng = Rng::new(75);
    // Rows shorter and longer than a warp, and a row count that is not a block's multiple.
    for (shape, norm) in [
        (&[3usize, 5, 7][..], &[7usize][..]),
        (&[9, 70], &[70]),
        (&[2, 3, 40], &[3, 40]),
    ] {
        let xs = inputs(&[shape, norm, norm], &mut rng);
        agrees_both(&format!("layer_norm {shape:?}"), &xs, |t| {
            t[0].layer_norm(norm, Some(&t[1]), Some(&t[2]), 1e-5)
        });
    }
    let xs = inputs(&[&[6, 4, 5]], &mut rng);
    agrees_both("layer_norm of a view", &xs, |t| {
        t[0].transpose(0, 2)?.layer_norm(&[6], None, None, 1e-5)
    });
}

/// A random f64 leaf on the simulator.
fn sim_leaf(shape: &[usize], (lo, hi): (f64, f64), rng: &mut Rng) -> Tensor {
    Tensor::rand(shape, lo, hi, DType::F64, Device::Cpu, rng)
        .and_then(|t| t.to_device(Device::CudaSim))
        .unwrap()
        .requires_grad_(true)
}

#[test]
fn cuda_f64_gradcheck_of_the_new_ops() {
    let mut rng = Rng::new(76);
    let x = sim_leaf(&[3, 5], (-2.0, 2.0), &mut rng);
    check(std::slice::from_ref(&x), |t| {
        t[0].gelu(GeluApproximate::None)
    });
    check(std::slice::from_ref(&x), |t| {
        t[0].gelu(GeluApproximate::Tanh)
    });
    check(std::slice::from_ref(&x), |t| t[0].silu());
    check(std::slice::from_ref(&x), |t| t[0].leaky_relu(0.1));
    check(std::slice::from_ref(&x), |t| {
        t[0].clamp(Some(-1.0), Some(0.7))
    });
    let y = sim_leaf(&[5], (-2.0, 2.0), &mut rng);
    check(&[x.clone(), y.clone()], |t| t[0].maximum(&t[1]));
    check(&[x.clone(), y.clone()], |t| t[0].minimum(&t[1]));
    let p = sim_leaf(&[3, 5], (0.5, 2.0), &mut rng);
    check(&[p, y.clone()], |t| t[0].pow(&t[1]));
    let mask = x.detach().gt(&y.detach()).unwrap();
    check(&[x.clone(), y.clone()], |t| {
        Tensor::where_cond(&mask, &t[0], &t[1])
    });
    let z = sim_leaf(&[2, 5], (-1.0, 1.0), &mut rng);
    check(&[x.clone(), z], |t| Tensor::cat(&[&t[0], &t[1]], 0));
    let picks = Tensor::from_vec(vec![1.0, 0.0, 4.0, 4.0, 2.0, 1.0], [3, 2])
        .unwrap()
        .to_device(Device::CudaSim)
        .unwrap();
    check(std::slice::from_ref(&x), |t| t[0].gather(1, &picks));
    check(std::slice::from_ref(&x), |t| t[0].min(&[1], false));
    let (w, b) = (
        sim_leaf(&[5], (0.5, 1.5), &mut rng),
        sim_leaf(&[5], (-1.0, 1.0), &mut rng),
    );
    check(&[x, w, b], |t| {
        t[0].layer_norm(&[5], Some(&t[1]), Some(&t[2]), 1e-5)
    });
}
