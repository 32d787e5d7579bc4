//! Property test (issue 17): every op, forward and backward, on random shapes with
//! zero- and one-sized dims, broadcasting and non-contiguous (transposed) views. Each
//! result must have the shape PyTorch gives and finite values where expected, or be a
//! clean error where PyTorch errors too; a panic anywhere is a failure.

use std::panic::{catch_unwind, AssertUnwindSafe};

use engine::{Conv2dParams, DType, Device, GeluApproximate, Result, Rng, Tensor, UnaryOp};

/// What PyTorch does with a case.
enum Expect {
    /// This output shape; values finite unless `nan_ok`.
    Shape(Vec<usize>, bool),
    /// An error (e.g. max over an empty dim).
    Error,
    /// This shape, or a clean error where the engine is stricter than PyTorch.
    ShapeOrError(Vec<usize>),
}

thread_local! {
    /// The device the cases run on (each test thread sets its own).
    static DEVICE: std::cell::Cell<Device> = const { std::cell::Cell::new(Device::Cpu) };
}

fn device() -> Device {
    DEVICE.with(|d| d.get())
}

/// A random dim, often 0 or 1.
fn dim(rng: &mut Rng) -> usize {
    [0, 1, 1, 2, 3, 4][rng.below(6) as usize]
}

fn dims(rng: &mut Rng, rank: usize) -> Vec<usize> {
    (0..rank).map(|_| dim(rng)).collect()
}

/// A leaf with values in [0.5, 2) (finite through log, sqrt, div) and the tensor an op
/// sees: the leaf itself or, half the time, a transposed (non-contiguous) view of it.
fn input(shape: &[usize], rng: &mut Rng) -> (Tensor, Tensor) {
    let r = shape.len();
    let transposed = r >= 2 && rng.below(2) == 0;
    let mut stored = shape.to_vec();
    if transposed {
        stored.swap(r - 2, r - 1);
    }
    let leaf = Tensor::rand(stored, 0.5, 2.0, DType::F64, Device::Cpu, rng)
        .and_then(|t| t.to_device(device()))
        .unwrap()
        .requires_grad_(true);
    let seen = if transposed {
        leaf.transpose(r - 2, r - 1).unwrap()
    } else {
        leaf.clone()
    };
    (leaf, seen)
}

/// Runs one case: forward, then (when the output is tracked) backward of its sum.
/// Returns a failure message.
fn run(
    name: &str,
    leaves: &[Tensor],
    expect: Expect,
    f: impl FnOnce() -> Result<Tensor>,
) -> Option<String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> std::result::Result<(), String> {
        let (want, nan_ok, y) = match (expect, f()) {
            (Expect::Error | Expect::ShapeOrError(_), Err(_)) => return Ok(()),
            (Expect::Error, Ok(y)) => return Err(format!("gave {:?}, PyTorch errors", y.dims())),
            (_, Err(e)) => return Err(format!("error: {e}")),
            (Expect::Shape(s, nan_ok), Ok(y)) => (s, nan_ok, y),
            (Expect::ShapeOrError(s), Ok(y)) => (s, false, y),
        };
        if y.dims() != want.as_slice() {
            return Err(format!("shape {:?}, PyTorch gives {want:?}", y.dims()));
        }
        let values = y.to_vec_f64().map_err(|e| e.to_string())?;
        if !nan_ok && values.iter().any(|v| !v.is_finite()) {
            return Err("non-finite values".into());
        }
        if y.requires_grad() {
            y.sum_all()
                .and_then(|s| s.backward())
                .map_err(|e| format!("backward: {e}"))?;
            for l in leaves {
                if let Some(g) = l.grad() {
                    if g.dims() != l.dims() {
                        return Err(format!("grad {:?} for leaf {:?}", g.dims(), l.dims()));
                    }
                    let gv = g.to_vec_f64().map_err(|e| e.to_string())?;
                    if !nan_ok && gv.iter().any(|v| !v.is_finite()) {
                        return Err("non-finite gradient".into());
                    }
                }
            }
        }
        Ok(())
    }));
    let shapes: Vec<_> = leaves.iter().map(|t| t.dims().to_vec()).collect();
    match outcome {
        Ok(Ok(())) => None,
        Ok(Err(msg)) => Some(format!("{name} on {shapes:?}: {msg}")),
        Err(_) => Some(format!("{name} on {shapes:?}: PANIC")),
    }
}

