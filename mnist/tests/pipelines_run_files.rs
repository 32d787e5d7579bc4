//! The files issue 15 adds to every run folder, checked against independent recomputations
//! on one short real-MNIST run: failure_analysis.json (F1 from the confusion matrix, the
//! hardest digits re-scored by the reloaded checkpoint), hardest_examples.png, timing.json,
//! learning rates written as given, a YAML config, and TensorBoard event files read back by a
//! TFRecord/protobuf parser written here (CRCs verified).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::{decode_png, mnist, read_json};

const TRAIN_LIMIT: usize = 1500;
const BATCH: usize = 50;

/// One small-model run from a YAML config with --tensorboard, shared by the tests.
fn run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = common::scratch("pipelines_run_files");
        let config = dir.join("run.yaml");
        std::fs::write(
            &config,
            format!(
                "# a YAML config\nmodel: small\nepochs: 2\nlr: 1.0e-3\nbatch_size: {BATCH}\n\
                 train_limit: {TRAIN_LIMIT}\nval_split: 500\nseed: 5\nout_dir: {:?}\n",
                dir.join("runs")
            ),
        )
        .unwrap();
        let out = mnist(&[
            "--config",
            config.to_str().unwrap(),
            "--tensorboard",
            "--quiet",
            "--device",
            "cpu",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_dir(dir.join("runs"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    })
}

#[test]
fn yaml_config_applies_and_learning_rates_are_written_as_given() {
    let run = run();
    let config = read_json(&run.join("config.json"));
    assert_eq!(config["model"], "small", "from the YAML file");
    assert_eq!(config["batch_size"], BATCH);
    assert_eq!(config["tensorboard"], true);
    // The f64 1e-3 exactly: the text "0.001", not 0.0010000000474974513 (an f32 widened).
    let text = std::fs::read_to_string(run.join("metrics.json")).unwrap();
    assert!(text.contains("\"lr\": 0.001,"), "{text}");
    assert!(!text.contains("0.00100000004"), "{text}");
    let config_text = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(config_text.contains("\"lr\": 0.001,"), "{config_text}");
}

#[test]
fn timing_json_agrees_with_metrics_json() {
    let run = run();
    let timing = read_json(&run.join("timing.json"));
    let metrics = read_json(&run.join("metrics.json"));
    let epochs = metrics["epochs"].as_array().unwrap();
    let rows = timing["epochs"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let mut train_seconds = 0.0;
    for (t, m) in rows.iter().zip(epochs) {
        let seconds = t["seconds"].as_f64().unwrap();
        assert!((seconds - m["seconds"].as_f64().unwrap()).abs() < 1e-9);
        assert!(seconds > 0.0);
        assert_eq!(
            m["images"], TRAIN_LIMIT,
            "every training image once per epoch"
        );
        let rate = t["images_per_second"].as_f64().unwrap();
        assert!((rate - TRAIN_LIMIT as f64 / seconds).abs() < 1e-6 * rate);
        train_seconds += seconds;
    }
    let total = timing["total_seconds"].as_f64().unwrap();
    assert!((timing["train_seconds"].as_f64().unwrap() - train_seconds).abs() < 1e-9);
    assert!(
        total >= train_seconds,
        "the whole run ({total}s) includes its epochs ({train_seconds}s)"
    );
    let overall = timing["images_per_second"].as_f64().unwrap();
    assert!((overall - 2.0 * TRAIN_LIMIT as f64 / train_seconds).abs() < 1e-6 * overall);
}

#[test]
fn failure_analysis_agrees_with_the_confusion_matrix() {
    let run = run();
    let report = read_json(&run.join("test_report.json"));
    let analysis = read_json(&run.join("failure_analysis.json"));
    let m: Vec<Vec<f64>> = report["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    let per_class = analysis["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), 10);
    let mut f1_sum = 0.0;
    for (c, scores) in per_class.iter().enumerate() {
        let tp = m[c][c];
        let predicted: f64 = (0..10).map(|r| m[r][c]).sum();
        let actual: f64 = m[c].iter().sum();
        let p = if predicted > 0.0 { tp / predicted } else { 0.0 };
        let r = if actual > 0.0 { tp / actual } else { 0.0 };
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        let close = |key: &str, want: f64| {
            let got = scores[key].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-12,
                "class {c} {key}: {got} vs {want}"
            );
        };
        close("precision", p);
        close("recall", r);
        close("f1", f1);
        assert_eq!(scores["support"].as_f64().unwrap(), actual);
        f1_sum += f1;
    }
    assert!((analysis["macro_f1"].as_f64().unwrap() - f1_sum / 10.0).abs() < 1e-12);

    // The most confused pairs are the largest off-diagonal cells, in order.
    let mut cells: Vec<(f64, usize, usize)> = (0..10)
        .flat_map(|t| (0..10).map(move |p| (t, p)))
        .filter(|&(t, p)| t != p)
        .map(|(t, p)| (m[t][p], t, p))
        .filter(|c| c.0 > 0.0)
        .collect();
    cells.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let pairs = analysis["most_confused"].as_array().unwrap();
    assert_eq!(pairs.len(), cells.len().min(10));
    for (pair, cell) in pairs.iter().zip(&cells) {
        assert_eq!(pair["count"].as_f64().unwrap(), cell.0);
        assert_eq!(pair["truth"].as_u64().unwrap() as usize, cell.1);
        assert_eq!(pair["predicted"].as_u64().unwrap() as usize, cell.2);
    }
}

