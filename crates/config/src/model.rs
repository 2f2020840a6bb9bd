//! The deployment model: what `pipelines.toml` may say. Every key is documented here and in the
//! README's configuration reference.

use satu_core::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A whole deployment: one warehouse, its metadata and its pipelines.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The directory relative paths (files, SQLite warehouse) are resolved against: the
    /// directory of the config file.
    pub base_dir: PathBuf,
    /// `[warehouse]`
    pub warehouse: WarehouseConfig,
    /// `[defaults]`
    pub defaults: Defaults,
    /// `[landing]`: where raw batches are kept.
    pub landing: LandingConfig,
    /// `[scheduler]`: how `satu serve` runs the pipelines.
    pub scheduler: crate::SchedulerConfig,
    /// `[[organisation]]`: the OPDs (data producers) and the walidata.
    pub organisations: Vec<Organisation>,
    /// `[[dataset]]`: what each OPD delivers.
    pub datasets: Vec<Dataset>,
    /// `[[indicator]]`: what is measured (BPS MS-Ind metadata).
    pub indicators: Vec<Indicator>,
    /// `[[dimension]]`: code lists for the dimensions of observations.
    pub dimensions: Vec<Dimension>,
    /// `[[pipeline]]`: one source feeding one target.
    pub pipelines: Vec<Pipeline>,
}

impl Deployment {
    /// The pipeline called `name`.
    pub fn pipeline(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// The indicator with code `code`.
    pub fn indicator(&self, code: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.code == code)
    }

    /// The dataset with slug `slug`.
    pub fn dataset(&self, slug: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.slug == slug)
    }

    /// Whether pipeline `p` lands its raw batches.
    pub fn lands(&self, p: &Pipeline) -> bool {
        p.landing.unwrap_or(p.target.is_some())
    }

    /// The landing zone's directory.
    pub fn landing_root(&self) -> PathBuf {
        self.base_dir.join(&self.landing.root)
    }

    /// The dimension `code`: declared in the file, else built in (`jenis_kelamin`).
    pub fn dimension(&self, code: &str) -> Option<Dimension> {
        self.dimensions
            .iter()
            .find(|d| d.code == code)
            .cloned()
            .or_else(|| Dimension::builtin().into_iter().find(|d| d.code == code))
    }
}

/// `[warehouse]`: where observations are loaded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseConfig {
    /// `sqlite://warehouse.db` (the default; relative to the config file) or
    /// `postgres://user@host:5432/db` (created when missing). May carry credentials, so it is a
    /// secret: use `${VAR}`.
    #[serde(default = "default_warehouse_url")]
    pub url: Secret,
}

impl Default for WarehouseConfig {
    fn default() -> Self {
        Self { url: default_warehouse_url() }
    }
}

fn default_warehouse_url() -> Secret {
    Secret::new("sqlite://warehouse.db")
}

/// `[landing]`: the raw landing zone, where each run's source batches are kept as Avro files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandingConfig {
    /// Directory of the landing zone, relative to the config file (default `landing`).
    #[serde(default = "default_landing_root")]
    pub root: PathBuf,
    /// Landed runs kept per pipeline; older ones are deleted after each run (default 30).
    #[serde(default = "default_keep_runs")]
    pub keep_runs: usize,
    /// Also delete landed runs older than this many days (default: no age limit).
    #[serde(default)]
    pub keep_days: Option<u32>,
}

impl Default for LandingConfig {
    fn default() -> Self {
        Self { root: default_landing_root(), keep_runs: default_keep_runs(), keep_days: None }
    }
}

fn default_landing_root() -> PathBuf {
    PathBuf::from("landing")
}

fn default_keep_runs() -> usize {
    30
}

/// `[defaults]`: settings every pipeline inherits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Most rows per batch (default 10000): bounds memory per pipeline.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// Cron schedule for pipelines without one (default `0 0 2 * * *`, 02:00 nightly).
    #[serde(default = "default_schedule")]
    pub schedule: String,
}

