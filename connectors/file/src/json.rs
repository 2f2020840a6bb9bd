//! `source = { type = "json", … }`: a JSON file (an array of records, at a path) or NDJSON
//! (one record per line), nested objects flattened to `a.b` columns, numbers exact.

use futures::StreamExt;
use satu_core::{
    Batch, BatchStream, Catalog, CatalogColumn, CatalogEntry, ReadContext, Source, SourceError,
    LOCATION_COLUMN,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `source = { type = "json", path = "…", records = "data" }` or `{ …, lines = true }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConfig {
    /// The file, relative to the config file's directory.
    pub path: PathBuf,
    /// Dot path to the records array in a JSON document (`""`, the default: the document is
    /// the array).
    #[serde(default)]
    pub records: String,
    /// NDJSON: one record per line (default: by the `.ndjson`/`.jsonl` extension).
    #[serde(default)]
    pub lines: Option<bool>,
}

/// A JSON or NDJSON file; rows are located as `file#7` (the 7th record, from 1) or `file:7`
/// (line 7 of NDJSON).
pub struct JsonSource {
    config: JsonConfig,
    display: String,
    path: PathBuf,
}

impl JsonSource {
    /// A source for `config`, resolving its path against `base_dir`.
    pub fn new(config: JsonConfig, base_dir: &Path) -> Self {
        let display = config.path.display().to_string();
        let path = base_dir.join(&config.path);
        Self { config, display, path }
    }

    fn ndjson(&self) -> bool {
        self.config.lines.unwrap_or_else(|| {
            matches!(self.path.extension().and_then(|e| e.to_str()), Some("ndjson" | "jsonl"))
        })
    }

    /// Every record with its location (the file is read whole: JSON documents are parsed whole).
    async fn records(&self) -> Result<(Vec<satu_formats::json::Record>, Vec<String>), SourceError> {
        let bytes = tokio::fs::read(&self.path).await.map_err(|e| SourceError::io(&self.display, &e))?;
        if bytes.is_empty() {
            return Err(SourceError::data(&self.display, "the file is empty (0 bytes)"));
        }
        if !self.ndjson() {
            let records = satu_formats::json::records(&bytes, &self.config.records)
                .map_err(|e| SourceError::data(&self.display, e.to_string()))?;
            let locations = (1..=records.len()).map(|i| format!("{}#{i}", self.display)).collect();
            return Ok((records, locations));
        }
        let mut records = Vec::new();
        let mut locations = Vec::new();
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let at = format!("{}:{}", self.display, i + 1);
            let raw: &serde_json::value::RawValue = serde_json::from_slice(line)
                .map_err(|e| SourceError::data(&at, format!("invalid JSON: {e}")))?;
            records
                .push(satu_formats::json::flatten(raw).map_err(|e| SourceError::data(&at, e.to_string()))?);
            locations.push(at);
        }
        Ok((records, locations))
    }
}

#[async_trait::async_trait]
impl Source for JsonSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        self.records().await.map(|_| ())
    }

    async fn discover(&mut self) -> Result<Catalog, SourceError> {
        let (records, _) = self.records().await?;
        let mut columns: Vec<CatalogColumn> = Vec::new();
        for (name, _) in records.iter().flatten() {
            if !columns.iter().any(|c| &c.name == name) {
                columns.push(CatalogColumn {
                    name: name.clone(),
                    source_type: "json".into(),
                    nullable: true,
                });
            }
        }
        Ok(Catalog {
            entries: vec![CatalogEntry {
                name: self.display.clone(),
                columns,
                primary_key: vec![],
                row_estimate: Some(records.len() as u64),
            }],
        })
    }

    fn read(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let batches = async move {
            let (records, locations) = match self.records().await {
                Ok(r) => r,
                Err(e) => return vec![Err(e)],
            };
            let size = cx.batch_rows.max(1);
            let mut out = Vec::new();
            for (seq, (rows, locs)) in records.chunks(size).zip(locations.chunks(size)).enumerate() {
                match satu_formats::json::frame(rows, locs.to_vec(), LOCATION_COLUMN) {
                    Ok(df) => out.push(Ok(Batch { df, seq: seq as u64, checkpoint: None, replaces: None })),
                    Err(e) => return vec![Err(SourceError::internal(&self.display, e))],
                }
            }
            out
        };
        Box::pin(futures::stream::once(batches).flat_map(futures::stream::iter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn rows(dir: &Path, config: JsonConfig) -> Result<Vec<(String, String, String)>, SourceError> {
        let cx = ReadContext { pipeline: "t".into(), batch_rows: 2, state: None, from: None, needs: vec![] };
        let mut stream = Box::new(JsonSource::new(config, dir)).read(cx);
        let mut out = Vec::new();
        while let Some(batch) = stream.next().await {
            let df = batch?.df;
            let col = |n: &str, i: usize| {
                df.column(n)
                    .ok()
                    .and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string)))
                    .unwrap_or_default()
            };
            for i in 0..df.height() {
                out.push((col("wilayah.nama", i), col("jumlah", i), col(LOCATION_COLUMN, i)));
            }
        }
        Ok(out)
    }

    #[tokio::test]
    async fn json_documents_and_ndjson_lines() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"data": [{"wilayah": {"nama": "Magersari"}, "jumlah": 23.456}, {"wilayah": {"nama": "Meri"}, "jumlah": "1.210"}, {"wilayah": {"nama": "Miji"}, "jumlah": 7}]}"#,
        )?;
        std::fs::write(
            dir.path().join("b.ndjson"),
            "{\"wilayah\": {\"nama\": \"Magersari\"}, \"jumlah\": 12345678901234567890}\n\n{\"wilayah\": {\"nama\": \"Meri\"}, \"jumlah\": null}\n",
        )?;
        std::fs::write(dir.path().join("c.ndjson"), "{\"jumlah\": 1}\n{\"jumlah\": 2\n")?;
        let config = |path: &str, records: &str| JsonConfig {
            path: path.into(),
            records: records.into(),
            lines: None,
        };
        let a = rows(dir.path(), config("a.json", "data")).await?;
        assert_eq!(a[0], ("Magersari".into(), "23.456".into(), "a.json#1".into()));
        assert_eq!(a[1].1, "1.210");
        assert_eq!(a.len(), 3);
        let b = rows(dir.path(), config("b.ndjson", "")).await?;
        assert_eq!(b[0], ("Magersari".into(), "12345678901234567890".into(), "b.ndjson:1".into()));
        assert_eq!(b[1].2, "b.ndjson:3");
        let err = rows(dir.path(), config("c.ndjson", "")).await.err().ok_or("a cut-short line fails")?;
        assert_eq!(err.location, "c.ndjson:2");
        let err = rows(dir.path(), config("a.json", "rows")).await.err().ok_or("a wrong path fails")?;
        assert!(err.message.contains("no key `rows`"), "{err}");
        Ok(())
    }
}
