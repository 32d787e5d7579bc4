//! `correct_examples.png` / `incorrect_examples.png`: grids of digits (as the model sees
//! them, white on black) captioned "true/predicted", green when right, red when wrong.

use std::path::Path;

use super::canvas::{Canvas, AXIS, GREEN, RED, WHITE};
use super::{invalid, save_png, ReportError};
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};

const SCALE: i32 = 3;
/// A digit's side on the page, in pixels.
pub(super) const DIGIT: i32 = IMAGE_SIDE as i32 * SCALE;
const MARGIN: i32 = 20;
const TITLE_H: i32 = 56;

/// The page both digit pictures share (these grids and `hardest_examples.png`): a title and
/// subtitle, then digits drawn at 3x, centred in cells of `cell` pixels, `cols` to a row.
pub(super) struct DigitPage {
    cell: (i32, i32),
    cols: i32,
    width: i32,
    height: i32,
}

impl DigitPage {
    /// A page for `n` digits, at least `min_width` wide; `extra` is the room a digit's
    /// cell adds around the digit for its captions.
    pub(super) fn new(n: usize, cols: i32, extra: (i32, i32), min_width: i32) -> Self {
        let cell = (DIGIT + extra.0, DIGIT + extra.1);
        let rows = (n as i32 + cols - 1) / cols;
        DigitPage {
            cell,
            cols,
            width: (2 * MARGIN + cols * cell.0).max(min_width),
            height: TITLE_H + rows.max(1) * cell.1 + MARGIN,
        }
    }

    /// A blank canvas of the page's size with its title and subtitle.
    pub(super) fn canvas(&self, title: &str, subtitle: &str) -> Canvas {
        let mut c = Canvas::new(self.width as u32, self.height as u32, WHITE);
        c.text_centered(self.width / 2, 14, title, 2, AXIS);
        c.text_centered(self.width / 2, 36, subtitle, 1, AXIS);
        c
    }

    /// Draws digit `i` (784 gray pixels) in its cell; returns the digit's top-left corner.
    pub(super) fn draw_digit(&self, c: &mut Canvas, i: usize, pixels: &[u8]) -> (i32, i32) {
        let (r, col) = (i as i32 / self.cols, i as i32 % self.cols);
        let x = MARGIN + col * self.cell.0 + (self.cell.0 - DIGIT) / 2;
        let y = TITLE_H + r * self.cell.1;
        c.gray_image(x, y, pixels, IMAGE_SIDE, SCALE);
        (x, y)
    }
}

/// One digit to show: 784 pixels, its true label and the prediction.
#[derive(Debug, Clone, Copy)]
pub struct GridItem<'a> {
    pub pixels: &'a [u8],
    pub truth: u8,
    pub pred: u8,
}

/// Writes `items` as a grid with `cols` columns under `title` (an empty list gives a
/// picture that says so).
pub fn digit_grid(
    items: &[GridItem],
    cols: usize,
    title: &str,
    path: &Path,
) -> Result<(), ReportError> {
    if let Some(bad) = items.iter().position(|it| it.pixels.len() != IMAGE_PIXELS) {
        return Err(invalid(
            path,
            format!(
                "item {bad} has {} pixels, expected 784",
                items[bad].pixels.len()
            ),
        ));
    }
    let min_width = super::canvas::text_width(title, 2) + 2 * MARGIN;
    let page = DigitPage::new(items.len(), cols.max(1) as i32, (14, 32), min_width);
    let mut c = page.canvas(title, "caption: true/predicted");
    if items.is_empty() {
        let w = page.width;
        c.text_centered(w / 2, TITLE_H + page.cell.1 / 2 - 8, "(none)", 2, AXIS);
    }
    for (i, it) in items.iter().enumerate() {
        let (x, y) = page.draw_digit(&mut c, i, it.pixels);
        let color = if it.truth == it.pred { GREEN } else { RED };
        let caption = format!("{}/{}", it.truth, it.pred);
        c.text_centered(x + DIGIT / 2, y + DIGIT + 6, &caption, 2, color);
    }
    save_png(&c, path)
}

/// Picks up to `max` items whose correctness is `correct`, in dataset order.
fn pick<'a>(
    images: &'a [u8],
    labels: &[u8],
    preds: &[u8],
    correct: bool,
    max: usize,
    path: &Path,
) -> Result<Vec<GridItem<'a>>, ReportError> {
    if images.len() != labels.len() * IMAGE_PIXELS || preds.len() != labels.len() {
        return Err(invalid(
            path,
            format!(
                "{} pixels, {} labels and {} predictions do not match",
                images.len(),
                labels.len(),
                preds.len()
            ),
        ));
    }
    Ok(labels
        .iter()
        .zip(preds)
        .enumerate()
        .filter(|(_, (t, p))| (t == p) == correct)
        .take(max)
        .map(|(i, (&truth, &pred))| GridItem {
            pixels: &images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS],
            truth,
            pred,
        })
        .collect())
}

/// Writes `correct_examples.png` and `incorrect_examples.png` into `dir`: up to `max`
/// (e.g. 40) digits of each kind from `images` (n x 784), `labels` and `preds` (n).
pub fn example_grids(
    images: &[u8],
    labels: &[u8],
    preds: &[u8],
    max: usize,
    dir: &Path,
) -> Result<(), ReportError> {
    for (correct, name, title) in [
        (true, "correct_examples.png", "Correctly classified"),
        (false, "incorrect_examples.png", "Misclassified"),
    ] {
        let path = dir.join(name);
        let items = pick(images, labels, preds, correct, max, &path)?;
        let wrong = preds.iter().zip(labels).filter(|(p, t)| p != t).count();
        let title = if correct {
            format!("{title}: first {} of {}", items.len(), labels.len() - wrong)
        } else {
            format!("{title}: first {} of {wrong}", items.len())
        };
        digit_grid(&items, 10, &title, &path)?;
    }
    Ok(())
}
