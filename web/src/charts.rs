//! The report's charts, drawn server-side as SVG with `plotters` (its SVG backend only: text is
//! written as SVG `<text>` for the browser to set, so no font files are needed). Pages show them
//! with `<img>`, so the page's Content-Security-Policy stays strict.

use plotters::prelude::*;

/// Chart size in pixels.
const SIZE: (u32, u32) = (640, 320);

/// Severity colours, matching the stylesheet.
pub fn severity_color(severity: &str) -> RGBColor {
    match severity {
        "critical" => RGBColor(179, 0, 27),
        "high" => RGBColor(217, 72, 15),
        "medium" => RGBColor(176, 136, 0),
        "low" => RGBColor(47, 111, 62),
        _ => RGBColor(91, 100, 117),
    }
}

/// A named line.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// One value per label.
    pub values: Vec<f64>,
}

fn failed(err: impl std::fmt::Display) -> String {
    format!("chart: {err}")
}

/// A line chart of `series` over the `labels` (periods), with `y_desc` on the vertical axis.
pub fn lines(title: &str, labels: &[String], series: &[Series], y_desc: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let top = series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0_f64, f64::max)
            .max(1.0)
            * 1.15;
        let last = labels.len().saturating_sub(1).max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.2_f64..last + 0.2, 0.0_f64..top)
            .map_err(failed)?;
        let label_of = |x: &f64| {
            let index = x.round();
            if (x - index).abs() > 0.01 || index < 0.0 {
                return String::new();
            }
            labels.get(index as usize).cloned().unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(labels.len().max(2))
            .x_label_formatter(&label_of)
            .y_desc(y_desc)
            .draw()
            .map_err(failed)?;
        for line in series {
            let color = line.color;
            let points: Vec<(f64, f64)> = line.values.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(failed)?
                .label(line.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            chart
                .draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(failed)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// A bar chart of percentages, one bar per `(label, percent, colour)`; `None` draws no bar (no data).
pub fn percent_bars(title: &str, bars: &[(String, Option<f64>, RGBColor)]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let n = bars.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0_f64..n, 0.0_f64..100.0)
            .map_err(failed)?;
        let label_of = |x: &f64| {
            let slot = x - 0.5;
            let index = slot.round();
            if (slot - index).abs() > 0.01 || index < 0.0 {
                return String::new();
            }
            bars.get(index as usize).map(|b| b.0.clone()).unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len() * 2 + 1)
            .x_label_formatter(&label_of)
            .y_desc("% within SLA")
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(bars.iter().enumerate().filter_map(|(i, (_, value, color))| {
                let x = i as f64;
                value.map(|v| Rectangle::new([(x + 0.2, 0.0), (x + 0.8, v)], color.filled()))
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_is_svg_with_its_data_drawn() {
        let labels = vec!["Jan".to_owned(), "Feb".to_owned(), "Mar".to_owned()];
        let series = [Series {
            name: "critical".into(),
            color: severity_color("critical"),
            values: vec![1.0, 4.0, 2.0],
        }];
        let svg = lines("Open alerts", &labels, &series, "alerts").unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<polyline"), "the line is drawn");
        assert!(svg.contains("Feb"), "periods label the axis");
        assert!(svg.contains("critical"), "the legend names the series");
    }

    #[test]
    fn bars_are_drawn_only_where_there_is_data() {
        let bars = vec![
            ("critical".to_owned(), Some(50.0), severity_color("critical")),
            ("low".to_owned(), None, severity_color("low")),
        ];
        let with_one = percent_bars("SLA", &bars).unwrap_or_default();
        let none: Vec<_> = bars.iter().map(|(l, _, c)| (l.clone(), None, *c)).collect();
        let without = percent_bars("SLA", &none).unwrap_or_default();
        assert_eq!(
            with_one.matches("<rect").count(),
            without.matches("<rect").count() + 1,
            "{with_one}"
        );
    }
}
