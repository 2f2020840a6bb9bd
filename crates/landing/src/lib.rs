//! The raw landing zone: what each run's source produced, before any transformation, as Avro
//! object container files (schema embedded, deflate), one part per batch, under
//! `<root>/<pipeline>/<YYYY-MM-DD>/<run>/part-NNNNN.avro`, with a `manifest.json` (rows and
//! SHA-256 per file, the columns, the run's outcome). A run directory without a manifest was cut
//! off. [`retain`] keeps the newest runs of a pipeline and deletes the rest.
//!
//! Every value lands as the source gave it: integers as `long`, floats as `double`, booleans as
//! `boolean`, everything else as `string`, all nullable. Column names that are not Avro names are
//! made into ones (`jumlah penduduk` → `jumlah_penduduk`); the manifest keeps the original.

use apache_avro::types::Value;
use apache_avro::Schema;
use polars::prelude::{DataFrame, DataType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Errors of the landing zone.
#[derive(Debug, thiserror::Error)]
pub enum LandingError {
    /// A file could not be written or read.
    #[error("landing {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Avro encoding failed.
    #[error("landing {path}: {message}")]
    Avro {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

fn io(path: &Path, source: std::io::Error) -> LandingError {
    LandingError::Io { path: path.display().to_string(), source }
}

fn avro(path: &Path, e: impl std::fmt::Display) -> LandingError {
    LandingError::Avro { path: path.display().to_string(), message: e.to_string() }
}

/// A landed column: its source name, its Avro field name and Avro type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandedColumn {
    /// The name in the source.
    pub name: String,
    /// The Avro field name.
    pub field: String,
    /// `long`, `double`, `boolean` or `string` (always nullable).
    pub avro_type: String,
}

/// One landed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandedFile {
    /// File name inside the run directory.
    pub name: String,
    /// Rows in it.
    pub rows: u64,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// `manifest.json` of a landed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The pipeline.
    pub pipeline: String,
    /// The `etl.run` id.
    pub run_id: i64,
    /// When the run started (UTC, RFC 3339).
    pub started_at: String,
    /// `success` or `failed`.
    pub status: String,
    /// The columns of the first batch (later batches have the same).
    pub columns: Vec<LandedColumn>,
    /// The files, in order.
    pub files: Vec<LandedFile>,
    /// Rows in all files.
    pub rows: u64,
}

/// Writes one run's batches.
pub struct LandingWriter {
    dir: PathBuf,
    manifest: Manifest,
    schema: Option<(String, Vec<LandedColumn>)>,
}

/// An Avro name for a column: letters, digits and `_`, not starting with a digit.
fn field_name(name: &str, taken: &[LandedColumn]) -> String {
    let mut f: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if f.is_empty() || f.starts_with(|c: char| c.is_ascii_digit()) {
        f.insert(0, '_');
    }
    let base = f.clone();
    let mut n = 2;
    while taken.iter().any(|c| c.field == f) {
        f = format!("{base}_{n}");
        n += 1;
    }
    f
}

fn avro_type(dtype: &DataType) -> &'static str {
    match dtype {
        DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::Int8 => "long",
        DataType::Float64 | DataType::Float32 => "double",
        DataType::Boolean => "boolean",
        _ => "string",
    }
}

/// The Avro schema (JSON text, checked by the Avro library) and the landed columns of a batch.
fn schema_of(df: &DataFrame, pipeline: &str) -> Result<(String, Vec<LandedColumn>), apache_avro::Error> {
    let mut columns: Vec<LandedColumn> = Vec::new();
    for c in df.columns() {
        let field = field_name(c.name().as_str(), &columns);
        columns.push(LandedColumn {
            name: c.name().to_string(),
            field,
            avro_type: avro_type(c.dtype()).into(),
        });
    }
    let fields: Vec<serde_json::Value> = columns
        .iter()
        .map(|c| serde_json::json!({ "name": c.field, "type": ["null", c.avro_type], "default": null, "doc": c.name }))
        .collect();
    let record = serde_json::json!({
        "type": "record",
        "name": "batch",
        "namespace": format!("satu.landing.{}", pipeline.replace(|c: char| !c.is_ascii_alphanumeric(), "_")),
        "fields": fields,
    });
    let text = record.to_string();
    Schema::parse_str(&text)?;
    Ok((text, columns))
}

