//! File sources for Satu: CSV with a chosen delimiter, header row (title rows above it are
//! skipped), UTF-8 (with or without BOM), latin1/windows-1252, and CRLF line ends; one sheet of a
//! spreadsheet ([`SheetSource`]); JSON and NDJSON files ([`JsonSource`]).
//!
//! The file is read on a blocking thread into batches of string columns, handed over a bounded
//! channel (2 batches deep) so memory stays flat whatever the file size. Every row carries its
//! location (`path:line`). The checkpoint is the file's SHA-256 and the rows read: a run killed
//! mid-file resumes after the last committed batch if the file has not changed.

mod context;
mod folder;
mod json;
mod sheet;

pub use context::TitleValues;
pub use folder::{After, FolderConfig, FolderSource};
pub use json::{AvroConfig, JsonConfig, JsonSource};
pub use sheet::{SheetConfig, SheetSource};

use polars::prelude::*;
use satu_core::{
    Batch, BatchStream, Catalog, CatalogColumn, CatalogEntry, ReadContext, Source, SourceError, SourceState,
    LOCATION_COLUMN,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// `source = { type = "csv", … }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// The file, relative to the config file's directory.
    pub path: PathBuf,
    /// Field delimiter: one character (`,` `;` `\t` `|`), or `auto` (the default): the one of
    /// those that occurs most often, outside quotes, on the header line.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Line number (1-based) of the header; lines above it (titles) are skipped. Default 1.
    #[serde(default = "default_header_row")]
    pub header_row: usize,
    /// Instead of `header_row`: several header lines (`[4, 5]`, a BPS table's two-row header),
    /// flattened into column names like `Jumlah Penduduk/2023*` as for spreadsheets.
    #[serde(default)]
    pub header_rows: Vec<usize>,
    /// Text encoding: `utf-8` (default; a BOM is removed), `latin1` or `windows-1252`.
    #[serde(default)]
    pub encoding: Encoding,
    /// Values taken from the title lines above the header, or else from the footnotes at the
    /// end of the file, as columns of every row: `{ tahun = 'Tahun (\d{4})' }` (see
    /// [`TitleValues`]).
    #[serde(default)]
    pub values: TitleValues,
}

fn default_delimiter() -> String {
    "auto".into()
}

fn default_header_row() -> usize {
    1
}

/// Text encodings of CSV files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    #[default]
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// ISO-8859-1, read as its superset windows-1252 (as browsers and Excel do).
    #[serde(rename = "latin1", alias = "iso-8859-1")]
    Latin1,
    /// Windows-1252.
    #[serde(rename = "windows-1252", alias = "cp1252")]
    Windows1252,
}

impl CsvConfig {
    /// Config checks that need no I/O; returns (key, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.delimiter != "auto" && self.delimiter_byte().is_none() {
            out.push(("delimiter", format!("`{}` is not a single one-byte character", self.delimiter)));
        }
        if self.header_row == 0 {
            out.push(("header_row", "lines are numbered from 1".to_string()));
        }
        if self.path.as_os_str().is_empty() {
            out.push(("path", "no file given".to_string()));
        }
        out
    }

    fn delimiter_byte(&self) -> Option<u8> {
        match self.delimiter.as_str() {
            "\\t" | "\t" | "tab" => Some(b'\t'),
            d if d.len() == 1 => d.bytes().next(),
            _ => None,
        }
    }
}

/// A CSV file source.
pub struct CsvSource {
    config: CsvConfig,
    /// The file as the config names it, for messages and lineage.
    display: String,
    /// The file resolved against the config directory.
    path: PathBuf,
}

impl CsvSource {
    /// A source for `config`, resolving its path against `base_dir`.
    pub fn new(config: CsvConfig, base_dir: &Path) -> Self {
        let display = config.path.display().to_string();
        let path = base_dir.join(&config.path);
        Self { config, display, path }
    }
}

