//! PNG line charts on log–log axes (error or distance against cost).
//!
//! Text goes through plotters' `ab_glyph` path with DejaVu Sans compiled into the binary, so a
//! plot renders the same on a headless machine with no system fonts at all.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::CliError;

/// Canvas size in pixels: chart on the left, legend column on the right.
const SIZE: (u32, u32) = (1280, 800);
/// Width of the chart part of the canvas; the rest holds the legend.
const CHART_WIDTH: u32 = 1000;
/// The font family every text element asks for (the only one registered).
const FONT: &str = "sans-serif";

/// Tableau 10: distinguishable colours on white, unlike an evenly spaced hue wheel whose
/// yellows vanish. Colour and marker together keep up to 40 series apart ([`marker_of`]).
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One labelled line of (x, y) points.
pub struct Series {
    /// The legend entry.
    pub label: String,
    /// The points, drawn in the given order; a log axis cannot show a point with a coordinate
    /// that is not finite and positive, so such points are left out.
    pub points: Vec<(f64, f64)>,
}

/// A chart with logarithmic x and y axes.
pub struct LogLogChart<'a> {
    /// Caption above the chart.
    pub title: &'a str,
    /// x-axis description.
    pub x_label: &'a str,
    /// y-axis description.
    pub y_label: &'a str,
    /// The lines.
    pub series: &'a [Series],
    /// A dashed horizontal line at a y value, with its legend label (e.g. a noise floor).
    pub reference: Option<(f64, &'a str)>,
}

/// Registers the embedded font once per process; plotters keeps it in a global table.
fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded DejaVu Sans font could not be loaded".into())
    }
}

/// Writes `chart` as a PNG to `path`.
pub fn write_log_log(path: &Path, chart: &LogLogChart<'_>) -> Result<(), CliError> {
    draw(path, chart).map_err(|message| CliError::File {
        path: path.to_path_buf(),
        message: format!("plot: {message}"),
    })
}

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn plottable(p: &(f64, f64)) -> bool {
    p.0.is_finite() && p.0 > 0.0 && p.1.is_finite() && p.1 > 0.0
}

/// A log range around `values` with some head room; a decade around 1 when there is nothing
/// to show, so an empty chart still draws its axes.
fn log_range(values: impl Iterator<Item = f64>, pad: f64) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return 1.0..10.0;
    }
    let pad = if hi / lo < 4.0 { pad.max(2.0) } else { pad };
    lo / pad..hi * pad
}

/// Tick positions on a log axis: (labelled, grid-only). Labels at 1, 2, 5 per decade when the
/// axis spans at most three decades, else at powers of ten only (every other one past eight
/// decades) so labels never collide; grid lines at every m·10ᵏ.
fn log_ticks(range: &std::ops::Range<f64>) -> (Vec<f64>, Vec<f64>) {
    let decades = (range.end / range.start).log10();
    let mantissas: &[u32] = if decades <= 3.0 { &[1, 2, 5] } else { &[1] };
    let stride = if decades > 8.0 { 2 } else { 1 };
    let (k0, k1) = (
        range.start.log10().floor() as i32,
        range.end.log10().ceil() as i32,
    );
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    for k in k0..=k1 {
        for m in 1..=9u32 {
            let v = format!("{m}e{k}").parse::<f64>().expect("a float literal");
            if !range.contains(&v) {
                continue;
            }
            light.push(v);
            if mantissas.contains(&m) && (k - k0) % stride == 0 {
                bold.push(v);
            }
        }
    }
    (bold, light)
}

/// Tick labels: plain numbers where they are short, otherwise scientific notation.
fn tick(v: f64) -> String {
    if (1.0..1e5).contains(&v) {
        format!("{v:.0}")
    } else if (0.01..1.0).contains(&v) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    } else {
        format!("{v:.0e}")
    }
}