impl Default for Defaults {
    fn default() -> Self {
        Self { batch_rows: default_batch_rows(), schedule: default_schedule() }
    }
}

fn default_batch_rows() -> usize {
    10_000
}

fn default_schedule() -> String {
    "0 0 2 * * *".into()
}

/// `[[organisation]]`: an OPD or other party.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Short code, e.g. `DINKES-3576`.
    pub code: String,
    /// Full name, e.g. `Dinas Kesehatan Kota Mojokerto`.
    pub name: String,
    /// Satu Data role (default `produsen`).
    #[serde(default)]
    pub role: Role,
}

/// Satu Data roles (Perpres 39/2019).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Produsen Data: an OPD that produces data.
    #[default]
    Produsen,
    /// Walidata: checks and publishes (Diskominfo).
    Walidata,
    /// Pembina Data: sets standards (BPS).
    Pembina,
    /// Koordinator: runs the Forum Satu Data (Bappeda).
    Koordinator,
}

impl Role {
    /// The role as stored in the warehouse.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Produsen => "produsen",
            Self::Walidata => "walidata",
            Self::Pembina => "pembina",
            Self::Koordinator => "koordinator",
        }
    }
}

/// `[[dataset]]`: a dataset an OPD delivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// URL-safe identifier, e.g. `kunjungan-puskesmas-bulanan`.
    pub slug: String,
    /// Title as published.
    pub title: String,
    /// The producing organisation's `code`.
    pub opd: String,
    /// How often it should be delivered.
    pub frequency: Frequency,
    /// Access class (default `publik`).
    #[serde(default)]
    pub access: Access,
    /// On the year's Data Prioritas list.
    #[serde(default)]
    pub prioritas: bool,
    /// Free text description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Delivery frequency of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Every day.
    Harian,
    /// Every month.
    Bulanan,
    /// Every quarter.
    Triwulanan,
    /// Every half year.
    Semesteran,
    /// Every year.
    Tahunan,
}

impl Frequency {
    /// The frequency as stored in the warehouse.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Harian => "harian",
            Self::Bulanan => "bulanan",
            Self::Triwulanan => "triwulanan",
            Self::Semesteran => "semesteran",
            Self::Tahunan => "tahunan",
        }
    }
}

/// Access classes of Satu Data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Open to the public.
    #[default]
    Publik,
    /// Restricted to government users.
    Terbatas,
    /// Private to the producer.
    Privat,
}

impl Access {
    /// The class as stored in the warehouse.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Publik => "publik",
            Self::Terbatas => "terbatas",
            Self::Privat => "privat",
        }
    }
}

/// `[[indicator]]`: what is measured, with its BPS MS-Ind metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Code, e.g. `kes.kunjungan_puskesmas`.
    pub code: String,
    /// Name as published.
    pub name: String,
    /// Unit of `nilai`, e.g. `kunjungan`, `jiwa`, `persen`.
    pub satuan: String,
    /// Konsep (MS-Ind).
    #[serde(default)]
    pub konsep: Option<String>,
    /// Definisi (MS-Ind).
    #[serde(default)]
    pub definisi: Option<String>,
    /// Ukuran (MS-Ind), e.g. `jumlah`, `rasio`.
    #[serde(default)]
    pub ukuran: Option<String>,
    /// The dimensions every observation of this indicator must carry.
    #[serde(default)]
    pub dimensi: Vec<String>,
}

/// `[[dimension]]`: a code list, e.g. `jenis_kunjungan` with `BARU`, `LAMA`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// Code, e.g. `jenis_kunjungan`.
    pub code: String,
    /// Name as published.
    pub name: String,
    /// Allowed codes and their labels, e.g. `{ L = "Laki-laki", P = "Perempuan" }`.
    pub values: BTreeMap<String, String>,
    /// Spellings found in sources and the code each means, e.g. `{ LK = "L" }`. Matching is
    /// case-insensitive and ignores surrounding spaces; labels match their code too.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