#[test]
fn hardest_examples_are_the_highest_loss_digits_of_the_best_checkpoint() {
    let run = run();
    let analysis = read_json(&run.join("failure_analysis.json"));
    let hardest = analysis["hardest"].as_array().unwrap();
    assert_eq!(hardest.len(), 24);
    // Re-score the whole test set with the reloaded best checkpoint, by a plain forward.
    let data = common::load();
    let best = run.join("checkpoints/best.safetensors");
    let probs = common::test_probabilities(&best, &data.test);
    let n = data.test.len();
    let loss = |i: usize| -(probs[i * 10 + data.test.labels[i] as usize] as f64).ln();
    let mut losses: Vec<f64> = (0..n).map(loss).collect();
    losses.sort_by(|a, b| b.total_cmp(a));
    for (k, ex) in hardest.iter().enumerate() {
        let i = ex["index"].as_u64().unwrap() as usize;
        assert_eq!(ex["truth"].as_u64().unwrap(), data.test.labels[i] as u64);
        let got = ex["loss"].as_f64().unwrap();
        assert!(
            (got - loss(i)).abs() < 1e-3,
            "digit {i}: {got} vs {}",
            loss(i)
        );
        assert!(
            (got - losses[k]).abs() < 1e-3,
            "rank {k}: {got} vs {}",
            losses[k]
        );
        let top3 = ex["top3"].as_array().unwrap();
        let mut row: Vec<(usize, f32)> = (0..10).map(|c| (c, probs[i * 10 + c])).collect();
        row.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (entry, want) in top3.iter().zip(&row) {
            let p = entry[1].as_f64().unwrap();
            assert!(
                (p - want.1 as f64).abs() < 1e-4,
                "digit {i}: {entry} vs {want:?}"
            );
        }
    }
    // The picture: 8 columns of 24 digits, 3 rows, a white background.
    let (w, h, _) = decode_png(&run.join("hardest_examples.png"));
    assert_eq!((w, h), (2 * 20 + 8 * (84 + 40), 56 + 3 * (84 + 64) + 20));
}

// ---- an independent reader of TensorBoard event files ----

/// CRC-32C with a lookup table (the writer computes it bit by bit).
fn crc32c(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|mut c| {
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            c
        })
        .collect();
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// The mask written out as TFRecord's spec states it (the writer uses rotate_right).
#[allow(clippy::manual_rotate)]
fn masked(data: &[u8]) -> u32 {
    let c = crc32c(data);
    ((c >> 15) | (c << 17)).wrapping_add(0xA282_EAD8)
}

/// The TFRecord payloads of a file, every length and payload CRC checked.
fn records(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut pos = 0;
    let u32_at = |p: usize| u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap());
    while pos < bytes.len() {
        let len_bytes = &bytes[pos..pos + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        assert_eq!(u32_at(pos + 8), masked(len_bytes), "length CRC at {pos}");
        let data = &bytes[pos + 12..pos + 12 + len];
        assert_eq!(u32_at(pos + 12 + len), masked(data), "payload CRC at {pos}");
        out.push(data);
        pos += 16 + len;
    }
    assert_eq!(pos, bytes.len(), "no trailing bytes");
    out
}

/// A protobuf field: number and value (varint, fixed64, bytes or fixed32).
#[derive(Debug)]
enum Field<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

fn varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*pos];
        *pos += 1;
        v |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    v
}

