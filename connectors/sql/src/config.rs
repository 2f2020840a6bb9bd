//! `source = { type = "mysql" | "postgres" | "sqlite", … }`.

use chrono::FixedOffset;
use satu_core::Secret;
use serde::Deserialize;

/// A SQL source table or query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// Connection URL, e.g. `${DINKES_DB_URL}` = `mysql://satu_ro:…@10.0.0.5/simpus`. Use a
    /// read-only account. A secret: never logged.
    pub url: Secret,
    /// The table to read, `name` or `schema.name`. Give `table` or `query`.
    #[serde(default)]
    pub table: Option<String>,
    /// A `SELECT` to read instead of a table (wrapped as a subquery).
    #[serde(default)]
    pub query: Option<String>,
    /// Only these columns (default: all).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Columns never to read, e.g. unsupported types.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Columns that hold personal identifiers (`nik`, `no_nik`, `nik_ibu`…) are never read
    /// unless this is `true` or they are listed in `columns`.
    #[serde(default)]
    pub allow_nik: bool,
    /// Incremental cursor column (e.g. `updated_at`): each run reads rows after the last
    /// committed `(cursor, primary_key)`. Rows with a NULL cursor are read by the first run only.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Primary key column: the keyset tie-break for `cursor`, the order of snapshots (a killed
    /// snapshot resumes after the last committed key) and the row location in lineage.
    #[serde(default)]
    pub primary_key: Option<String>,
    /// Seconds to step back from the saved cursor on each incremental run, to catch rows
    /// committed late with an older cursor value (they reload as unchanged). Default 0.
    #[serde(default)]
    pub lookback_seconds: u32,
    /// Time zone of the source's wall-clock DATETIME values: `Asia/Jakarta` (WIB, default),
    /// `Asia/Makassar` (WITA), `Asia/Jayapura` (WIT), `UTC`, or an offset like `+07:00`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

fn default_timezone() -> String {
    "Asia/Jakarta".into()
}

/// The database family behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// MySQL and MariaDB.
    MySql,
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Driver {
    /// The driver for the connector `type`.
    pub fn from_type(kind: &str) -> Option<Self> {
        match kind {
            "mysql" | "mariadb" => Some(Self::MySql),
            "postgres" | "postgresql" => Some(Self::Postgres),
            "sqlite" => Some(Self::Sqlite),
            _ => None,
        }
    }

    /// URL schemes this driver accepts.
    fn schemes(&self) -> &'static [&'static str] {
        match self {
            Self::MySql => &["mysql://", "mariadb://"],
            Self::Postgres => &["postgres://", "postgresql://"],
            Self::Sqlite => &["sqlite:"],
        }
    }

    /// Quotes a validated identifier (`schema.table` parts are quoted each).
    pub fn quote(&self, ident: &str) -> String {
        let q = if *self == Self::MySql { '`' } else { '"' };
        ident.split('.').map(|p| format!("{q}{p}{q}")).collect::<Vec<_>>().join(".")
    }

    /// The `n`th (1-based) bind placeholder.
    pub fn placeholder(&self, n: usize) -> String {
        match self {
            Self::Postgres => format!("${n}"),
            _ => "?".to_string(),
        }
    }
}

