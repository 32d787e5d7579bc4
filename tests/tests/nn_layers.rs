//! `nn` layers end to end: an MLP and the MNIST cnn fitting a fixed batch, state_dict names
//! and parameter counts, initialisation bounds, layer descriptions and summaries, and
//! train/eval modes.

use engine::nn::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module,
    ReLU, Sequential,
};
use engine::optim::{Adam, Optimizer, Sgd};
use engine::{DType, Device, Rng, Tensor};

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
        ("4.weight", vec![64, 32, 3, 3]),
        ("4.bias", vec![64]),
        ("6.weight", vec![64]),
        ("6.bias", vec![64]),
        ("6.running_mean", vec![64]),
        ("6.running_var", vec![64]),
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
    // num_batches_tracked is an integer counter beside the tensors (int64 in PyTorch).
    assert_eq!(
        model.counts(),
        vec![
            ("2.num_batches_tracked".to_string(), 0),
            ("6.num_batches_tracked".to_string(), 0)
        ]
    );
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
    assert_eq!(model.counts()[0], ("2.num_batches_tracked".to_string(), 2));
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
