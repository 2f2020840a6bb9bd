//! The walidata report (`satu report`): per OPD, its pipelines and datasets, the last successful
//! delivery, freshness against each dataset's declared frequency (on time, late, never
//! delivered), the last run's outcome and why rows were rejected. Rendered as rows (for the
//! terminal table), CSV, or one self-contained HTML page readable on a phone.

mod html;

use chrono::{DateTime, FixedOffset, Offset, TimeDelta, Utc};
use satu_config::{Deployment, Frequency};
use satu_warehouse::{RunRecord, Warehouse, WarehouseError};

/// How fresh a pipeline's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// Delivered within the expected interval.
    OnTime,
    /// The last delivery is older than the expected interval.
    Late,
    /// Never delivered successfully.
    Never,
}

impl Freshness {
    /// The code used in CSV and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::OnTime => "on_time",
            Self::Late => "late",
            Self::Never => "never",
        }
    }

    /// The label the walidata reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::OnTime => "Tepat waktu",
            Self::Late => "Terlambat",
            Self::Never => "Belum pernah dikirim",
        }
    }
}

/// One pipeline's line in the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    /// The OPD's code.
    pub opd: String,
    /// The OPD's name.
    pub opd_name: String,
    /// The pipeline.
    pub pipeline: String,
    /// The dataset it feeds (canonical targets) or the table it replicates (`dw.<table>`).
    pub dataset: String,
    /// The dataset's title, or the pipeline's description.
    pub title: String,
    /// The expected delivery rhythm: the dataset's frequency, or `jadwal` (the schedule) for
    /// replicated tables.
    pub frequency: String,
    /// End of the last successful run, UTC RFC 3339.
    pub last_success: Option<String>,
    /// Days since then.
    pub age_days: Option<f64>,
    /// On time, late or never delivered.
    pub freshness: Freshness,
    /// Outcome of the latest run (`success`, `failed`, `running`) or `never run`.
    pub last_status: String,
    /// The latest run's error.
    pub last_error: Option<String>,
    /// Rows the latest run read.
    pub rows_read: u64,
    /// Rows the latest run rejected.
    pub rows_rejected: u64,
    /// The latest run's rejections by rule, most frequent first.
    pub reject_reasons: Vec<(String, u64)>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// When it was made, in the deployment's zone.
    pub generated_at: DateTime<FixedOffset>,
    /// One line per pipeline, grouped by OPD (in the deployment's order).
    pub deliveries: Vec<Delivery>,
}

/// The days a delivery may be old before it is late: the period of the frequency, plus a day.
fn allowance(frequency: Frequency) -> TimeDelta {
    let days = match frequency {
        Frequency::Harian => 1,
        Frequency::Bulanan => 31,
        Frequency::Triwulanan => 92,
        Frequency::Semesteran => 183,
        Frequency::Tahunan => 366,
    };
    TimeDelta::days(days + 1)
}

