//! PNG charts of training runs: one row of panels, each with named line series, drawn with an
//! embedded font so the output is the same on every machine.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";

/// A line on a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// What a panel draws: lines over epochs, or a scatter of points against the diagonal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    Lines,
    ScatterWithDiagonal,
}

/// One chart of the figure.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub kind: PanelKind,
    pub series: Vec<Series>,
}

impl Panel {
    /// Lines over epochs, one per series.
    pub fn over_epochs(title: &str, y_label: &str, series: Vec<Series>) -> Self {
        Self {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: y_label.into(),
            kind: PanelKind::Lines,
            series,
        }
    }
}

const PANEL_WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

/// Draws `panels` side by side into the PNG at `path` (written through a temporary file).
pub fn draw_png(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    register_font();
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .suffix(".png")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    draw_to(temp.path(), title, panels)
        .map_err(|e| anyhow!("cannot draw {}: {e}", path.display()))?;
    crate::artifact::set_mode(temp.path(), 0o644)?;
    temp.persist(path)
        .with_context(|| format!("cannot move the new {} into place", path.display()))?;
    Ok(())
}

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The embedded font is a valid TrueType file; a failure would only drop the labels.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw_to(path: &Path, title: &str, panels: &[Panel]) -> DrawResult {
    let width = PANEL_WIDTH * panels.len().max(1) as u32;
    let root = BitMapBackend::new(path, (width, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (FONT_FAMILY, 24))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        draw_panel(area, panel)?;
    }
    root.present()?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
) -> DrawResult {
    let (x_range, y_range) = bounds(panel);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT_FAMILY, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.clone(), y_range.clone())?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style((FONT_FAMILY, 14))
        .draw()?;
    if panel.kind == PanelKind::ScatterWithDiagonal {
        let low = x_range.start.max(y_range.start);
        let high = x_range.end.min(y_range.end);
        chart
            .draw_series(LineSeries::new([(low, low), (high, high)], BLACK.mix(0.5)))?
            .label("perfect")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
    }
    for (index, series) in panel.series.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        match panel.kind {
            PanelKind::Lines => chart.draw_series(LineSeries::new(
                series.points.iter().copied(),
                color.stroke_width(2),
            ))?,
            PanelKind::ScatterWithDiagonal => chart.draw_series(
                series
                    .points
                    .iter()
                    .map(|&point| Circle::new(point, 3, color.mix(0.4).filled())),
            )?,
        }
        .label(&series.label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 14))
        .draw()?;
    Ok(())
}

/// Axis ranges covering every point, padded so lines do not sit on the frame.
fn bounds(panel: &Panel) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let points = panel.series.iter().flat_map(|s| s.points.iter());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if x_min > x_max {
        return (0.0..1.0, 0.0..1.0);
    }
    let pad = |low: f64, high: f64| {
        let margin = ((high - low) * 0.05).max(1e-3);
        (low - margin)..(high + margin)
    };
    (pad(x_min, x_max), pad(y_min, y_max))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f` at epochs 1 to 10.
    fn series(label: &str, f: fn(f64) -> f64) -> Series {
        Series {
            label: label.into(),
            points: (1..=10).map(|e| (e as f64, f(e as f64))).collect(),
        }
    }

    #[test]
    fn draws_a_png_with_two_panels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("training.png");
        let panels = [
            Panel::over_epochs(
                "Loss",
                "cross-entropy",
                vec![series("train", |e| 1.0 / e), series("valid", |e| 1.2 / e)],
            ),
            Panel {
                title: "Predicted vs true".into(),
                x_label: "true".into(),
                y_label: "predicted".into(),
                kind: PanelKind::ScatterWithDiagonal,
                series: vec![series("test", |e| e + 0.5)],
            },
        ];
        draw_png(&path, "toy", &panels).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(bytes.len() > 10_000, "a real chart, not an empty image");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
