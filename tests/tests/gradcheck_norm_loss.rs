//! Batch norm, dropout, softmax/log-softmax and the losses: gradient checks in f64 on odd
//! shapes (and non-contiguous inputs), forward values against naive loops written here,
//! running statistics against hand computation, and error messages.

use engine::{rng, DType, Device, Rng, Tensor};
use tests::{assert_close, backward_sum, check, leaf, positive_leaf};

fn zeros(c: usize) -> Tensor {
    Tensor::zeros([c], DType::F64, Device::Cpu).unwrap()
}
fn ones(c: usize) -> Tensor {
    Tensor::ones([c], DType::F64, Device::Cpu).unwrap()
}

/// Naive per-channel (mean, biased var) of `x` with dims `(n, c, s...)`.
fn naive_stats(x: &[f64], dims: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let (n, c) = (dims[0], dims[1]);
    let s: usize = dims[2..].iter().product();
    let m = (n * s) as f64;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        for i in 0..n {
            for k in 0..s {
                mean[ch] += x[(i * c + ch) * s + k];
            }
        }
        mean[ch] /= m;
        for i in 0..n {
            for k in 0..s {
                let d = x[(i * c + ch) * s + k] - mean[ch];
                var[ch] += d * d;
            }
        }
        var[ch] /= m;
    }
    (mean, var)
}

