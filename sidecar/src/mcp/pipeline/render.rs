//! Chart images: a [`Chart`] drawn as a PNG in Rust (tiny-skia for shapes, ab_glyph for text), so
//! an MCP client that shows images can show the answer. Horizontal bars (long labels stay
//! readable), lines with a legend per series, pies with shares, a single big number, or the first
//! rows of a table. Images are returned inside the authenticated tool result, never served.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontArc, PxScale, ScaleFont};
use serde_json::Value;
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, PremultipliedColorU8, Rect, Stroke, Transform};

use super::analysis::{format_number, format_value, label};
use super::axis::{self, Grain};
use super::chart::{Chart, Kind, number};
use super::i18n::Lang;
use crate::db::questions::QueryResult;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 520;
const MARGIN: f32 = 24.0;
const TOP: f32 = 70.0;
const PALETTE: [(u8, u8, u8); 10] = [
    (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
    (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172),
];
const INK: (u8, u8, u8) = (31, 41, 55);
const MUTED: (u8, u8, u8) = (107, 114, 128);
const GRID: (u8, u8, u8) = (229, 231, 235);

/// Where fonts usually are: DejaVu Sans on Debian and Ubuntu (fonts-dejavu-core), Fedora, Arch.
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Loads the font chart images are drawn with: the configured one (an error if it cannot be
/// read), else the first system font found, else none (answers then come without images).
pub fn load_font(configured: Option<&Path>) -> Result<Option<FontArc>, String> {
    if let Some(path) = configured {
        let bytes = std::fs::read(path).map_err(|e| format!("QUARRY_CHART_FONT: {}: {e}", path.display()))?;
        return FontArc::try_from_vec(bytes).map(Some).map_err(|_| format!("QUARRY_CHART_FONT: {} is not a TrueType font", path.display()));
    }
    let found = FONT_PATHS.iter().map(PathBuf::from).find_map(|path| FontArc::try_from_vec(std::fs::read(path).ok()?).ok());
    if found.is_none() {
        tracing::warn!("no font for chart images (install fonts-dejavu-core or set QUARRY_CHART_FONT); answers will come without images");
    }
    Ok(found)
}

#[derive(Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

struct Canvas<'a> {
    pixmap: Pixmap,
    font: &'a FontArc,
}

fn rgb((r, g, b): (u8, u8, u8)) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color_rgba8(r, g, b, 255);
    paint.anti_alias = true;
    paint
}