#[async_trait::async_trait]
impl Source for CsvSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        tokio::fs::metadata(&self.path).await.map(|_| ()).map_err(|e| SourceError::io(&self.display, &e))
    }

    async fn discover(&mut self) -> Result<Catalog, SourceError> {
        let (config, path, display) = (self.config.clone(), self.path.clone(), self.display.clone());
        let header = tokio::task::spawn_blocking(move || {
            let mut reader = Reader::open(&config, &path, &display)?;
            reader.header()
        })
        .await
        .map_err(|e| SourceError::internal(&self.display, e.to_string()))??;
        Ok(Catalog {
            entries: vec![CatalogEntry {
                name: self.display.clone(),
                columns: header
                    .into_iter()
                    .map(|name| CatalogColumn { name, source_type: "text".into(), nullable: true })
                    .collect(),
                primary_key: vec![],
                row_estimate: None,
            }],
        })
    }

    fn read(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let this = *self;
        tokio::task::spawn_blocking(move || {
            if let Err(e) = this.produce(&cx, &tx) {
                // The receiver may be gone (run cancelled): nothing left to tell.
                let _ = tx.blocking_send(Err(e));
            }
        });
        satu_core::channel_stream(rx)
    }
}

type Sender = tokio::sync::mpsc::Sender<Result<Batch, SourceError>>;

impl CsvSource {
    fn produce(&self, cx: &ReadContext, tx: &Sender) -> Result<(), SourceError> {
        let sha = sha256_file(&self.path).map_err(|e| SourceError::io(&self.display, &e))?;
        let resume_after = cx
            .state
            .as_ref()
            .filter(|s| s.0["sha256"] == sha.as_str() && s.0["complete"] != true)
            .and_then(|s| s.0["rows"].as_u64())
            .unwrap_or(0);
        let mut reader = Reader::open(&self.config, &self.path, &self.display)?;
        let header = reader.header()?;
        if let Some(clash) = self.config.values.clash(&header) {
            return Err(SourceError::config(&self.display, clash));
        }
        // Values are looked for in the title lines, and only when some are not there, also in
        // the footnotes at the end of the file.
        let values = match self.config.values.extract(reader.title.iter().map(String::as_str)) {
            Ok(values) => values,
            Err(_) => {
                let footnotes = tail_lines(&self.path, reader.delimiter, self.config.encoding)
                    .map_err(|e| SourceError::io(&self.display, &e))?;
                self.config
                    .values
                    .extract(reader.title.iter().chain(&footnotes).map(String::as_str))
                    .map_err(|e| SourceError::data(&self.display, e))?
            }
        };
        let mut rows_done = 0u64;
        let mut seq = 0u64;
        let mut builder = BatchBuilder::new(&header, cx.batch_rows);
        builder.constants = (std::mem::take(&mut reader.title), values);
        // A full batch waits until the next row shows the file goes on, so that the last batch
        // is the one marked complete (and no empty batch trails a full one).
        let mut pending: Option<Batch> = None;
        let state = |rows: u64, complete: bool| serde_json::json!({ "sha256": sha, "rows": rows, "complete": complete });
        while let Some((line, fields)) = reader.next_record()? {
            if fields.len() != header.len() {
                return Err(SourceError::data(
                    format!("{}:{line}", self.display),
                    format!("the row has {} fields, the header {}", fields.len(), header.len()),
                ));
            }
            rows_done += 1;
            if rows_done <= resume_after {
                continue;
            }
            if let Some(batch) = pending.take() {
                if !send(tx, batch) {
                    return Ok(());
                }
            }
            builder.push(fields, format!("{}:{line}", self.display));
            if builder.len() >= cx.batch_rows {
                pending = Some(builder.take(seq, state(rows_done, false), &self.display)?);
                seq += 1;
            }
        }
        let last = match pending {
            Some(mut batch) => {
                batch.checkpoint = Some(SourceState(state(rows_done, true)));
                batch
            }
            None => builder.take(seq, state(rows_done, true), &self.display)?,
        };
        send(tx, last);
        Ok(())
    }
}

/// Sends a batch; false when the consumer has gone away.
fn send(tx: &Sender, batch: Batch) -> bool {
    tx.blocking_send(Ok(batch)).is_ok()
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Turns CRLF into LF on the fly and remembers how far it got, so that line numbers can be
/// computed exactly (the csv crate's own record positions drift over blank lines and CRLF).
struct LfReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    pending_cr: bool,
    eof: bool,
    emitted: u64,
    last: u8,
}

impl<R: Read> LfReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; 1 << 16],
            pos: 0,
            len: 0,
            pending_cr: false,
            eof: false,
            emitted: 0,
            last: 0,
        }
    }
}

