//! `mnist ensemble`: the test accuracy of several checkpoints voting with their averaged
//! softmax probabilities.

use std::path::{Path, PathBuf};

use crate::dataset::Dataset;
use crate::train::{evaluate, load_model_checkpoint, BatchSource};

/// Each member's own result and the ensemble's.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EnsembleResult {
    pub members: Vec<Member>,
    pub accuracy: f64,
    /// Mean cross-entropy of the averaged probabilities.
    pub loss: f64,
    pub images: usize,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Member {
    pub checkpoint: PathBuf,
    pub model: String,
    pub accuracy: f64,
}

/// Evaluates every checkpoint on `test` and their average.
pub fn ensemble(
    checkpoints: &[PathBuf],
    test: &Dataset,
    batch_size: usize,
) -> Result<EnsembleResult, String> {
    if checkpoints.is_empty() {
        return Err("ensemble needs at least one --checkpoint".into());
    }
    // Every checkpoint is read before the (slow) evaluation, so a bad one fails at once.
    let models = checkpoints
        .iter()
        .map(|c| load_model_checkpoint(c, None).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let batches =
        BatchSource::eval(test, batch_size, engine::Device::Cpu).map_err(|e| e.to_string())?;
    let mut sum = vec![0f64; test.len() * 10];
    let mut members = Vec::new();
    for (path, (kind, mut model)) in checkpoints.iter().zip(models) {
        let result = evaluate(&mut model, &batches).map_err(|e| e.to_string())?;
        for (s, &p) in sum.iter_mut().zip(&result.probabilities) {
            *s += f64::from(p);
        }
        members.push(Member {
            checkpoint: path.clone(),
            model: kind.to_string(),
            accuracy: result.accuracy,
        });
    }
    let n = checkpoints.len() as f64;
    let (correct, loss) = averaged_scores(&sum, &test.labels, n);
    Ok(EnsembleResult {
        members,
        accuracy: correct as f64 / test.len().max(1) as f64,
        loss: loss / test.len().max(1) as f64,
        images: test.len(),
    })
}

/// Correct argmax count and summed cross-entropy of the mean of `sum / n` (n x 10 rows).
fn averaged_scores(sum: &[f64], labels: &[u8], n: f64) -> (usize, f64) {
    let mut correct = 0;
    let mut loss = 0.0;
    for (row, &label) in sum.chunks_exact(10).zip(labels) {
        let best = (0..10).fold(0, |b, c| if row[c] > row[b] { c } else { b });
        correct += usize::from(best == label as usize);
        loss -= (row[label as usize] / n).max(f64::MIN_POSITIVE).ln();
    }
    (correct, loss)
}

/// The result as the lines the command prints.
pub fn describe(result: &EnsembleResult, shown: impl Fn(&Path) -> String) -> String {
    let mut out = String::new();
    for m in &result.members {
        out += &format!(
            "{} {}: test accuracy {:.2}%\n",
            m.model,
            shown(&m.checkpoint),
            100.0 * m.accuracy
        );
    }
    out += &format!(
        "ensemble of {} (averaged probabilities): test loss {:.4}, accuracy {:.2}% ({} images)\n",
        result.members.len(),
        result.loss,
        100.0 * result.accuracy,
        result.images
    );
    out
}