impl<'a> Canvas<'a> {
    fn new(font: &'a FontArc) -> Option<Canvas<'a>> {
        let mut pixmap = Pixmap::new(WIDTH, HEIGHT)?;
        pixmap.fill(Color::WHITE);
        Some(Canvas { pixmap, font })
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (u8, u8, u8)) {
        if let Some(r) = Rect::from_xywh(x, y, w.max(0.5), h.max(0.5)) {
            self.pixmap.fill_rect(r, &rgb(color), Transform::identity(), None);
        }
    }

    fn polyline(&mut self, points: &[(f32, f32)], width: f32, color: (u8, u8, u8)) {
        let mut path = PathBuilder::new();
        for (i, (x, y)) in points.iter().enumerate() {
            if i == 0 { path.move_to(*x, *y) } else { path.line_to(*x, *y) }
        }
        if let Some(path) = path.finish() {
            let stroke = Stroke { width, ..Stroke::default() };
            self.pixmap.stroke_path(&path, &rgb(color), &stroke, Transform::identity(), None);
        }
    }

    fn dot(&mut self, x: f32, y: f32, r: f32, color: (u8, u8, u8)) {
        if let Some(path) = PathBuilder::from_circle(x, y, r) {
            self.pixmap.fill_path(&path, &rgb(color), FillRule::Winding, Transform::identity(), None);
        }
    }

    /// A pie wedge from angle `a0` to `a1` (radians, clockwise from twelve o'clock).
    fn wedge(&mut self, cx: f32, cy: f32, r: f32, a0: f32, a1: f32, color: (u8, u8, u8)) {
        let mut path = PathBuilder::new();
        path.move_to(cx, cy);
        let steps = (((a1 - a0) / 0.02).ceil() as usize).max(1);
        for i in 0..=steps {
            let a = a0 + (a1 - a0) * i as f32 / steps as f32;
            path.line_to(cx + r * a.sin(), cy - r * a.cos());
        }
        path.close();
        if let Some(path) = path.finish() {
            self.pixmap.fill_path(&path, &rgb(color), FillRule::Winding, Transform::identity(), None);
        }
    }

    fn text_width(&self, text: &str, size: f32) -> f32 {
        let font = self.font.as_scaled(PxScale::from(size));
        let mut width = 0.0;
        let mut previous = None;
        for ch in text.chars() {
            let id = font.glyph_id(ch);
            if let Some(p) = previous {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            previous = Some(id);
        }
        width
    }

    /// `text` cut with an ellipsis to fit `max` pixels.
    fn fit(&self, text: &str, size: f32, max: f32) -> String {
        if self.text_width(text, size) <= max {
            return text.to_string();
        }
        let mut out: String = text.to_string();
        while !out.is_empty() && self.text_width(&format!("{out}…"), size) > max {
            out.pop();
        }
        format!("{out}…")
    }

    /// Draws text with its baseline at `y`.
    fn text(&mut self, text: &str, x: f32, y: f32, size: f32, color: (u8, u8, u8), anchor: Anchor) {
        let width = self.text_width(text, size);
        let mut caret = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - width / 2.0,
            Anchor::End => x - width,
        };
        let scale = PxScale::from(size);
        let font = self.font.as_scaled(scale);
        let (w, h) = (self.pixmap.width() as i32, self.pixmap.height() as i32);
        let mut previous = None;
        for ch in text.chars() {
            let id = font.glyph_id(ch);
            if let Some(p) = previous {
                caret += font.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, y));
            caret += font.h_advance(id);
            previous = Some(id);
            let Some(outline) = self.font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            let pixels = self.pixmap.pixels_mut();
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i32 + gx as i32;
                let py = bounds.min.y as i32 + gy as i32;
                if px < 0 || py < 0 || px >= w || py >= h {
                    return;
                }
                let pixel = &mut pixels[(py * w + px) as usize];
                let c = coverage.clamp(0.0, 1.0);
                let mix = |dst: u8, src: u8| (src as f32 * c + dst as f32 * (1.0 - c)).round() as u8;
                if let Some(p) = PremultipliedColorU8::from_rgba(mix(pixel.red(), color.0), mix(pixel.green(), color.1), mix(pixel.blue(), color.2), 255) {
                    *pixel = p;
                }
            });
        }
    }

    fn title(&mut self, title: &str) {
        let fitted = self.fit(title, 20.0, WIDTH as f32 - 2.0 * MARGIN);
        self.text(&fitted, MARGIN, 40.0, 20.0, INK, Anchor::Start);
    }

    fn png(self) -> Option<Vec<u8>> {
        self.pixmap.encode_png().ok()
    }
}

/// A compact axis label: 1.2M, 35k, 12.5.
fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else {
        format_number(v)
    }
}

fn column(result: &QueryResult, name: Option<&str>) -> Option<usize> {
    name.and_then(|n| result.columns.iter().position(|c| c.name == n))
}

/// Draws a chart of a result as a PNG, headed by `title`, with dates written in `lang`; None when
/// it cannot be drawn.
pub fn png(chart: &Chart, result: &QueryResult, title: &str, lang: Lang, font: &FontArc) -> Option<Vec<u8>> {
    let mut canvas = Canvas::new(font)?;
    canvas.title(title);
    let x = column(result, chart.x.as_deref());
    let y = column(result, chart.y.as_deref());
    match (chart.kind, x, y) {
        (Kind::SingleValue, _, Some(y)) => single(&mut canvas, result, x, y),
        (Kind::Bar, Some(x), Some(y)) => bars(&mut canvas, result, x, y),
        (Kind::Line, Some(x), Some(y)) => lines(&mut canvas, result, x, y, column(result, chart.series.as_deref()), lang),
        (Kind::Pie, Some(x), Some(y)) => pie(&mut canvas, result, x, y),
        _ => table(&mut canvas, result),
    }
    canvas.png()
}

fn single(c: &mut Canvas, result: &QueryResult, x: Option<usize>, y: usize) {
    let row = &result.rows[0];
    let value = format_value(&row[y]);
    let size = if value.chars().count() > 14 { 56.0 } else { 80.0 };
    c.text(&value, WIDTH as f32 / 2.0, 290.0, size, PALETTE[0], Anchor::Middle);
    let caption = match x {
        Some(x) => format!("{} · {}", format_value(&row[x]), label(&result.columns[y].name)),
        None => label(&result.columns[y].name),
    };
    let caption = c.fit(&caption, 22.0, WIDTH as f32 - 2.0 * MARGIN);
    c.text(&caption, WIDTH as f32 / 2.0, 345.0, 22.0, MUTED, Anchor::Middle);
}

