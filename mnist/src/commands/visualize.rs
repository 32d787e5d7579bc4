//! `mnist visualize`: what a convolutional checkpoint learned. `filters.png` shows the first
//! conv layer's kernels (red positive, blue negative, one shared scale), and
//! `features_block<k>.png` every channel of conv block k's output for one digit.

use std::path::{Path, PathBuf};

use engine::nn::{Module, Sequential};
use engine::{no_grad, Tensor};

use crate::dataset::normalize;
use crate::idx::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::report::{save_png, Canvas, Rgb};
use crate::train::load_model_checkpoint;

const WHITE: Rgb = [255, 255, 255];
const AXIS: Rgb = [60, 60, 60];
const MARGIN: i32 = 20;
const TITLE_H: i32 = 60;

/// The digit to look at: a PNG/PGM file or a test-set image.
pub enum DigitSource {
    Image(PathBuf),
    /// Index into the test set, its pixels and label.
    Test {
        index: usize,
        pixels: Vec<u8>,
        label: u8,
    },
}

/// One conv block: the layers from a `Conv2d` up to (not including) the next layer that is
/// neither BatchNorm nor ReLU, and its output for the digit.
pub struct BlockOutput {
    pub first_layer: usize,
    pub last_layer: usize,
    pub conv: String,
    /// [channels, height, width]
    pub shape: [usize; 3],
    /// channels x height x width activations.
    pub values: Vec<f32>,
}

/// What `visualize` wrote.
pub struct Visualized {
    pub filters: PathBuf,
    pub blocks: Vec<PathBuf>,
}

/// Writes filters.png and features_block<k>.png into `out_dir`.
pub fn visualize(
    checkpoint: &Path,
    digit: &DigitSource,
    out_dir: &Path,
) -> Result<Visualized, String> {
    let pixels = match digit {
        DigitSource::Image(path) => crate::image_io::load_digit(path).map_err(|e| e.to_string())?,
        DigitSource::Test { pixels, .. } => pixels.clone(),
    };
    let (kind, mut model) = load_model_checkpoint(checkpoint, None).map_err(|e| e.to_string())?;
    let first = (0..model.len())
        .find(|&i| is_layer(&model, i, "Conv2d"))
        .ok_or_else(|| {
            format!(
                "{}: a {kind} model has no convolutional layer to visualize",
                checkpoint.display()
            )
        })?;
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let weight = model
        .state_dict()
        .into_iter()
        .find(|(k, _)| *k == format!("{first}.weight"))
        .map(|(_, t)| t)
        .ok_or_else(|| format!("{}: no weight for layer {first}", checkpoint.display()))?;
    let title = format!(
        "{kind}: layer {first} {}",
        model.get(first).map(|l| l.describe()).unwrap_or_default()
    );
    let filters = out_dir.join("filters.png");
    draw_filters(&weight, &title, &filters)?;

    let caption = match digit {
        DigitSource::Image(path) => format!("digit {}", path.display()),
        DigitSource::Test { index, label, .. } => format!("test digit #{index} (label {label})"),
    };
    let blocks = block_outputs(&mut model, &pixels).map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    for (k, block) in blocks.iter().enumerate() {
        let path = out_dir.join(format!("features_block{}.png", k + 1));
        draw_block(block, k + 1, &caption, &pixels, &path)?;
        written.push(path);
    }
    Ok(Visualized {
        filters,
        blocks: written,
    })
}

fn is_layer(model: &Sequential, i: usize, name: &str) -> bool {
    model.get(i).is_some_and(|l| l.describe().starts_with(name))
}

/// Runs the model layer by layer (eval mode) on one 28x28 digit and keeps each conv block's
/// output.
pub fn block_outputs(model: &mut Sequential, pixels: &[u8]) -> engine::Result<Vec<BlockOutput>> {
    model.set_training(false);
    let _guard = no_grad();
    let mut x = Tensor::from_vec(normalize(pixels), [1, 1, IMAGE_SIDE, IMAGE_SIDE])?;
    let mut blocks = Vec::new();
    let mut start = None;
    for i in 0..model.len() {
        let Some(layer) = model.get(i) else { break };
        x = layer.forward(&x)?;
        if is_layer(model, i, "Conv2d") {
            start = Some(i);
        }
        let continues = is_layer(model, i + 1, "BatchNorm2d") || is_layer(model, i + 1, "ReLU");
        if let (Some(first), false) = (start, continues) {
            let d = x.dims();
            blocks.push(BlockOutput {
                first_layer: first,
                last_layer: i,
                conv: model.get(first).map(|l| l.describe()).unwrap_or_default(),
                shape: [d[1], d[2], d[3]],
                values: x.to_vec_f32()?,
            });
            start = None;
        }
    }
    Ok(blocks)
}

