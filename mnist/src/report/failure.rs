//! Failure analysis of a test pass: per-class precision, recall and F1 from the confusion
//! matrix, the most-confused (true, predicted) pairs, and the highest-loss digits with their
//! top-3 probabilities (`failure_analysis.json`, `hardest_examples.png`).

use std::path::Path;

use serde::Serialize;

use super::canvas::{AXIS, GREEN, RED};
use super::grid::{DigitPage, DIGIT};
use super::{invalid, save_png, ReportError};
use crate::idx::IMAGE_PIXELS;

const CLASSES: usize = 10;

/// Precision, recall and F1 of one class (0 where the denominator is 0, as scikit-learn).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClassScores {
    pub class: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Test images of this class.
    pub support: u32,
}

/// How often digits of `truth` were predicted as `predicted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ConfusedPair {
    pub truth: usize,
    pub predicted: usize,
    pub count: u32,
}

/// One of the highest-loss test digits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HardExample {
    /// Position in the test set.
    pub index: usize,
    pub truth: u8,
    /// Cross-entropy of this digit: `-ln p(truth)`.
    pub loss: f64,
    /// The three most probable classes, most probable first: (class, probability).
    pub top3: Vec<(usize, f32)>,
}

/// Everything `failure_analysis.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailureAnalysis {
    pub per_class: Vec<ClassScores>,
    pub macro_f1: f64,
    pub most_confused: Vec<ConfusedPair>,
    pub hardest: Vec<HardExample>,
}

/// Per-class scores of a confusion matrix (rows: true class, columns: predicted class).
pub fn class_scores(confusion: &[[u32; CLASSES]; CLASSES]) -> Vec<ClassScores> {
    let ratio = |a: u32, b: u32| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (0..CLASSES)
        .map(|c| {
            let tp = confusion[c][c];
            let predicted: u32 = confusion.iter().map(|row| row[c]).sum();
            let support: u32 = confusion[c].iter().sum();
            let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassScores {
                class: c,
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect()
}

/// The `k` largest off-diagonal cells, largest first (ties: lower true class, then lower
/// predicted class first); empty cells are left out.
pub fn most_confused(confusion: &[[u32; CLASSES]; CLASSES], k: usize) -> Vec<ConfusedPair> {
    let mut pairs: Vec<ConfusedPair> = (0..CLASSES)
        .flat_map(|t| (0..CLASSES).map(move |p| (t, p)))
        .filter(|&(t, p)| t != p && confusion[t][p] > 0)
        .map(|(truth, predicted)| ConfusedPair {
            truth,
            predicted,
            count: confusion[truth][predicted],
        })
        .collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.count));
    pairs.truncate(k);
    pairs
}

/// The `k` digits with the highest loss, highest first. `probabilities` is n x 10.
pub fn hardest_examples(labels: &[u8], probabilities: &[f32], k: usize) -> Vec<HardExample> {
    let mut losses: Vec<(usize, f64)> = labels
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let p = probabilities[i * CLASSES + t as usize] as f64;
            (i, -p.max(f64::MIN_POSITIVE).ln())
        })
        .collect();
    losses.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    losses
        .into_iter()
        .take(k)
        .map(|(index, loss)| {
            let row = &probabilities[index * CLASSES..(index + 1) * CLASSES];
            let mut classes: Vec<usize> = (0..CLASSES).collect();
            classes.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            HardExample {
                index,
                truth: labels[index],
                loss,
                top3: classes.iter().take(3).map(|&c| (c, row[c])).collect(),
            }
        })
        .collect()
}

/// The whole analysis of one test pass.
pub fn analyse(
    labels: &[u8],
    predictions: &[u8],
    probabilities: &[f32],
    hardest: usize,
) -> Result<FailureAnalysis, String> {
    if predictions.len() != labels.len() || probabilities.len() != labels.len() * CLASSES {
        return Err(format!(
            "{} labels, {} predictions and {} probabilities do not match",
            labels.len(),
            predictions.len(),
            probabilities.len()
        ));
    }
    let confusion = super::confusion_matrix(labels, predictions);
    let per_class = class_scores(&confusion);
    let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / CLASSES as f64;
    Ok(FailureAnalysis {
        per_class,
        macro_f1,
        most_confused: most_confused(&confusion, 10),
        hardest: hardest_examples(labels, probabilities, hardest),
    })
}

const COLS: i32 = 8;

/// `hardest_examples.png`: each digit with its true label and its top-3 probabilities (green
/// the true class, red a wrong one).
pub fn hardest_examples_png(
    images: &[u8],
    hardest: &[HardExample],
    path: &Path,
) -> Result<(), ReportError> {
    if let Some(bad) = hardest
        .iter()
        .find(|h| (h.index + 1) * IMAGE_PIXELS > images.len())
    {
        return Err(invalid(path, format!("no image {} to draw", bad.index)));
    }
    let page = DigitPage::new(hardest.len(), COLS, (40, 64), 0);
    let title = format!("Highest-loss test digits ({})", hardest.len());
    let mut c = page.canvas(&title, "true label, then top-3 probabilities");
    for (i, ex) in hardest.iter().enumerate() {
        let pixels = &images[ex.index * IMAGE_PIXELS..(ex.index + 1) * IMAGE_PIXELS];
        let (x, y) = page.draw_digit(&mut c, i, pixels);
        c.text_centered(
            x + DIGIT / 2,
            y + DIGIT + 4,
            &format!("true {}", ex.truth),
            1,
            AXIS,
        );
        for (k, &(class, p)) in ex.top3.iter().enumerate() {
            let color = if class == ex.truth as usize {
                GREEN
            } else {
                RED
            };
            let line = format!("{class}: {:.1}%", 100.0 * p);
            c.text_centered(
                x + DIGIT / 2,
                y + DIGIT + 16 + 12 * k as i32,
                &line,
                1,
                color,
            );
        }
    }
    save_png(&c, path)
}
