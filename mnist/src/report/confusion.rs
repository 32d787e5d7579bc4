//! `confusion_matrix.png`: the 10x10 confusion matrix (rows = true digit, columns =
//! predicted), coloured by row-normalized fraction, each cell showing its count and row
//! percentage, with a colour bar and the overall accuracy in the title.

use std::path::Path;

use super::canvas::{mix, text_width, Canvas, Rgb, AXIS, GLYPH, WHITE};
use super::{invalid, save_png, ReportError};

const CELL: i32 = 72;
const LEFT: i32 = 110;
const TOP: i32 = 110;
const BAR_W: i32 = 28;
const W: i32 = LEFT + 10 * CELL + 40 + BAR_W + 90;
const H: i32 = TOP + 10 * CELL + 80;

/// Counts `[true][predicted]` from two equally long label slices (values >= 10 are skipped).
pub fn confusion_matrix(labels: &[u8], predictions: &[u8]) -> [[u32; 10]; 10] {
    let mut m = [[0u32; 10]; 10];
    for (&t, &p) in labels.iter().zip(predictions) {
        if let Some(cell) = m
            .get_mut(t as usize)
            .and_then(|row| row.get_mut(p as usize))
        {
            *cell += 1;
        }
    }
    m
}

/// Sequential "blues" colour map for t in [0, 1].
fn blues(t: f32) -> Rgb {
    const STOPS: [Rgb; 5] = [
        [247, 251, 255],
        [198, 219, 239],
        [107, 174, 214],
        [33, 113, 181],
        [8, 48, 107],
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f32;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    mix(STOPS[i], STOPS[i + 1], t - i as f32)
}

/// Writes the confusion matrix `m[true][predicted]` to `path` (PNG, 988x910).
pub fn confusion_matrix_png(m: &[[u32; 10]; 10], path: &Path) -> Result<(), ReportError> {
    let total: u64 = m.iter().flatten().map(|&v| v as u64).sum();
    if total == 0 {
        return Err(invalid(path, "the confusion matrix is empty"));
    }
    let correct: u64 = (0..10).map(|i| m[i][i] as u64).sum();
    let mut c = Canvas::new(W as u32, H as u32, WHITE);
    let title = format!(
        "Confusion matrix: {correct}/{total} correct ({:.2}%)",
        100.0 * correct as f64 / total as f64
    );
    c.text_centered(W / 2, 18, &title, 2, AXIS);
    c.text_centered(LEFT + 5 * CELL, 56, "predicted digit", 2, AXIS);
    let tl = "true digit";
    c.text_vertical(18, TOP + 5 * CELL - text_width(tl, 2) / 2, tl, 2, AXIS);

    for (r, row) in m.iter().enumerate() {
        let row_total: u64 = row.iter().map(|&v| v as u64).sum();
        let (ri, y) = (r as i32, TOP + r as i32 * CELL);
        c.text(LEFT - 30, y + CELL / 2 - GLYPH, &r.to_string(), 2, AXIS);
        c.text_centered(
            LEFT + ri * CELL + CELL / 2,
            TOP - 28,
            &r.to_string(),
            2,
            AXIS,
        );
        for (col, &count) in row.iter().enumerate() {
            let frac = if row_total > 0 {
                count as f32 / row_total as f32
            } else {
                0.0
            };
            let x = LEFT + col as i32 * CELL;
            c.fill_rect(x, y, CELL, CELL, blues(frac));
            let ink = if frac > 0.45 { WHITE } else { AXIS };
            let cx = x + CELL / 2;
            if count == 0 {
                c.text_centered(cx, y + CELL / 2 - GLYPH, "0", 2, [190, 190, 190]);
            } else {
                let n = count.to_string();
                let scale = if text_width(&n, 2) <= CELL - 6 { 2 } else { 1 };
                c.text_centered(cx, y + 16, &n, scale, ink);
                c.text_centered(cx, y + 46, &format!("{:.1}%", frac * 100.0), 1, ink);
            }
        }
    }
    // Cell borders.
    for i in 0..=10 {
        c.fill_rect(LEFT + i * CELL, TOP, 1, 10 * CELL + 1, [255, 255, 255]);
        c.fill_rect(LEFT, TOP + i * CELL, 10 * CELL + 1, 1, [255, 255, 255]);
    }
    c.stroke_rect(LEFT, TOP, 10 * CELL + 1, 10 * CELL + 1, AXIS);

    // Colour bar, 100% at the top.
    let bx = LEFT + 10 * CELL + 40;
    let bh = 10 * CELL;
    for i in 0..bh {
        let t = 1.0 - i as f32 / (bh - 1) as f32;
        c.fill_rect(bx, TOP + i, BAR_W, 1, blues(t));
    }
    c.stroke_rect(bx, TOP, BAR_W, bh, AXIS);
    for k in 0..=4 {
        let y = TOP + bh - 1 - k * (bh - 1) / 4;
        c.fill_rect(bx + BAR_W, y, 6, 1, AXIS);
        c.text(bx + BAR_W + 10, y - GLYPH, &format!("{}%", k * 25), 2, AXIS);
    }
    c.text_centered(bx + BAR_W / 2, TOP + bh + 16, "of row", 1, AXIS);
    save_png(&c, path)
}