impl<R: Read> Read for LfReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            if self.pos == self.len {
                if self.eof {
                    break;
                }
                self.len = self.inner.read(&mut self.buf)?;
                self.pos = 0;
                if self.len == 0 {
                    self.eof = true;
                    if std::mem::take(&mut self.pending_cr) {
                        out[n] = b'\r';
                        n += 1;
                    }
                    break;
                }
            }
            let b = self.buf[self.pos];
            self.pos += 1;
            if std::mem::take(&mut self.pending_cr) && b != b'\n' {
                out[n] = b'\r';
                n += 1;
                if n == out.len() {
                    self.pos -= 1;
                    break;
                }
            }
            if b == b'\r' {
                self.pending_cr = true;
                continue;
            }
            out[n] = b;
            n += 1;
        }
        self.emitted += n as u64;
        if n > 0 {
            self.last = out[n - 1];
        }
        Ok(n)
    }
}

/// The delimiter of a CSV file: of `,` `;` tab `|`, the one most frequent outside quotes on the
/// header line (line `header_row`, counted in the first 64 KiB); `,` when none occurs.
fn sniff_delimiter(path: &Path, header_row: usize) -> std::io::Result<u8> {
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)?.take(64 * 1024).read_to_end(&mut head)?;
    let line = head.split(|b| *b == b'\n').nth(header_row.saturating_sub(1)).unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for b in line {
        if *b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(c) = counts.iter_mut().find(|(d, _)| d == b) {
                c.1 += 1;
            }
        }
    }
    let best = counts.iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map_or(b',', |(d, _)| *d);
    Ok(best)
}

/// The text of the last lines of a file (its last 64 KiB: footnotes such as `Sumber: …, data per
/// 31 Agustus 2024`), each as its fields joined by spaces, quotes removed.
fn tail_lines(path: &Path, delimiter: u8, encoding: Encoding) -> std::io::Result<Vec<String>> {
    use std::io::{Seek, SeekFrom};
    const TAIL: u64 = 64 * 1024;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))?;
    let mut bytes = Vec::with_capacity(TAIL as usize);
    file.read_to_end(&mut bytes)?;
    let text = match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(&bytes).into_owned(),
        Encoding::Latin1 | Encoding::Windows1252 => {
            encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes).0.into_owned()
        }
    };
    // A line cut by the start of the tail is not a whole line.
    let skip = usize::from(len > TAIL);
    let delimiter = char::from(delimiter);
    Ok(text
        .lines()
        .skip(skip)
        .map(|line| context::line_text(line.split(delimiter).map(|f| f.trim().trim_matches('"'))))
        .filter(|line| !line.is_empty())
        .collect())
}

/// The largest field Satu reads (1 MiB): anything bigger is a broken export.
const MAX_FIELD: usize = 1 << 20;

/// Reads records and decodes their fields.
struct Reader<'a> {
    inner: csv::Reader<LfReader<std::fs::File>>,
    record: csv::ByteRecord,
    encoding: Encoding,
    header_row: usize,
    header_rows: Vec<usize>,
    display: &'a str,
    first: bool,
    /// The title lines above the header, as read by [`Reader::header`].
    title: Vec<String>,
    /// The field delimiter in use.
    delimiter: u8,
}

impl<'a> Reader<'a> {
    fn open(config: &CsvConfig, path: &Path, display: &'a str) -> Result<Self, SourceError> {
        let delimiter = match config.delimiter.as_str() {
            "auto" => {
                sniff_delimiter(path, config.header_rows.iter().copied().max().unwrap_or(config.header_row))
                    .map_err(|e| SourceError::io(display, &e))?
            }
            _ => config.delimiter_byte().ok_or_else(|| {
                SourceError::config(display, format!("bad delimiter `{}`", config.delimiter))
            })?,
        };
        let file = std::fs::File::open(path).map_err(|e| SourceError::io(display, &e))?;
        let inner = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(LfReader::new(file));
        Ok(Self {
            inner,
            record: csv::ByteRecord::new(),
            encoding: config.encoding,
            header_row: config.header_row,
            header_rows: config.header_rows.clone(),
            display,
            first: true,
            title: Vec::new(),
            delimiter,
        })
    }

