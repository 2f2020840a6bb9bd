//! When each pipeline runs: its cron schedule (or the default) read in the deployment's zone.

use chrono::{DateTime, FixedOffset, Utc};
use satu_config::Deployment;

/// The cron schedules of a deployment, in its time zone (WIB by default).
#[derive(Debug, Clone)]
pub struct Timetable {
    zone: FixedOffset,
    entries: Vec<(String, cron::Schedule)>,
}

impl Timetable {
    /// Reads every pipeline's schedule; fails on the first invalid one or an unknown zone
    /// (`satu check` reports them all).
    pub fn new(d: &Deployment) -> Result<Self, String> {
        let zone = satu_config::parse_timezone(&d.scheduler.timezone)?;
        let entries = d
            .pipelines
            .iter()
            .map(|p| {
                let expr = p.schedule.as_deref().unwrap_or(&d.defaults.schedule);
                satu_config::parse_schedule(expr)
                    .map(|s| (p.name.clone(), s))
                    .map_err(|e| format!("{}: {e}", p.name))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { zone, entries })
    }

    /// The deployment's time zone.
    pub fn zone(&self) -> FixedOffset {
        self.zone
    }

    fn schedule(&self, pipeline: &str) -> Option<&cron::Schedule> {
        self.entries.iter().find(|(n, _)| n == pipeline).map(|(_, s)| s)
    }

    /// The first tick of `pipeline` strictly after `now`, in the deployment's zone.
    pub fn next_after(&self, pipeline: &str, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
        self.schedule(pipeline)?.after(&now.with_timezone(&self.zone)).next()
    }

    /// The latest tick of `pipeline` at or before `now`.
    pub fn latest_until(&self, pipeline: &str, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
        let just_after = now + chrono::TimeDelta::milliseconds(1);
        self.schedule(pipeline)?.after(&just_after.with_timezone(&self.zone)).next_back()
    }

    /// How many ticks of `pipeline` fall in `(from, to]` (counted up to `cap`).
    pub fn ticks_between(&self, pipeline: &str, from: DateTime<Utc>, to: DateTime<Utc>, cap: usize) -> usize {
        let Some(s) = self.schedule(pipeline) else { return 0 };
        s.after(&from.with_timezone(&self.zone)).take_while(|t| t.to_utc() <= to).take(cap).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timetable(zone: &str, schedule: &str) -> Timetable {
        let toml = format!(
            r#"
[scheduler]
timezone = "{zone}"
[[organisation]]
code = "DINKES"
name = "Dinas Kesehatan"
[[pipeline]]
name = "p"
opd = "DINKES"
schedule = "{schedule}"
source = {{ type = "csv", path = "x.csv" }}
"#
        );
        let loaded = satu_config::load_str(&toml, std::path::Path::new("."), &Default::default());
        Timetable::new(&loaded.deployment).expect("valid timetable")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("rfc 3339").to_utc()
    }

    #[test]
    fn nightly_schedules_fire_at_wib_times() {
        let t = timetable("WIB", "0 0 2 * * *");
        // 01:30 WIB on 22 November is 18:30 UTC on the 21st: the next run is at 02:00 WIB.
        let next = t.next_after("p", utc("2026-11-21T18:30:00Z")).expect("a next tick");
        assert_eq!(next.to_rfc3339(), "2026-11-22T02:00:00+07:00");
        assert_eq!(next.to_utc(), utc("2026-11-21T19:00:00Z"));
        // Exactly at a tick, the next is the following night.
        let after = t.next_after("p", next.to_utc()).expect("a next tick");
        assert_eq!(after.to_utc(), utc("2026-11-22T19:00:00Z"));
        // The classic five-field form and other zones.
        let wita = timetable("WITA", "30 23 * * 1");
        let next = wita.next_after("p", utc("2026-11-22T00:00:00Z")).expect("a next tick");
        assert_eq!(next.to_rfc3339(), "2026-11-23T23:30:00+08:00");
    }

    #[test]
    fn missed_and_skipped_ticks() {
        let t = timetable("WIB", "0 0 2 * * *");
        // Down from Friday evening to Monday noon WIB: the latest missed tick is Monday 02:00.
        let latest = t.latest_until("p", utc("2026-11-23T05:00:00Z")).expect("a tick");
        assert_eq!(latest.to_rfc3339(), "2026-11-23T02:00:00+07:00");
        assert_eq!(t.latest_until("p", latest.to_utc()), Some(latest));
        assert_eq!(t.ticks_between("p", utc("2026-11-20T12:00:00Z"), utc("2026-11-23T05:00:00Z"), 100), 3);
        let every_second = timetable("WIB", "* * * * * *");
        assert_eq!(
            every_second.ticks_between("p", utc("2026-11-20T12:00:00Z"), utc("2026-11-20T12:00:05Z"), 100),
            5
        );
    }
}