fn bars(c: &mut Canvas, result: &QueryResult, x: usize, y: usize) {
    let points: Vec<(String, f64)> = result.rows.iter().take(25).filter_map(|r| Some((format_value(&r[x]), number(&r[y])?))).collect();
    if points.is_empty() {
        return;
    }
    let label_width = points.iter().map(|(l, _)| c.text_width(l, 13.0)).fold(0.0, f32::max).min(260.0);
    let x0 = MARGIN + label_width + 10.0;
    let x1 = WIDTH as f32 - 110.0;
    let lo = points.iter().map(|p| p.1).fold(0.0, f64::min);
    let hi = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let span = if hi - lo == 0.0 { 1.0 } else { hi - lo };
    let scale = |v: f64| x0 + ((v - lo) / span) as f32 * (x1 - x0);
    let slot = (HEIGHT as f32 - TOP - 30.0) / points.len() as f32;
    let bar = (slot * 0.7).min(36.0);
    for (i, (name, v)) in points.iter().enumerate() {
        let top = TOP + i as f32 * slot + (slot - bar) / 2.0;
        let (a, b) = (scale(0.0_f64.max(lo)), scale(*v));
        c.rect(a.min(b), top, (b - a).abs(), bar, PALETTE[0]);
        let baseline = top + bar / 2.0 + 5.0;
        let name = c.fit(name, 13.0, label_width);
        c.text(&name, x0 - 8.0, baseline, 13.0, INK, Anchor::End);
        c.text(&compact(*v), a.max(b) + 6.0, baseline, 13.0, MUTED, Anchor::Start);
    }
}

fn lines(c: &mut Canvas, result: &QueryResult, x: usize, y: usize, series: Option<usize>, lang: Lang) {
    // The x values in order of first appearance, and each series' points along them.
    let mut xs: Vec<&Value> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut points: Vec<Vec<(usize, f64)>> = Vec::new();
    for r in &result.rows {
        let Some(v) = number(&r[y]) else { continue };
        let xi = match xs.iter().position(|v| *v == &r[x]) {
            Some(i) => i,
            None => {
                xs.push(&r[x]);
                xs.len() - 1
            }
        };
        let name = series.map(|s| format_value(&r[s])).unwrap_or_default();
        let si = match names.iter().position(|n| *n == name) {
            Some(i) => i,
            None if names.len() < PALETTE.len() => {
                names.push(name);
                points.push(Vec::new());
                names.len() - 1
            }
            None => continue,
        };
        points[si].push((xi, v));
    }
    if xs.is_empty() {
        return;
    }
    let legend = series.is_some();
    let (x0, x1) = (80.0, WIDTH as f32 - if legend { 190.0 } else { 30.0 });
    let (y0, y1) = (TOP, HEIGHT as f32 - 60.0);
    let values = points.iter().flatten().map(|p| p.1);
    let (mut lo, hi) = values.clone().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if lo > 0.0 && lo < hi * 0.5 {
        lo = 0.0;
    }
    // The value axis runs from one round tick to another.
    let ticks = axis::nice_ticks(lo, hi, 5);
    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    let span = if hi - lo == 0.0 { 1.0 } else { hi - lo };
    let sx = |i: usize| if xs.len() == 1 { (x0 + x1) / 2.0 } else { x0 + (x1 - x0) * i as f32 / (xs.len() - 1) as f32 };
    let sy = |v: f64| y1 - ((v - lo) / span) as f32 * (y1 - y0);
    for v in ticks {
        let gy = sy(v);
        c.rect(x0, gy, x1 - x0, 1.0, GRID);
        c.text(&compact(v), x0 - 8.0, gy + 4.0, 12.0, MUTED, Anchor::End);
    }
    // Dates as the series' grain says ("Jan 2025"), in the asker's language.
    let grain = axis::grain(&result.columns[x].name, xs.iter().copied()).filter(|g| *g != Grain::Time);
    let x_label = |v: &Value| match grain {
        Some(g) => axis::date_label(v, g, lang),
        None => format_value(v),
    };
    let ticks: Vec<usize> = if xs.len() <= 6 { (0..xs.len()).collect() } else { vec![0, xs.len() / 2, xs.len() - 1] };
    for i in ticks {
        c.text(&x_label(xs[i]), sx(i), y1 + 22.0, 12.0, MUTED, Anchor::Middle);
    }
    for (si, series_points) in points.iter().enumerate() {
        let color = PALETTE[si % PALETTE.len()];
        let line: Vec<(f32, f32)> = series_points.iter().map(|(i, v)| (sx(*i), sy(*v))).collect();
        c.polyline(&line, 2.5, color);
        if line.len() <= 60 {
            for (px, py) in &line {
                c.dot(*px, *py, 3.5, color);
            }
        }
        if legend {
            let ly = TOP + 10.0 + si as f32 * 24.0;
            c.rect(x1 + 20.0, ly - 10.0, 14.0, 14.0, color);
            let name = c.fit(&names[si], 13.0, 130.0);
            c.text(&name, x1 + 42.0, ly + 2.0, 13.0, INK, Anchor::Start);
        }
    }
}

