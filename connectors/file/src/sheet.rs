//! `source = { type = "xlsx", … }`: one sheet of a spreadsheet (xlsx, xls, ods).

use crate::context::{self, TitleValues};
use futures::StreamExt;
use satu_core::{
    Batch, BatchStream, Catalog, CatalogColumn, CatalogEntry, ReadContext, Source, SourceError, CELLS_COLUMN,
    LOCATION_COLUMN,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `source = { type = "xlsx", path = "…", sheet = "REKAP*", header_row = 4 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetConfig {
    /// The workbook (`.xlsx`, `.xls`, `.ods`), relative to the config file's directory.
    pub path: PathBuf,
    /// The sheet: a name or a `*` pattern (`REKAP*`), case-insensitive; default the first.
    #[serde(default)]
    pub sheet: Option<String>,
    /// Row number (1-based, as Excel shows it) of the header; default the first non-empty row.
    /// Rows above it (titles) are skipped.
    #[serde(default)]
    pub header_row: Option<usize>,
    /// Instead of `header_row`: several header rows (`[4, 5]`) whose merged group cells are
    /// flattened into column names like `Jumlah Peserta Didik/L`.
    #[serde(default)]
    pub header_rows: Vec<usize>,
    /// Columns whose empty cells take the value above (cells merged vertically, e.g. a
    /// kecamatan over its kelurahan).
    #[serde(default)]
    pub fill_down: Vec<String>,
    /// Values taken from the title rows above the header or the footnote rows below the table,
    /// as columns of every row: `{ tahun_ajaran = 'Tahun Ajaran (\d{4}/\d{4})' }` (see
    /// [`TitleValues`]).
    #[serde(default)]
    pub values: TitleValues,
}

impl SheetConfig {
    /// The layout to read.
    fn layout(&self) -> satu_formats::sheet::Layout {
        let mut header_rows = self.header_rows.clone();
        header_rows.extend(self.header_row);
        header_rows.sort_unstable();
        header_rows.dedup();
        satu_formats::sheet::Layout {
            sheet: self.sheet.clone(),
            header_rows,
            fill_down: self.fill_down.clone(),
        }
    }
}

/// A sheet read as one table: a header row, then one record per non-empty row, each located
/// as `path SHEET!row`.
pub struct SheetSource {
    config: SheetConfig,
    display: String,
    path: PathBuf,
}

impl SheetSource {
    /// A source for `config`, resolving its path against `base_dir`.
    pub fn new(config: SheetConfig, base_dir: &Path) -> Self {
        let display = config.path.display().to_string();
        let path = base_dir.join(&config.path);
        Self { config, display, path }
    }

    /// Reads the sheet (on a blocking thread: workbooks are parsed whole).
    async fn table(&self) -> Result<satu_formats::sheet::Table, SourceError> {
        let bytes = tokio::fs::read(&self.path).await.map_err(|e| SourceError::io(&self.display, &e))?;
        let (layout, display) = (self.config.layout(), self.display.clone());
        tokio::task::spawn_blocking(move || {
            satu_formats::sheet::read(&bytes, &layout).map_err(|e| SourceError::data(&display, e.to_string()))
        })
        .await
        .map_err(|e| SourceError::internal(&self.display, e.to_string()))?
    }
}

#[async_trait::async_trait]
impl Source for SheetSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        self.table().await.map(|_| ())
    }

    async fn discover(&mut self) -> Result<Catalog, SourceError> {
        let table = self.table().await?;
        Ok(Catalog {
            entries: vec![CatalogEntry {
                name: format!("{} {}", self.display, table.sheet),
                columns: table
                    .header
                    .into_iter()
                    .map(|name| CatalogColumn { name, source_type: "cell".into(), nullable: true })
                    .collect(),
                primary_key: vec![],
                row_estimate: Some(table.records.len() as u64),
            }],
        })
    }

    fn read(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let stream = async_stream(self, cx);
        Box::pin(futures::stream::once(stream).flat_map(futures::stream::iter))
    }
}

/// All batches of the sheet (a workbook is read whole; batches bound what the transform holds).
async fn async_stream(source: Box<SheetSource>, cx: ReadContext) -> Vec<Result<Batch, SourceError>> {
    let table = match source.table().await {
        Ok(t) => t,
        Err(e) => return vec![Err(e)],
    };
    if let Some(clash) = source.config.values.clash(&table.header) {
        return vec![Err(SourceError::config(&source.display, clash))];
    }
    // Values named in the title rows or, failing those, in the footnote rows (which are records).
    let values = source.config.values.extract(table.title.iter().map(String::as_str)).or_else(|_| {
        let rows =
            table.records.iter().map(|r| context::line_text(r.iter().filter_map(|(_, v)| v.as_deref())));
        let lines: Vec<String> = table.title.iter().cloned().chain(rows).collect();
        source.config.values.extract(lines.iter().map(String::as_str))
    });
    let values = match values {
        Ok(v) => v,
        Err(e) => return vec![Err(SourceError::data(format!("{} {}", source.display, table.sheet), e))],
    };
    let size = cx.batch_rows.max(1);
    let mut out = Vec::new();
    let chunks = table.records.chunks(size).zip(table.locations.chunks(size));
    // Each column's letter, so lineage can name the value's cell.
    let letters: serde_json::Map<String, serde_json::Value> = table
        .header
        .iter()
        .cloned()
        .zip(table.letters.iter().map(|l| serde_json::Value::from(l.as_str())))
        .collect();
    let letters = serde_json::Value::Object(letters).to_string();
    for (seq, (rows, locs)) in chunks.enumerate() {
        let locations = locs.iter().map(|l| format!("{} {l}", source.display)).collect();
        let framed = satu_formats::json::frame(rows, locations, LOCATION_COLUMN).and_then(|mut df| {
            let column =
                polars::prelude::Column::new(CELLS_COLUMN.into(), vec![letters.as_str(); df.height()]);
            df.with_column(column).map_err(|e| e.to_string())?;
            context::add_columns(&mut df, &table.title, &values).map_err(|e| e.to_string())?;
            Ok(df)
        });
        match framed {
            Ok(df) => out.push(Ok(Batch { df, seq: seq as u64, checkpoint: None, replaces: None })),
            Err(e) => return vec![Err(SourceError::internal(&source.display, e))],
        }
    }
    out
}