impl Dimension {
    /// Dimensions Satu knows without configuration.
    pub fn builtin() -> Vec<Dimension> {
        let map =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        vec![Dimension {
            code: "jenis_kelamin".into(),
            name: "Jenis Kelamin".into(),
            values: map(&[("L", "Laki-laki"), ("P", "Perempuan")]),
            aliases: map(&[
                ("LK", "L"),
                ("LAKI", "L"),
                ("LAKI LAKI", "L"),
                ("PR", "P"),
                ("WANITA", "P"),
                ("PRIA", "L"),
            ]),
        }]
    }
}

/// `[[pipeline]]`: one source feeding one target.
pub type Pipeline = PipelineOf<Target>;

/// A pipeline whose target is `T`: the model reads the pipeline with a raw target first, then
/// the target on its own, so that a mistake in one does not hide the problems of the other.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineOf<T> {
    /// Where the pipeline is in the file, e.g. `pipeline[2]`; set by the loader.
    #[serde(skip)]
    pub at: String,
    /// Unique name: lower case letters, digits, `-` and `_`.
    pub name: String,
    /// The producing organisation's `code`.
    pub opd: String,
    /// Cron schedule in the deployment's time zone: 6 fields with seconds
    /// (`0 0 2 * * *`) or the classic 5 (`0 2 * * *`). Default: `[defaults].schedule`.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Free text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Under `satu serve`, stop a run still going after this long (`90m`, `2h`); default
    /// `[scheduler].timeout`.
    #[serde(default)]
    pub timeout: Option<crate::Span>,
    /// Most rows per batch; default `[defaults].batch_rows`.
    #[serde(default)]
    pub batch_rows: Option<usize>,
    /// The connector table: `type` picks the connector, the other keys are its own.
    pub source: serde_json::Value,
    /// Rows to drop by declared rule (counted as `filtered`), e.g. total rows.
    #[serde(default)]
    pub skip: Vec<SkipRule>,
    /// Keep the raw batches of each run in the landing zone (default: on for canonical
    /// `target`s, off for `entity` tables).
    #[serde(default)]
    pub landing: Option<bool>,
    /// What to do when the source's columns change between runs (default `evolve`). A column
    /// the target reads that disappears or changes type always stops this pipeline.
    #[serde(default)]
    pub schema_drift: DriftPolicy,
    /// Where rows go as canonical observations (`dw.observasi`). Give `target` or `entity`.
    #[serde(default)]
    pub target: Option<T>,
    /// Where rows go as a replica of an OPD table (`dw.<table>`). Give `target` or `entity`.
    #[serde(default)]
    pub entity: Option<EntityTarget>,
}

impl<T> PipelineOf<T> {
    /// The same pipeline with its target read as `U`.
    pub fn with_target<U>(self, target: Option<U>) -> PipelineOf<U> {
        PipelineOf {
            at: self.at,
            name: self.name,
            opd: self.opd,
            schedule: self.schedule,
            description: self.description,
            timeout: self.timeout,
            batch_rows: self.batch_rows,
            source: self.source,
            skip: self.skip,
            landing: self.landing,
            schema_drift: self.schema_drift,
            target,
            entity: self.entity,
        }
    }
}

/// Schema-drift policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftPolicy {
    /// New and unread columns flow through; every change is recorded.
    #[default]
    Evolve,
    /// Any change stops the pipeline with a report, until the pipeline is changed.
    Freeze,
    /// New columns are dropped from the batches (and recorded); the rest as `evolve`.
    Discard,
}