fn pie(c: &mut Canvas, result: &QueryResult, x: usize, y: usize) {
    let parts: Vec<(String, f64)> = result.rows.iter().filter_map(|r| Some((format_value(&r[x]), number(&r[y])?))).filter(|p| p.1 > 0.0).collect();
    let total: f64 = parts.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return;
    }
    let (cx, cy, r) = (300.0, (TOP + HEIGHT as f32) / 2.0, 190.0);
    let mut angle = 0.0_f32;
    for (i, (name, v)) in parts.iter().enumerate() {
        let sweep = (*v / total) as f32 * std::f32::consts::TAU;
        let color = PALETTE[i % PALETTE.len()];
        c.wedge(cx, cy, r, angle, angle + sweep, color);
        angle += sweep;
        let ly = TOP + 40.0 + i as f32 * 30.0;
        c.rect(560.0, ly - 12.0, 16.0, 16.0, color);
        let text = format!("{} · {:.1}%", c.fit(name, 15.0, 220.0), v / total * 100.0);
        c.text(&text, 586.0, ly + 2.0, 15.0, INK, Anchor::Start);
    }
}

fn table(c: &mut Canvas, result: &QueryResult) {
    let columns = result.columns.len().min(6);
    if columns == 0 {
        return;
    }
    let width = (WIDTH as f32 - 2.0 * MARGIN) / columns as f32;
    let row_height = 28.0;
    c.rect(MARGIN, TOP - 6.0, WIDTH as f32 - 2.0 * MARGIN, row_height, GRID);
    for (i, col) in result.columns.iter().take(columns).enumerate() {
        let name = c.fit(&col.name, 13.0, width - 12.0);
        c.text(&name, MARGIN + 6.0 + i as f32 * width, TOP + 13.0, 13.0, INK, Anchor::Start);
    }
    for (r, row) in result.rows.iter().take(14).enumerate() {
        let baseline = TOP + 13.0 + (r + 1) as f32 * row_height;
        for (i, v) in row.iter().take(columns).enumerate() {
            let text = c.fit(&format_value(v), 13.0, width - 12.0);
            c.text(&text, MARGIN + 6.0 + i as f32 * width, baseline, 13.0, INK, Anchor::Start);
        }
        c.rect(MARGIN, baseline + 9.0, WIDTH as f32 - 2.0 * MARGIN, 1.0, GRID);
    }
    if result.rows.len() > 14 {
        let more = format!("… {} more rows", result.rows.len() - 14);
        c.text(&more, MARGIN, HEIGHT as f32 - 16.0, 13.0, MUTED, Anchor::Start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::pipeline::chart::choose;
    use serde_json::json;

    #[test]
    fn charts_render_to_png() {
        let font = load_font(None).unwrap().expect("DejaVu Sans (fonts-dejavu-core, installed by scripts/deps.sh)");
        let result = QueryResult::of(&[("region", "text"), ("revenue", "numeric")], vec![vec![json!("EMEA"), json!(10.5)], vec![json!("North America"), json!(20)]]);
        for question in ["revenue by region", "share of revenue by region"] {
            let chart = choose(&result, question, Lang::En);
            let png = png(&chart, &result, question, Lang::En, &font).expect("a PNG");
            assert_eq!(&png[1..4], b"PNG");
            // Something was drawn besides the white background.
            let decoded = Pixmap::decode_png(&png).unwrap();
            assert!(decoded.pixels().iter().any(|p| p.red() < 200 && p.blue() > 100));
        }
    }

    #[test]
    fn monthly_lines_render_with_round_ticks() {
        let font = load_font(None).unwrap().expect("DejaVu Sans (fonts-dejavu-core, installed by scripts/deps.sh)");
        let result = QueryResult::of(
            &[("month", "date"), ("revenue", "numeric")],
            (1..=12).map(|m| vec![json!(format!("2025-{m:02}-01")), json!(1200.0 + 315.625 * m as f64)]).collect(),
        );
        for lang in [Lang::En, Lang::ZhCn, Lang::KoKr] {
            let chart = choose(&result, "revenue by month", lang);
            assert_eq!(chart.kind, Kind::Line);
            let png = png(&chart, &result, "revenue by month", lang, &font).expect("a PNG");
            assert_eq!(&png[1..4], b"PNG");
        }
    }

    #[test]
    fn compact_labels() {
        assert_eq!(compact(1_234_567.0), "1.2M");
        assert_eq!(compact(35_000.0), "35k");
        assert_eq!(compact(12.5), "12.5");
    }
}
