//! `mnist augment-preview`: one PNG grid, each row a training digit and then the augmented
//! versions training gives it in epochs 1, 2, ...: the same split, transforms and per-sample
//! random streams as a run with that seed (`dataset::augment_image`).

use std::path::Path;

use crate::augment::Augment;
use crate::data::Mnist;
use crate::dataset::{augment_image, split_train_val};
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::report::{save_png, text_width, Canvas, Rgb};

const WHITE: Rgb = [255, 255, 255];
const AXIS: Rgb = [60, 60, 60];
/// Screen pixels per digit pixel.
pub const SCALE: i32 = 3;
const DIGIT: i32 = IMAGE_SIDE as i32 * SCALE;
/// Cell size and where the grid starts, so tests can find each digit in the picture.
pub const CELL_W: i32 = DIGIT + 16;
pub const CELL_H: i32 = DIGIT + 22;
pub const MARGIN: i32 = 20;
pub const TITLE_H: i32 = 50;
/// Room for the row labels on the left.
pub const LABEL_W: i32 = 64;

/// Which training digits and how many versions of each.
pub struct PreviewOptions {
    pub samples: usize,
    pub per_sample: usize,
    pub seed: u64,
    pub val_split: usize,
    pub augment: Augment,
}

/// One row of the preview.
pub struct PreviewRow {
    /// Position in the training split.
    pub index: usize,
    pub label: u8,
    pub original: Vec<u8>,
    /// The augmented versions of epochs 1, 2, ... as u8 intensities.
    pub versions: Vec<Vec<u8>>,
}

/// The rows of the preview, computed exactly as the loader does.
pub fn preview_rows(data: &Mnist, opts: &PreviewOptions) -> Vec<PreviewRow> {
    let (train, _) = split_train_val(&data.train, opts.val_split, opts.seed);
    (0..opts.samples.min(train.len()))
        .map(|i| {
            let src = train.image(i);
            let versions = (0..opts.per_sample)
                .map(|epoch| {
                    let mut out = vec![0f32; IMAGE_PIXELS];
                    augment_image(&opts.augment, src, [opts.seed, epoch as u64], i, &mut out);
                    out.iter()
                        .map(|v| v.round().clamp(0.0, 255.0) as u8)
                        .collect()
                })
                .collect();
            PreviewRow {
                index: i,
                label: train.labels[i],
                original: src.to_vec(),
                versions,
            }
        })
        .collect()
}

/// The pixel position of row `r`, column `c` (0 = the original) in the picture.
pub fn digit_origin(r: usize, c: usize) -> (i32, i32) {
    (
        MARGIN + LABEL_W + c as i32 * CELL_W + (CELL_W - DIGIT) / 2,
        TITLE_H + r as i32 * CELL_H,
    )
}

/// Writes the grid to `path`.
pub fn augment_preview(data: &Mnist, opts: &PreviewOptions, path: &Path) -> Result<(), String> {
    if opts.samples == 0 || opts.per_sample == 0 {
        return Err("invalid preview size: --samples and --per-sample must be at least 1".into());
    }
    let rows = preview_rows(data, opts);
    let cols = opts.per_sample as i32 + 1;
    let elastic = match opts.augment.elastic {
        Some(e) => format!(", elastic alpha {} sigma {}", e.alpha, e.sigma),
        None => String::new(),
    };
    let title = format!(
        "augmentation (seed {}): rotation +-{} deg, shift +-{} px{elastic}",
        opts.seed, opts.augment.max_rotation_deg, opts.augment.max_shift
    );
    let w = (2 * MARGIN + LABEL_W + cols * CELL_W).max(text_width(&title, 1) + 2 * MARGIN);
    let h = TITLE_H + rows.len() as i32 * CELL_H + MARGIN;
    let mut c = Canvas::new(w as u32, h as u32, WHITE);
    c.text_centered(w / 2, 12, &title, 1, AXIS);
    c.text_centered(
        w / 2,
        28,
        "each row: a training digit, then its versions in epochs 1, 2, ...",
        1,
        AXIS,
    );
    for (r, row) in rows.iter().enumerate() {
        let (index, label) = (row.index, row.label);
        let (_, y) = digit_origin(r, 0);
        c.text(MARGIN, y + DIGIT / 2 - 10, &format!("#{index}"), 1, AXIS);
        c.text(
            MARGIN,
            y + DIGIT / 2 + 2,
            &format!("label {label}"),
            1,
            AXIS,
        );
        for (col, pixels) in std::iter::once(&row.original)
            .chain(&row.versions)
            .enumerate()
        {
            let (x, y) = digit_origin(r, col);
            c.gray_image(x, y, pixels, IMAGE_SIDE, SCALE);
            let caption = if col == 0 {
                "original".to_string()
            } else {
                format!("epoch {col}")
            };
            c.text_centered(x + DIGIT / 2, y + DIGIT + 6, &caption, 1, AXIS);
        }
    }
    save_png(&c, path).map_err(|e| e.to_string())
}
