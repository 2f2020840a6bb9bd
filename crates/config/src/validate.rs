//! Pure validation of a deployment: structure, names, references, schedules and rules.

use crate::model::*;
use crate::problems::{deserialize_at, join, suggest, Problems};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const SECTIONS: [&str; 9] = [
    "warehouse",
    "defaults",
    "landing",
    "scheduler",
    "organisation",
    "dataset",
    "indicator",
    "dimension",
    "pipeline",
];

/// A deployment with nothing in it, for files that could not be read at all.
pub(crate) fn empty(base_dir: PathBuf) -> Deployment {
    Deployment {
        base_dir,
        warehouse: WarehouseConfig::default(),
        defaults: Defaults::default(),
        landing: LandingConfig::default(),
        scheduler: crate::SchedulerConfig::default(),
        organisations: vec![],
        datasets: vec![],
        indicators: vec![],
        dimensions: vec![],
        pipelines: vec![],
    }
}

/// Parses a cron schedule: 6 or 7 fields (with seconds), or the classic 5 (minute first, where
/// day-of-week numbers mean 0 or 7 = Sunday, 1 = Monday, as in crontab).
pub fn parse_schedule(expr: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let full = match fields.as_slice() {
        [min, hour, dom, month, dow] => format!("0 {min} {hour} {dom} {month} {}", crontab_days(dow)),
        _ => expr.to_string(),
    };
    cron::Schedule::from_str(&full).map_err(|e| format!("invalid cron schedule `{expr}`: {e}"))
}

/// Crontab's day-of-week numbers as names (the cron crate numbers Sunday 1): `1-5` → `MON-FRI`.
/// Step values (`*/2`) stay numbers.
fn crontab_days(field: &str) -> String {
    const DAYS: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let mut out = String::new();
    let mut digits = String::new();
    let mut after_slash = false;
    for c in field.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            let day = digits.parse::<usize>().ok().and_then(|n| DAYS.get(n)).filter(|_| !after_slash);
            out.push_str(day.copied().unwrap_or(&digits));
            digits.clear();
        }
        after_slash = c == '/';
        if c != ' ' {
            out.push(c);
        }
    }
    out
}

pub(crate) fn validate(value: &Value, base_dir: &Path, problems: &mut Problems) -> Deployment {
    let mut d = empty(base_dir.to_path_buf());
    let Some(root) = value.as_object() else {
        problems.push("", "the file must be a TOML table");
        return d;
    };
    for key in root.keys().filter(|k| !SECTIONS.contains(&k.as_str())) {
        let hint =
            suggest(key, SECTIONS).unwrap_or_else(|| format!("known sections: {}", SECTIONS.join(", ")));
        problems.push_hint(key.clone(), format!("unknown section `{key}`"), hint);
    }
    if let Some(v) = root.get("warehouse") {
        d.warehouse = deserialize_at(v, "warehouse", problems).unwrap_or_default();
    }
    if let Some(v) = root.get("defaults") {
        d.defaults = deserialize_at(v, "defaults", problems).unwrap_or_default();
    }
    if let Some(v) = root.get("landing") {
        d.landing = deserialize_at(v, "landing", problems).unwrap_or_default();
    }
    if let Some(v) = root.get("scheduler") {
        d.scheduler = deserialize_at(v, "scheduler", problems).unwrap_or_default();
    }
    d.organisations = items(root, "organisation", problems);
    d.datasets = items(root, "dataset", problems);
    d.indicators = items(root, "indicator", problems);
    d.dimensions = items(root, "dimension", problems);
    let heads: Vec<PipelineOf<Value>> = items(root, "pipeline", problems);

    // References are checked against every name written in the file, including elements that
    // failed to parse, so one mistake is reported once and not again at each reference.
    let known = Known {
        organisations: raw_names(root, "organisation", "code"),
        datasets: raw_names(root, "dataset", "slug"),
        indicators: raw_names(root, "indicator", "code"),
    };
    check_warehouse(&d, problems);
    check_defaults(&d, problems);
    check_metadata(&d, &known, problems);
    for head in heads {
        check_pipeline(&known, &head, problems);
        let target_at = join(&head.at, "target");
        let target = match &head.target {
            Some(raw) => deserialize_at::<Target>(raw, &target_at, problems).map(Some),
            None => Some(None),
        };
        if let (Some(target), Some(entity)) = (&target, &head.entity) {
            if target.is_some() {
                problems
                    .push(head.at.clone(), "give `target` (observations) or `entity` (a table), not both");
            }
            check_entity(entity, &join(&head.at, "entity"), problems);
        } else if matches!(target, Some(None)) {
            problems.push_hint(
                head.at.clone(),
                "the pipeline has no destination",
                "add [pipeline.target] (canonical observations) or [pipeline.entity] (a table)".into(),
            );
        }
        if let Some(target) = target {
            if let Some(t) = &target {
                check_target(&d, &known, t, &target_at, problems);
            }
            d.pipelines.push(head.with_target(target));
        }
    }
    unique(d.pipelines.iter().map(|p| p.name.as_str()), "pipeline", "name", problems);
    d
}

