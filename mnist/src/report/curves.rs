//! Per-epoch curves: `loss_curve.png` and `accuracy_curve.png` (train and validation),
//! drawn by one small line-chart routine with "nice" ticks, markers and a legend.

use std::path::Path;

use super::canvas::{text_width, Canvas, Rgb, AXIS, BLUE, GLYPH, GRID, ORANGE, WHITE};
use super::{invalid, save_png, EpochMetrics, ReportError};

const W: i32 = 960;
const H: i32 = 600;
const RIGHT: i32 = 30;
const TOP: i32 = 60;
const BOTTOM: i32 = 80;
const TEXT: i32 = 2; // text scale: 16 px glyphs

/// One named line of (x, y) points.
struct Series {
    name: String,
    color: Rgb,
    points: Vec<(f64, f64)>,
}

/// Where the legend goes (the corner the curves are least likely to cross).
#[derive(Clone, Copy)]
enum Corner {
    TopRight,
    BottomRight,
}

struct Chart {
    title: String,
    y_label: String,
    series: Vec<Series>,
    /// Clamp the automatic y range to these bounds.
    y_bounds: (f64, f64),
    legend: Corner,
    decimals: usize,
}

/// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi], about `target` of them.
fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let span = (hi - lo).max(1e-12);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = mag
        * match raw / mag {
            n if n < 1.5 => 1.0,
            n if n < 3.0 => 2.0,
            n if n < 7.0 => 5.0,
            _ => 10.0,
        };
    let mut ticks = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 && ticks.len() < 100 {
        ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    (ticks, step)
}

fn decimals_for(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    }
}

/// The y range: data min/max padded by 8%, clamped to `bounds`, never empty.
fn y_range(series: &[Series], bounds: (f64, f64)) -> (f64, f64) {
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (mut lo, mut hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return bounds;
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs().max(1e-3) * 0.02);
    lo = (lo - pad).max(bounds.0);
    hi = (hi + pad).min(bounds.1);
    if hi <= lo {
        hi = lo + 1e-3;
    }
    (lo, hi)
}

fn draw(chart: &Chart) -> Canvas {
    let mut c = Canvas::new(W as u32, H as u32, WHITE);
    let (y_lo, y_hi) = y_range(&chart.series, chart.y_bounds);
    let (yt, ystep) = nice_ticks(y_lo, y_hi, 6);
    let dec = decimals_for(ystep).max(chart.decimals.min(1));
    let y_labels: Vec<(f64, String)> = yt.into_iter().map(|y| (y, format!("{y:.dec$}"))).collect();
    let label_w = y_labels
        .iter()
        .map(|(_, l)| text_width(l, TEXT))
        .max()
        .unwrap_or(0);
    // Room for the rotated axis label, the tick labels and a gap.
    let left = 14 + GLYPH * TEXT + 16 + label_w + 10;
    let (pw, ph) = (W - left - RIGHT, H - TOP - BOTTOM);
    let n_epochs = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let (x_lo, x_hi) = if n_epochs <= 1.0 {
        (0.5, 1.5)
    } else {
        (1.0 - 0.03 * n_epochs, n_epochs * 1.03)
    };
    let px = |x: f64| left as f32 + ((x - x_lo) / (x_hi - x_lo) * pw as f64) as f32;
    let py = |y: f64| (TOP + ph) as f32 - ((y - y_lo) / (y_hi - y_lo) * ph as f64) as f32;

    c.text_centered(W / 2, 18, &chart.title, TEXT, AXIS);

    // Grid and tick labels.
    for (y, label) in &y_labels {
        let yy = py(*y).round() as i32;
        c.fill_rect(left, yy, pw, 1, GRID);
        c.text(
            left - 10 - text_width(label, TEXT),
            yy - GLYPH * TEXT / 2,
            label,
            TEXT,
            AXIS,
        );
    }
    let (xt, _) = nice_ticks(x_lo.max(1.0), x_hi, 10);
    // Epochs are whole numbers; the tolerance absorbs the float steps' rounding (1.2 + 0.2 + ...).
    for x in xt
        .into_iter()
        .filter(|x| (x - x.round()).abs() < 1e-6)
        .map(f64::round)
    {
        let xx = px(x).round() as i32;
        c.fill_rect(xx, TOP, 1, ph, GRID);
        c.fill_rect(xx, TOP + ph, 1, 6, AXIS);
        c.text_centered(xx, TOP + ph + 12, &format!("{x:.0}"), TEXT, AXIS);
    }
    c.stroke_rect(left, TOP, pw + 1, ph + 1, AXIS);
    c.text_centered(left + pw / 2, H - 32, "epoch", TEXT, AXIS);
    let yl = &chart.y_label;
    c.text_vertical(14, TOP + ph / 2 - text_width(yl, TEXT) / 2, yl, TEXT, AXIS);

    // Curves.
    for s in &chart.series {
        for w in s.points.windows(2) {
            let (a, b) = (w[0], w[1]);
            c.line(px(a.0), py(a.1), px(b.0), py(b.1), 2.5, s.color);
        }
        for &(x, y) in &s.points {
            c.dot(px(x), py(y), 4.0, s.color);
        }
    }

    // Legend: swatch + "name  last value".
    let lines: Vec<(String, Rgb)> = chart
        .series
        .iter()
        .map(|s| {
            let last = s.points.last().map(|p| p.1).unwrap_or(f64::NAN);
            (format!("{} {:.*}", s.name, chart.decimals, last), s.color)
        })
        .collect();
    let lw = lines
        .iter()
        .map(|l| text_width(&l.0, TEXT))
        .max()
        .unwrap_or(0)
        + 56;
    let lh = lines.len() as i32 * 26 + 12;
    let lx = left + pw - lw - 12;
    let ly = match chart.legend {
        Corner::TopRight => TOP + 12,
        Corner::BottomRight => TOP + ph - lh - 12,
    };
    c.fill_rect(lx, ly, lw, lh, WHITE);
    c.stroke_rect(lx, ly, lw, lh, AXIS);
    for (i, (text, color)) in lines.iter().enumerate() {
        let y = ly + 10 + i as i32 * 26;
        let mid = (y + GLYPH * TEXT / 2) as f32;
        c.line(lx as f32 + 10.0, mid, lx as f32 + 38.0, mid, 2.5, *color);
        c.dot(lx as f32 + 24.0, mid, 4.0, *color);
        c.text(lx + 46, y, text, TEXT, AXIS);
    }
    c
}

