//! cat, stack, squeeze / unsqueeze, gather, where_cond and the min reductions on the CPU:
//! values against plain index loops, PyTorch's shape rules and errors, and f64
//! finite-difference gradient checks on odd shapes, transposed views and broadcasting.

use engine::{DType, Device, Rng, Tensor};
use tests::{check, leaf};

fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn err_of(r: engine::Result<Tensor>) -> String {
    match r {
        Ok(t) => panic!("expected an error, got shape {:?}", t.dims()),
        Err(e) => e.to_string(),
    }
}

/// Row-major multi-index of flat position `i` in `dims`.
fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        idx[d] = i % dims[d];
        i /= dims[d];
    }
    idx
}

fn ravel(idx: &[usize], dims: &[usize]) -> usize {
    idx.iter().zip(dims).fold(0, |acc, (&i, &d)| acc * d + i)
}

#[test]
fn cat_matches_an_index_loop_along_every_dim() {
    let mut rng = Rng::new(51);
    for dim in 0..3 {
        let mut shapes = vec![vec![2, 3, 4]; 3];
        for (k, s) in shapes.iter_mut().enumerate() {
            s[dim] = k + 1;
        }
        let xs: Vec<Tensor> = shapes.iter().map(|s| leaf(s, &mut rng)).collect();
        // The second input is a transposed view of a dense tensor.
        let mut stored = shapes[1].clone();
        stored.swap(0, 2);
        let base = leaf(&stored, &mut rng);
        let view = base.transpose(0, 2).unwrap();
        let parts = [&xs[0], &view, &xs[2]];
        let y = Tensor::cat(&parts, dim).unwrap();
        let mut want_dims = vec![2, 3, 4];
        want_dims[dim] = 6;
        assert_eq!(y.dims(), want_dims.as_slice());
        let got = y.to_vec_f64().unwrap();
        let vals: Vec<Vec<f64>> = parts.iter().map(|t| t.to_vec_f64().unwrap()).collect();
        for (i, &g) in got.iter().enumerate() {
            let mut idx = unravel(i, &want_dims);
            let (mut k, mut at) = (0, idx[dim]);
            while at >= parts[k].dims()[dim] {
                at -= parts[k].dims()[dim];
                k += 1;
            }
            idx[dim] = at;
            assert_eq!(
                g,
                vals[k][ravel(&idx, parts[k].dims())],
                "dim {dim} element {i}"
            );
        }
    }
}

#[test]
fn cat_skips_legacy_empty_tensors_and_rejects_bad_arguments() {
    let a = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let empty = t64(&[], &[0]);
    let y = Tensor::cat(&[&empty, &a, &empty], 1).unwrap();
    assert_eq!(y.dims(), &[2, 2]);
    assert_eq!(y.to_vec_f64().unwrap(), a.to_vec_f64().unwrap());
    assert!(err_of(Tensor::cat(&[], 0)).starts_with("cat:"));
    let b = t64(&[1.0; 6], &[2, 3]);
    let e = err_of(Tensor::cat(&[&a, &b], 0));
    assert!(
        e.starts_with("cat: shape error") && e.contains("[2, 3]"),
        "{e}"
    );
    assert_eq!(Tensor::cat(&[&a, &b], 1).unwrap().dims(), &[2, 5]);
    assert!(err_of(Tensor::cat(&[&a, &a], 2)).starts_with("cat: invalid argument"));
    let f32s = Tensor::zeros([2, 2], DType::F32, Device::Cpu).unwrap();
    assert!(err_of(Tensor::cat(&[&a, &f32s], 0)).starts_with("cat: dtype error"));
    let rank1 = t64(&[1.0, 2.0], &[2]);
    assert!(err_of(Tensor::cat(&[&a, &rank1], 0)).starts_with("cat: shape error"));
    let scalar = Tensor::scalar(1.0, DType::F64, Device::Cpu).unwrap();
    assert!(err_of(Tensor::cat(&[&scalar], 0)).starts_with("cat:"));
}