/// Avro's variable-length zig-zag `long`.
fn put_long(buf: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        buf.push((z as u8) | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

/// Avro `bytes`/`string`: length, then the bytes.
fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_long(buf, b.len() as i64);
    buf.extend_from_slice(b);
}

/// One column of a batch, read in place, as its Avro type.
enum Cells<'a> {
    Long(Box<dyn Iterator<Item = Option<i64>> + 'a>),
    Double(Box<dyn Iterator<Item = Option<f64>> + 'a>),
    Bool(Box<dyn Iterator<Item = Option<bool>> + 'a>),
    Text(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
}

/// The Avro binary encoding of every row of `df` (fields in `columns` order, each a
/// `["null", T]` union), written column by column from the polars arrays.
fn encode_rows(df: &DataFrame, columns: &[LandedColumn]) -> polars::prelude::PolarsResult<Vec<u8>> {
    let mut owned = Vec::with_capacity(columns.len());
    for c in columns {
        let col = df.column(&c.name)?;
        let want = match c.avro_type.as_str() {
            "long" => DataType::Int64,
            "double" => DataType::Float64,
            "boolean" => DataType::Boolean,
            _ => DataType::String,
        };
        owned.push(if col.dtype() == &want { col.clone() } else { col.cast(&want)? });
    }
    let mut cells = Vec::with_capacity(owned.len());
    for col in &owned {
        cells.push(match col.dtype() {
            DataType::Int64 => Cells::Long(Box::new(col.i64()?.iter())),
            DataType::Float64 => Cells::Double(Box::new(col.f64()?.iter())),
            DataType::Boolean => Cells::Bool(Box::new(col.bool()?.iter())),
            _ => Cells::Text(Box::new(col.str()?.iter())),
        });
    }
    let mut buf = Vec::with_capacity(df.height() * columns.len() * 8);
    for _ in 0..df.height() {
        for c in cells.iter_mut() {
            // A column yields one value per row of the frame.
            match c {
                Cells::Long(it) => match it.next().flatten() {
                    Some(x) => {
                        put_long(&mut buf, 1);
                        put_long(&mut buf, x);
                    }
                    None => put_long(&mut buf, 0),
                },
                Cells::Double(it) => match it.next().flatten() {
                    Some(x) => {
                        put_long(&mut buf, 1);
                        buf.extend_from_slice(&x.to_le_bytes());
                    }
                    None => put_long(&mut buf, 0),
                },
                Cells::Bool(it) => match it.next().flatten() {
                    Some(x) => {
                        put_long(&mut buf, 1);
                        buf.push(u8::from(x));
                    }
                    None => put_long(&mut buf, 0),
                },
                Cells::Text(it) => match it.next().flatten() {
                    Some(x) => {
                        put_long(&mut buf, 1);
                        put_bytes(&mut buf, x.as_bytes());
                    }
                    None => put_long(&mut buf, 0),
                },
            }
        }
    }
    Ok(buf)
}

/// A whole object container file: header (magic, schema, codec, sync marker) and one deflated
/// block holding `rows` encoded records.
fn container_file(schema: &str, rows: u64, encoded: &[u8], sync: [u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() / 3 + schema.len() + 64);
    out.extend_from_slice(b"Obj\x01");
    put_long(&mut out, 2);
    put_bytes(&mut out, b"avro.schema");
    put_bytes(&mut out, schema.as_bytes());
    put_bytes(&mut out, b"avro.codec");
    put_bytes(&mut out, b"deflate");
    put_long(&mut out, 0);
    out.extend_from_slice(&sync);
    if rows > 0 {
        // Level 1: the landing zone is written on every run; speed matters more than the last bytes.
        let block = miniz_oxide::deflate::compress_to_vec(encoded, 1);
        put_long(&mut out, rows as i64);
        put_long(&mut out, block.len() as i64);
        out.extend_from_slice(&block);
        out.extend_from_slice(&sync);
    }
    out
}

fn sha256_of(path: &Path) -> Result<(String, u64), LandingError> {
    let mut file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| io(path, e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hasher.finalize().iter().map(|b| format!("{b:02x}")).collect(), bytes))
}

impl LandingWriter {
    /// Starts landing run `run_id` of `pipeline` under `root`.
    pub fn create(root: &Path, pipeline: &str, run_id: i64) -> Result<Self, LandingError> {
        let now = chrono::Utc::now();
        let dir = root.join(pipeline).join(now.format("%Y-%m-%d").to_string()).join(run_id.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let manifest = Manifest {
            pipeline: pipeline.to_string(),
            run_id,
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            status: "running".into(),
            columns: vec![],
            files: vec![],
            rows: 0,
        };
        Ok(Self { dir, manifest, schema: None })
    }

    /// The run's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Lands one batch as the next part file (blocking I/O and CPU: call it off the async threads).
    pub fn write(&mut self, df: &DataFrame) -> Result<(), LandingError> {
        let name = format!("part-{:05}.avro", self.manifest.files.len());
        let path = self.dir.join(&name);
        if self.schema.is_none() {
            self.schema = Some(schema_of(df, &self.manifest.pipeline).map_err(|e| avro(&path, e))?);
        }
        let Some((schema, columns)) = &self.schema else { return Ok(()) };
        if self.manifest.columns.is_empty() {
            self.manifest.columns = columns.clone();
        }
        let encoded = encode_rows(df, columns).map_err(|e| avro(&path, e))?;
        // The sync marker only has to be unlikely to occur in the data: derive it per file.
        let digest = Sha256::digest(format!("{}/{}/{name}", self.manifest.pipeline, self.manifest.run_id));
        let mut sync = [0u8; 16];
        sync.copy_from_slice(&digest[..16]);
        let rows = df.height() as u64;
        let bytes = container_file(schema, rows, &encoded, sync);
        let sha256: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(&path, &bytes).map_err(|e| io(&path, e))?;
        self.manifest.rows += rows;
        self.manifest.files.push(LandedFile { name, rows, bytes: bytes.len() as u64, sha256 });
        Ok(())
    }

    /// Writes the manifest with the run's outcome.
    pub fn finish(mut self, success: bool) -> Result<Manifest, LandingError> {
        self.manifest.status = if success { "success" } else { "failed" }.into();
        let path = self.dir.join("manifest.json");
        let text = serde_json::to_string_pretty(&self.manifest).map_err(|e| avro(&path, e))?;
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        Ok(self.manifest)
    }
}

/// Reads a run's manifest.
pub fn read_manifest(run_dir: &Path) -> Result<Manifest, LandingError> {
    let path = run_dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| avro(&path, e))
}

/// The landed run directories of `pipeline`, oldest first (by run id).
pub fn runs(root: &Path, pipeline: &str) -> Result<Vec<(i64, PathBuf)>, LandingError> {
    let base = root.join(pipeline);
    let mut out = Vec::new();
    let Ok(dates) = std::fs::read_dir(&base) else { return Ok(out) };
    for date in dates {
        let date = date.map_err(|e| io(&base, e))?.path();
        if !date.is_dir() {
            continue;
        }
        for run in std::fs::read_dir(&date).map_err(|e| io(&date, e))? {
            let run = run.map_err(|e| io(&date, e))?.path();
            if let Some(id) = run.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<i64>().ok()) {
                out.push((id, run));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Keeps the newest `keep_runs` landed runs of `pipeline`, and of those only the ones landed on
/// or after `oldest_date` (`YYYY-MM-DD`, when given); deletes the others (and date directories
/// left empty); returns the run ids deleted.
pub fn retain(
    root: &Path,
    pipeline: &str,
    keep_runs: usize,
    oldest_date: Option<&str>,
) -> Result<Vec<i64>, LandingError> {
    let all = runs(root, pipeline)?;
    let excess = all.len().saturating_sub(keep_runs);
    let too_old = |dir: &PathBuf| {
        let date = dir.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
        oldest_date.is_some_and(|limit| date < limit)
    };
    let mut deleted = Vec::new();
    for (i, (id, dir)) in all.into_iter().enumerate() {
        if i >= excess && !too_old(&dir) {
            continue;
        }
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
        if let Some(date) = dir.parent() {
            // Only removes the date directory when it is empty.
            let _ = std::fs::remove_dir(date);
        }
        deleted.push(id);
    }
    Ok(deleted)
}

/// Reads a landed part file back into the batch it was written from: the same column names,
/// types and values (`long` → Int64, `double` → Float64, `boolean` → Boolean, `string` → String).
pub fn read_part(path: &Path, columns: &[LandedColumn]) -> Result<DataFrame, LandingError> {
    use polars::prelude::Column;
    enum Col {
        Long(Vec<Option<i64>>),
        Double(Vec<Option<f64>>),
        Bool(Vec<Option<bool>>),
        Text(Vec<Option<String>>),
    }
    let mut cols: Vec<Col> = columns
        .iter()
        .map(|c| match c.avro_type.as_str() {
            "long" => Col::Long(vec![]),
            "double" => Col::Double(vec![]),
            "boolean" => Col::Bool(vec![]),
            _ => Col::Text(vec![]),
        })
        .collect();
    let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let reader = apache_avro::Reader::new(std::io::BufReader::new(file)).map_err(|e| avro(path, e))?;
    let mut height = 0;
    for record in reader {
        let Value::Record(fields) = record.map_err(|e| avro(path, e))? else {
            return Err(avro(path, "a landed file holds records"));
        };
        if fields.len() != cols.len() {
            return Err(avro(
                path,
                format!("records have {} fields, the manifest {}", fields.len(), cols.len()),
            ));
        }
        for (col, (_, value)) in cols.iter_mut().zip(fields) {
            let value = match value {
                Value::Union(_, inner) => *inner,
                other => other,
            };
            match (col, value) {
                (Col::Long(v), Value::Long(x)) => v.push(Some(x)),
                (Col::Double(v), Value::Double(x)) => v.push(Some(x)),
                (Col::Bool(v), Value::Boolean(x)) => v.push(Some(x)),
                (Col::Text(v), Value::String(x)) => v.push(Some(x)),
                (Col::Long(v), _) => v.push(None),
                (Col::Double(v), _) => v.push(None),
                (Col::Bool(v), _) => v.push(None),
                (Col::Text(v), _) => v.push(None),
            }
        }
        height += 1;
    }
    let out = columns
        .iter()
        .zip(cols)
        .map(|(c, col)| match col {
            Col::Long(v) => Column::new(c.name.as_str().into(), v),
            Col::Double(v) => Column::new(c.name.as_str().into(), v),
            Col::Bool(v) => Column::new(c.name.as_str().into(), v),
            Col::Text(v) => Column::new(c.name.as_str().into(), v),
        })
        .collect();
    DataFrame::new(height, out).map_err(|e| avro(path, e))
}

/// A source that reads landed runs instead of the OPD system: each part file of each run, in
/// order, becomes the batch it was. No checkpoints: a replay never moves a pipeline's position.
pub struct LandedSource {
    runs: Vec<PathBuf>,
}

impl LandedSource {
    /// Replays the given run directories, in this order.
    pub fn new(runs: Vec<PathBuf>) -> Self {
        Self { runs }
    }
}

#[async_trait::async_trait]
impl satu_core::Source for LandedSource {
    async fn check(&mut self) -> Result<(), satu_core::SourceError> {
        for run in &self.runs {
            read_manifest(run)
                .map_err(|e| satu_core::SourceError::config(run.display().to_string(), e.to_string()))?;
        }
        Ok(())
    }

    async fn discover(&mut self) -> Result<satu_core::Catalog, satu_core::SourceError> {
        Ok(satu_core::Catalog::default())
    }

    fn read(self: Box<Self>, _cx: satu_core::ReadContext) -> satu_core::BatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::task::spawn_blocking(move || {
            let mut seq = 0;
            for run in &self.runs {
                let at = run.display().to_string();
                let manifest = match read_manifest(run) {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(satu_core::SourceError::data(at, e.to_string())));
                        return;
                    }
                };
                for file in &manifest.files {
                    let path = run.join(&file.name);
                    let batch = sha256_of(&path)
                        .and_then(|(sha, _)| {
                            if sha == file.sha256 {
                                read_part(&path, &manifest.columns)
                            } else {
                                Err(avro(&path, "the file's SHA-256 differs from its manifest: it was changed after landing"))
                            }
                        })
                        .map(|df| satu_core::Batch { df, seq, checkpoint: None, replaces: None })
                        .map_err(|e| satu_core::SourceError::data(path.display().to_string(), e.to_string()));
                    let failed = batch.is_err();
                    if tx.blocking_send(batch).is_err() || failed {
                        return;
                    }
                    seq += 1;
                }
            }
        });
        satu_core::channel_stream(rx)
    }
}

/// What `satu landing inspect` shows: the manifest (for a run directory), the schema embedded
/// in the first file, and its first rows.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The run's manifest, when `path` is a run directory.
    pub manifest: Option<Manifest>,
    /// The Avro file read.
    pub file: String,
    /// Its embedded writer schema (JSON).
    pub schema: serde_json::Value,
    /// Its first rows, as JSON objects.
    pub rows: Vec<serde_json::Value>,
}

fn json_of(v: Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Boolean(b) => b.into(),
        Value::Int(i) => i.into(),
        Value::Long(i) => i.into(),
        Value::Float(f) => f64::from(f).into(),
        Value::Double(f) => f.into(),
        Value::String(s) => s.into(),
        Value::Union(_, inner) => json_of(*inner),
        Value::Record(fields) => {
            fields.into_iter().map(|(k, v)| (k, json_of(v))).collect::<serde_json::Map<_, _>>().into()
        }
        other => format!("{other:?}").into(),
    }
}

/// Reads a landed run directory (its manifest and first file) or one landed file.
pub fn inspect(path: &Path, limit: usize) -> Result<Inspection, LandingError> {
    let (manifest, file) = if path.is_dir() {
        let m = read_manifest(path)?;
        let first =
            m.files.first().map(|f| path.join(&f.name)).unwrap_or_else(|| path.join("part-00000.avro"));
        (Some(m), first)
    } else {
        (None, path.to_path_buf())
    };
    let reader_file = std::fs::File::open(&file).map_err(|e| io(&file, e))?;
    let reader =
        apache_avro::Reader::new(std::io::BufReader::new(reader_file)).map_err(|e| avro(&file, e))?;
    let schema: serde_json::Value =
        serde_json::from_str(&reader.writer_schema().canonical_form()).map_err(|e| avro(&file, e))?;
    let mut rows = Vec::new();
    for value in reader.take(limit) {
        rows.push(json_of(value.map_err(|e| avro(&file, e))?));
    }
    Ok(Inspection { manifest, file: file.display().to_string(), schema, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn batches_land_as_avro_with_a_manifest() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let mut w = LandingWriter::create(root.path(), "dinkes-kunjungan", 7)?;
        let a = df!(
            "kelurahan" => [Some("Kel. Magersari"), None],
            "jumlah penduduk" => ["1.234", "3O"],
            "tahun" => [2024i64, 2024],
            "rasio" => [Some(0.5f64), None],
            "aktif" => [true, false],
        )?;
        w.write(&a)?;
        w.write(&a.slice(0, 1))?;
        let dir = w.dir().to_path_buf();
        let m = w.finish(true)?;
        assert_eq!((m.rows, m.files.len(), m.status.as_str()), (3, 2, "success"));
        assert_eq!(m.columns[1].field, "jumlah_penduduk");
        assert_eq!(read_manifest(&dir)?, m);

        let file = std::fs::File::open(dir.join("part-00000.avro"))?;
        let rows: Vec<Value> = apache_avro::Reader::new(file)?.collect::<Result<_, _>>()?;
        assert_eq!(rows.len(), 2);
        let Value::Record(fields) = &rows[0] else { panic!("a record") };
        assert_eq!(
            fields[0],
            ("kelurahan".into(), Value::Union(1, Box::new(Value::String("Kel. Magersari".into()))))
        );
        assert_eq!(fields[2], ("tahun".into(), Value::Union(1, Box::new(Value::Long(2024)))));
        let Value::Record(second) = &rows[1] else { panic!("a record") };
        assert_eq!(second[0].1, Value::Union(0, Box::new(Value::Null)));
        assert_eq!(sha256_of(&dir.join("part-00001.avro"))?.0, m.files[1].sha256);

        let back = read_part(&dir.join("part-00000.avro"), &m.columns)?;
        assert!(back.equals_missing(&a), "{back}");

        let seen = inspect(&dir, 1)?;
        assert_eq!(seen.manifest.as_ref().map(|m| m.rows), Some(3));
        assert_eq!(
            seen.rows,
            vec![serde_json::json!({
                "kelurahan": "Kel. Magersari", "jumlah_penduduk": "1.234", "tahun": 2024, "rasio": 0.5, "aktif": true
            })]
        );
        assert_eq!(seen.schema["fields"][1]["name"], "jumlah_penduduk");
        Ok(())
    }

    #[test]
    fn retention_keeps_the_newest_runs() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let df = df!("a" => [1i64])?;
        for run in [3, 11, 5, 8] {
            let mut w = LandingWriter::create(root.path(), "p", run)?;
            w.write(&df)?;
            w.finish(true)?;
        }
        let other = LandingWriter::create(root.path(), "q", 1)?;
        other.finish(true)?;
        assert_eq!(retain(root.path(), "p", 2, None)?, vec![3, 5]);
        let left: Vec<i64> = runs(root.path(), "p")?.into_iter().map(|(id, _)| id).collect();
        assert_eq!(left, vec![8, 11]);
        assert_eq!(runs(root.path(), "q")?.len(), 1, "other pipelines are untouched");
        assert_eq!(retain(root.path(), "p", 2, None)?, Vec::<i64>::new());
        // By age: a run landed on an older date goes even when the count allows it.
        let old = root.path().join("p/2020-01-01/1");
        std::fs::create_dir_all(&old)?;
        assert_eq!(retain(root.path(), "p", 10, Some("2024-01-01"))?, vec![1]);
        assert!(!old.parent().is_some_and(|p| p.exists()), "the emptied date directory is removed");
        assert_eq!(runs(root.path(), "p")?.len(), 2);
        Ok(())
    }
}