/// Elements that remember where they are in the file.
trait Located {
    fn set_at(&mut self, _at: String) {}
}

impl Located for Organisation {}
impl Located for Dataset {}
impl Located for Indicator {}
impl Located for Dimension {}
impl<T> Located for PipelineOf<T> {
    fn set_at(&mut self, at: String) {
        self.at = at;
    }
}

/// The names declared in the file, whether or not their element is valid.
struct Known {
    organisations: HashSet<String>,
    datasets: HashSet<String>,
    indicators: HashSet<String>,
}

fn raw_names(root: &serde_json::Map<String, Value>, section: &str, key: &str) -> HashSet<String> {
    root.get(section)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get(key).and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Reads the array of tables `[[key]]`, each element on its own so that one bad element does
/// not hide the problems of the others; elements that cannot be read are left out.
fn items<T: DeserializeOwned + Located>(
    root: &serde_json::Map<String, Value>,
    key: &str,
    problems: &mut Problems,
) -> Vec<T> {
    match root.get(key) {
        None => vec![],
        Some(Value::Array(elems)) => elems
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let at = format!("{key}[{i}]");
                let mut item: T = deserialize_at(v, &at, problems)?;
                item.set_at(at);
                Some(item)
            })
            .collect(),
        Some(_) => {
            problems.push_hint(key, "must be an array of tables", format!("write [[{key}]]"));
            vec![]
        }
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>, section: &str, field: &str, problems: &mut Problems) {
    let mut seen = HashSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            problems.push(format!("{section}[{i}].{field}"), format!("duplicate {section} {field} `{name}`"));
        }
    }
}

/// Names used as identifiers: lower-case ASCII letters, digits, `-`, `_` and `.`, starting with
/// a letter or digit, at most 63 characters.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn check_name(path: String, name: &str, problems: &mut Problems) {
    if !valid_name(name) {
        problems.push(
            path,
            format!("`{name}` is not a valid name: use lower-case letters, digits, `-`, `_`, `.`"),
        );
    }
}

fn check_warehouse(d: &Deployment, problems: &mut Problems) {
    let url = d.warehouse.url.expose();
    // After a failed `${VAR}` the URL is incomplete: that problem is already reported.
    let reported = problems.iter().any(|p| p.path == "warehouse.url");
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if !reported && !known.iter().any(|k| url.starts_with(k)) {
        // Never echo the URL: it may carry a password.
        problems.push_hint(
            "warehouse.url",
            "unsupported warehouse URL scheme",
            "use sqlite://FILE or postgres://USER@HOST/DB (credentials through ${VAR})".into(),
        );
    }
}

fn check_defaults(d: &Deployment, problems: &mut Problems) {
    if let Err(e) = parse_schedule(&d.defaults.schedule) {
        problems.push("defaults.schedule", e);
    }
    check_batch_rows(d.defaults.batch_rows, "defaults.batch_rows", problems);
    let s = &d.scheduler;
    if let Err(e) = crate::parse_timezone(&s.timezone) {
        problems.push("scheduler.timezone", e);
    }
    for (n, key) in [(s.concurrency, "concurrency"), (s.per_host, "per_host")] {
        if n == 0 {
            problems.push(format!("scheduler.{key}"), "must be at least 1");
        }
    }
    if s.circuit_after == 0 {
        problems.push("scheduler.circuit_after", "must be at least 1");
    }
    if !s.listen.is_empty() && s.listen.parse::<std::net::SocketAddr>().is_err() {
        problems.push("scheduler.listen", format!("`{}` is not an address like 127.0.0.1:9464", s.listen));
    }
}

