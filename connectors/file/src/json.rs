//! `source = { type = "json", … }`: a JSON file (an array of records, at a path) or NDJSON
//! (one record per line), nested objects flattened to `a.b` columns, numbers exact; and
//! `source = { type = "avro", … }`: an Avro object container file, read the same way.

use futures::StreamExt;
use satu_core::{Batch, BatchStream, Catalog, ReadContext, Source, SourceError, LOCATION_COLUMN};
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
    /// An array field to explode into one row per element (`"anggaran"`; a nested one by its
    /// flattened name, `"data.rincian"`); other arrays stay JSON text.
    #[serde(default)]
    pub explode: Option<String>,
}

/// `source = { type = "avro", path = "…" }`: an Avro object container file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvroConfig {
    /// The file, relative to the config file's directory.
    pub path: PathBuf,
    /// An array field to explode into one row per element, as for JSON.
    #[serde(default)]
    pub explode: Option<String>,
}

/// A JSON, NDJSON or Avro file of records; rows are located as `file#7` (the 7th record, from
/// 1) or `file:7` (line 7 of NDJSON).
pub struct JsonSource {
    config: JsonConfig,
    avro: bool,
    display: String,
    path: PathBuf,
}

impl JsonSource {
    /// A source for `config`, resolving its path against `base_dir`.
    pub fn new(config: JsonConfig, base_dir: &Path) -> Self {
        let display = config.path.display().to_string();
        let path = base_dir.join(&config.path);
        Self { config, avro: false, display, path }
    }

    /// A source for an Avro file (records flattened like JSON ones; decimals exact).
    pub fn avro(config: AvroConfig, base_dir: &Path) -> Self {
        let json = JsonConfig {
            path: config.path,
            records: String::new(),
            lines: Some(false),
            explode: config.explode,
        };
        Self { avro: true, ..Self::new(json, base_dir) }
    }

    fn ndjson(&self) -> bool {
        self.config.lines.unwrap_or_else(|| {
            matches!(self.path.extension().and_then(|e| e.to_str()), Some("ndjson" | "jsonl"))
        })
    }

    /// Every record with its location (the file is read whole: JSON documents are parsed whole),
    /// the `explode` array exploded.
    async fn records(&self) -> Result<(Vec<satu_formats::json::Record>, Vec<String>), SourceError> {
        let (records, locations) = self.file_records().await?;
        match &self.config.explode {
            None => Ok((records, locations)),
            Some(column) => satu_formats::json::explode(records, locations, column)
                .map_err(|e| SourceError::data(&self.display, format!("explode `{column}`: {e}"))),
        }
    }

    /// Every record of the file with its location.
    async fn file_records(&self) -> Result<(Vec<satu_formats::json::Record>, Vec<String>), SourceError> {
        let bytes = tokio::fs::read(&self.path).await.map_err(|e| SourceError::io(&self.display, &e))?;
        if bytes.is_empty() {
            return Err(SourceError::data(&self.display, "the file is empty (0 bytes)"));
        }
        if !self.ndjson() {
            let records = if self.avro {
                satu_formats::avro::records(&bytes).map_err(|e| SourceError::data(&self.display, e))?
            } else {
                satu_formats::json::records(&bytes, &self.config.records)
                    .map_err(|e| SourceError::data(&self.display, e.to_string()))?
            };
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
        Ok(satu_formats::json::catalog(self.display.clone(), &records, Some(records.len() as u64)))
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
    async fn avro_files_read_like_json_records() -> Result<(), Box<dyn std::error::Error>> {
        use apache_avro::types::Value as A;
        let dir = tempfile::tempdir()?;
        let schema = apache_avro::Schema::parse_str(
            r#"{"type": "record", "name": "r", "fields": [
                {"name": "wilayah", "type": {"type": "record", "name": "w", "fields": [{"name": "nama", "type": "string"}]}},
                {"name": "jumlah", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3}}
            ]}"#,
        )?;
        let mut writer = apache_avro::Writer::new(&schema, Vec::new());
        writer.append(A::Record(vec![
            ("wilayah".into(), A::Record(vec![("nama".into(), A::String("Magersari".into()))])),
            ("jumlah".into(), A::Decimal(apache_avro::Decimal::from(vec![0x5B, 0xA0]))),
        ]))?;
        std::fs::write(dir.path().join("a.avro"), writer.into_inner()?)?;
        let source =
            Box::new(JsonSource::avro(AvroConfig { path: "a.avro".into(), explode: None }, dir.path()));
        let cx = ReadContext { pipeline: "t".into(), batch_rows: 2, state: None, from: None, needs: vec![] };
        let batch = source.read(cx).next().await.ok_or("a batch")??;
        let col = |n: &str| batch.df.column(n).ok().and_then(|c| c.str().ok()?.get(0).map(str::to_string));
        assert_eq!(col("wilayah.nama").as_deref(), Some("Magersari"));
        assert_eq!(col("jumlah").as_deref(), Some("23.456"), "an exact decimal");
        assert_eq!(col(LOCATION_COLUMN).as_deref(), Some("a.avro#1"));
        std::fs::write(dir.path().join("b.avro"), b"not avro")?;
        let bad = Box::new(JsonSource::avro(AvroConfig { path: "b.avro".into(), explode: None }, dir.path()));
        let cx = ReadContext { pipeline: "t".into(), batch_rows: 2, state: None, from: None, needs: vec![] };
        let err = bad.read(cx).next().await.ok_or("an error")?.err().ok_or("not avro fails")?;
        assert!(err.message.contains("not an Avro object container file"), "{err}");
        Ok(())
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
            explode: None,
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
        // One row per element of an exploded array, the other fields repeated.
        std::fs::write(
            dir.path().join("d.json"),
            r#"[{"wilayah": {"nama": "Meri"}, "rincian": [{"jumlah": 4}, {"jumlah": 5}]}]"#,
        )?;
        let exploded = JsonConfig { explode: Some("rincian".into()), ..config("d.json", "") };
        let cx = ReadContext { pipeline: "t".into(), batch_rows: 10, state: None, from: None, needs: vec![] };
        let batch =
            Box::new(JsonSource::new(exploded, dir.path())).read(cx).next().await.ok_or("a batch")??;
        let col = |n: &str| -> Vec<String> {
            let c = batch.df.column(n).ok().and_then(|c| c.str().ok().cloned());
            c.map(|s| s.iter().map(|v| v.unwrap_or_default().to_string()).collect()).unwrap_or_default()
        };
        assert_eq!(col("wilayah.nama"), ["Meri", "Meri"]);
        assert_eq!(col("rincian.jumlah"), ["4", "5"]);
        assert_eq!(col(LOCATION_COLUMN), ["d.json#1 rincian[0]", "d.json#1 rincian[1]"]);
        Ok(())
    }
}