/// `[pipeline.entity]`: replicate source rows into a declared warehouse table `dw.<table>`, with
/// lineage columns `_satu_run_id` and `_satu_dimuat` (and `_satu_dihapus` for soft deletes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityTarget {
    /// Table name in schema `dw` (lower-case letters, digits, `_`).
    pub table: String,
    /// Column → type, taken from the source column of the same name. Types: `bigint`,
    /// `integer`, `numeric` or `numeric(P,S)`, `double`, `boolean`, `text`, `date`, `timestamp`
    /// (wall clock), `timestamptz` (instant).
    pub columns: std::collections::BTreeMap<String, ColumnType>,
    /// Primary key columns (required for `merge`).
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// How each run writes: `merge` (default: insert new keys, update changed rows, leave the
    /// rest), `append` (insert every row), `full_refresh` (load a new copy beside the old one
    /// and swap them atomically at the end: readers never see a half table).
    #[serde(default)]
    pub sync: SyncMode,
    /// After each complete run, compare the source's primary keys with the table and mark rows
    /// whose key vanished as deleted (`_satu_dihapus`, soft delete), counted in the run. Needs
    /// `merge` and a one-column key.
    #[serde(default)]
    pub delete_detection: bool,
}

/// Sync modes of entity targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Upsert on the primary key; unchanged rows are not written.
    #[default]
    Merge,
    /// Insert every row read.
    Append,
    /// Rebuild the table on each run and swap it in atomically.
    FullRefresh,
}

/// Portable column types of entity tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit integer.
    BigInt,
    /// 32-bit integer.
    Integer,
    /// Exact decimal, optionally with precision and scale.
    Numeric(Option<(u8, u8)>),
    /// 8-byte float.
    Double,
    /// Boolean.
    Boolean,
    /// Text.
    Text,
    /// Calendar date.
    Date,
    /// Wall-clock date and time, as the source wrote it.
    Timestamp,
    /// An instant.
    Timestamptz,
}

impl ColumnType {
    /// The PostgreSQL type.
    pub fn postgres(&self) -> String {
        match self {
            Self::BigInt => "bigint".into(),
            Self::Integer => "integer".into(),
            Self::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            Self::Numeric(None) => "numeric".into(),
            Self::Double => "double precision".into(),
            Self::Boolean => "boolean".into(),
            Self::Text => "text".into(),
            Self::Date => "date".into(),
            Self::Timestamp => "timestamp".into(),
            Self::Timestamptz => "timestamptz".into(),
        }
    }

    /// The SQLite type (its affinity decides storage: dates stay ISO 8601 text).
    pub fn sqlite(&self) -> &'static str {
        match self {
            Self::BigInt | Self::Integer | Self::Boolean => "INTEGER",
            Self::Numeric(_) => "NUMERIC",
            Self::Double => "REAL",
            Self::Text | Self::Date | Self::Timestamp | Self::Timestamptz => "TEXT",
        }
    }
}

impl std::str::FromStr for ColumnType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        Ok(match t.as_str() {
            "bigint" | "int8" => Self::BigInt,
            "integer" | "int" | "int4" => Self::Integer,
            "numeric" | "decimal" => Self::Numeric(None),
            "double" | "double precision" | "float8" => Self::Double,
            "boolean" | "bool" => Self::Boolean,
            "text" | "varchar" => Self::Text,
            "date" => Self::Date,
            "timestamp" | "datetime" => Self::Timestamp,
            "timestamptz" => Self::Timestamptz,
            other => {
                let inner = other
                    .strip_prefix("numeric(")
                    .or_else(|| other.strip_prefix("decimal("))
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|r| r.split_once(','))
                    .and_then(|(p, s)| Some((p.trim().parse::<u8>().ok()?, s.trim().parse::<u8>().ok()?)))
                    .filter(|(p, s)| (1..=38).contains(p) && s <= p);
                match inner {
                    Some(ps) => Self::Numeric(Some(ps)),
                    None => {
                        return Err(format!(
                            "unknown column type `{s}` (bigint, integer, numeric(P,S), double, boolean, \
                             text, date, timestamp, timestamptz)"
                        ))
                    }
                }
            }
        })
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `skip = [{ column = "kelurahan", matches = "^(TOTAL|JUMLAH)" }]`: a row whose `column`
/// matches the regular expression (case-insensitive) is filtered, not loaded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRule {
    /// Source column to test.
    pub column: String,
    /// Regular expression, matched case-insensitively against the trimmed value.
    pub matches: String,
}