fn check_batch_rows(n: usize, path: &str, problems: &mut Problems) {
    if !(1..=1_000_000).contains(&n) {
        problems.push(path, format!("batch_rows must be between 1 and 1000000, got {n}"));
    }
}

fn check_metadata(d: &Deployment, known: &Known, problems: &mut Problems) {
    unique(d.organisations.iter().map(|o| o.code.as_str()), "organisation", "code", problems);
    unique(d.datasets.iter().map(|x| x.slug.as_str()), "dataset", "slug", problems);
    unique(d.indicators.iter().map(|x| x.code.as_str()), "indicator", "code", problems);
    unique(d.dimensions.iter().map(|x| x.code.as_str()), "dimension", "code", problems);
    for (i, ds) in d.datasets.iter().enumerate() {
        check_name(format!("dataset[{i}].slug"), &ds.slug, problems);
        let at = format!("dataset[{i}].opd");
        check_ref(&known.organisations, &ds.opd, &at, "organisation", problems);
    }
    for (i, ind) in d.indicators.iter().enumerate() {
        check_name(format!("indicator[{i}].code"), &ind.code, problems);
        for (j, dim) in ind.dimensi.iter().enumerate() {
            if d.dimension(dim).is_none() {
                problems.push(
                    format!("indicator[{i}].dimensi[{j}]"),
                    format!("dimension `{dim}` is not declared in [[dimension]] nor built in"),
                );
            }
        }
    }
    for (i, dim) in d.dimensions.iter().enumerate() {
        check_name(format!("dimension[{i}].code"), &dim.code, problems);
        for (alias, code) in &dim.aliases {
            if !dim.values.contains_key(code) {
                problems.push(
                    format!("dimension[{i}].aliases.{alias}"),
                    format!("alias points to `{code}`, which is not one of the dimension's values"),
                );
            }
        }
    }
}

fn check_ref(known: &HashSet<String>, name: &str, path: &str, what: &str, problems: &mut Problems) {
    if !known.contains(name) {
        let hint = suggest(name, known.iter().map(String::as_str))
            .unwrap_or_else(|| format!("declare it in [[{what}]]"));
        problems.push_hint(path, format!("unknown {what} `{name}`"), hint);
    }
}

fn check_pipeline(known: &Known, p: &PipelineOf<Value>, problems: &mut Problems) {
    let at = p.at.as_str();
    check_name(join(at, "name"), &p.name, problems);
    check_ref(&known.organisations, &p.opd, &join(at, "opd"), "organisation", problems);
    if let Some(s) = &p.schedule {
        if let Err(e) = parse_schedule(s) {
            problems.push(join(at, "schedule"), e);
        }
    }
    if let Some(n) = p.batch_rows {
        check_batch_rows(n, &join(at, "batch_rows"), problems);
    }
    match p.source.get("type") {
        Some(Value::String(_)) => {}
        _ => problems.push_hint(
            join(at, "source.type"),
            "missing connector type",
            "e.g. source = { type = \"csv\", path = \"data/file.csv\" }".into(),
        ),
    }
    for (i, rule) in p.skip.iter().enumerate() {
        if let Err(e) = regex::RegexBuilder::new(&rule.matches).case_insensitive(true).build() {
            problems.push(format!("{at}.skip[{i}].matches"), format!("invalid regular expression: {e}"));
        }
    }
}

/// Reserved names of the lineage columns Satu adds to entity tables.
const LINEAGE_PREFIX: &str = "_satu";