fn draw(path: &Path, c: &LogLogChart<'_>) -> Result<(), String> {
    ensure_font()?;
    let lines: Vec<Vec<(f64, f64)>> = c
        .series
        .iter()
        .map(|s| s.points.iter().copied().filter(plottable).collect())
        .collect();
    let all = || lines.iter().flatten();
    let x_range = log_range(all().map(|p| p.0), 1.25);
    let reference = c.reference.filter(|r| r.0.is_finite() && r.0 > 0.0);
    let y_range = log_range(all().map(|p| p.1).chain(reference.map(|r| r.0)), 2.0);

    let (x_bold, x_light) = log_ticks(&x_range);
    let (y_bold, y_light) = log_ticks(&y_range);

    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let (chart_area, legend_area) = root.split_horizontally(CHART_WIDTH);
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(c.title, (FONT, 26))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(
            x_range
                .clone()
                .log_scale()
                .with_key_points(x_bold)
                .with_light_points(x_light),
            y_range
                .clone()
                .log_scale()
                .with_key_points(y_bold)
                .with_light_points(y_light),
        )
        .map_err(text)?;
    chart
        .configure_mesh()
        .x_desc(c.x_label)
        .y_desc(c.y_label)
        .label_style((FONT, 17))
        .axis_desc_style((FONT, 20))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(text)?;

    for (i, points) in lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(text)?;
        for &p in points {
            draw_marker(chart.plotting_area(), p, marker_of(i), colour)?;
        }
    }
    if let Some((y, _)) = reference {
        chart
            .draw_series(DashedLineSeries::new(
                [(x_range.start, y), (x_range.end, y)],
                10,
                6,
                BLACK.stroke_width(2),
            ))
            .map_err(text)?;
    }
    if lines.iter().all(Vec::is_empty) {
        chart_area
            .draw(&Text::new(
                "no finite values to plot",
                (CHART_WIDTH as i32 / 2 - 110, SIZE.1 as i32 / 2),
                (FONT, 22),
            ))
            .map_err(text)?;
    }
    draw_legend(&legend_area, c, reference.is_some())?;
    root.present().map_err(text)
}

/// Series 0–9 take circles, 10–19 triangles, 20–29 squares, 30–39 crosses, each block through
/// the 10 colours: (colour, marker) stays distinct for 40 series.
fn marker_of(i: usize) -> u8 {
    ((i / COLOURS.len()) % 4) as u8
}

/// Draws one data-point marker (circle, triangle, square or cross) at `at` in `area`'s
/// coordinates: the chart's plotting area for data, the legend column for its key.
fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    shape: u8,
    colour: RGBColor,
) -> Result<(), String>
where
    CT::From: Clone + 'static,
{
    const R: i32 = 5;
    let fill = colour.filled();
    match shape {
        0 => area.draw(&Circle::new(at, R, fill)),
        1 => area.draw(&TriangleMarker::new(at, R + 1, fill)),
        2 => area.draw(
            &(EmptyElement::at(at) + Rectangle::new([(-R + 1, -R + 1), (R - 1, R - 1)], fill)),
        ),
        _ => area.draw(&Cross::new(at, R, colour.stroke_width(2))),
    }
    .map_err(text)
}

fn draw_legend(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    c: &LogLogChart<'_>,
    has_reference: bool,
) -> Result<(), String> {
    let row = 24;
    let top = 70;
    for (i, s) in c.series.iter().enumerate() {
        let y = top + row * i as i32;
        let colour = COLOURS[i % COLOURS.len()];
        area.draw(&PathElement::new([(8, y), (44, y)], colour.stroke_width(2)))
            .map_err(text)?;
        draw_marker(area, (26, y), marker_of(i), colour)?;
        area.draw(&Text::new(s.label.as_str(), (52, y - 9), (FONT, 17)))
            .map_err(text)?;
    }
    if let (true, Some((_, label))) = (has_reference, c.reference) {
        let y = top + row * c.series.len() as i32;
        for x in [8, 22, 36] {
            area.draw(&PathElement::new(
                [(x, y), (x + 8, y)],
                BLACK.stroke_width(2),
            ))
            .map_err(text)?;
        }
        area.draw(&Text::new(label, (52, y - 9), (FONT, 17)))
            .map_err(text)?;
    }
    Ok(())
}