/// `[pipeline.target]`: how source rows become canonical observations (`dw.observasi`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The dataset slug the observations belong to.
    pub dataset: String,
    /// The indicator code every row measures.
    pub indikator: String,
    /// Where each row is.
    pub wilayah: WilayahSpec,
    /// When each row is (leave it out when `nilai.into = "periode"`: the columns are periods).
    #[serde(default)]
    pub periode: PeriodeSpec,
    /// The measured value.
    pub nilai: NilaiSpec,
    /// Dimension code → source column, e.g. `{ jenis_kelamin = "jk" }`.
    #[serde(default)]
    pub dimensi: BTreeMap<String, String>,
    /// Subtotal and total rows of a recap: recognised, checked against their detail rows, never
    /// loaded.
    #[serde(default)]
    pub subtotals: Option<SubtotalSpec>,
}

/// `subtotals = { column = "Kelurahan", subtotal = "^Jumlah Kec", total = "^TOTAL", group = "Kecamatan" }`:
/// rows whose `column` matches `subtotal` (or `total`) are counted as filtered, and each of their
/// values is compared with the sum of the detail rows of its `group` (or of all detail rows); a
/// difference is a warning in `etl.peringatan` with the cell's location.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtotalSpec {
    /// The column that names subtotal rows (`Jumlah Kec. Magersari`, `TOTAL`).
    pub column: String,
    /// Regular expression (case-insensitive) of subtotal rows.
    pub subtotal: String,
    /// Regular expression of the grand total row, if any.
    #[serde(default)]
    pub total: Option<String>,
    /// The column whose value groups detail rows under a subtotal (the kecamatan of a
    /// kelurahan); default `wilayah.parent_column`.
    #[serde(default)]
    pub group: Option<String>,
}

/// Administrative levels of Kemendagri codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Level 1, `PP`.
    Provinsi,
    /// Level 2, `PP.KK`.
    Kabkota,
    /// Level 3, `PP.KK.CC`.
    Kecamatan,
    /// Level 4, `PP.KK.CC.DDDD` (kelurahan and desa alike).
    Kelurahan,
}

impl Level {
    /// 1 to 4.
    pub fn number(&self) -> u8 {
        match self {
            Self::Provinsi => 1,
            Self::Kabkota => 2,
            Self::Kecamatan => 3,
            Self::Kelurahan => 4,
        }
    }
}

/// `wilayah = { column = "kelurahan", level = "kelurahan", within = "35.76" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WilayahSpec {
    /// Source column holding a Kemendagri code (plain or dotted) or a name.
    pub column: String,
    /// The level of the regions in that column.
    pub level: Level,
    /// Kemendagri code of the area every region lies in (e.g. `35.76`): names are matched
    /// only inside it, codes outside it are rejected.
    pub within: String,
    /// Optional column with the parent region's name or code (e.g. the kecamatan of a
    /// kelurahan), used to tell apart names that repeat within `within`.
    #[serde(default)]
    pub parent_column: Option<String>,
    /// Optional column with the region's name beside a code column: when both are given the
    /// name must agree with the code (else the row is rejected as `kode_nama_tidak_cocok`).
    #[serde(default)]
    pub name_column: Option<String>,
    /// Code system of codes in `column`: `kemendagri` (default), `bps` or `campuran`. BPS codes
    /// collide with Kemendagri codes, so the system is declared, never guessed.
    #[serde(default)]
    pub codes: CodeSystem,
    /// Coarser levels whose total rows the column may also hold (`["kabkota"]` for the city's
    /// own row beside its kecamatan): loaded as observations of that level, and checked against
    /// the sum of their detail rows in the run (a warning, with both locations, when they differ).
    #[serde(default)]
    pub totals: Vec<Level>,
}