fn check_entity(e: &EntityTarget, at: &str, problems: &mut Problems) {
    let ident = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !ident(&e.table) || e.table.starts_with(LINEAGE_PREFIX) {
        problems.push(
            join(at, "table"),
            format!("`{}` is not a valid table name (lower-case letters, digits, `_`)", e.table),
        );
    }
    if e.columns.is_empty() {
        problems.push(join(at, "columns"), "declare at least one column");
    }
    for c in e.columns.keys() {
        if !ident(c) || c.starts_with(LINEAGE_PREFIX) {
            problems.push(
                join(at, &format!("columns.{c}")),
                format!("`{c}` is not a valid column name (lower-case letters, digits, `_`; `_satu…` is reserved)"),
            );
        }
    }
    for (i, k) in e.primary_key.iter().enumerate() {
        if !e.columns.contains_key(k) {
            let hint = suggest(k, e.columns.keys().map(String::as_str))
                .unwrap_or_else(|| "list it in `columns`".into());
            problems.push_hint(
                format!("{at}.primary_key[{i}]"),
                format!("`{k}` is not a declared column"),
                hint,
            );
        }
    }
    if e.sync == SyncMode::Merge && e.primary_key.is_empty() {
        problems.push(join(at, "primary_key"), "sync = \"merge\" needs a primary key");
    }
    if e.delete_detection && (e.sync != SyncMode::Merge || e.primary_key.len() != 1) {
        problems.push(
            join(at, "delete_detection"),
            "delete detection needs sync = \"merge\" and a one-column primary key",
        );
    }
}

fn check_target(d: &Deployment, known: &Known, t: &Target, at: &str, problems: &mut Problems) {
    check_ref(&known.datasets, &t.dataset, &join(at, "dataset"), "dataset", problems);
    check_ref(&known.indicators, &t.indikator, &join(at, "indikator"), "indicator", problems);
    if let Some(ind) = d.indicator(&t.indikator) {
        match (t.nilai.column.is_empty(), t.nilai.columns.is_empty(), &t.nilai.into) {
            (false, true, None) => {}
            (true, false, Some(into)) => {
                if into != "periode" && !ind.dimensi.contains(into) {
                    problems.push(
                        join(at, "nilai.into"),
                        format!(
                            "indicator `{}` has no dimension `{into}` (its dimensions: {})",
                            ind.code,
                            ind.dimensi.join(", ")
                        ),
                    );
                }
                if t.dimensi.contains_key(into) {
                    problems.push(join(at, &format!("dimensi.{into}")), format!("`{into}` comes from the columns of `nilai.columns`; do not map it to a column too"));
                }
            }
            _ => problems.push(
                join(at, "nilai"),
                "give `column` (a long table), or `columns` and `into` (a wide table)",
            ),
        }
        for dim in &ind.dimensi {
            if !t.dimensi.contains_key(dim) && t.nilai.into.as_ref() != Some(dim) {
                problems.push(
                    join(at, "dimensi"),
                    format!("indicator `{}` needs dimension `{dim}`: map it to a column", ind.code),
                );
            }
        }
        for dim in t.dimensi.keys().filter(|k| !ind.dimensi.contains(k)) {
            let hint = suggest(dim, ind.dimensi.iter().map(String::as_str))
                .unwrap_or_else(|| format!("its dimensions: {}", ind.dimensi.join(", ")));
            problems.push_hint(
                join(at, &format!("dimensi.{dim}")),
                format!("indicator `{}` has no dimension `{dim}`", ind.code),
                hint,
            );
        }
    }
    let p = &t.periode;
    let whole = [p.column.is_some(), p.value.is_some(), p.tahun.is_some()];
    let given = whole.iter().filter(|x| **x).count();
    if t.nilai.into.as_deref() == Some("periode") {
        if given > 0 {
            problems.push(
                join(at, "periode"),
                "with `nilai.into = \"periode\"` the columns are the periods: leave `periode` out",
            );
        }
    } else if given != 1 {
        problems.push(join(at, "periode"), "give exactly one of `column`, `value` or `tahun`");
    }
    let parts = [p.bulan.is_some(), p.triwulan.is_some(), p.semester.is_some()];
    let n_parts = parts.iter().filter(|x| **x).count();
    if n_parts > 1 || (n_parts == 1 && p.tahun.is_none()) {
        problems.push(
            join(at, "periode"),
            "`bulan`, `triwulan` and `semester` need `tahun`, and only one of them may be given",
        );
    }
}

#[cfg(test)]
mod crontab_tests {
    use super::*;

    #[test]
    fn crontab_day_numbers_mean_what_crontab_says() {
        assert_eq!(crontab_days("1-5"), "MON-FRI");
        assert_eq!(crontab_days("0,6"), "SUN,SAT");
        assert_eq!(crontab_days("7"), "SUN");
        assert_eq!(crontab_days("*/2"), "*/2");
        assert_eq!(crontab_days("1-5/2"), "MON-FRI/2");
        assert_eq!(crontab_days("*"), "*");
        assert!(parse_schedule("30 23 * * 1").is_ok());
    }
}