/// Builds the report from the deployment and the warehouse's run records, as of `now`.
pub async fn build(d: &Deployment, wh: &dyn Warehouse, now: DateTime<Utc>) -> Result<Report, WarehouseError> {
    let successes = wh.last_successes().await?;
    let latest = wh.last_runs().await?;
    let timetable = satu_scheduler::Timetable::new(d).ok();
    let zone = satu_config::parse_timezone(&d.scheduler.timezone).unwrap_or_else(|_| Utc.fix());
    let mut deliveries = Vec::new();
    for org in &d.organisations {
        for p in d.pipelines.iter().filter(|p| p.opd == org.code) {
            let dataset = p.target.as_ref().and_then(|t| d.datasets.iter().find(|ds| ds.slug == t.dataset));
            // Replicated tables have no declared frequency: they are expected once per scheduled
            // interval (the time between the last two ticks), plus a day.
            let schedule_allowance = || {
                let t = timetable.as_ref()?;
                let last = t.latest_until(&p.name, now)?;
                let before = t.latest_until(&p.name, last.to_utc() - TimeDelta::seconds(1))?;
                Some(last.to_utc() - before.to_utc() + TimeDelta::days(1))
            };
            let allowed = match dataset {
                Some(ds) => allowance(ds.frequency),
                None => schedule_allowance().unwrap_or(TimeDelta::days(2)),
            };
            let success = successes.iter().find(|r| r.pipeline == p.name);
            let finished = success.and_then(|r| r.finished_at.as_deref()).and_then(parse);
            let age = finished.map(|t| now - t);
            let freshness = match age {
                None => Freshness::Never,
                Some(a) if a <= allowed => Freshness::OnTime,
                Some(_) => Freshness::Late,
            };
            let last: Option<&RunRecord> = latest.iter().find(|r| r.pipeline == p.name);
            let reject_reasons = match last {
                // Duplicates are counted apart from rejections.
                Some(r) if r.counts.rejected > 0 => wh
                    .reject_reasons(r.id)
                    .await?
                    .into_iter()
                    .filter(|(rule, _)| rule != "duplikat")
                    .collect(),
                _ => vec![],
            };
            deliveries.push(Delivery {
                opd: org.code.clone(),
                opd_name: org.name.clone(),
                pipeline: p.name.clone(),
                dataset: match (dataset, &p.entity) {
                    (Some(ds), _) => ds.slug.clone(),
                    (None, Some(e)) => format!("dw.{}", e.table),
                    (None, None) => String::new(),
                },
                title: dataset
                    .map(|ds| ds.title.clone())
                    .or_else(|| p.description.clone())
                    .unwrap_or_default(),
                frequency: dataset.map_or("jadwal", |ds| ds.frequency.as_str()).to_string(),
                last_success: success.and_then(|r| r.finished_at.clone()),
                age_days: age.map(|a| (a.num_minutes() as f64 / 1440.0 * 100.0).round() / 100.0),
                freshness,
                last_status: last.map_or("never run".into(), |r| r.status.clone()),
                last_error: last.and_then(|r| r.error.clone()),
                rows_read: last.map_or(0, |r| r.counts.read),
                rows_rejected: last.map_or(0, |r| r.counts.rejected),
                reject_reasons,
            });
        }
    }
    Ok(Report { generated_at: now.with_timezone(&zone), deliveries })
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc())
}

impl Report {
    /// Column names of [`Report::rows`] and the CSV.
    pub const COLUMNS: [&'static str; 12] = [
        "opd",
        "pipeline",
        "dataset",
        "frequency",
        "last_success",
        "age_days",
        "freshness",
        "last_status",
        "rows_read",
        "rows_rejected",
        "reject_reasons",
        "last_error",
    ];

    /// One row of text per delivery, in [`Report::COLUMNS`] order.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.deliveries
            .iter()
            .map(|r| {
                vec![
                    r.opd.clone(),
                    r.pipeline.clone(),
                    r.dataset.clone(),
                    r.frequency.clone(),
                    r.last_success.clone().unwrap_or_default(),
                    r.age_days.map(|a| a.to_string()).unwrap_or_default(),
                    r.freshness.code().to_string(),
                    r.last_status.clone(),
                    r.rows_read.to_string(),
                    r.rows_rejected.to_string(),
                    r.reject_reasons
                        .iter()
                        .map(|(rule, n)| format!("{rule}={n}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    r.last_error.clone().unwrap_or_default(),
                ]
            })
            .collect()
    }

    /// The report as CSV with a header row.
    pub fn csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(Self::COLUMNS)?;
        for row in self.rows() {
            w.write_record(row)?;
        }
        let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// How many deliveries are on time, late and never delivered.
    pub fn tally(&self) -> (usize, usize, usize) {
        let count = |f: Freshness| self.deliveries.iter().filter(|r| r.freshness == f).count();
        (count(Freshness::OnTime), count(Freshness::Late), count(Freshness::Never))
    }

    /// The report as one self-contained HTML page (no external files, scripts or fonts).
    pub fn html(&self) -> String {
        html::render(self)
    }
}
