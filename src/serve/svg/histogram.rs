//! A histogram as a small SVG bar chart.
//!
//! [`draw`] receives a [`Histogram`] and returns SVG markup of a fixed size: one bar per bin,
//! heights scaled to the fullest bin, with the value range written under the axis. Empty bins
//! draw no bar, so a sparse histogram stays readable.

use std::fmt::Write as _;

use super::escape;
use crate::serve::histogram::Histogram;

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 120.0;
const AXIS: f64 = 18.0;

pub fn draw(histogram: &Histogram) -> String {
    let fullest = histogram.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar_width = WIDTH / histogram.counts.len().max(1) as f64;
    let plot_height = HEIGHT - AXIS;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"histogram\" width=\"{WIDTH}\" \
         height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">"
    );
    for (bin, &count) in histogram.counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let height = (count as f64 / fullest * plot_height).max(1.0);
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{height:.2}\"><title>{count}</title></rect>",
            bin as f64 * bar_width,
            plot_height - height,
            (bar_width - 1.0).max(0.5)
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"0\" y1=\"{plot_height}\" x2=\"{WIDTH}\" y2=\"{plot_height}\"/>\
         <text x=\"0\" y=\"{HEIGHT}\" dy=\"-3\">{}</text>\
         <text x=\"{WIDTH}\" y=\"{HEIGHT}\" dy=\"-3\" text-anchor=\"end\">{}</text></svg>",
        escape(&format!("{:.4}", histogram.min)),
        escape(&format!("{:.4}", histogram.max))
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_non_empty_bin_scaled_to_the_fullest() {
        let svg = draw(&Histogram {
            min: -1.0,
            max: 1.0,
            counts: vec![4, 0, 2],
        });
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(svg.contains("height=\"102.00\""), "{svg}");
        assert!(svg.contains("height=\"51.00\""), "{svg}");
        assert!(svg.contains("-1.0000") && svg.contains("1.0000"));
    }
}