    /// The next record and the line it starts on.
    fn next_record(&mut self) -> Result<Option<(u64, Vec<String>)>, SourceError> {
        loop {
            let more = self.inner.read_byte_record(&mut self.record).map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                SourceError::data(format!("{}:{line}", self.display), e.to_string())
            })?;
            if !more {
                return Ok(None);
            }
            let line = self.start_line();
            if let Some((i, field)) = self.record.iter().enumerate().find(|(_, f)| f.len() > MAX_FIELD) {
                return Err(SourceError::data(
                    format!("{}:{line}", self.display),
                    format!(
                        "field {} holds {} bytes, more than the {MAX_FIELD} Satu reads: an unclosed quote \
                         swallowing the rest of the file?",
                        i + 1,
                        field.len()
                    ),
                ));
            }
            // Blank lines (a single empty field) carry nothing.
            if self.record.len() == 1 && self.record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut fields = Vec::with_capacity(self.record.len());
            for (i, raw) in self.record.iter().enumerate() {
                let raw =
                    if self.first && i == 0 { raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw) } else { raw };
                fields.push(self.decode(raw, line)?);
            }
            self.first = false;
            return Ok(Some((line, fields)));
        }
    }

    /// The line the record just read starts on: the line it ends on, less the line breaks
    /// inside its fields. After a record ending in a newline the reader stands on the next line.
    fn start_line(&self) -> u64 {
        let after = self.inner.position();
        let src = self.inner.get_ref();
        let unterminated = src.eof && after.byte() == src.emitted && src.last != b'\n';
        // An unclosed quote runs to the end of the file: its last line break is inside the field.
        let swallowed = self.record.iter().next_back().is_some_and(|f| f.ends_with(b"\n"));
        let end_line = if unterminated || swallowed { after.line() } else { after.line().saturating_sub(1) };
        let inner_breaks =
            self.record.iter().map(|f| f.iter().filter(|b| **b == b'\n').count() as u64).sum::<u64>();
        end_line.saturating_sub(inner_breaks).max(1)
    }

    fn decode(&self, raw: &[u8], line: u64) -> Result<String, SourceError> {
        match self.encoding {
            Encoding::Utf8 => String::from_utf8(raw.to_vec()).map_err(|_| {
                SourceError::data(
                    format!("{}:{line}", self.display),
                    "the text is not valid UTF-8; set `encoding = \"latin1\"` (or \"windows-1252\") on this source",
                )
            }),
            Encoding::Latin1 | Encoding::Windows1252 => {
                Ok(encoding_rs::WINDOWS_1252.decode_without_bom_handling(raw).0.into_owned())
            }
        }
    }

    /// Skips the title lines and returns the header's column names (trimmed; must be unique
    /// and non-empty).
    fn header(&mut self) -> Result<Vec<String>, SourceError> {
        let mut grid: Vec<Vec<Option<String>>> = Vec::new();
        loop {
            let Some((line, fields)) = self.next_record()? else {
                return Err(SourceError::data(self.display, "the file has no header row"));
            };
            let line = line as usize;
            let first_header = self.header_rows.iter().copied().min().unwrap_or(self.header_row);
            if line < first_header {
                self.title.push(context::line_text(fields.iter().map(String::as_str)));
            }
            if !self.header_rows.is_empty() {
                if self.header_rows.contains(&line) {
                    grid.push(fields.iter().map(|f| Some(f.clone())).collect());
                }
                if line < self.header_rows.iter().copied().max().unwrap_or(0) {
                    continue;
                }
            } else if line < self.header_row {
                continue;
            }
            let names: Vec<String> = if grid.is_empty() {
                fields.iter().map(|f| f.trim().to_string()).collect()
            } else {
                satu_formats::sheet::flatten_header(&grid)
                    .into_iter()
                    .map(Option::unwrap_or_default)
                    .collect()
            };
            let at = format!("{}:{line}", self.display);
            for (i, n) in names.iter().enumerate() {
                if n.is_empty() {
                    return Err(SourceError::data(at, format!("header column {} has no name", i + 1)));
                }
                if satu_core::is_reserved(n) || names[..i].contains(n) {
                    return Err(SourceError::data(
                        at,
                        format!("header column `{n}` is duplicated or reserved"),
                    ));
                }
            }
            return Ok(names);
        }
    }
}

