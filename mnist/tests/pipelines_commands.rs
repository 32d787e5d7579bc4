//! The commands of issue 15 end to end on real MNIST, each output checked against an
//! independent recomputation: `visualize` (filter colours from the checkpoint's weights, block
//! 1's feature map recomputed by hand), `augment-preview` (every cell equals what the training
//! loader feeds that digit in that epoch), `ensemble` (the averaged probabilities recomputed),
//! `sweep` (the table recomputed from its runs' reports), and bad input of each kind.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{decode_png, fails_with_one_line, mnist, only_entry, read_json, succeeds};
use mnist::commands::augment_preview as preview;

fn pixel(png: &(u32, u32, Vec<u8>), x: i32, y: i32) -> [u8; 3] {
    let i = 3 * (y as usize * png.0 as usize + x as usize);
    [png.2[i], png.2[i + 1], png.2[i + 2]]
}

/// The best checkpoints of two short `small` runs (seeds 1 and 2).
fn checkpoints() -> &'static [PathBuf; 2] {
    static CKPT: OnceLock<[PathBuf; 2]> = OnceLock::new();
    CKPT.get_or_init(|| {
        let dir = common::scratch("pipelines_commands");
        let train = |seed: &str| {
            let out_dir = dir.join(format!("seed{seed}"));
            succeeds(&mnist(&[
                "--model",
                "small",
                "--epochs",
                "1",
                "--train-limit",
                "2000",
                "--val-split",
                "500",
                "--lr",
                "0.01",
                "--seed",
                seed,
                "--quiet",
                "--device",
                "cpu",
                "--out-dir",
                out_dir.to_str().unwrap(),
            ]));
            let run = only_entry(&out_dir);
            run.join("checkpoints/best.safetensors")
        };
        [train("1"), train("2")]
    })
}

fn tensor(tensors: &[(String, engine::Tensor)], name: &str) -> Vec<f32> {
    tensors
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
        .to_vec_f32()
        .unwrap()
}