#[test]
fn stack_adds_a_dim_and_checks_shapes() {
    let a = t64(&[1.0, 2.0, 3.0], &[3]);
    let b = t64(&[4.0, 5.0, 6.0], &[3]);
    let s0 = Tensor::stack(&[&a, &b], 0).unwrap();
    assert_eq!(s0.dims(), &[2, 3]);
    assert_eq!(s0.to_vec_f64().unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let s1 = Tensor::stack(&[&a, &b], 1).unwrap();
    assert_eq!(s1.dims(), &[3, 2]);
    assert_eq!(s1.to_vec_f64().unwrap(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert!(err_of(Tensor::stack(&[&a, &b], 2)).starts_with("stack: invalid argument"));
    let c = t64(&[1.0, 2.0], &[2]);
    assert!(err_of(Tensor::stack(&[&a, &c], 0)).starts_with("stack: shape error"));
    assert!(err_of(Tensor::stack(&[], 0)).starts_with("stack:"));
}

#[test]
fn squeeze_and_unsqueeze_are_views_with_pytorch_rules() {
    let x = t64(&[1.0, 2.0, 3.0], &[1, 3, 1]);
    let all = x.squeeze_all().unwrap();
    assert_eq!(all.dims(), &[3]);
    assert!(all.same_storage(&x));
    assert_eq!(x.squeeze(0).unwrap().dims(), &[3, 1]);
    assert_eq!(x.squeeze(2).unwrap().dims(), &[1, 3]);
    // A dim of size > 1 is left alone (no error), like PyTorch.
    assert_eq!(x.squeeze(1).unwrap().dims(), &[1, 3, 1]);
    assert!(err_of(x.squeeze(3)).starts_with("squeeze: invalid argument"));
    let s = Tensor::scalar(2.0, DType::F64, Device::Cpu).unwrap();
    assert_eq!(s.squeeze(0).unwrap().dims(), &[] as &[usize]);
    assert_eq!(s.unsqueeze(0).unwrap().dims(), &[1]);
    let u = all.unsqueeze(1).unwrap();
    assert_eq!(u.dims(), &[3, 1]);
    assert!(u.same_storage(&x) && u.is_contiguous());
    assert!(err_of(all.unsqueeze(2)).starts_with("unsqueeze:"));
    // Views of a transposed tensor keep its strides.
    let mut rng = Rng::new(52);
    let t = leaf(&[4, 1, 3], &mut rng).transpose(0, 2).unwrap();
    let sq = t.squeeze(1).unwrap();
    assert_eq!(sq.dims(), &[3, 4]);
    assert_eq!(
        sq.to_vec_f64().unwrap(),
        t.reshape([3, 4]).unwrap().to_vec_f64().unwrap()
    );
}

#[test]
fn gather_matches_an_index_loop_and_scatter_adds_its_gradient() {
    let mut rng = Rng::new(53);
    let xd = [4usize, 5, 3];
    for dim in 0..3 {
        // Index smaller than the input in the other dims, with repeats.
        let mut id = [3usize, 2, 2];
        id[dim] = 6;
        let n: usize = id.iter().product();
        let picks: Vec<f64> = (0..n).map(|_| rng.below(xd[dim] as u64) as f64).collect();
        let index = t64(&picks, &id);
        // x is a transposed view: gather reads strided input in place.
        let stored = [xd[2], xd[1], xd[0]];
        let base = leaf(&stored, &mut rng);
        let x = base.permute(&[2, 1, 0]).unwrap();
        let y = x.gather(dim, &index).unwrap();
        assert_eq!(y.dims(), &id);
        let xv = x.to_vec_f64().unwrap();
        let got = y.to_vec_f64().unwrap();
        let w: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut dx = vec![0.0; xv.len()];
        for i in 0..n {
            let mut idx = unravel(i, &id);
            idx[dim] = picks[i] as usize;
            let src = ravel(&idx, &xd);
            assert_eq!(got[i], xv[src], "dim {dim} element {i}");
            dx[src] += w[i];
        }
        y.mul(&t64(&w, &id))
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g = base.grad().unwrap().permute(&[2, 1, 0]).unwrap();
        let gv = g.to_vec_f64().unwrap();
        for (a, b) in gv.iter().zip(&dx) {
            assert!((a - b).abs() < 1e-14, "scatter-add {a} vs {b}");
        }
    }
    // argmax's output is a valid index.
    let x = t64(&[1.0, 9.0, 3.0, 7.0, 2.0, 0.0], &[2, 3]);
    let best = x.gather(1, &x.argmax(1, true).unwrap()).unwrap();
    assert_eq!(best.to_vec_f64().unwrap(), vec![9.0, 7.0]);
}

#[test]
fn gather_rejects_bad_indices_and_shapes() {
    let x = t64(&[1.0; 6], &[2, 3]);
    let e = err_of(x.gather(1, &t64(&[0.0, 3.0], &[1, 2])));
    assert!(
        e.starts_with("gather: invalid argument") && e.contains("index 3"),
        "{e}"
    );
    assert!(err_of(x.gather(1, &t64(&[-1.0], &[1, 1]))).starts_with("gather:"));
    assert!(err_of(x.gather(1, &t64(&[0.5], &[1, 1]))).starts_with("gather:"));
    assert!(err_of(x.gather(1, &t64(&[f64::NAN], &[1, 1]))).starts_with("gather:"));
    assert!(err_of(x.gather(1, &t64(&[0.0, 1.0], &[2]))).starts_with("gather: shape error"));
    assert!(err_of(x.gather(1, &t64(&[0.0; 3], &[3, 1]))).starts_with("gather: shape error"));
    assert!(err_of(x.gather(2, &t64(&[0.0], &[1, 1]))).starts_with("gather: invalid argument"));
    // The gathered dim itself may be longer than the input's.
    assert_eq!(
        x.gather(1, &t64(&[2.0; 8], &[2, 4])).unwrap().dims(),
        &[2, 4]
    );
    let empty = x.gather(0, &t64(&[], &[0, 3])).unwrap();
    assert_eq!(empty.dims(), &[0, 3]);
}

#[test]
fn where_cond_broadcasts_and_routes_exact_gradients() {
    let cond = t64(&[1.0, 0.0, f64::NAN], &[3, 1]);
    let a = t64(&[10.0, 20.0], &[2]).requires_grad_(true);
    let b = t64(&[-1.0], &[1]).requires_grad_(true);
    let y = Tensor::where_cond(&cond, &a, &b).unwrap();
    assert_eq!(y.dims(), &[3, 2]);
    // NaN counts as true (PyTorch's float -> bool).
    assert_eq!(
        y.to_vec_f64().unwrap(),
        vec![10.0, 20.0, -1.0, -1.0, 10.0, 20.0]
    );
    y.sum_all().unwrap().backward().unwrap();
    assert_eq!(a.grad().unwrap().to_vec_f64().unwrap(), vec![2.0, 2.0]);
    assert_eq!(b.grad().unwrap().to_vec_f64().unwrap(), vec![2.0]);
    // Masks from comparisons; an infinite gradient on the unpicked side stays out.
    let x = t64(&[-2.0, 3.0], &[2]).requires_grad_(true);
    let zero = t64(&[0.0], &[1]);
    let y = Tensor::where_cond(&x.gt(&zero).unwrap(), &x, &zero).unwrap();
    assert_eq!(y.to_vec_f64().unwrap(), vec![0.0, 3.0]);
    y.mul_scalar(f64::INFINITY)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec_f64().unwrap(),
        vec![0.0, f64::INFINITY]
    );
    let f32s = Tensor::zeros([2], DType::F32, Device::Cpu).unwrap();
    let e = err_of(Tensor::where_cond(&f32s, &a, &a));
    assert!(e.starts_with("where: dtype error"), "{e}");
    let e = err_of(Tensor::where_cond(&t64(&[1.0; 3], &[3]), &a, &a));
    assert!(e.starts_with("where: shape error"), "{e}");
}

#[test]
fn min_reductions_mirror_max() {
    let x = t64(&[3.0, -1.0, 2.0, 0.5, 7.0, -4.0], &[2, 3]);
    assert_eq!(
        x.min(&[1], false).unwrap().to_vec_f64().unwrap(),
        vec![-1.0, -4.0]
    );
    assert_eq!(x.min(&[0], true).unwrap().dims(), &[1, 3]);
    assert_eq!(x.min_all().unwrap().item().unwrap(), -4.0);
    assert_eq!(x.max_all().unwrap().item().unwrap(), 7.0);
    let (v, i) = x.min_dim(1, false).unwrap();
    assert_eq!(v.to_vec_f64().unwrap(), vec![-1.0, -4.0]);
    assert_eq!(i.to_vec_f64().unwrap(), vec![1.0, 2.0]);
    let (v, i) = x.max_dim(0, true).unwrap();
    assert_eq!(v.to_vec_f64().unwrap(), vec![3.0, 7.0, 2.0]);
    assert_eq!(i.to_vec_f64().unwrap(), vec![0.0, 1.0, 0.0]);
    // First minimum on ties; NaN propagates.
    let t = t64(&[2.0, 1.0, 1.0, f64::NAN, 0.0, 5.0], &[2, 3]);
    assert_eq!(
        t.argmin(1, false).unwrap().to_vec_f64().unwrap(),
        vec![1.0, 0.0]
    );
    let m = t.min(&[1], false).unwrap().to_vec_f64().unwrap();
    assert_eq!(m[0], 1.0);
    assert!(m[1].is_nan());
    // Ties share the gradient on the CPU, like max.
    let y = t64(&[1.0, 1.0, 3.0], &[3]).requires_grad_(true);
    y.min_all().unwrap().backward().unwrap();
    assert_eq!(y.grad().unwrap().to_vec_f64().unwrap(), vec![0.5, 0.5, 0.0]);
    assert!(err_of(x.min(&[2], false)).starts_with("min: invalid argument"));
    let empty = Tensor::zeros([2, 0], DType::F64, Device::Cpu).unwrap();
    assert!(err_of(empty.min(&[1], false)).starts_with("min: invalid argument"));
    assert!(err_of(empty.argmin(1, false)).starts_with("argmin: invalid argument"));
}

#[test]
fn shape_ops_gradcheck() {
    let mut rng = Rng::new(54);
    let (a, b, c) = (
        leaf(&[2, 3, 5], &mut rng),
        leaf(&[2, 1, 5], &mut rng),
        leaf(&[5, 4, 2], &mut rng),
    );
    check(&[a.clone(), b.clone(), c.clone()], |t| {
        Tensor::cat(&[&t[0], &t[1], &t[2].permute(&[2, 1, 0])?], 1)
    });
    check(&[a.clone(), c.clone()], |t| {
        Tensor::stack(&[&t[0], &t[1].permute(&[2, 1, 0])?.narrow(1, 1, 3)?], 3)
    });
    check(std::slice::from_ref(&b), |t| {
        t[0].squeeze(1)?.mul(&t[0].squeeze_all()?)
    });
    check(std::slice::from_ref(&b), |t| {
        t[0].transpose(0, 2)?.unsqueeze(1)?.exp()
    });
    let picks: Vec<f64> = (0..2 * 7 * 5).map(|_| rng.below(3) as f64).collect();
    let index = t64(&picks, &[2, 7, 5]);
    check(std::slice::from_ref(&a), |t| t[0].gather(1, &index));
    // A permuted input, an index smaller than it in the other dims.
    let picks: Vec<f64> = (0..2 * 3 * 4).map(|_| rng.below(4) as f64).collect();
    let small = t64(&picks, &[2, 3, 4]);
    check(std::slice::from_ref(&c), |t| {
        t[0].permute(&[2, 1, 0])?.gather(1, &small)
    });
    let mask = t64(
        &(0..15)
            .map(|i| (i % 3 == 0) as u8 as f64)
            .collect::<Vec<_>>(),
        &[3, 5],
    );
    let (x, z) = (leaf(&[2, 3, 5], &mut rng), leaf(&[5], &mut rng));
    check(&[x.clone(), z.clone()], |t| {
        Tensor::where_cond(&mask, &t[0], &t[1])
    });
    check(std::slice::from_ref(&x), |t| t[0].min(&[1], false));
    check(&[x], |t| t[0].transpose(0, 2)?.min(&[0, 2], true));
}