/// Column builders for one batch.
struct BatchBuilder {
    names: Vec<String>,
    columns: Vec<Vec<String>>,
    locations: Vec<String>,
    capacity: usize,
    /// The title lines and the values taken from them, added to every batch.
    constants: (Vec<String>, Vec<(String, String)>),
}

impl BatchBuilder {
    fn new(names: &[String], capacity: usize) -> Self {
        let capacity = capacity.min(100_000);
        Self {
            names: names.to_vec(),
            columns: names.iter().map(|_| Vec::with_capacity(capacity)).collect(),
            locations: Vec::with_capacity(capacity),
            capacity,
            constants: Default::default(),
        }
    }

    fn len(&self) -> usize {
        self.locations.len()
    }

    fn push(&mut self, fields: Vec<String>, location: String) {
        for (col, f) in self.columns.iter_mut().zip(fields) {
            col.push(f);
        }
        self.locations.push(location);
    }

    fn take(&mut self, seq: u64, state: serde_json::Value, display: &str) -> Result<Batch, SourceError> {
        let height = self.len();
        let mut cols: Vec<Column> = self
            .names
            .iter()
            .zip(self.columns.iter_mut())
            .map(|(n, v)| {
                Column::new(n.as_str().into(), std::mem::replace(v, Vec::with_capacity(self.capacity)))
            })
            .collect();
        let locations = std::mem::replace(&mut self.locations, Vec::with_capacity(self.capacity));
        cols.push(Column::new(LOCATION_COLUMN.into(), locations));
        let internal = |e: PolarsError| SourceError::internal(display, e.to_string());
        let mut df = DataFrame::new(height, cols).map_err(internal)?;
        context::add_columns(&mut df, &self.constants.0, &self.constants.1).map_err(internal)?;
        Ok(Batch { df, seq, checkpoint: Some(SourceState(state)), replaces: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn config(path: &str, extra: serde_json::Value) -> CsvConfig {
        let mut v = serde_json::json!({ "path": path });
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        serde_json::from_value(v).expect("valid test config")
    }

    async fn read_all(
        dir: &Path,
        cfg: CsvConfig,
        batch_rows: usize,
        state: Option<SourceState>,
    ) -> Result<Vec<Batch>, SourceError> {
        let cx = ReadContext { pipeline: "t".into(), batch_rows, state, from: None, needs: vec![] };
        Box::new(CsvSource::new(cfg, dir)).read(cx).try_collect().await
    }

    #[tokio::test]
    async fn the_delimiter_is_sniffed_from_the_header_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for (name, body) in [
            ("semi.csv", "Judul, dengan koma\n\"kelurahan, nama\";jumlah\nMagersari;1.234,5\n"),
            ("tab.csv", "kelurahan\tjumlah\nMagersari\t7\n"),
            ("pipe.csv", "kelurahan|jumlah\nMagersari|7\n"),
        ] {
            std::fs::write(dir.path().join(name), body)?;
        }
        let semi = read_all(dir.path(), config("semi.csv", serde_json::json!({ "header_row": 2 })), 10, None)
            .await?;
        assert_eq!(semi[0].df.column("jumlah")?.str()?.get(0), Some("1.234,5"));
        assert_eq!(semi[0].df.column("kelurahan, nama")?.str()?.get(0), Some("Magersari"));
        for name in ["tab.csv", "pipe.csv"] {
            let b = read_all(dir.path(), config(name, serde_json::json!({})), 10, None).await?;
            assert_eq!(b[0].df.column("jumlah")?.str()?.get(0), Some("7"), "{name}");
        }
        Ok(())
    }

    #[tokio::test]
    async fn an_unclosed_quote_is_named_not_swallowed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut body = String::from("kelurahan,jumlah\nMagersari,1\nKauman,\"12\n");
        body.push_str(&"Wates,3\n".repeat(400_000));
        std::fs::write(dir.path().join("a.csv"), body)?;
        let err = read_all(dir.path(), config("a.csv", serde_json::json!({})), 10, None)
            .await
            .err()
            .ok_or("a 3 MB field is an error")?;
        assert_eq!(err.location, "a.csv:3");
        assert!(err.message.contains("an unclosed quote"), "{err}");
        Ok(())
    }

    #[tokio::test]
    async fn bom_crlf_semicolons_and_title_rows() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let body = "\u{feff}Judul Laporan\r\n\r\nkelurahan;jumlah\r\nMagersari;1.234\r\n\"Wates;\r\n Magersari\";\"12,5\"\r\n\r\nKauman;7";
        std::fs::write(dir.path().join("a.csv"), body)?;
        let cfg = config(
            "a.csv",
            serde_json::json!({ "delimiter": ";", "header_row": 3, "values": { "laporan": "^judul (\\w+)$" } }),
        );
        let batches = read_all(dir.path(), cfg, 1, None).await?;
        assert_eq!(batches.len(), 3);
        // The title line travels with every row, and a value taken from it becomes a column.
        let expected = df!(
            "kelurahan" => ["Magersari"],
            "jumlah" => ["1.234"],
            LOCATION_COLUMN => ["a.csv:4"],
            satu_core::TITLE_COLUMN => ["Judul Laporan"],
            "laporan" => ["Laporan"],
        )?;
        assert!(batches[0].df.equals(&expected), "{}", batches[0].df);
        assert_eq!(batches[1].df.column("kelurahan")?.str()?.get(0), Some("Wates;\n Magersari"));
        assert_eq!(batches[1].df.column(LOCATION_COLUMN)?.str()?.get(0), Some("a.csv:5"));
        assert_eq!(batches[2].df.column(LOCATION_COLUMN)?.str()?.get(0), Some("a.csv:8"));
        assert_eq!(batches[2].checkpoint.as_ref().map(|s| s.0["complete"].clone()), Some(true.into()));
        Ok(())
    }