fn series_of(
    metrics: &[EpochMetrics],
    name: &str,
    color: Rgb,
    f: impl Fn(&EpochMetrics) -> Option<f32>,
) -> Option<Series> {
    let points: Vec<(f64, f64)> = metrics
        .iter()
        .filter_map(|m| {
            f(m).filter(|v| v.is_finite())
                .map(|v| (m.epoch as f64, v as f64))
        })
        .collect();
    (!points.is_empty()).then(|| Series {
        name: name.to_string(),
        color,
        points,
    })
}

fn check(metrics: &[EpochMetrics], path: &Path) -> Result<(), ReportError> {
    if metrics.is_empty() {
        return Err(invalid(path, "no epochs to plot"));
    }
    Ok(())
}

/// Writes the train and validation loss per epoch to `path` (PNG, 960x600).
pub fn loss_curve(metrics: &[EpochMetrics], path: &Path) -> Result<(), ReportError> {
    check(metrics, path)?;
    let series = [
        series_of(metrics, "train", BLUE, |m| Some(m.train_loss)),
        series_of(metrics, "val", ORANGE, |m| m.val_loss),
    ];
    let chart = Chart {
        title: "Loss per epoch".into(),
        y_label: "cross-entropy loss".into(),
        series: series.into_iter().flatten().collect(),
        y_bounds: (0.0, f64::INFINITY),
        legend: Corner::TopRight,
        decimals: 4,
    };
    save_png(&draw(&chart), path)
}

/// Writes the train and validation accuracy (as %) per epoch to `path` (PNG, 960x600).
pub fn accuracy_curve(metrics: &[EpochMetrics], path: &Path) -> Result<(), ReportError> {
    check(metrics, path)?;
    let pct = |v: f32| v * 100.0;
    let series = [
        series_of(metrics, "train", BLUE, |m| Some(pct(m.train_acc))),
        series_of(metrics, "val", ORANGE, |m| m.val_acc.map(pct)),
    ];
    let chart = Chart {
        title: "Accuracy per epoch".into(),
        y_label: "accuracy (%)".into(),
        series: series.into_iter().flatten().collect(),
        y_bounds: (0.0, 100.0),
        legend: Corner::BottomRight,
        decimals: 2,
    };
    save_png(&draw(&chart), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        let (t, step) = nice_ticks(0.03, 0.31, 6);
        assert_eq!(step, 0.05);
        assert!((t[0] - 0.05).abs() < 1e-12 && (t[t.len() - 1] - 0.3).abs() < 1e-12);
        let (t, step) = nice_ticks(1.0, 20.0, 10);
        assert_eq!(step, 2.0);
        assert_eq!(t[0], 2.0);
        assert_eq!(decimals_for(0.05), 2);
        assert_eq!(decimals_for(2.0), 0);
    }
}