/// Shapes `a`, `b` that broadcast, and the shape PyTorch broadcasts them to.
fn broadcast_pair(rng: &mut Rng) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let rank = rng.below(4) as usize;
    let out = dims(rng, rank);
    let (mut a, mut b) = (out.clone(), out.clone());
    for i in 0..rank {
        match rng.below(3) {
            0 => a[i] = 1,
            1 => b[i] = 1,
            _ => {}
        }
    }
    let drop = rng.below(rank as u64 + 1) as usize;
    b.drain(..drop);
    let want = (0..rank)
        .map(|i| {
            if i >= drop && a[i] == 1 {
                b[i - drop]
            } else {
                a[i]
            }
        })
        .collect();
    (a, b, want)
}

/// A broadcasting binary op under test: its name and how to apply it.
type Binary = (&'static str, fn(&Tensor, &Tensor) -> Result<Tensor>);

/// Runs each op on fresh inputs of one random broadcasting pair of shapes; returns the failures.
fn binary_cases(ops: &[Binary], rng: &mut Rng) -> Vec<String> {
    let (sa, sb, want) = broadcast_pair(rng);
    let mut fails = Vec::new();
    for &(name, op) in ops {
        let ((la, a), (lb, b)) = (input(&sa, rng), input(&sb, rng));
        let want = Expect::Shape(want.clone(), false);
        fails.extend(run(name, &[la, lb], want, || op(&a, &b)));
    }
    fails
}

fn reduced(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    let all = dims.is_empty();
    (0..shape.len())
        .filter_map(|d| match (all || dims.contains(&d), keepdim) {
            (true, true) => Some(1),
            (true, false) => None,
            (false, _) => Some(shape[d]),
        })
        .collect()
}

/// The cases of one seed.
fn cases(seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut fails = Vec::new();
    let mut push = |f: Option<String>| fails.extend(f);
    let rank = 1 + rng.below(4) as usize;
    let shape = dims(&mut rng, rank);

    // Unary ops.
    let ops = [
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Abs,
        UnaryOp::Relu,
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Powf(1.5),
        UnaryOp::AddScalar(0.5),
        UnaryOp::MulScalar(-2.0),
    ];
    for op in ops {
        let (leaf, x) = input(&shape, &mut rng);
        let want = Expect::Shape(shape.clone(), false);
        push(run(op.name(), &[leaf], want, || x.unary(op)));
    }

    // Broadcasting binary ops, also of a tensor with itself (one storage).
    let binaries: [Binary; 4] = [
        ("add", |a, b| a.add(b)),
        ("sub", |a, b| a.sub(b)),
        ("mul", |a, b| a.mul(b)),
        ("div", |a, b| a.div(b)),
    ];
    binary_cases(&binaries, &mut rng)
        .into_iter()
        .for_each(|f| push(Some(f)));
    let (leaf, x) = input(&shape, &mut rng);
    push(run(
        "mul self",
        &[leaf],
        Expect::Shape(shape.clone(), false),
        || x.mul(&x),
    ));

    // Reductions over a random set of dims (empty = all).
    let rdims: Vec<usize> = (0..rank).filter(|_| rng.below(2) == 0).collect();
    let keepdim = rng.below(2) == 0;
    let out = reduced(&shape, &rdims, keepdim);
    let reduced_len: usize = (0..rank)
        .filter(|d| rdims.is_empty() || rdims.contains(d))
        .map(|d| shape[d])
        .product();
    let (leaf, x) = input(&shape, &mut rng);
    push(run(
        "sum",
        &[leaf],
        Expect::Shape(out.clone(), false),
        || x.sum(&rdims, keepdim),
    ));
    let (leaf, x) = input(&shape, &mut rng);
    let want = Expect::Shape(out.clone(), reduced_len == 0);
    push(run("mean", &[leaf], want, || x.mean(&rdims, keepdim)));
    let (leaf, x) = input(&shape, &mut rng);
    let want = if reduced_len == 0 {
        Expect::Error
    } else {
        Expect::Shape(out, false)
    };
    push(run("max", &[leaf], want, || x.max(&rdims, keepdim)));
    let d = rng.below(rank as u64) as usize;
    let (leaf, x) = input(&shape, &mut rng);
    let want = if shape[d] == 0 {
        Expect::Error
    } else {
        Expect::Shape(reduced(&shape, &[d], keepdim), false)
    };
    push(run("argmax", &[leaf], want, || x.argmax(d, keepdim)));

    // Softmax along a dim, and view / copy ops.
    for log in [false, true] {
        let (leaf, x) = input(&shape, &mut rng);
        let want = Expect::Shape(shape.clone(), false);
        let f = || if log { x.log_softmax(d) } else { x.softmax(d) };
        push(run("softmax", &[leaf], want, f));
    }
    let numel: usize = shape.iter().product();
    let (leaf, x) = input(&shape, &mut rng);
    push(run(
        "reshape",
        &[leaf],
        Expect::Shape(vec![numel], false),
        || x.reshape([numel]),
    ));
    let rev: Vec<usize> = (0..rank).rev().collect();
    let (leaf, x) = input(&shape, &mut rng);
    let want: Vec<usize> = rev.iter().map(|&i| shape[i]).collect();
    push(run("permute", &[leaf], Expect::Shape(want, false), || {
        x.permute(&rev)?.contiguous()
    }));
    let len = rng.below(shape[d] as u64 + 1) as usize;
    let start = rng.below((shape[d] - len) as u64 + 1) as usize;
    let mut want = shape.clone();
    want[d] = len;
    let (leaf, x) = input(&shape, &mut rng);
    push(run(
        "narrow",
        &[leaf],
        Expect::Shape(want.clone(), false),
        || x.narrow(d, start, len),
    ));
    let idx: Vec<usize> = (0..len)
        .map(|_| rng.below(shape[d] as u64) as usize)
        .collect();
    let (leaf, x) = input(&shape, &mut rng);
    push(run(
        "index_select",
        &[leaf],
        Expect::Shape(want, false),
        || x.index_select(d, &idx),
    ));
    let (leaf, x) = input(&shape, &mut rng);
    let want = Expect::Shape(shape.clone(), false);
    push(run("dropout", &[leaf], want, || {
        x.dropout(0.3, true, seed, 0)
    }));

    // Matmul with broadcast batch dims.
    let (m, k, n) = (dim(&mut rng), dim(&mut rng), dim(&mut rng));
    let batch_rank = rng.below(3) as usize;
    let batch = dims(&mut rng, batch_rank);
    let mut sa = batch.clone();
    sa.extend([m, k]);
    let ((la, a), (lb, b)) = (input(&sa, &mut rng), input(&[k, n], &mut rng));
    let mut want = batch.clone();
    want.extend([m, n]);
    push(run("matmul", &[la, lb], Expect::Shape(want, false), || {
        a.matmul(&b)
    }));

    // Conv2d and pooling; channels and kernels non-empty, batch possibly empty.
    let (bn, c, co) = (dim(&mut rng), 1 + dim(&mut rng), 1 + dim(&mut rng));
    let (kh, kw) = (1 + rng.below(3) as usize, 1 + rng.below(3) as usize);
    let (h, w) = (kh + dim(&mut rng), kw + dim(&mut rng));
    let (lx, x) = input(&[bn, c, h, w], &mut rng);
    let (lw, wt) = input(&[co, c, kh, kw], &mut rng);
    let (lbias, bias) = input(&[co], &mut rng);
    let want = Expect::Shape(vec![bn, co, h - kh + 1, w - kw + 1], false);
    let f = || x.conv2d(&wt, Some(&bias), Conv2dParams::default());
    push(run("conv2d", &[lx, lw, lbias], want, f));
    let (ph, pw) = (2 + dim(&mut rng), 2 + dim(&mut rng));
    let pooled = vec![bn, c, (ph - 2) / 2 + 1, (pw - 2) / 2 + 1];
    let (leaf, x) = input(&[bn, c, ph, pw], &mut rng);
    let want = Expect::Shape(pooled.clone(), false);
    push(run("max_pool2d", &[leaf], want, || {
        x.max_pool2d((2, 2), (2, 2), (0, 0))
    }));
    let (leaf, x) = input(&[bn, c, ph, pw], &mut rng);
    let want = Expect::Shape(pooled, false);
    push(run("avg_pool2d", &[leaf], want, || {
        x.avg_pool2d((2, 2), (2, 2), (0, 0))
    }));
    let (leaf, x) = input(&[bn, c, ph, pw], &mut rng);
    let want = Expect::Shape(vec![bn, c, 1, 1], false);
    push(run("global_avg_pool2d", &[leaf], want, || {
        x.global_avg_pool2d()
    }));

    // BatchNorm (PyTorch errors with one value per channel in training) and the losses
    // (the engine errors on an empty batch, where PyTorch's mean gives NaN).
    let (leaf, x) = input(&[bn, c, ph, pw], &mut rng);
    let rm = Tensor::zeros([c], DType::F64, device()).unwrap();
    let rv = Tensor::ones([c], DType::F64, device()).unwrap();
    let want = Expect::ShapeOrError(vec![bn, c, ph, pw]);
    let f = || x.batch_norm(&rm, &rv, None, None, true, 0.1, 1e-5);
    push(run("batch_norm", &[leaf], want, f));
    let targets: Vec<usize> = (0..bn).map(|_| rng.below(c as u64) as usize).collect();
    let (leaf, x) = input(&[bn, c], &mut rng);
    let eps = [0.0, 0.1, 1.0][rng.below(3) as usize];
    let want = Expect::ShapeOrError(vec![]);
    push(run("cross_entropy", &[leaf], want, || {
        x.cross_entropy(&targets, eps)
    }));
    fails
}

/// The cases of the ops of issue 14 part B (activations, clamp, minimum / maximum / pow,
/// where, cat / stack / squeeze, gather, min, LayerNorm) for one seed.
fn part_b_cases(seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0xB0B);
    let mut fails = Vec::new();
    let mut push = |f: Option<String>| fails.extend(f);
    let rank = 1 + rng.below(4) as usize;
    let shape = dims(&mut rng, rank);
    let same = || Expect::Shape(shape.clone(), false);

    let ops = [
        UnaryOp::LeakyRelu(0.1),
        UnaryOp::Gelu,
        UnaryOp::GeluTanh,
        UnaryOp::Silu,
        UnaryOp::ClampMin(1.0),
        UnaryOp::ClampMax(1.0),
    ];
    for op in ops {
        let (leaf, x) = input(&shape, &mut rng);
        push(run(op.name(), &[leaf], same(), || x.unary(op)));
    }
    let (leaf, x) = input(&shape, &mut rng);
    push(run("gelu", &[leaf], same(), || {
        x.gelu(GeluApproximate::Tanh)
    }));
    let (leaf, x) = input(&shape, &mut rng);
    push(run("clamp", &[leaf], same(), || {
        x.clamp(Some(0.7), Some(1.5))
    }));

    let binaries: [Binary; 4] = [
        ("minimum", |a, b| a.minimum(b)),
        ("maximum", |a, b| a.maximum(b)),
        ("pow", |a, b| a.pow(b)),
        ("where", |a, b| {
            Tensor::where_cond(&a.gt(&b.mul_scalar(0.9)?)?, a, b)
        }),
    ];
    binary_cases(&binaries, &mut rng)
        .into_iter()
        .for_each(|f| push(Some(f)));

    // cat with another tensor that differs in dim d; stack; squeeze / unsqueeze.
    let d = rng.below(rank as u64) as usize;
    let mut other = shape.clone();
    other[d] = dim(&mut rng);
    let mut cat_shape = shape.clone();
    cat_shape[d] = 2 * shape[d] + other[d];
    let ((la, a), (lb, b)) = (input(&shape, &mut rng), input(&other, &mut rng));
    let want = Expect::Shape(cat_shape, false);
    push(run("cat", &[la, lb], want, || {
        Tensor::cat(&[&a, &b, &a], d)
    }));
    let s = rng.below(rank as u64 + 1) as usize;
    let mut stacked = shape.clone();
    stacked.insert(s, 2);
    let ((la, a), (lb, b)) = (input(&shape, &mut rng), input(&shape, &mut rng));
    let want = Expect::Shape(stacked, false);
    push(run("stack", &[la, lb], want, || {
        Tensor::stack(&[&a, &b], s)
    }));
    let squeezed: Vec<usize> = shape.iter().copied().filter(|&n| n != 1).collect();
    let (leaf, x) = input(&shape, &mut rng);
    let want = Expect::Shape(squeezed, false);
    push(run("squeeze_all", &[leaf], want, || x.squeeze_all()));
    let mut one = shape.clone();
    if one[d] == 1 {
        one.remove(d);
    }
    let (leaf, x) = input(&shape, &mut rng);
    push(run("squeeze", &[leaf], Expect::Shape(one, false), || {
        x.squeeze(d)
    }));
    let mut more = shape.clone();
    more.insert(s, 1);
    let (leaf, x) = input(&shape, &mut rng);
    push(run(
        "unsqueeze",
        &[leaf],
        Expect::Shape(more, false),
        || x.unsqueeze(s)?.contiguous(),
    ));

    // gather: an index no larger than the input outside dim d (PyTorch errors when there
    // is an index but nothing to pick along d).
    let mut id: Vec<usize> = shape
        .iter()
        .map(|&n| rng.below(n as u64 + 1) as usize)
        .collect();
    id[d] = dim(&mut rng);
    let n: usize = id.iter().product();
    let picks: Vec<f64> = (0..n)
        .map(|_| rng.below(shape[d].max(1) as u64) as f64)
        .collect();
    let index = Tensor::from_vec(picks, id.clone())
        .and_then(|t| t.to_device(device()))
        .unwrap();
    let want = if shape[d] == 0 && n > 0 {
        Expect::Error
    } else {
        Expect::Shape(id, false)
    };
    let (leaf, x) = input(&shape, &mut rng);
    push(run("gather", &[leaf], want, || x.gather(d, &index)));

    // min over random dims, argmin, LayerNorm over the last k dims.
    let rdims: Vec<usize> = (0..rank).filter(|_| rng.below(2) == 0).collect();
    let keepdim = rng.below(2) == 0;
    let empty = (0..rank).any(|i| (rdims.is_empty() || rdims.contains(&i)) && shape[i] == 0);
    let want = if empty {
        Expect::Error
    } else {
        Expect::Shape(reduced(&shape, &rdims, keepdim), false)
    };
    let (leaf, x) = input(&shape, &mut rng);
    push(run("min", &[leaf], want, || x.min(&rdims, keepdim)));
    let want = if shape[d] == 0 {
        Expect::Error
    } else {
        Expect::Shape(reduced(&shape, &[d], keepdim), false)
    };
    let (leaf, x) = input(&shape, &mut rng);
    push(run("argmin", &[leaf], want, || x.argmin(d, keepdim)));
    let k = 1 + rng.below(rank as u64) as usize;
    let norm = shape[rank - k..].to_vec();
    let ((lx, x), (lw, w), (lb, b)) = (
        input(&shape, &mut rng),
        input(&norm, &mut rng),
        input(&norm, &mut rng),
    );
    push(run("layer_norm", &[lx, lw, lb], same(), || {
        x.layer_norm(&norm, Some(&w), Some(&b), 1e-5)
    }));
    fails
}

/// Every case of one seed.
fn all_cases(seed: u64) -> Vec<String> {
    let mut fails = cases(seed);
    fails.extend(part_b_cases(seed));
    fails
}

#[test]
fn every_op_on_random_shapes_is_shaped_like_pytorch_or_a_clean_error() {
    let fails: Vec<String> = (0..300).flat_map(all_cases).collect();
    assert!(
        fails.is_empty(),
        "{} failures:\n{}",
        fails.len(),
        fails[..fails.len().min(30)].join("\n")
    );
}

/// The same cases on the CUDA backend (the simulator, every check on): fewer seeds, since
/// each case launches kernels on the simulated device.
#[test]
fn every_op_on_random_shapes_on_cuda_is_shaped_like_pytorch_or_a_clean_error() {
    DEVICE.with(|d| d.set(Device::CudaSim));
    let fails: Vec<String> = (0..150).flat_map(all_cases).collect();
    assert!(
        fails.is_empty(),
        "{} failures on cuda-sim:\n{}",
        fails.len(),
        fails[..fails.len().min(30)].join("\n")
    );
}