/// Identifiers are letters, digits, `_` and `$`, not starting with a digit, at most 64
/// characters: anything else (quotes, semicolons, spaces) is refused, never escaped.
pub fn valid_identifier(ident: &str) -> bool {
    !ident.is_empty()
        && ident.len() <= 64
        && !ident.starts_with(|c: char| c.is_ascii_digit())
        && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Whether a column name looks like a personal identifier (NIK).
pub fn is_nik(column: &str) -> bool {
    column.to_ascii_lowercase().split(['_', ' ']).any(|part| part == "nik")
}

/// The fixed UTC offset of a declared time zone (Indonesia has no daylight saving time).
pub fn offset(tz: &str) -> Option<FixedOffset> {
    let hours = match tz {
        "Asia/Jakarta" | "Asia/Pontianak" | "WIB" => 7,
        "Asia/Makassar" | "WITA" => 8,
        "Asia/Jayapura" | "WIT" => 9,
        "UTC" | "Etc/UTC" => 0,
        other => {
            let (sign, rest) = match other.as_bytes().first() {
                Some(b'+') => (1, &other[1..]),
                Some(b'-') => (-1, &other[1..]),
                _ => return None,
            };
            let (h, m) = rest.split_once(':')?;
            let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
            return FixedOffset::east_opt(sign * secs);
        }
    };
    FixedOffset::east_opt(hours * 3600)
}

impl SqlConfig {
    /// Resolves a relative SQLite file against `base_dir` (the config file's directory).
    pub fn resolve_relative(mut self, driver: Driver, base_dir: &std::path::Path) -> Self {
        if driver == Driver::Sqlite {
            let url = self.url.expose();
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            let (file, params) = path.split_once('?').map_or((path, None), |(f, p)| (f, Some(p)));
            if !file.is_empty() && !file.starts_with('/') && file != ":memory:" {
                let full = base_dir.join(file).display().to_string();
                let url = match params {
                    Some(p) => format!("sqlite://{full}?{p}"),
                    None => format!("sqlite://{full}"),
                };
                self.url = Secret::new(url);
            }
        }
        self
    }

    /// Every problem found without connecting, as (key, message) pairs.
    pub fn problems(&self, driver: Driver) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !driver.schemes().iter().any(|s| self.url.expose().starts_with(s)) {
            // The URL is a secret: name the expected scheme, never the value.
            out.push(("url", format!("the URL must start with {}", driver.schemes().join(" or "))));
        }
        match (&self.table, &self.query) {
            (Some(t), None) => {
                if !t.split('.').all(valid_identifier) || t.split('.').count() > 2 {
                    out.push(("table", format!("`{t}` is not a valid table name (letters, digits, `_`)")));
                }
            }
            (None, Some(q)) => {
                let head = q.trim_start().to_ascii_uppercase();
                if !(head.starts_with("SELECT") || head.starts_with("WITH")) {
                    out.push(("query", "the query must be a single SELECT (or WITH … SELECT)".into()));
                }
                if q.contains(';') {
                    out.push(("query", "the query must be one statement, without `;`".into()));
                }
            }
            _ => out.push(("table", "give exactly one of `table` or `query`".into())),
        }
        let idents = self.columns.iter().flatten().map(|c| ("columns", c));
        let idents = idents
            .chain(self.exclude.iter().map(|c| ("exclude", c)))
            .chain(self.cursor.iter().map(|c| ("cursor", c)))
            .chain(self.primary_key.iter().map(|c| ("primary_key", c)));
        for (key, ident) in idents {
            if !valid_identifier(ident) {
                out.push((key, format!("`{ident}` is not a valid column name (letters, digits, `_`)")));
            }
        }
        if self.cursor.is_some() && self.primary_key.is_none() {
            out.push(("primary_key", "an incremental `cursor` needs a `primary_key` to break ties".into()));
        }
        if offset(&self.timezone).is_none() {
            out.push((
                "timezone",
                format!(
                    "`{}` is not a known zone (Asia/Jakarta, Asia/Makassar, Asia/Jayapura, UTC, +07:00)",
                    self.timezone
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: serde_json::Value) -> SqlConfig {
        serde_json::from_value(v).expect("valid test config")
    }

    #[test]
    fn hostile_identifiers_are_refused() {
        for bad in ["kunjungan\"; DROP TABLE x; --", "a b", "t`", "1abc", "x'y", "a.b.c"] {
            let c = config(serde_json::json!({ "url": "mysql://h/db", "table": bad }));
            assert!(!c.problems(Driver::MySql).is_empty(), "{bad} must be refused");
        }
        let c = config(serde_json::json!({ "url": "mysql://h/db", "table": "simpus.kunjungan_pkm" }));
        assert!(c.problems(Driver::MySql).is_empty());
        assert_eq!(Driver::MySql.quote("simpus.kunjungan_pkm"), "`simpus`.`kunjungan_pkm`");
        assert_eq!(Driver::Postgres.quote("public.t"), "\"public\".\"t\"");
        let q = config(serde_json::json!({ "url": "mysql://h/db", "query": "SELECT 1; DROP TABLE t" }));
        assert_eq!(q.problems(Driver::MySql).len(), 1);
    }

    #[test]
    fn other_problems() {
        let c = config(serde_json::json!({
            "url": "postgres://h/db", "table": "t", "cursor": "updated_at", "timezone": "Mars/Olympus"
        }));
        let keys: Vec<&str> = c.problems(Driver::MySql).iter().map(|p| p.0).collect();
        assert_eq!(keys, vec!["url", "primary_key", "timezone"]);
        assert!(
            is_nik("NIK") && is_nik("no_nik") && is_nik("nik_ibu") && !is_nik("nikah") && !is_nik("unik")
        );
        assert_eq!(offset("+08:00"), FixedOffset::east_opt(8 * 3600));
        assert_eq!(offset("Asia/Jayapura"), FixedOffset::east_opt(9 * 3600));
    }
}
