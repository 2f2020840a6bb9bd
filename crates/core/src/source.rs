use crate::SourceError;
use futures::stream::BoxStream;
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

/// The reserved column every source adds to its batches: where each row came from
/// (`demo/data/dinkes.csv:14`, `kunjungan_pkm.id=1842`). It becomes the lineage
/// (`lokasi_sumber`) of the observation or of the reject.
pub const LOCATION_COLUMN: &str = "_lokasi";

/// The reserved column a source laid out in cells (a spreadsheet) may add: a JSON object giving
/// each column's letter (`{"Jumlah Peserta Didik/L": "E"}`), the same on every row. With it, and a
/// location ending in the row (`rekap.xlsx REKAP SD!7`), lineage names the value's very cell
/// (`rekap.xlsx REKAP SD!E7`).
pub const CELLS_COLUMN: &str = "_kolom";

/// The reserved column a source laid out as a report (a spreadsheet, a CSV with title lines) may
/// add: the text above the header — titles, unit lines like `(Ribu Jiwa)` — one line per row of
/// it, the same on every row. A target reads units from it (`nilai.pengali = "auto"`).
pub const TITLE_COLUMN: &str = "_judul";

/// Whether `name` is one of the reserved columns sources add beside the data
/// ([`LOCATION_COLUMN`], [`CELLS_COLUMN`], [`TITLE_COLUMN`]).
pub fn is_reserved(name: &str) -> bool {
    name == LOCATION_COLUMN || name == CELLS_COLUMN || name == TITLE_COLUMN
}

/// Opaque, source-defined resume state (a file fingerprint and row offset, a cursor value…),
/// stored by the warehouse in the same transaction as the rows it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceState(pub serde_json::Value);

/// A bounded slice of a source: at most `ReadContext::batch_rows` rows.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The rows, one column per source field plus [`LOCATION_COLUMN`].
    pub df: DataFrame,
    /// 0, 1, 2… within one read.
    pub seq: u64,
    /// The state that resumes the source right after this batch, where the source can.
    pub checkpoint: Option<SourceState>,
    /// This batch starts a new version of a slice of the source (a file dropped again): the
    /// observations loaded from that slice before (their location starts with it) are withdrawn
    /// in the same transaction, so the new version replaces exactly its own slice.
    pub replaces: Option<String>,
}

/// What a read needs to know.
#[derive(Debug, Clone)]
pub struct ReadContext {
    /// The pipeline reading, for error messages and logs.
    pub pipeline: String,
    /// The most rows a batch may hold.
    pub batch_rows: usize,
    /// The committed state of the previous run, to resume from.
    pub state: Option<SourceState>,
    /// A backfill (`satu run --from DATE`): incremental sources read from this date instead of
    /// their saved position; other sources refuse it.
    pub from: Option<chrono::NaiveDate>,
    /// The columns the pipeline's target reads: a source made of several files (a drop folder)
    /// sets a file that lacks one aside, with that reason, instead of failing the run.
    pub needs: Vec<String>,
}

/// A column as a source describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogColumn {
    /// Column name as the source spells it.
    pub name: String,
    /// The source's own type name.
    pub source_type: String,
    /// Whether NULLs may appear.
    pub nullable: bool,
}

/// One table, file or resource of a source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogEntry {
    /// Table, file or resource name.
    pub name: String,
    /// Its columns, in source order.
    pub columns: Vec<CatalogColumn>,
    /// Primary key columns, when known.
    pub primary_key: Vec<String>,
    /// Approximate row count, when cheap to know.
    pub row_estimate: Option<u64>,
}

/// What `satu discover` shows for a source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Catalog {
    /// The tables/files/resources found.
    pub entries: Vec<CatalogEntry>,
}

/// A stream of batches; a bounded channel sits behind it so a slow consumer slows the source.
pub type BatchStream = BoxStream<'static, Result<Batch, SourceError>>;

/// The batches a producer (usually on a blocking thread) sends over a bounded channel, as a
/// stream: the channel's depth bounds what is read ahead.
pub fn channel_stream(rx: tokio::sync::mpsc::Receiver<Result<Batch, SourceError>>) -> BatchStream {
    use futures::StreamExt;
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }).boxed()
}

/// Every connector implements this.
#[async_trait::async_trait]
pub trait Source: Send {
    /// Connect and check access without reading data: what `satu check --connect` runs.
    async fn check(&mut self) -> Result<(), SourceError>;
    /// Tables/resources with their columns, types, keys and row estimates.
    async fn discover(&mut self) -> Result<Catalog, SourceError>;
    /// Whether the source honours [`ReadContext::from`] (a backfill); those that do not are
    /// never asked.
    fn backfills(&self) -> bool {
        false
    }
    /// The primary key of the table read, where the source has one (for schema-drift control).
    async fn primary_key(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(None)
    }
    /// A pull-based stream of bounded batches, resuming from `cx.state` when given.
    fn read(self: Box<Self>, cx: ReadContext) -> BatchStream;

    /// Every primary key the source holds now, as batches of one column (for delete
    /// detection). Sources that cannot list their keys say so.
    fn keys(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let err =
            SourceError::config(cx.pipeline, "this source cannot list its primary keys (delete detection)");
        Box::pin(futures::stream::once(async move { Err(err) }))
    }
}