#[cfg(test)]
mod tests {
    use crate::load_str;
    use std::collections::HashMap;
    use std::path::Path;

    const GOOD: &str = r#"
[[organisation]]
code = "DINKES-3576"
name = "Dinas Kesehatan"

[[dataset]]
slug = "kunjungan"
title = "Kunjungan"
opd = "DINKES-3576"
frequency = "bulanan"

[[indicator]]
code = "kes.kunjungan"
name = "Kunjungan"
satuan = "kunjungan"
dimensi = ["jenis_kelamin"]

[[pipeline]]
name = "dinkes-kunjungan"
opd = "DINKES-3576"
schedule = "0 2 * * *"
source = { type = "csv", path = "a.csv" }
[pipeline.target]
dataset = "kunjungan"
indikator = "kes.kunjungan"
wilayah = { column = "kelurahan", level = "kelurahan", within = "35.76" }
periode = { tahun = "tahun", bulan = "bulan" }
nilai = { column = "jumlah" }
dimensi = { jenis_kelamin = "jk" }
"#;

    #[test]
    fn a_good_deployment_has_no_problems() {
        let l = load_str(GOOD, Path::new("."), &HashMap::new());
        assert!(l.problems.is_empty(), "{}", l.problems);
        assert_eq!(l.deployment.pipelines.len(), 1);
        assert_eq!(
            l.deployment.pipelines[0].target.as_ref().map(|t| t.dimensi["jenis_kelamin"].as_str()),
            Some("jk")
        );
    }

    #[test]
    fn five_mistakes_are_all_reported_with_their_paths() {
        let bad = GOOD
            .replace("opd = \"DINKES-3576\"\nschedule", "opd = \"DINKES-3567\"\nschedule")
            .replace("schedule = \"0 2 * * *\"", "shedule = \"0 2 * * *\"")
            .replace("frequency = \"bulanan\"", "frequency = \"bulanann\"")
            .replace("path = \"a.csv\"", "path = \"${MISSING_DIR}/a.csv\"")
            .replace("level = \"kelurahan\"", "level = \"kelurahan\", colum = \"x\"");
        let l = load_str(&bad, Path::new("."), &HashMap::new());
        let text = l.problems.to_string();
        assert_eq!(l.problems.len(), 5, "{text}");
        for expected in [
            "pipeline[0].shedule: unknown key `shedule` (did you mean `schedule`?)",
            "dataset[0].frequency: unknown value `bulanann` (did you mean `bulanan`?)",
            "pipeline[0].source.path: environment variable `MISSING_DIR` is not set",
            "pipeline[0].target.wilayah.colum: unknown key `colum` (did you mean `column`?)",
            "pipeline[0].opd: unknown organisation `DINKES-3567` (did you mean `DINKES-3576`?)",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn semantic_mistakes_are_reported() {
        let bad = GOOD
            .replace("dimensi = { jenis_kelamin = \"jk\" }", "dimensi = { jenis_kelamn = \"jk\" }")
            .replace("0 2 * * *", "61 2 * * *")
            .replace("[[pipeline]]", "[[pipeline]]\nskip = [{ column = \"a\", matches = \"(\" }]");
        let l = load_str(&bad, Path::new("."), &HashMap::new());
        let text = l.problems.to_string();
        assert!(text.contains("pipeline[0].schedule: invalid cron schedule"), "{text}");
        assert!(text.contains("needs dimension `jenis_kelamin`"), "{text}");
        assert!(text.contains("target.dimensi.jenis_kelamn"), "{text}");
        assert!(text.contains("pipeline[0].skip[0].matches: invalid regular expression"), "{text}");
    }

    #[test]
    fn unknown_sections_and_single_tables_are_reported() {
        let bad = "[pipelines]\nx = 1\n[indicator]\ncode = \"a\"\n";
        let l = load_str(bad, Path::new("."), &HashMap::new());
        let text = l.problems.to_string();
        assert!(text.contains("unknown section `pipelines` (did you mean `pipeline`?)"), "{text}");
        assert!(text.contains("indicator: must be an array of tables (write [[indicator]])"), "{text}");
    }
}
