//! `source = { type = "folder", … }`: a drop folder. OPDs (or a walidata) drop files into it;
//! each run reads the files that are new or changed, once.
//!
//! Every file is fingerprinted (SHA-256). The same file again is a no-op; a new version of a file
//! replaces exactly the observations that came from its earlier version (its first batch asks
//! the warehouse to withdraw them, in the same transaction); a broken file is moved to `failed/`
//! with its reason beside it (`<name>.error.txt`) while the other files load. A file is read whole
//! before any of it is loaded, so a broken file loads nothing. Files whose version is committed
//! are moved to `processed/` at the start of the next run (never before the warehouse has them).
//!
//! Memory: files are read one after the other, and a file's batches are handed over (two
//! batches deep) as soon as the file has been read whole, so a run holds one file at a time.

use crate::{AvroConfig, CsvConfig, CsvSource, JsonConfig, JsonSource, SheetConfig, SheetSource};
use futures::StreamExt;
use satu_core::{Batch, BatchStream, Catalog, ReadContext, Source, SourceError, SourceState};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `source = { type = "folder", path = "inbox/disdik", pattern = "*.xlsx", read = { type = "xlsx", … } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    /// The drop folder, relative to the config file's directory.
    pub path: PathBuf,
    /// File names to take, with `*` wildcards (default `*`); case-insensitive.
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// How to read each file: a `csv`, `xlsx` or `json` source table without `path`.
    pub read: Value,
    /// `move` (default): loaded files go to `processed/`, broken ones to `failed/`; `keep`:
    /// files stay where they are.
    #[serde(default)]
    pub after: After,
}

fn default_pattern() -> String {
    "*".into()
}

/// What happens to files once read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum After {
    /// Move them to `processed/` or `failed/`.
    #[default]
    Move,
    /// Leave them.
    Keep,
}

impl FolderConfig {
    /// Problems `satu check` reports: the `read` table must be a valid file source.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        match inner(&self.read, Path::new("x"), Path::new(".")) {
            Ok(_) => vec![],
            Err(e) => vec![("read", e)],
        }
    }
}

/// The file source `read` describes, for the file at `path`.
fn inner(read: &Value, path: &Path, base_dir: &Path) -> Result<Box<dyn Source>, String> {
    let mut table = read.clone();
    let map = table.as_object_mut().ok_or("`read` must be a table like { type = \"csv\" }")?;
    let kind = map.remove("type").and_then(|t| t.as_str().map(str::to_string)).unwrap_or_default();
    map.insert("path".into(), json!(path));
    let err = |e: serde_json::Error| format!("read: {e}");
    Ok(match kind.as_str() {
        "csv" => Box::new(CsvSource::new(serde_json::from_value::<CsvConfig>(table).map_err(err)?, base_dir)),
        "xlsx" => {
            Box::new(SheetSource::new(serde_json::from_value::<SheetConfig>(table).map_err(err)?, base_dir))
        }
        "json" => {
            Box::new(JsonSource::new(serde_json::from_value::<JsonConfig>(table).map_err(err)?, base_dir))
        }
        "avro" => {
            Box::new(JsonSource::avro(serde_json::from_value::<AvroConfig>(table).map_err(err)?, base_dir))
        }
        other => {
            return Err(format!("read.type `{other}`: a drop folder reads csv, xlsx, json or avro files"))
        }
    })
}

/// A drop folder.
pub struct FolderSource {
    config: FolderConfig,
    base_dir: PathBuf,
}

impl FolderSource {
    /// A source for `config`, resolving its path against `base_dir`.
    pub fn new(config: FolderConfig, base_dir: &Path) -> Self {
        Self { config, base_dir: base_dir.to_path_buf() }
    }

    fn dir(&self) -> PathBuf {
        self.base_dir.join(&self.config.path)
    }

    /// The matching files in the folder, by name.
    fn files(&self) -> Result<Vec<String>, SourceError> {
        let dir = self.dir();
        let display = self.config.path.display().to_string();
        let entries = std::fs::read_dir(&dir).map_err(|e| SourceError::io(&display, &e))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| {
                !n.starts_with('.')
                    && !n.ends_with(".error.txt")
                    && satu_formats::matches(&self.config.pattern, n)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Moves `name` into `sub/` (replacing an older file of that name there).
    fn move_to(&self, name: &str, sub: &str) -> std::io::Result<()> {
        if self.config.after == After::Keep {
            return Ok(());
        }
        let target = self.dir().join(sub);
        std::fs::create_dir_all(&target)?;
        std::fs::rename(self.dir().join(name), target.join(name))
    }

    /// Reads the folder's new files in name order, sending each file's batches once the file
    /// has been read whole; stops when the receiver is gone.
    fn produce(&self, cx: &ReadContext, tx: &Sender) {
        let fail = |e: SourceError| {
            // The receiver may be gone (run cancelled): nothing left to tell.
            let _ = tx.blocking_send(Err(e));
        };
        let display = self.config.path.display().to_string();
        let mut known: BTreeMap<String, String> = cx
            .state
            .as_ref()
            .and_then(|s| serde_json::from_value(s.0["files"].clone()).ok())
            .unwrap_or_default();
        let names = match self.files() {
            Ok(n) => n,
            Err(e) => return fail(e),
        };
        let runtime = tokio::runtime::Handle::current();
        let mut seq = 0u64;
        for name in names {
            let path = self.dir().join(&name);
            let at = format!("{display}/{name}");
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => return fail(SourceError::io(&at, &e)),
            };
            let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            match known.get(&name) {
                // Committed by an earlier run: done with it.
                Some(h) if *h == hash => {
                    if let Err(e) = self.move_to(&name, "processed") {
                        tracing::warn!(file = %at, error = %e, "cannot move a processed file");
                    }
                    continue;
                }
                _ => {}
            }
            let replaces = known.contains_key(&name).then(|| at.clone());
            let source = match inner(&self.config.read, &self.config.path.join(&name), &self.base_dir) {
                Ok(s) => s,
                Err(e) => return fail(SourceError::config(&display, e)),
            };
            let inner_cx = ReadContext {
                pipeline: cx.pipeline.clone(),
                batch_rows: cx.batch_rows,
                state: None,
                from: None,
                needs: vec![],
            };
            let batches: Result<Vec<Batch>, SourceError> = runtime
                .block_on(source.read(inner_cx).collect::<Vec<_>>())
                .into_iter()
                .collect::<Result<_, _>>()
                .and_then(|b: Vec<Batch>| lacks(&at, &b, &cx.needs).map_or(Ok(b), Err));
            match batches {
                Err(e) => {
                    tracing::error!(file = %at, error = %e, "file rejected; the other files go on");
                    let note = self.dir().join(format!("{name}.error.txt"));
                    let _ = std::fs::write(&note, format!("{e}\n"));
                    let moved = self.move_to(&name, "failed").and_then(|()| {
                        if self.config.after == After::Move {
                            std::fs::rename(
                                &note,
                                self.dir().join("failed").join(format!("{name}.error.txt")),
                            )
                        } else {
                            Ok(())
                        }
                    });
                    if let Err(e) = moved {
                        tracing::warn!(file = %at, error = %e, "cannot move a failed file");
                    }
                }
                Ok(mut batches) => {
                    known.insert(name.clone(), hash);
                    if batches.is_empty() {
                        batches.push(Batch {
                            df: Default::default(),
                            seq: 0,
                            checkpoint: None,
                            replaces: None,
                        });
                    }
                    let last = batches.len() - 1;
                    for (i, mut b) in batches.into_iter().enumerate() {
                        b.seq = seq;
                        seq += 1;
                        b.replaces = if i == 0 { replaces.clone() } else { None };
                        b.checkpoint = (i == last).then(|| SourceState(json!({ "files": known })));
                        if tx.blocking_send(Ok(b)).is_err() {
                            return;
                        }
                    }
                    tracing::info!(file = %at, replaces = replaces.is_some(), "file read");
                }
            }
        }
    }
}

type Sender = tokio::sync::mpsc::Sender<Result<Batch, SourceError>>;

/// The error for a file whose columns lack some the target reads (checked on its first batch
/// that has columns).
fn lacks(at: &str, batches: &[Batch], needs: &[String]) -> Option<SourceError> {
    let df = &batches.iter().find(|b| b.df.width() > 1)?.df;
    let missing: Vec<String> =
        needs.iter().filter(|n| df.column(n.as_str()).is_err()).map(|n| format!("`{n}`")).collect();
    if missing.is_empty() {
        return None;
    }
    let has: Vec<&str> =
        df.get_column_names().iter().map(|c| c.as_str()).filter(|c| !c.starts_with('_')).collect();
    Some(SourceError::data(
        at,
        format!("missing required column {} (it has: {})", missing.join(", "), has.join(", ")),
    ))
}

#[async_trait::async_trait]
impl Source for FolderSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        self.files().map(|_| ())
    }

    async fn discover(&mut self) -> Result<Catalog, SourceError> {
        let mut catalog = Catalog::default();
        for name in self.files()? {
            let mut source = inner(&self.config.read, &self.config.path.join(&name), &self.base_dir)
                .map_err(|e| SourceError::config(self.config.path.display().to_string(), e))?;
            match source.discover().await {
                Ok(c) => catalog.entries.extend(c.entries),
                Err(e) => tracing::warn!(file = %name, error = %e, "cannot read"),
            }
        }
        Ok(catalog)
    }

    fn read(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::task::spawn_blocking(move || self.produce(&cx, &tx));
        satu_core::channel_stream(rx)
    }
}