    #[tokio::test]
    async fn values_come_from_footnotes_too() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let body = "kecamatan,jumlah\nMagersari,1\nKranggan,2\n\"Sumber: BPS, keadaan 31 Desember 2023\",\n";
        std::fs::write(dir.path().join("f.csv"), body)?;
        let cfg = config("f.csv", serde_json::json!({ "values": { "keadaan": "keadaan (.+)$" } }));
        let batches = read_all(dir.path(), cfg, 10, None).await?;
        assert_eq!(batches[0].df.column("keadaan")?.str()?.get(1), Some("31 Desember 2023"));
        let cfg = config("f.csv", serde_json::json!({ "values": { "tahun": "tahun (\\d+)" } }));
        let err = read_all(dir.path(), cfg, 10, None).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("values.tahun: no title line or footnote matches"), "{err}");
        Ok(())
    }

    #[tokio::test]
    async fn latin1_text_is_decoded_and_invalid_utf8_is_a_clear_error(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("l.csv"), b"nama,ket\nKauman,caf\xe9\n")?;
        let batches =
            read_all(dir.path(), config("l.csv", serde_json::json!({ "encoding": "latin1" })), 10, None)
                .await?;
        assert_eq!(batches[0].df.column("ket")?.str()?.get(0), Some("café"));
        let err = read_all(dir.path(), config("l.csv", serde_json::json!({})), 10, None).await.err();
        let err = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("l.csv:2") && err.contains("latin1"), "{err}");
        Ok(())
    }

    #[tokio::test]
    async fn ragged_rows_and_missing_files_name_their_place() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("r.csv"), "a,b\n1,2\n3\n")?;
        let err = read_all(dir.path(), config("r.csv", serde_json::json!({})), 10, None).await.err();
        assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("r.csv:3"));
        let err = read_all(dir.path(), config("nope.csv", serde_json::json!({})), 10, None).await.err();
        assert_eq!(err.map(|e| e.kind), Some(satu_core::ErrorKind::Config));
        Ok(())
    }

    #[tokio::test]
    async fn resumes_after_the_committed_rows_of_an_unchanged_file() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("n.csv"), "n\n1\n2\n3\n4\n5\n")?;
        let all = read_all(dir.path(), config("n.csv", serde_json::json!({})), 2, None).await?;
        assert_eq!(all.iter().map(|b| b.df.height()).collect::<Vec<_>>(), vec![2, 2, 1]);
        let after_first = all[0].checkpoint.clone();
        let rest = read_all(dir.path(), config("n.csv", serde_json::json!({})), 2, after_first).await?;
        let mut values = Vec::new();
        for b in &rest {
            values.extend(b.df.column("n")?.str()?.iter().flatten().map(str::to_string));
        }
        assert_eq!(values, vec!["3", "4", "5"]);
        Ok(())
    }
}