fn fields(b: &[u8]) -> Vec<(u64, Field<'_>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = varint(b, &mut pos);
        let field = match key & 7 {
            0 => Field::Varint(varint(b, &mut pos)),
            1 => {
                pos += 8;
                Field::Fixed64(b[pos - 8..pos].try_into().unwrap())
            }
            2 => {
                let len = varint(b, &mut pos) as usize;
                pos += len;
                Field::Bytes(&b[pos - len..pos])
            }
            5 => {
                pos += 4;
                Field::Fixed32(b[pos - 4..pos].try_into().unwrap())
            }
            w => panic!("wire type {w}"),
        };
        out.push((key >> 3, field));
    }
    out
}

/// (step, tag, value) of every scalar, and the file_version of the first event.
fn scalars(bytes: &[u8]) -> (String, Vec<(u64, String, f32)>) {
    let mut version = String::new();
    let mut out = Vec::new();
    for (k, record) in records(bytes).into_iter().enumerate() {
        let mut step = 0;
        let mut wall = 0.0;
        for (n, f) in fields(record) {
            match (n, f) {
                (1, Field::Fixed64(b)) => wall = f64::from_le_bytes(b),
                (2, Field::Varint(v)) => step = v,
                (3, Field::Bytes(b)) if k == 0 => version = String::from_utf8(b.to_vec()).unwrap(),
                (5, Field::Bytes(summary)) => {
                    for (n, value) in fields(summary) {
                        assert_eq!(n, 1, "Summary.value");
                        let Field::Bytes(value) = value else {
                            panic!("value")
                        };
                        let (mut tag, mut v) = (String::new(), f32::NAN);
                        for (n, f) in fields(value) {
                            match (n, f) {
                                (1, Field::Bytes(t)) => {
                                    tag = String::from_utf8(t.to_vec()).unwrap()
                                }
                                (2, Field::Fixed32(b)) => v = f32::from_le_bytes(b),
                                other => panic!("unexpected Value field {other:?}"),
                            }
                        }
                        out.push((step, tag, v));
                    }
                }
                other => panic!("unexpected Event field {other:?}"),
            }
        }
        assert!(wall > 1.6e9, "a wall time in seconds since 1970: {wall}");
    }
    (version, out)
}

#[test]
fn tensorboard_events_parse_and_match_the_metrics() {
    let run = run();
    let dir = run.join("tensorboard");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    let (version, values) = scalars(&std::fs::read(&files[0]).unwrap());
    assert_eq!(version, "brain.Event:2");

    let metrics = read_json(&run.join("metrics.json"));
    let get = |tag: &str, step: u64| -> f32 {
        let hits: Vec<f32> = values
            .iter()
            .filter(|(s, t, _)| *s == step && t == tag)
            .map(|v| v.2)
            .collect();
        assert_eq!(hits.len(), 1, "{tag} at step {step}");
        hits[0]
    };
    for m in metrics["epochs"].as_array().unwrap() {
        let e = m["epoch"].as_u64().unwrap();
        for (tag, key) in [
            ("epoch/train_loss", "train_loss"),
            ("epoch/train_accuracy", "train_accuracy"),
            ("epoch/val_loss", "val_loss"),
            ("epoch/val_accuracy", "val_accuracy"),
            ("epoch/lr", "lr"),
        ] {
            assert_eq!(
                get(tag, e),
                m[key].as_f64().unwrap() as f32,
                "{tag} epoch {e}"
            );
        }
    }
    // Per logging interval (every 20 batches, from the first): loss, accuracy, learning rate.
    let batches = TRAIN_LIMIT.div_ceil(BATCH) as u64;
    let steps: Vec<u64> = values
        .iter()
        .filter(|v| v.1 == "batch/train_loss")
        .map(|v| v.0)
        .collect();
    let want: Vec<u64> = (0..2)
        .flat_map(|e| (0..batches).step_by(20).map(move |i| e * batches + i + 1))
        .collect();
    assert_eq!(steps, want);
    for &s in &steps {
        assert_eq!(get("batch/lr", s), 1e-3);
        let acc = get("batch/train_accuracy", s);
        assert!((0.0..=1.0).contains(&acc));
        assert!(get("batch/train_loss", s) > 0.0);
    }
    // The first interval is the first batch alone: its loss is about ln 10 for a fresh model.
    assert!((get("batch/train_loss", 1) - 10f32.ln()).abs() < 0.5);
}