/// Naive `gamma * (x - mean) / sqrt(var + eps) + beta`.
#[allow(clippy::too_many_arguments)]
fn naive_bn(
    x: &[f64],
    dims: &[usize],
    mean: &[f64],
    var: &[f64],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> Vec<f64> {
    let c = dims[1];
    let s: usize = dims[2..].iter().product();
    (0..x.len())
        .map(|i| {
            let ch = (i / s) % c;
            gamma[ch] * (x[i] - mean[ch]) / (var[ch] + eps).sqrt() + beta[ch]
        })
        .collect()
}

/// A random input of shape `dims` (channels in dim 1) with a weight and a bias per channel.
fn bn_inputs(dims: &[usize], rng: &mut Rng) -> [Tensor; 3] {
    let c = dims[1];
    [leaf(dims, rng), leaf(&[c], rng), leaf(&[c], rng)]
}

#[test]
fn batch_norm_forward_matches_naive() {
    let mut rng = Rng::new(10);
    for dims in [&[7usize, 5][..], &[3, 4, 5, 3]] {
        let c = dims[1];
        let [x, w, b] = bn_inputs(dims, &mut rng);
        let y = x
            .batch_norm(&zeros(c), &ones(c), Some(&w), Some(&b), true, 0.1, 1e-5)
            .unwrap();
        let xv = x.to_vec_f64().unwrap();
        let (mean, var) = naive_stats(&xv, dims);
        let want = naive_bn(
            &xv,
            dims,
            &mean,
            &var,
            &w.to_vec_f64().unwrap(),
            &b.to_vec_f64().unwrap(),
            1e-5,
        );
        assert_close(&y.to_vec_f64().unwrap(), &want, 1e-12);
    }
}

#[test]
fn batch_norm_f32_large_mean_is_accurate() {
    // |mean| >> std: a naive f32 sum of squares would lose the variance entirely.
    let mut rng = Rng::new(11);
    let dims = [16, 3, 9, 9];
    let x64 = Tensor::randn(dims, 1000.0, 0.5, DType::F64, Device::Cpu, &mut rng).unwrap();
    let x32 = x64.to_dtype(DType::F32).unwrap();
    let rm = Tensor::zeros([3], DType::F32, Device::Cpu).unwrap();
    let rv = Tensor::ones([3], DType::F32, Device::Cpu).unwrap();
    let y = x32
        .batch_norm(&rm, &rv, None, None, true, 0.1, 1e-5)
        .unwrap();
    let xv: Vec<f64> = x32.to_vec_f64().unwrap();
    let (mean, var) = naive_stats(&xv, &dims);
    let want = naive_bn(&xv, &dims, &mean, &var, &[1.0; 3], &[0.0; 3], 1e-5);
    // f32 output: x * scale + shift cancels ~2000 * 2^-24 * ... in absolute terms.
    assert_close(&y.to_vec_f64().unwrap(), &want, 2e-3);
    let unbias = (16.0 * 81.0) / (16.0 * 81.0 - 1.0);
    let rv_want: Vec<f64> = var.iter().map(|v| 0.9 + 0.1 * v * unbias).collect();
    assert_close(&rv.to_vec_f64().unwrap(), &rv_want, 1e-5);
}

#[test]
fn batch_norm_running_stats_one_and_two_steps() {
    let mut rng = Rng::new(12);
    let dims = [4, 3, 2, 5];
    let (c, m) = (3, 4.0 * 10.0);
    let rm = zeros(c);
    let rv = ones(c);
    let (mut want_m, mut want_v) = (vec![0.0; c], vec![1.0; c]);
    for _step in 0..2 {
        let x = Tensor::randn(dims, 0.5, 2.0, DType::F64, Device::Cpu, &mut rng).unwrap();
        x.batch_norm(&rm, &rv, None, None, true, 0.1, 1e-5).unwrap();
        let (mean, var) = naive_stats(&x.to_vec_f64().unwrap(), &dims);
        for ch in 0..c {
            want_m[ch] = 0.9 * want_m[ch] + 0.1 * mean[ch];
            want_v[ch] = 0.9 * want_v[ch] + 0.1 * var[ch] * m / (m - 1.0);
        }
        assert_close(&rm.to_vec_f64().unwrap(), &want_m, 1e-12);
        assert_close(&rv.to_vec_f64().unwrap(), &want_v, 1e-12);
    }
    // Eval: uses (and does not change) the running statistics.
    let x = Tensor::randn(dims, 0.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let w = leaf(&[c], &mut rng);
    let b = leaf(&[c], &mut rng);
    let (rm_before, rv_before) = (rm.to_vec_f64().unwrap(), rv.to_vec_f64().unwrap());
    let y = x
        .batch_norm(&rm, &rv, Some(&w), Some(&b), false, 0.1, 1e-3)
        .unwrap();
    let want = naive_bn(
        &x.to_vec_f64().unwrap(),
        &dims,
        &want_m,
        &want_v,
        &w.to_vec_f64().unwrap(),
        &b.to_vec_f64().unwrap(),
        1e-3,
    );
    assert_close(&y.to_vec_f64().unwrap(), &want, 1e-12);
    assert_eq!(rm.to_vec_f64().unwrap(), rm_before);
    assert_eq!(rv.to_vec_f64().unwrap(), rv_before);
}

#[test]
fn batch_norm_training_gradcheck() {
    let mut rng = Rng::new(13);
    for dims in [&[5usize, 3][..], &[3, 2, 3, 5], &[2, 3, 1, 3]] {
        let c = dims[1];
        let x = leaf(dims, &mut rng);
        let w = positive_leaf(&[c], &mut rng);
        let b = leaf(&[c], &mut rng);
        let (rm, rv) = (zeros(c), ones(c));
        check(&[x.clone(), w, b], |t| {
            t[0].batch_norm(&rm, &rv, Some(&t[1]), Some(&t[2]), true, 0.1, 1e-5)
        });
        // Without affine parameters.
        check(&[x], |t| {
            t[0].batch_norm(&rm, &rv, None, None, true, 0.1, 1e-5)
        });
    }
    // Non-contiguous input: a permuted view of a (C, N, W, H) leaf.
    let x = leaf(&[3, 4, 3, 2], &mut rng);
    let w = positive_leaf(&[3], &mut rng);
    let (rm, rv) = (zeros(3), ones(3));
    check(&[x, w], |t| {
        let v = t[0].permute(&[1, 0, 3, 2])?;
        v.batch_norm(&rm, &rv, Some(&t[1]), None, true, 0.1, 1e-5)
    });
}

#[test]
fn batch_norm_eval_gradcheck() {
    let mut rng = Rng::new(14);
    for dims in [&[5usize, 3][..], &[3, 2, 3, 5]] {
        let c = dims[1];
        let [x, w, b] = bn_inputs(dims, &mut rng);
        let rm = leaf(&[c], &mut rng).detach();
        let rv = positive_leaf(&[c], &mut rng).detach();
        check(&[x, w, b], |t| {
            t[0].batch_norm(&rm, &rv, Some(&t[1]), Some(&t[2]), false, 0.1, 1e-5)
        });
    }
}

#[test]
fn batch_norm_errors() {
    let x = Tensor::zeros([4, 3, 2, 2], DType::F64, Device::Cpu).unwrap();
    let err = |r: engine::Result<Tensor>| r.unwrap_err().to_string();
    let e = err(x.batch_norm(&zeros(2), &ones(3), None, None, true, 0.1, 1e-5));
    assert!(
        e.contains("batch_norm") && e.contains("running_mean"),
        "{e}"
    );
    let e = err(x.batch_norm(&zeros(3), &ones(4), None, None, false, 0.1, 1e-5));
    assert!(e.contains("running_var"), "{e}");
    let e = err(x.batch_norm(&zeros(3), &ones(3), Some(&ones(2)), None, true, 0.1, 1e-5));
    assert!(e.contains("weight"), "{e}");
    let e = err(x.batch_norm(&zeros(3), &ones(3), None, Some(&ones(5)), true, 0.1, 1e-5));
    assert!(e.contains("bias"), "{e}");
    let e = err(x.batch_norm(
        &zeros(3),
        &ones(3),
        Some(&Tensor::ones([3], DType::F32, Device::Cpu).unwrap()),
        None,
        true,
        0.1,
        1e-5,
    ));
    assert!(e.contains("batch_norm"), "{e}");
    for dims in [&[1usize, 3][..], &[1, 3, 1, 1]] {
        let x = Tensor::zeros(dims, DType::F64, Device::Cpu).unwrap();
        let e = err(x.batch_norm(&zeros(3), &ones(3), None, None, true, 0.1, 1e-5));
        assert!(
            e.contains("Expected more than 1 value per channel when training"),
            "{e}"
        );
        // Eval mode is fine with a single value.
        x.batch_norm(&zeros(3), &ones(3), None, None, false, 0.1, 1e-5)
            .unwrap();
    }
    let x = Tensor::zeros([5], DType::F64, Device::Cpu).unwrap();
    assert!(
        err(x.batch_norm(&zeros(5), &ones(5), None, None, true, 0.1, 1e-5)).contains("batch_norm")
    );
}

#[test]
fn dropout_mask_statistics_and_replay() {
    let n = 200_003;
    let x = Tensor::ones([n], DType::F32, Device::Cpu).unwrap();
    let p = 0.3;
    let y = x.dropout(p, true, 42, 7).unwrap().to_vec_f32().unwrap();
    let zeroed = y.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
    assert!((zeroed - p).abs() < 0.005, "fraction zeroed {zeroed}");
    // Compared and scaled in f32, as the CUDA kernel does.
    let scale = 1.0f32 / (1.0 - p as f32);
    for (i, &v) in y.iter().enumerate() {
        let keep = rng::uniform_at(42, 7, i as u64) >= p as f32;
        assert_eq!(v, if keep { scale } else { 0.0 }, "element {i}");
    }
    let again = x.dropout(p, true, 42, 7).unwrap().to_vec_f32().unwrap();
    assert_eq!(y, again);
    let other = x.dropout(p, true, 42, 8).unwrap().to_vec_f32().unwrap();
    let differ = y.iter().zip(&other).filter(|(a, b)| a != b).count();
    assert!(
        differ > n / 10,
        "offset change altered only {differ} elements"
    );
    let other_seed = x.dropout(p, true, 43, 7).unwrap().to_vec_f32().unwrap();
    assert_ne!(y, other_seed);
}

#[test]
fn dropout_eval_identity_and_errors() {
    let mut rng = Rng::new(20);
    let x = leaf(&[3, 7], &mut rng);
    let xv = x.to_vec_f64().unwrap();
    assert_eq!(
        x.dropout(0.5, false, 1, 0).unwrap().to_vec_f64().unwrap(),
        xv
    );
    assert_eq!(
        x.dropout(0.0, true, 1, 0).unwrap().to_vec_f64().unwrap(),
        xv
    );
    for p in [1.0, -0.1, 1.5, f64::NAN] {
        let e = x.dropout(p, true, 1, 0).unwrap_err().to_string();
        assert!(e.contains("dropout"), "{e}");
    }
}

#[test]
fn dropout_gradcheck() {
    let mut rng = Rng::new(21);
    let x = leaf(&[5, 7], &mut rng);
    check(std::slice::from_ref(&x), |t| {
        t[0].dropout(0.4, true, 1234, 99)
    });
    // Non-contiguous input.
    check(std::slice::from_ref(&x), |t| {
        t[0].t()?.dropout(0.25, true, 5, 0)
    });
    // The gradient is exactly the mask times the scale.
    x.zero_grad();
    backward_sum(&x.dropout(0.4, true, 1234, 99).unwrap());
    let g = x.grad().unwrap().to_vec_f64().unwrap();
    for (i, &g) in g.iter().enumerate() {
        let keep = rng::uniform_at(1234, 99, i as u64) >= 0.4f32;
        assert_eq!(g, if keep { 1.0 / 0.6 } else { 0.0 });
    }
}

/// Naive softmax along `dim` of a dense tensor, via index arithmetic.
fn naive_softmax(x: &[f64], dims: &[usize], dim: usize, log: bool) -> Vec<f64> {
    let inner: usize = dims[dim + 1..].iter().product();
    let d = dims[dim];
    let mut out = vec![0.0; x.len()];
    for i in 0..x.len() {
        let base = i - ((i / inner) % d) * inner;
        let s: f64 = (0..d).map(|k| x[base + k * inner].exp()).sum();
        out[i] = if log { x[i] - s.ln() } else { x[i].exp() / s };
    }
    out
}

#[test]
fn softmax_forward_and_gradcheck() {
    let mut rng = Rng::new(30);
    for dims in [&[3usize, 5][..], &[2, 3, 4], &[1, 7]] {
        let x = leaf(dims, &mut rng);
        let xv = x.to_vec_f64().unwrap();
        for dim in 0..dims.len() {
            for log in [false, true] {
                let y = if log {
                    x.log_softmax(dim)
                } else {
                    x.softmax(dim)
                }
                .unwrap();
                let want = naive_softmax(&xv, dims, dim, log);
                assert_close(&y.to_vec_f64().unwrap(), &want, 1e-12);
                check(std::slice::from_ref(&x), |t| {
                    if log {
                        t[0].log_softmax(dim)
                    } else {
                        t[0].softmax(dim)
                    }
                });
            }
        }
    }
    // Non-contiguous input.
    let x = leaf(&[4, 3], &mut rng);
    check(std::slice::from_ref(&x), |t| t[0].t()?.log_softmax(1));
    check(&[x], |t| t[0].t()?.softmax(0));
    // Stability: huge logits stay finite.
    let big = Tensor::from_vec(vec![1000.0f32, 1001.0, 999.0], [1, 3]).unwrap();
    let y = big.log_softmax(1).unwrap().to_vec_f64().unwrap();
    let want = naive_softmax(&[0.0, 1.0, -1.0], &[1, 3], 1, true);
    assert_close(&y, &want, 1e-6);
    let e = big.softmax(2).unwrap_err().to_string();
    assert!(e.contains("softmax"), "{e}");
}

#[test]
fn cross_entropy_values() {
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], [1, 3]).unwrap();
    let e = std::f64::consts::E;
    let want = -(e / (e + e * e + e * e * e)).ln();
    assert_close(
        &[x.cross_entropy(&[0], 0.0).unwrap().item().unwrap()],
        &[want],
        1e-14,
    );
    // Label smoothing: (1 - eps) nll + eps mean_j(-logp_j).
    let logp: Vec<f64> = naive_softmax(&[1.0, 2.0, 3.0], &[1, 3], 1, true);
    let smooth = 0.9 * -logp[0] + 0.1 * -(logp.iter().sum::<f64>()) / 3.0;
    let got = x.cross_entropy(&[0], 0.1).unwrap().item().unwrap();
    assert_close(&[got], &[smooth], 1e-14);

    // Versus the log_softmax + nll composition (and its smoothed form) on a batch.
    let mut rng = Rng::new(31);
    let x = Tensor::randn([9, 7], 0.0, 3.0, DType::F64, Device::Cpu, &mut rng).unwrap();
    let t = [0, 6, 3, 3, 1, 2, 5, 4, 0];
    let logp = x.log_softmax(1).unwrap();
    let nll = logp.nll_loss(&t).unwrap().item().unwrap();
    assert_close(
        &[x.cross_entropy(&t, 0.0).unwrap().item().unwrap()],
        &[nll],
        1e-13,
    );
    let uniform = -logp.mean_all().unwrap().item().unwrap();
    let want = 0.75 * nll + 0.25 * uniform;
    assert_close(
        &[x.cross_entropy(&t, 0.25).unwrap().item().unwrap()],
        &[want],
        1e-13,
    );
    // nll_loss by hand.
    let lp = logp.to_vec_f64().unwrap();
    let hand = -t
        .iter()
        .enumerate()
        .map(|(i, &c)| lp[i * 7 + c])
        .sum::<f64>()
        / 9.0;
    assert_close(&[nll], &[hand], 1e-14);
    // f32 with huge logits stays finite.
    let big = Tensor::from_vec(vec![1e4f32, 0.0, -1e4], [1, 3]).unwrap();
    let l = big.cross_entropy(&[1], 0.0).unwrap().item().unwrap();
    assert!((l - 1e4).abs() < 1e-2, "{l}");
}

