//! The dashboard's chart: bounces per day for the last 30 days, stacked by
//! type, as server-rendered SVG (no chart library, nothing to download).
//! Geometry is computed here; the template only writes it out. Every bar
//! segment carries its day, type and count (`data-*` and a `<title>`
//! tooltip), and the numbers are also given as a table for screen readers.

use chrono::{Duration, NaiveDate};
use rebound_core::BounceType;
use rebound_store::DailyBounces;

pub const DAYS: i64 = 30;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

pub struct Chart {
    pub width: String,
    pub height: String,
    pub plot_left: String,
    pub plot_right: String,
    pub baseline: String,
    /// Where the y axis labels end and the x axis labels sit.
    pub y_label_x: String,
    pub x_label_y: String,
    pub bars: Vec<Bar>,
    pub y_ticks: Vec<Tick>,
    pub x_labels: Vec<Tick>,
    pub totals: Vec<TypeTotal>,
    pub total: i64,
    pub summary: String,
    /// The days that had bounces, for the table.
    pub rows: Vec<DayRow>,
}

pub struct Bar {
    pub day: String,
    pub total: i64,
    pub segments: Vec<Segment>,
}

pub struct Segment {
    pub kind: &'static str,
    pub count: i64,
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub title: String,
}

pub struct Tick {
    pub pos: String,
    pub label: String,
}

pub struct TypeTotal {
    pub kind: &'static str,
    pub count: i64,
}

pub struct DayRow {
    pub day: String,
    pub soft: i64,
    pub hard: i64,
    pub complaint: i64,
    pub total: i64,
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// The smallest 1, 2 or 5 times a power of ten that is >= `max` (at least 4),
/// so the y axis gets round tick values.
fn nice_max(max: i64) -> i64 {
    let max = max.max(4);
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max {
                return m * step;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// How many equal steps divide a `nice_max` value into round numbers:
/// 5 -> 1,2,3,4,5; 20 -> 5,10,15,20; 50 -> 10,20,...
fn tick_steps(top: i64) -> i64 {
    let is_nice = |v: i64| {
        let mut v = v;
        while v >= 10 && v % 10 == 0 {
            v /= 10;
        }
        matches!(v, 1 | 2 | 5)
    };
    [5, 4].into_iter().find(|d| top % d == 0 && is_nice(top / d)).unwrap_or(1)
}

/// A chart of the `DAYS` days ending on `today` (UTC).
pub fn build(data: &[DailyBounces], today: NaiveDate) -> Chart {
    let first = today - Duration::days(DAYS - 1);
    let days: Vec<NaiveDate> = (0..DAYS).map(|i| first + Duration::days(i)).collect();
    let count = |d: NaiveDate, t: BounceType| {
        data.iter().filter(|r| r.day == d && r.bounce_type == t).map(|r| r.count).sum::<i64>()
    };
    let per_day: Vec<[i64; 3]> = days.iter().map(|d| BounceType::ALL.map(|t| count(*d, t))).collect();
    let max = per_day.iter().map(|c| c.iter().sum::<i64>()).max().unwrap_or(0);
    let top = nice_max(max) as f64;

    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / DAYS as f64;
    let bar_w = slot * 0.7;
    let baseline = TOP + plot_h;

    let mut bars = Vec::new();
    let mut rows = Vec::new();
    for (d, counts) in days.iter().zip(&per_day) {
        let x = LEFT + slot * (*d - first).num_days() as f64 + (slot - bar_w) / 2.0;
        let mut y = baseline;
        let mut segments = Vec::new();
        for (t, n) in BounceType::ALL.iter().zip(counts) {
            if *n == 0 {
                continue;
            }
            let h = plot_h * (*n as f64) / top;
            y -= h;
            segments.push(Segment {
                kind: t.as_str(),
                count: *n,
                x: f(x),
                y: f(y),
                w: f(bar_w),
                h: f(h),
                title: format!("{}: {n} {}", d.format("%b %-d"), t.as_str()),
            });
        }
        let total: i64 = counts.iter().sum();
        if total > 0 {
            rows.push(DayRow {
                day: d.format("%Y-%m-%d").to_string(),
                soft: counts[0],
                hard: counts[1],
                complaint: counts[2],
                total,
            });
        }
        bars.push(Bar { day: d.format("%Y-%m-%d").to_string(), total, segments });
    }

    let steps = tick_steps(top as i64);
    let y_ticks = (0..=steps)
        .map(|i| {
            let v = top as i64 / steps * i;
            Tick { pos: f(baseline - plot_h * v as f64 / top), label: v.to_string() }
        })
        .collect();
    // Every fifth day, counted back from today so today is always labelled.
    let x_labels = days
        .iter()
        .enumerate()
        .filter(|(i, _)| (DAYS as usize - 1 - i).is_multiple_of(5))
        .map(|(i, d)| Tick { pos: f(LEFT + slot * (i as f64 + 0.5)), label: d.format("%b %-d").to_string() })
        .collect();
    let totals: Vec<TypeTotal> = BounceType::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| TypeTotal { kind: t.as_str(), count: per_day.iter().map(|c| c[i]).sum() })
        .collect();
    let total = totals.iter().map(|t| t.count).sum();
    let summary = format!(
        "Bounces per day from {} to {}: {} in all ({}).",
        first.format("%b %-d"),
        today.format("%b %-d"),
        total,
        totals.iter().map(|t| format!("{} {}", t.count, t.kind)).collect::<Vec<_>>().join(", ")
    );
    Chart {
        width: f(WIDTH),
        height: f(HEIGHT),
        plot_left: f(LEFT),
        plot_right: f(WIDTH - RIGHT),
        baseline: f(baseline),
        y_label_x: f(LEFT - 6.0),
        x_label_y: f(baseline + 18.0),
        bars,
        y_ticks,
        x_labels,
        totals,
        total,
        summary,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0), 5);
        assert_eq!(nice_max(4), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(200), 200);
        assert_eq!(nice_max(201), 500);
        for (top, steps) in [(5, 5), (10, 5), (20, 4), (50, 5), (100, 5), (200, 4), (500, 5)] {
            assert_eq!(tick_steps(top), steps, "{top}");
        }
    }

