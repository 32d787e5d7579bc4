//! Report PNGs: each writer produces a valid PNG of the expected size that is not blank.
//! Set `MNIST_REPORT_OUT=<dir>` to keep the pictures for a look.

mod common;

use std::path::{Path, PathBuf};

use mnist::report::{
    accuracy_curve, confusion_matrix, confusion_matrix_png, digit_grid, example_grids, loss_curve,
    EpochMetrics, GridItem, ReportError,
};

/// A scratch directory, or `$MNIST_REPORT_OUT` when set (kept for inspection).
fn out_dir(tmp: &tempfile::TempDir) -> PathBuf {
    match std::env::var_os("MNIST_REPORT_OUT") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    }
}

/// Decodes a PNG; returns (width, height, number of distinct colours, non-white fraction).
fn inspect(path: &Path) -> (u32, u32, usize, f64) {
    let f = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(f).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let mut colours = px.clone();
    colours.sort_unstable();
    colours.dedup();
    let ink = px.iter().filter(|&&p| p != [255, 255, 255]).count() as f64 / px.len() as f64;
    (info.width, info.height, colours.len(), ink)
}

fn metrics(n: usize, with_val: bool) -> Vec<EpochMetrics> {
    (1..=n)
        .map(|e| {
            let t = e as f32;
            EpochMetrics {
                epoch: e,
                train_loss: 0.35 / t + 0.01,
                train_acc: 1.0 - 0.06 / t,
                val_loss: with_val.then_some(0.08 / t.sqrt() + 0.02),
                val_acc: with_val.then_some(0.99 - 0.02 / t),
                lr: 1e-3,
                seconds: 3.0,
                images: 1000,
            }
        })
        .collect()
}

#[test]
fn curves_are_valid_pngs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp);
    let m = metrics(12, true);
    loss_curve(&m, &dir.join("loss_curve.png")).unwrap();
    accuracy_curve(&m, &dir.join("accuracy_curve.png")).unwrap();
    for name in ["loss_curve.png", "accuracy_curve.png"] {
        let (w, h, colours, ink) = inspect(&dir.join(name));
        assert_eq!((w, h), (960, 600), "{name}");
        assert!(colours > 20, "{name}: {colours} colours");
        assert!(ink > 0.01 && ink < 0.5, "{name}: ink {ink}");
    }
    // One epoch, no validation: still draws (a single marker per series).
    let one = metrics(1, false);
    let p = dir.join("loss_curve_one_epoch.png");
    loss_curve(&one, &p).unwrap();
    assert!(inspect(&p).3 > 0.01);
    // No temporary files are left next to the outputs.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".part-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn empty_metrics_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("loss.png");
    let e = loss_curve(&[], &p).unwrap_err();
    assert!(matches!(e, ReportError::InvalidInput { .. }));
    assert!(e.to_string().contains("no epochs"), "{e}");
    assert!(!p.exists());
    // An unwritable destination is a typed error naming the path.
    let bad = tmp.path().join("missing-dir/loss.png");
    let e = loss_curve(&metrics(2, true), &bad).unwrap_err();
    assert!(matches!(e, ReportError::Write { .. }));
    assert!(e.to_string().contains("missing-dir/loss.png"), "{e}");
}

#[test]
fn confusion_matrix_counts_and_png() {
    let labels = [0u8, 1, 1, 2, 9, 9, 9];
    let preds = [0u8, 1, 7, 2, 9, 4, 9];
    let m = confusion_matrix(&labels, &preds);
    assert_eq!(
        (m[1][1], m[1][7], m[9][9], m[9][4], m[3][3]),
        (1, 1, 2, 1, 0)
    );
    assert_eq!(m.iter().flatten().sum::<u32>(), 7);

    // A realistic matrix: 10,000 test digits, about 1% errors.
    let mut big = [[0u32; 10]; 10];
    for (t, row) in big.iter_mut().enumerate() {
        row[t] = 980 + 15 * t as u32;
        row[(t + 3) % 10] = 7;
        row[(t * 7 + 1) % 10] += 3;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp);
    let p = dir.join("confusion_matrix.png");
    confusion_matrix_png(&big, &p).unwrap();
    let (w, h, colours, ink) = inspect(&p);
    assert_eq!((w, h), (988, 910));
    assert!(colours > 20 && ink > 0.1, "{colours} {ink}");
    assert!(confusion_matrix_png(&[[0; 10]; 10], &tmp.path().join("x.png")).is_err());
}

#[test]
fn example_grids_from_real_digits() {
    let test = common::load().test.take(500);
    // Fake predictions: every 9th digit wrong.
    let preds: Vec<u8> = test
        .labels
        .iter()
        .enumerate()
        .map(|(i, &l)| if i % 9 == 4 { (l + 3) % 10 } else { l })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let dir = out_dir(&tmp);
    example_grids(&test.images, &test.labels, &preds, 40, &dir).unwrap();
    for name in ["correct_examples.png", "incorrect_examples.png"] {
        let (w, h, colours, ink) = inspect(&dir.join(name));
        assert_eq!((w, h), (40 + 10 * 98, 56 + 4 * 116 + 20), "{name}");
        assert!(colours > 50 && ink > 0.2, "{name}: {colours} {ink}");
    }
    // Mismatched inputs are rejected; an empty selection still draws.
    assert!(example_grids(&test.images, &test.labels, &preds[..10], 40, &dir).is_err());
    let p = tmp.path().join("empty.png");
    digit_grid(&[], 10, "Misclassified: none", &p).unwrap();
    assert!(inspect(&p).3 > 0.001);
    let short = [0u8; 10];
    let item = GridItem {
        pixels: &short,
        truth: 1,
        pred: 1,
    };
    assert!(digit_grid(&[item], 10, "bad", &p).is_err());
}
