//! safetensors checkpoints: exact round trips, atomic writes, corrupt-file errors and
//! strict state_dict loading that names the first mismatching tensor.

use std::collections::HashMap;
use std::path::PathBuf;

use engine::io::{load_checkpoint, load_state_dict, save_checkpoint, Checkpoint, NamedTensors};
use engine::nn::{BatchNorm2d, Conv2d, Linear, Module, ReLU, Sequential};
use engine::optim::{Adam, Optimizer};
use engine::{DType, Device, Rng, Tensor};

/// A fresh empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("engine-ckpt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mlp(seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    Sequential::new()
        .push(Linear::new(4, 8, &mut rng))
        .push(ReLU)
        .push(Linear::new(8, 3, &mut rng))
}

/// One optimizer step on `mean(model(x)^2)`.
fn train_step(model: &Sequential, opt: &mut dyn Optimizer, x: &Tensor) {
    opt.zero_grad();
    model
        .forward(x)
        .unwrap()
        .powf(2.0)
        .unwrap()
        .mean_all()
        .unwrap()
        .backward()
        .unwrap();
    opt.step().unwrap();
}

/// A checkpoint of tensors only.
fn of_tensors(tensors: &[(String, Tensor)], metadata: HashMap<String, String>) -> Checkpoint {
    let tensors: NamedTensors = tensors.to_vec();
    Checkpoint {
        tensors,
        metadata,
        ..Checkpoint::default()
    }
}

