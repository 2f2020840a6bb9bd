//! CKAN resources without a DataStore: the file itself is downloaded (with the same retries),
//! kept in the landing zone under its SHA-256, and read as CSV (through the CSV source, with the
//! pipeline's `csv` options) or as a spreadsheet (its first sheet).

use crate::{hex, http, lookup, RestSource, Sender};
use futures::StreamExt;
use satu_core::{Batch, ReadContext, Source, SourceError, SourceState, LOCATION_COLUMN};
use sha2::{Digest, Sha256};

/// Downloads and reads the resource described by a `resource_show` response.
pub(crate) async fn read(
    source: &RestSource,
    client: &mut http::Client,
    described: &serde_json::Value,
    cx: &ReadContext,
    state: SourceState,
    tx: &Sender,
) -> Result<(), SourceError> {
    let label = &source.label;
    let url = lookup(described, "result.url").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    if url.is_empty() {
        return Err(SourceError::data(label, "the resource has neither a DataStore nor a URL"));
    }
    let format = lookup(described, "result.format")
        .and_then(|v| v.as_str())
        .map(str::to_lowercase)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| url.rsplit('.').next().unwrap_or_default().to_lowercase());
    let kind = match format.as_str() {
        "csv" | "text/csv" => "csv",
        "xlsx" | "xls" | "ods" => "sheet",
        other => {
            return Err(SourceError::config(
                label,
                format!(
                    "the resource has no DataStore and its format `{other}` is neither CSV nor a spreadsheet"
                ),
            ))
        }
    };
    let response = client.probe(&url, "download").await?;
    let hash = hex(&Sha256::digest(&response.body));
    let ext = if kind == "csv" { "csv".to_string() } else { format.clone() };
    let kept = source.keep_as(&hash, &ext, &response.body).await?;
    tracing::info!(source = %label, bytes = response.body.len(), sha256 = %hash, format = %format, "resource downloaded (no DataStore)");
    if kind == "sheet" {
        let (records, locations) = satu_formats::sheet::first_sheet(&response.body)
            .map_err(|e| SourceError::data(format!("{label} {}", crate::display_url(&url)), e.to_string()))?;
        let file = crate::display_url(&url);
        let size = cx.batch_rows.max(1);
        let chunks: Vec<_> = records.chunks(size).zip(locations.chunks(size)).collect();
        let last = chunks.len().saturating_sub(1);
        if chunks.is_empty() {
            let df = satu_formats::json::frame(&[], vec![], LOCATION_COLUMN)
                .map_err(|e| SourceError::internal(label, e))?;
            let _ = tx.send(Ok(Batch { df, seq: 0, checkpoint: Some(state), replaces: None })).await;
            return Ok(());
        }
        for (seq, (rows, locs)) in chunks.into_iter().enumerate() {
            let locations = locs.iter().map(|l| format!("{file} {l} sha256:{}", &hash[..12])).collect();
            let df = satu_formats::json::frame(rows, locations, LOCATION_COLUMN)
                .map_err(|e| SourceError::internal(label, e))?;
            let checkpoint = if seq == last { Some(state.clone()) } else { cx.state.clone() };
            if tx.send(Ok(Batch { df, seq: seq as u64, checkpoint, replaces: None })).await.is_err() {
                return Ok(());
            }
        }
        return Ok(());
    }
    // CSV: read the kept file with the CSV source, so encodings, delimiters and title rows work as
    // for any CSV, and every row is located in the kept file (`…/<sha256>.csv:14`).
    let path = kept.ok_or_else(|| {
        SourceError::config(
            label,
            "a downloaded CSV is read from the landing zone: keep_responses must stay on",
        )
    })?;
    let path = std::path::absolute(&path).map_err(|e| SourceError::io(path.display().to_string(), &e))?;
    let mut table = source.config.csv.clone().unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = table.as_object_mut() {
        map.insert("path".into(), serde_json::Value::String(path.display().to_string()));
    }
    let config: satu_connector_file::CsvConfig = serde_json::from_value(table)
        .map_err(|e| SourceError::config(format!("{label} csv"), e.to_string()))?;
    let csv = Box::new(satu_connector_file::CsvSource::new(config, std::path::Path::new("/")));
    let inner = ReadContext {
        pipeline: cx.pipeline.clone(),
        batch_rows: cx.batch_rows,
        state: None,
        from: None,
        needs: vec![],
    };
    let mut stream = csv.read(inner).peekable();
    while let Some(batch) = stream.next().await {
        let mut batch = batch?;
        // The position is the resource's mark, saved once the whole file is in.
        batch.checkpoint = if std::pin::Pin::new(&mut stream).peek().await.is_none() {
            Some(state.clone())
        } else {
            cx.state.clone()
        };
        if tx.send(Ok(batch)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}