    #[test]
    fn stacks_by_type_on_the_right_day() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 30).unwrap();
        let data = vec![
            DailyBounces { day: today, bounce_type: BounceType::Soft, count: 2 },
            DailyBounces { day: today, bounce_type: BounceType::Hard, count: 3 },
            DailyBounces { day: today - Duration::days(29), bounce_type: BounceType::Complaint, count: 1 },
            // Outside the window: ignored.
            DailyBounces { day: today - Duration::days(30), bounce_type: BounceType::Hard, count: 9 },
        ];
        let c = build(&data, today);
        assert_eq!(c.bars.len(), 30);
        assert_eq!(c.bars[0].day, "2026-05-01");
        assert_eq!(c.bars[0].segments.len(), 1);
        assert_eq!(c.bars[0].segments[0].kind, "complaint");
        let last = c.bars.last().unwrap();
        assert_eq!((last.day.as_str(), last.total), ("2026-05-30", 5));
        let kinds: Vec<_> = last.segments.iter().map(|s| (s.kind, s.count)).collect();
        assert_eq!(kinds, vec![("soft", 2), ("hard", 3)]);
        // Soft sits on the baseline, hard on top of it.
        let soft_y: f64 = last.segments[0].y.parse().unwrap();
        let hard_y: f64 = last.segments[1].y.parse().unwrap();
        assert!(hard_y < soft_y);
        assert_eq!(c.total, 6);
        assert_eq!(c.rows.len(), 2);
        let labels: Vec<_> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5"]);
        assert_eq!(c.x_labels.last().unwrap().label, "May 30");
    }
}