#[test]
fn visualize_draws_the_filters_and_every_blocks_feature_maps() {
    let ckpt = &checkpoints()[0];
    let out_dir = common::scratch("pipelines_visualize");
    let index = 7;
    let stdout = succeeds(&mnist(&[
        "visualize",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--index",
        &index.to_string(),
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]));
    assert_eq!(stdout.lines().count(), 6, "{stdout}");
    let tensors = engine::io::load_checkpoint(ckpt).unwrap().tensors;
    let weight = tensor(&tensors, "0.weight"); // 12 x 1 x 3 x 3

    // filters.png: 12 filters of 3x3 at 16 px per weight, 8 per row; red > 0, blue < 0.
    let filters = decode_png(&out_dir.join("filters.png"));
    // Cells fit the label "filter 12" (72 px) and 3x3 weights of 16 px, plus 16 px of room.
    let cell = (72 + 16, 48 + 22);
    assert_eq!(filters.0 as i32, 2 * 20 + 8 * cell.0);
    assert_eq!(filters.1 as i32, 60 + 2 * cell.1 + 20);
    let max = weight.iter().fold(0f32, |m, v| m.max(v.abs()));
    for f in 0..12 {
        let (x0, y0) = (20 + (f % 8) as i32 * cell.0, 60 + (f / 8) as i32 * cell.1);
        for p in 0..9 {
            let (x, y) = (
                x0 + (cell.0 - 48) / 2 + (p % 3) * 16 + 8,
                y0 + (p / 3) * 16 + 8,
            );
            let [r, _, b] = pixel(&filters, x, y);
            let w = weight[f * 9 + p as usize];
            if w.abs() > 0.1 * max {
                assert_eq!(
                    w > 0.0,
                    r > b,
                    "filter {f} weight {p} = {w}: rgb r {r} b {b}"
                );
            }
        }
    }

    // One picture per conv-BN-ReLU block; `small` has five: 12x26x26, 16x24x24, 24x10x10,
    // 24x8x8, 32x6x6.
    for (k, (channels, side)) in [(12, 26), (16, 24), (24, 10), (24, 8), (32, 6)]
        .into_iter()
        .enumerate()
    {
        let png = decode_png(&out_dir.join(format!("features_block{}.png", k + 1)));
        let scale = (84 / side).max(2);
        let cell_h = side * scale + 22;
        let rows = (channels + 1 + 7) / 8;
        assert_eq!(png.1 as i32, 60 + rows * cell_h + 20, "block {}", k + 1);
    }

    // Block 1, channel c, recomputed: conv (no padding) + eval BatchNorm + ReLU, scaled to
    // 0..255 over the map, must be what the picture shows.
    let data = common::load();
    let x: Vec<f32> = mnist::dataset::normalize(data.test.image(index));
    let get = |n: &str| tensor(&tensors, n);
    let (gamma, beta, mean, var) = (
        get("1.weight"),
        get("1.bias"),
        get("1.running_mean"),
        get("1.running_var"),
    );
    let png = decode_png(&out_dir.join("features_block1.png"));
    let cell_w = 26 * 3 + 12;
    for c in [0usize, 5, 11] {
        let mut map = vec![0f32; 26 * 26];
        for (o, v) in map.iter_mut().enumerate() {
            let (oy, ox) = (o / 26, o % 26);
            let mut s = 0f32;
            for ky in 0..3 {
                for kx in 0..3 {
                    s += weight[c * 9 + ky * 3 + kx] * x[(oy + ky) * 28 + ox + kx];
                }
            }
            let bn = (s - mean[c]) / (var[c] + 1e-5).sqrt() * gamma[c] + beta[c];
            *v = bn.max(0.0);
        }
        let (lo, hi) = map
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        let slot = c + 1; // the input digit comes first
        let (x0, y0) = (
            20 + (slot % 8) as i32 * cell_w + 6,
            60 + (slot / 8) as i32 * (26 * 3 + 22),
        );
        for o in (0..26 * 26).step_by(7) {
            let want = (map[o] - lo) / (hi - lo).max(1e-12) * 255.0;
            let got = pixel(
                &png,
                x0 + (o % 26) as i32 * 3 + 1,
                y0 + (o / 26) as i32 * 3 + 1,
            )[0];
            assert!(
                (got as f32 - want).abs() <= 2.0,
                "channel {c} pixel {o}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn visualize_rejects_bad_input_in_one_line() {
    let ckpt = checkpoints()[0].to_str().unwrap().to_string();
    let dir = common::scratch("pipelines_visualize_bad");
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    fails_with_one_line(
        &mnist(&[
            "visualize",
            "--checkpoint",
            "missing.safetensors",
            "--out-dir",
            out,
        ]),
        "missing.safetensors",
    );
    let not_png = dir.join("digit.png");
    std::fs::write(&not_png, "not an image at all").unwrap();
    fails_with_one_line(
        &mnist(&[
            "visualize",
            "--checkpoint",
            &ckpt,
            "--image",
            not_png.to_str().unwrap(),
            "--out-dir",
            out,
        ]),
        "digit.png",
    );
    fails_with_one_line(
        &mnist(&[
            "visualize",
            "--checkpoint",
            &ckpt,
            "--index",
            "10000",
            "--out-dir",
            out,
        ]),
        "--index 10000",
    );
}

#[test]
fn augment_preview_shows_what_training_feeds_each_digit() {
    let dir = common::scratch("pipelines_augment");
    let path = dir.join("preview.png");
    let (samples, per_sample, seed) = (2usize, 3usize, 9u64);
    succeeds(&mnist(&[
        "augment-preview",
        "--samples",
        &samples.to_string(),
        "--per-sample",
        &per_sample.to_string(),
        "--seed",
        &seed.to_string(),
        "--elastic",
        "--out",
        path.to_str().unwrap(),
    ]));
    let png = decode_png(&path);
    assert_eq!(
        png.1 as i32,
        preview::TITLE_H + samples as i32 * preview::CELL_H + preview::MARGIN
    );
    assert!(
        png.0 as i32
            >= 2 * preview::MARGIN + preview::LABEL_W + (per_sample as i32 + 1) * preview::CELL_W
    );

    // The training loader of a run with this seed: same split, same augmentation.
    let data = common::load();
    let config = mnist::config::TrainConfig {
        seed,
        elastic: true,
        augment: true,
        ..Default::default()
    };
    let (train, _) = mnist::dataset::split_train_val(&data.train, config.val_split, seed);
    let loader = mnist::dataset::Loader::new(&train, 64)
        .shuffle(true)
        .seed(seed)
        .augment(config.augmentation());
    let shown = |r: usize, c: usize, p: usize| {
        let (x, y) = preview::digit_origin(r, c);
        let s = preview::SCALE;
        pixel(
            &png,
            x + (p % 28) as i32 * s + 1,
            y + (p / 28) as i32 * s + 1,
        )[0]
    };
    for epoch in 0..per_sample {
        let mut found = 0;
        for batch in loader.epoch(epoch) {
            for (k, &i) in batch.indices.iter().enumerate() {
                if i >= samples {
                    continue;
                }
                found += 1;
                let fed = &batch.pixels[k * 784..(k + 1) * 784];
                for (p, &v) in fed.iter().enumerate() {
                    let raw = (v * 0.3081 + 0.1307) * 255.0;
                    let got = shown(i, epoch + 1, p) as f32;
                    assert!(
                        (got - raw).abs() <= 1.0,
                        "digit {i} epoch {epoch} pixel {p}: {got} vs {raw}"
                    );
                }
                // The original beside it.
                for p in (0..784).step_by(5) {
                    assert_eq!(shown(i, 0, p), train.image(i)[p]);
                }
            }
        }
        assert_eq!(found, samples);
    }
}

/// The test accuracy `eval` prints for a checkpoint, as a fraction.
fn eval_accuracy(ckpt: &Path) -> f64 {
    let out = succeeds(&mnist(&["eval", "--checkpoint", ckpt.to_str().unwrap()]));
    let pct = out
        .split("accuracy ")
        .nth(1)
        .unwrap()
        .split('%')
        .next()
        .unwrap();
    pct.parse::<f64>().unwrap() / 100.0
}

#[test]
fn ensemble_averages_the_members_probabilities() {
    let [a, b] = checkpoints();
    let dir = common::scratch("pipelines_ensemble");
    // One member twice is that member.
    let report = dir.join("same.json");
    succeeds(&mnist(&[
        "ensemble",
        "--checkpoint",
        a.to_str().unwrap(),
        "--checkpoint",
        a.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]));
    let same = read_json(&report)["accuracy"].as_f64().unwrap();
    assert!((same - eval_accuracy(a)).abs() < 6e-5, "{same}");

    let report = dir.join("pair.json");
    let stdout = succeeds(&mnist(&[
        "ensemble",
        "--checkpoint",
        a.to_str().unwrap(),
        "--checkpoint",
        b.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]));
    assert!(stdout.contains("ensemble of 2"), "{stdout}");
    let json = read_json(&report);
    // Recomputed here: each model's softmax by a plain forward, averaged, argmax.
    let data = common::load();
    let mut sum = vec![0f64; data.test.len() * 10];
    for (m, ckpt) in [a, b].into_iter().enumerate() {
        let probs = common::test_probabilities(ckpt, &data.test);
        let own = (0..data.test.len())
            .filter(|&i| {
                let row = &probs[i * 10..i * 10 + 10];
                let best = (0..10).fold(0, |b, c| if row[c] > row[b] { c } else { b });
                best == data.test.labels[i] as usize
            })
            .count() as f64
            / data.test.len() as f64;
        let member = json["members"][m]["accuracy"].as_f64().unwrap();
        assert!((member - own).abs() < 2e-4, "member {m}: {member} vs {own}");
        for (s, p) in sum.iter_mut().zip(probs) {
            *s += p as f64;
        }
    }
    let correct = (0..data.test.len())
        .filter(|&i| {
            let row = &sum[i * 10..i * 10 + 10];
            let best = (0..10).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            best == data.test.labels[i] as usize
        })
        .count() as f64;
    let acc = json["accuracy"].as_f64().unwrap();
    assert!(
        (acc - correct / 1e4).abs() < 2e-4,
        "ensemble {acc} vs recomputed {}",
        correct / 1e4
    );

    fails_with_one_line(
        &mnist(&[
            "ensemble",
            "--checkpoint",
            a.to_str().unwrap(),
            "--checkpoint",
            "gone.safetensors",
        ]),
        "gone.safetensors",
    );
}

#[test]
fn sweep_table_agrees_with_its_runs() {
    let dir = common::scratch("pipelines_sweep");
    let config = dir.join("sweep.yaml");
    std::fs::write(
        &config,
        "base:\n  model: mlp\n  epochs: 1\n  train_limit: 400\n  val_split: 100\n  device: cpu\n\
         grid:\n  lr: [0.001, 0.003]\n  batch_size: [32]\nseeds: [1, 2]\n",
    )
    .unwrap();
    let out_dir = dir.join("runs");
    succeeds(&mnist(&[
        "sweep",
        "--config",
        config.to_str().unwrap(),
        "--jobs",
        "2",
        "--quiet",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]));
    let sweep = only_entry(&out_dir);
    for f in ["sweep.md", "sweep.csv", "sweep.png", "sweep.json"] {
        assert!(sweep.join(f).is_file(), "{f}");
    }
    // Recompute every row from the run folders themselves.
    let csv = std::fs::read_to_string(sweep.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "setting,runs,mean_accuracy,std_accuracy,mean_seconds"
    );
    assert_eq!(lines.len(), 3);
    let md = std::fs::read_to_string(sweep.join("sweep.md")).unwrap();
    for (line, lr) in lines[1..].iter().zip(["0.001", "0.003"]) {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols[0], format!("batch_size=32_lr={lr}"));
        assert_eq!(cols[1], "2");
        let (mut accs, mut secs) = (Vec::new(), Vec::new());
        for seed in [1, 2] {
            let run = sweep.join(format!(
                "{}_batch_size-32_lr-{lr}_seed{seed}",
                if lr == "0.001" { "01" } else { "02" }
            ));
            let cfg = read_json(&run.join("config.json"));
            assert_eq!(cfg["seed"], seed);
            assert_eq!(cfg["lr"].to_string(), lr);
            assert_eq!(cfg["batch_size"], 32);
            accs.push(
                read_json(&run.join("test_report.json"))["test_accuracy"]
                    .as_f64()
                    .unwrap(),
            );
            secs.push(
                read_json(&run.join("timing.json"))["total_seconds"]
                    .as_f64()
                    .unwrap(),
            );
        }
        let mean = (accs[0] + accs[1]) / 2.0;
        let std = ((accs[0] - mean).powi(2) + (accs[1] - mean).powi(2)).sqrt(); // n - 1 = 1
        let num = |i: usize| cols[i].parse::<f64>().unwrap();
        assert!((num(2) - mean).abs() < 1e-12, "{line}");
        assert!((num(3) - std).abs() < 1e-12, "{line}");
        assert!((num(4) - (secs[0] + secs[1]) / 2.0).abs() < 1e-9, "{line}");
        let row = format!(
            "| batch_size=32_lr={lr} | 2 | {:.2} +- {:.2} |",
            100.0 * mean,
            100.0 * std
        );
        assert!(md.contains(&row), "{row} not in {md}");
    }
    let (w, h, _) = decode_png(&sweep.join("sweep.png"));
    assert!(w > 400 && h == 50 + 2 * 28 + 40, "{w}x{h}");

    // The same grid from flags alone; a single seed has a zero spread.
    let out_dir = dir.join("flags");
    let stdout = succeeds(&mnist(&[
        "sweep",
        "--set",
        "model=mlp",
        "--set",
        "epochs=1",
        "--set",
        "train_limit=300",
        "--set",
        "val_split=100",
        "--set",
        "optimizer=sgd,adam",
        "--seeds",
        "4",
        "--quiet",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]));
    assert!(
        stdout.contains("| epochs=1_model=mlp_optimizer=sgd_train_limit=300_val_split=100 | 1 |"),
        "{stdout}"
    );
    assert!(stdout.contains("+- 0.00 |"), "{stdout}");
}

#[test]
fn sweep_configs_with_unknown_keys_are_rejected_in_one_line() {
    let dir = common::scratch("pipelines_sweep_bad");
    let out = dir.join("runs");
    let cases = [
        (
            "top.yaml",
            "base:\n  epochs: 1\ngrids:\n  lr: [0.1]\n",
            "grids",
        ),
        (
            "base.toml",
            "[base]\nepochs = 1\nlearning_rate = 0.1\n",
            "learning_rate",
        ),
        (
            "grid.json",
            "{\"grid\": {\"dropout\": [0.1, 0.2]}}",
            "dropout",
        ),
        ("value.yaml", "grid:\n  lr: [-1.0]\n", "learning rate"),
    ];
    for (name, text, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let result = mnist(&[
            "sweep",
            "--config",
            path.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ]);
        fails_with_one_line(&result, needle);
        fails_with_one_line(&result, name);
    }
    fails_with_one_line(
        &mnist(&["sweep", "--set", "lr", "--out-dir", out.to_str().unwrap()]),
        "KEY=V1,V2",
    );
    fails_with_one_line(
        &mnist(&["sweep", "--config", "nowhere.yaml"]),
        "nowhere.yaml",
    );
    assert!(
        !out.exists(),
        "nothing is written before the settings are checked"
    );
}