/// Diverging colour: blue for -1, white for 0, red for +1.
fn diverging(v: f32) -> Rgb {
    let t = v.clamp(-1.0, 1.0);
    let fade = |c: u8| (255.0 - (255.0 - c as f32) * t.abs()).round() as u8;
    if t >= 0.0 {
        [fade(214), fade(39), fade(40)]
    } else {
        [fade(31), fade(119), fade(180)]
    }
}

/// A grid of `count` labelled cells of `cell_w` x `cell_h` pixels under a title.
fn grid_canvas(count: usize, cols: usize, cell: (i32, i32), lines: &[&str]) -> Canvas {
    let cols = cols.clamp(1, count.max(1)) as i32;
    let rows = (count as i32 + cols - 1) / cols;
    let title_w = lines
        .iter()
        .map(|l| crate::report::text_width(l, 1))
        .max()
        .unwrap_or(0);
    let w = (2 * MARGIN + cols * cell.0).max(title_w + 2 * MARGIN);
    let h = TITLE_H + rows.max(1) * cell.1 + MARGIN;
    let mut c = Canvas::new(w as u32, h as u32, WHITE);
    for (k, line) in lines.iter().enumerate() {
        c.text_centered(w / 2, 12 + 14 * k as i32, line, 1, AXIS);
    }
    c
}

fn cell_origin(i: usize, cols: usize, cell: (i32, i32)) -> (i32, i32) {
    let (r, col) = ((i / cols) as i32, (i % cols) as i32);
    (MARGIN + col * cell.0, TITLE_H + r * cell.1)
}

fn draw_filters(weight: &Tensor, title: &str, path: &Path) -> Result<(), String> {
    let d = weight.dims().to_vec();
    let values = weight.to_vec_f32().map_err(|e| e.to_string())?;
    let (out_ch, in_ch, kh, kw) = (d[0], d[1], d[2], d[3]);
    let scale = (48 / kh.max(kw)).max(4) as i32;
    let max = values.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    // One cell per (output, input) channel pair; the first layer of MNIST models has one input.
    let count = out_ch * in_ch;
    let label_w = crate::report::text_width(&format!("filter {count}"), 1);
    let cell = (
        (kw as i32 * scale).max(label_w) + 16,
        kh as i32 * scale + 22,
    );
    let cols = 8;
    let lines = [
        title,
        "first conv layer filters (red +, blue -, scale +-max |w|)",
    ];
    let mut c = grid_canvas(count, cols, cell, &lines);
    let size = kh * kw;
    for f in 0..count {
        let (x, y) = cell_origin(f, cols, cell);
        for (p, &v) in values[f * size..(f + 1) * size].iter().enumerate() {
            let (px, py) = ((p % kw) as i32, (p / kw) as i32);
            c.fill_rect(
                x + (cell.0 - kw as i32 * scale) / 2 + px * scale,
                y + py * scale,
                scale,
                scale,
                diverging(v / max),
            );
        }
        let label = if in_ch == 1 {
            format!("filter {f}")
        } else {
            format!("{}<-{}", f / in_ch, f % in_ch)
        };
        c.text_centered(x + cell.0 / 2, y + kh as i32 * scale + 6, &label, 1, AXIS);
    }
    save_png(&c, path).map_err(|e| e.to_string())
}

fn draw_block(
    block: &BlockOutput,
    number: usize,
    caption: &str,
    digit: &[u8],
    path: &Path,
) -> Result<(), String> {
    let [channels, h, w] = block.shape;
    let scale = (84 / h.max(w)).max(2) as i32;
    let cell = ((w as i32 * scale).max(48) + 12, h as i32 * scale + 22);
    let cols = 8;
    let head = format!(
        "conv block {number}: layers {}-{}, {}",
        block.first_layer, block.last_layer, block.conv
    );
    let sub = format!("{caption}: {channels} channels x {h}x{w} (each scaled min..max)");
    let mut c = grid_canvas(channels + 1, cols, cell, &[&head, &sub]);
    // The input digit first, so each picture says what it shows.
    let (x, y) = cell_origin(0, cols, cell);
    let s = ((h as i32 * scale) / IMAGE_SIDE as i32).max(1);
    if digit.len() == IMAGE_PIXELS {
        c.gray_image(x + 6, y, digit, IMAGE_SIDE, s);
    }
    c.text_centered(
        x + cell.0 / 2,
        y + IMAGE_SIDE as i32 * s + 6,
        "input",
        1,
        AXIS,
    );
    for ch in 0..channels {
        let map = &block.values[ch * h * w..(ch + 1) * h * w];
        let (lo, hi) = map
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let span = (hi - lo).max(1e-12);
        let gray: Vec<u8> = map
            .iter()
            .map(|&v| ((v - lo) / span * 255.0).round() as u8)
            .collect();
        let (x, y) = cell_origin(ch + 1, cols, cell);
        c.gray_image(x + 6, y, &gray, w, scale);
        c.text_centered(
            x + cell.0 / 2,
            y + h as i32 * scale + 6,
            &format!("ch {ch}"),
            1,
            AXIS,
        );
    }
    save_png(&c, path).map_err(|e| e.to_string())
}