fn bits(t: &Tensor) -> Vec<u64> {
    t.to_vec_f64()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn round_trip_is_exact_with_metadata_and_no_temp_file_left() {
    let dir = scratch("roundtrip");
    let path = dir.join("model.safetensors");
    let model = mlp(1);
    let mut tensors = model.state_dict();
    let mut rng = Rng::new(9);
    tensors.push((
        "extra.f64".into(),
        Tensor::rand([3, 2], -1.0, 1.0, DType::F64, Device::Cpu, &mut rng).unwrap(),
    ));
    tensors.push((
        "extra.scalar".into(),
        Tensor::scalar(7.0, DType::F64, Device::Cpu).unwrap(),
    ));
    // A strided view is saved by value.
    let m = Tensor::from_vec((0..6).map(|i| i as f32).collect::<Vec<_>>(), [2, 3]).unwrap();
    tensors.push(("extra.transposed".into(), m.t().unwrap()));
    let meta = HashMap::from([
        ("epoch".to_string(), "3".to_string()),
        ("model".to_string(), "mlp".to_string()),
    ]);
    save_checkpoint(&path, &of_tensors(&tensors, meta.clone())).unwrap();

    let entries: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, vec!["model.safetensors".to_string()]);

    let loaded = load_checkpoint(&path).unwrap();
    assert_eq!(loaded.metadata, meta);
    assert!(loaded.counts.is_empty());
    let loaded = loaded.tensors;
    assert_eq!(loaded.len(), tensors.len());
    for (name, t) in &tensors {
        let (_, l) = loaded.iter().find(|(n, _)| n == name).expect(name);
        assert_eq!(l.dims(), t.dims(), "{name}");
        assert_eq!(l.dtype(), t.dtype(), "{name}");
        assert_eq!(bits(l), bits(t), "{name}");
    }
    assert_eq!(
        loaded
            .iter()
            .find(|(n, _)| n == "extra.transposed")
            .unwrap()
            .1
            .to_vec_f32()
            .unwrap(),
        vec![0., 3., 1., 4., 2., 5.]
    );

    // Overwriting replaces the file atomically, again without leftovers.
    save_checkpoint(&path, &of_tensors(&tensors[..2], HashMap::new())).unwrap();
    let again = load_checkpoint(&path).unwrap();
    assert_eq!(again.tensors.len(), 2);
    assert!(again.metadata.is_empty());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_loaded_model_reproduces_the_saved_one() {
    let dir = scratch("model");
    let path = dir.join("mlp.safetensors");
    let model = mlp(1);
    // Train a few steps so the weights are not the init.
    let x = Tensor::rand([5, 4], -1.0, 1.0, DType::F32, Device::Cpu, &mut Rng::new(2)).unwrap();
    let mut opt = Adam::new(model.parameters(), 0.01);
    for _ in 0..3 {
        train_step(&model, &mut opt, &x);
    }
    let mut all = model.state_dict();
    all.extend(
        opt.state()
            .into_iter()
            .map(|(n, t)| (format!("optim.{n}"), t)),
    );
    save_checkpoint(&path, &of_tensors(&all, HashMap::new())).unwrap();

    let loaded = load_checkpoint(&path).unwrap();
    let (optim, weights): (Vec<_>, Vec<_>) = loaded
        .tensors
        .into_iter()
        .partition(|(n, _)| n.starts_with("optim."));
    let fresh = mlp(2);
    assert_ne!(
        bits(&fresh.forward(&x).unwrap()),
        bits(&model.forward(&x).unwrap())
    );
    fresh.load_state_dict(&weights).unwrap();
    assert_eq!(
        bits(&fresh.forward(&x).unwrap()),
        bits(&model.forward(&x).unwrap())
    );
    let optim: Vec<_> = optim
        .into_iter()
        .map(|(n, t)| (n.trim_start_matches("optim.").to_string(), t))
        .collect();
    let mut opt2 = Adam::new(fresh.parameters(), 0.01);
    opt2.load_state(&optim).unwrap();
    // One more identical step on both.
    for (m, o) in [
        (&model, &mut opt as &mut dyn Optimizer),
        (&fresh, &mut opt2),
    ] {
        train_step(m, o, &x);
    }
    assert_eq!(
        bits(&fresh.forward(&x).unwrap()),
        bits(&model.forward(&x).unwrap())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_corrupt_and_missing_files_are_errors_naming_the_path() {
    let dir = scratch("corrupt");
    let path = dir.join("ckpt.safetensors");
    save_checkpoint(&path, &Checkpoint::of(&mlp(1))).unwrap();
    let full = std::fs::read(&path).unwrap();
    for len in [full.len() - 1, full.len() / 2, 12, 4, 0] {
        std::fs::write(&path, &full[..len]).unwrap();
        let err = load_checkpoint(&path).unwrap_err().to_string();
        assert!(
            err.contains("ckpt.safetensors"),
            "truncated to {len}: {err}"
        );
    }
    let mut garbage = full.clone();
    garbage[8..16].copy_from_slice(b"notjson!");
    std::fs::write(&path, &garbage).unwrap();
    let err = load_checkpoint(&path).unwrap_err().to_string();
    assert!(err.contains("ckpt.safetensors"), "{err}");
    let missing = dir.join("nope.safetensors");
    let err = load_checkpoint(&missing).unwrap_err().to_string();
    assert!(err.contains("nope.safetensors"), "{err}");
    // Writing into a directory that does not exist fails cleanly too.
    let err = save_checkpoint(
        dir.join("no/such/dir/x.safetensors"),
        &Checkpoint::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no/such/dir"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicate_names_are_rejected_before_writing() {
    let dir = scratch("dup");
    let path = dir.join("d.safetensors");
    let t = Tensor::zeros([2], DType::F32, Device::Cpu).unwrap();
    let twice = [("a".into(), t.clone()), ("a".into(), t.clone())];
    let err = save_checkpoint(&path, &of_tensors(&twice, HashMap::new()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a appears twice"), "{err}");
    // A counter may not share a tensor's name either.
    let mut clash = of_tensors(&twice[..1], HashMap::new());
    clash.counts.push(("a".into(), 1));
    let err = save_checkpoint(&path, &clash).unwrap_err().to_string();
    assert!(err.contains("a appears twice"), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn conv_net(channels: usize) -> Sequential {
    let mut rng = Rng::new(0);
    Sequential::new()
        .push(Conv2d::new(1, channels, 3, &mut rng).padding(1))
        .push(ReLU)
        .push(BatchNorm2d::new(channels))
}

#[test]
fn mismatched_state_dicts_name_the_first_bad_tensor_and_leave_the_model_alone() {
    let model = conv_net(32);
    let before: Vec<Vec<u64>> = model.state_dict().iter().map(|(_, t)| bits(t)).collect();

    let small = conv_net(16).state_dict();
    let err = model.load_state_dict(&small).unwrap_err().to_string();
    assert_eq!(
        err,
        "checkpoint: 0.weight has shape [16, 1, 3, 3] but the model expects [32, 1, 3, 3]"
    );

    let mut missing = conv_net(32).state_dict();
    missing.retain(|(n, _)| n != "2.running_var");
    let err = model.load_state_dict(&missing).unwrap_err().to_string();
    assert!(err.contains("2.running_var is missing"), "{err}");

    let mut extra = conv_net(32).state_dict();
    extra.push((
        "3.weight".into(),
        Tensor::zeros([4], DType::F32, Device::Cpu).unwrap(),
    ));
    let err = model.load_state_dict(&extra).unwrap_err().to_string();
    assert!(
        err.contains("3.weight is in the checkpoint but not in the model"),
        "{err}"
    );

    let mut wrong_dtype = conv_net(32).state_dict();
    wrong_dtype[1].1 = wrong_dtype[1].1.to_dtype(DType::F64).unwrap();
    let err = model.load_state_dict(&wrong_dtype).unwrap_err().to_string();
    assert!(
        err.contains("0.bias has dtype f64 but the model expects f32"),
        "{err}"
    );

    let after: Vec<Vec<u64>> = model.state_dict().iter().map(|(_, t)| bits(t)).collect();
    assert_eq!(before, after);

    // A matching state dict loads, buffers included.
    let mut good = conv_net(32).state_dict();
    let rv = Tensor::full([32], 2.5, DType::F32, Device::Cpu).unwrap();
    good.iter_mut()
        .find(|(n, _)| n == "2.running_var")
        .unwrap()
        .1 = rv;
    load_state_dict(&model.state_dict(), &good).unwrap();
    let var = model.state_dict()[5].1.to_vec_f32().unwrap();
    assert_eq!(model.state_dict()[5].0, "2.running_var");
    assert!(var.iter().all(|&v| v == 2.5));
}

/// `num_batches_tracked` is an integer: it counts past 2^24 (where an f32 stops at
/// 16,777,216 because 2^24 + 1 is not representable), is saved as a 0-d int64 like
/// PyTorch's, and loads back exactly.
#[test]
fn num_batches_tracked_is_an_int64_that_counts_past_f32_precision() {
    let dir = scratch("counter");
    let path = dir.join("bn.safetensors");
    let model = conv_net(4);
    let counter = &model.named_counters()[0];
    assert_eq!(counter.0, "2.num_batches_tracked");
    counter.1.set(1 << 24);
    let x = Tensor::rand(
        [2, 1, 5, 5],
        0.0,
        1.0,
        DType::F32,
        Device::Cpu,
        &mut Rng::new(3),
    );
    model.forward(&x.unwrap()).unwrap();
    assert_eq!(
        model.counts(),
        vec![("2.num_batches_tracked".into(), (1 << 24) + 1)]
    );
    save_checkpoint(&path, &Checkpoint::of(&model)).unwrap();

    // The file holds an I64 scalar (checked with safetensors itself, not our reader).
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor("2.num_batches_tracked").unwrap();
    assert_eq!(view.dtype(), safetensors::Dtype::I64);
    assert!(view.shape().is_empty());
    assert_eq!(view.data(), &((1i64 << 24) + 1).to_le_bytes());
    assert!(st.tensor("2.running_mean").is_ok());

    let fresh = conv_net(4);
    load_checkpoint(&path).unwrap().load_into(&fresh).unwrap();
    assert_eq!(fresh.counts(), model.counts());

    // A checkpoint without the counter is refused and leaves the model alone.
    let tensors_only = of_tensors(&model.state_dict(), HashMap::new());
    let other = conv_net(4);
    let err = tensors_only.load_into(&other).unwrap_err().to_string();
    assert!(
        err.contains("2.num_batches_tracked (an integer counter) is missing"),
        "{err}"
    );
    assert_eq!(other.counts(), vec![("2.num_batches_tracked".into(), 0)]);

    // A negative int64 is an error naming it, not a huge count.
    let minus_one = [255u8; 8];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![], &minus_one);
    let negative = safetensors::serialize([("c", view.unwrap())], &None).unwrap();
    let err = engine::io::parse_checkpoint("neg.safetensors", &negative)
        .unwrap_err()
        .to_string();
    assert!(err.contains("counter c is negative"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