#[test]
fn cross_entropy_and_nll_gradcheck() {
    let mut rng = Rng::new(32);
    let x = leaf(&[5, 4], &mut rng);
    let t = [3, 0, 1, 3, 2];
    check(std::slice::from_ref(&x), |a| a[0].cross_entropy(&t, 0.0));
    check(std::slice::from_ref(&x), |a| a[0].cross_entropy(&t, 0.2));
    check(std::slice::from_ref(&x), |a| {
        a[0].log_softmax(1)?.nll_loss(&t)
    });
    check(std::slice::from_ref(&x), |a| a[0].nll_loss(&t));
    // Scaled upstream gradient, non-contiguous logits.
    let xt = leaf(&[4, 5], &mut rng);
    check(&[xt], |a| {
        a[0].t()?.cross_entropy(&t, 0.1)?.mul_scalar(-2.5)
    });
    // Fused gradient equals (softmax - smoothed one-hot) / N.
    x.zero_grad();
    x.cross_entropy(&t, 0.2).unwrap().backward().unwrap();
    let p = naive_softmax(&x.to_vec_f64().unwrap(), &[5, 4], 1, false);
    let want: Vec<f64> = (0..20)
        .map(|i| {
            let hot = if t[i / 4] == i % 4 { 0.8 } else { 0.0 };
            (p[i] - hot - 0.2 / 4.0) / 5.0
        })
        .collect();
    assert_close(&x.grad().unwrap().to_vec_f64().unwrap(), &want, 1e-14);
}

#[test]
fn loss_errors_name_the_op() {
    let x = Tensor::zeros([3, 4], DType::F64, Device::Cpu).unwrap();
    let err = |r: engine::Result<Tensor>| r.unwrap_err().to_string();
    let e = err(x.cross_entropy(&[0, 4, 1], 0.0));
    assert!(e.contains("cross_entropy") && e.contains("target 4"), "{e}");
    let e = err(x.cross_entropy(&[0, 1], 0.0));
    assert!(
        e.contains("cross_entropy") && e.contains("2 targets"),
        "{e}"
    );
    let e = err(x.cross_entropy(&[0, 1, 2], 1.5));
    assert!(e.contains("label_smoothing"), "{e}");
    let e = err(x.nll_loss(&[0, 1, 9]));
    assert!(e.contains("nll_loss") && e.contains("target 9"), "{e}");
    let e = err(x.nll_loss(&[0]));
    assert!(e.contains("nll_loss"), "{e}");
    let e = err(Tensor::zeros([12], DType::F64, Device::Cpu)
        .unwrap()
        .nll_loss(&[0]));
    assert!(e.contains("nll_loss") && e.contains("(N, C)"), "{e}");
}