/// Region code systems.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSystem {
    /// Kemendagri (Kepmendagri 2025) codes, plain or dotted.
    #[default]
    Kemendagri,
    /// BPS codes (2, 4, 7 or 10 digits), mapped to Kemendagri through the shipped crosswalk.
    Bps,
    /// Both, told apart where they cannot be confused: dotted codes and 6-digit kecamatan codes
    /// are Kemendagri, 7-digit kecamatan codes are BPS, 2- and 4-digit codes are the same in
    /// both. 10-digit codes collide between the two systems and are rejected (`kode_ambigu`).
    Campuran,
}

/// `periode = { tahun = "tahun", bulan = "bulan" }`, `{ column = "periode" }` or
/// `{ value = "TA2024/2025" }`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PeriodeSpec {
    /// A column with a whole period: `2024`, `Semester I 2024`, `TW 3 2024`, `Maret 2024`,
    /// `2024-03`, `2024/2025`…
    #[serde(default)]
    pub column: Option<String>,
    /// A fixed period for every row, same syntax as `column` values.
    #[serde(default)]
    pub value: Option<String>,
    /// A year column (used with `bulan`, `triwulan` or `semester`, or alone).
    #[serde(default)]
    pub tahun: Option<String>,
    /// A month column: `Februari`, `Pebruari`, `02`, `II`, `Agt`…
    #[serde(default)]
    pub bulan: Option<String>,
    /// A quarter column: `1`–`4`, `I`–`IV`, `Triwulan II`, `TW 3`.
    #[serde(default)]
    pub triwulan: Option<String>,
    /// A half-year column: `1`, `2`, `I`, `II`, `Semester II`.
    #[serde(default)]
    pub semester: Option<String>,
}

/// `nilai = { column = "jumlah" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NilaiSpec {
    /// Source column holding the value (long tables). Or `columns`.
    #[serde(default)]
    pub column: String,
    /// A wide table's value columns (`["Jumlah Peserta Didik/L", "Jumlah Peserta Didik/P"]`):
    /// each becomes an observation, its dimension `into` taken from the column name's last
    /// part (`L`, `P`). Counts are then in values, not rows.
    #[serde(default)]
    pub columns: Vec<String>,
    /// What a wide table's columns carry: a dimension (`jenis_kelamin`, `status_sekolah`), or
    /// `periode` — years as columns (`2021 2022 2023*`), a trailing `*` (`**`) marking the values
    /// of that column provisional (very provisional).
    #[serde(default)]
    pub into: Option<String>,
    /// Number format: `id` (default: `.` groups thousands, `,` is the decimal mark).
    #[serde(default)]
    pub number: NumberFormat,
    /// Multiply every value: a number (`1000` for *Ribu Jiwa*), or `"auto"` — by the unit word
    /// (`ribu`, `juta`, `miliar`, `triliun`, or in English) in the value column's header, else
    /// in the file's title lines; no word, no multiplier.
    #[serde(default)]
    pub pengali: Option<Pengali>,
    /// Values must be whole numbers (counts): `12,5` is rejected.
    #[serde(default)]
    pub integer: bool,
}

/// `nilai.pengali`: a fixed multiplier, or the unit read from the header or title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pengali {
    /// Multiply by this.
    Kali(u32),
    /// By the unit word of the value column's header, else of the title (`"auto"`).
    Auto,
}

impl<'de> Deserialize<'de> for Pengali {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Pengali;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number (1000) or \"auto\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Pengali, E> {
                match u32::try_from(v) {
                    Ok(n) if n > 0 => Ok(Pengali::Kali(n)),
                    _ => Err(E::custom(format!("pengali {v} must be between 1 and {}", u32::MAX))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Pengali, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("pengali must be positive"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Pengali, E> {
                match v {
                    "auto" => Ok(Pengali::Auto),
                    _ => Err(E::custom(format!("pengali `{v}`: a whole number (1000) or \"auto\""))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Number formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// Indonesian: `1.234.567,89`.
    #[default]
    Id,
    /// Plain/English: `1234567.89` (no grouping).
    Plain,
}
