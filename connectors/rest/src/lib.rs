//! REST/JSON and CKAN sources.
//!
//! A harvest is a sequence of pages (page number, offset, cursor token or next link), each
//! fetched with retries (see [`http`]), kept in the landing zone under its SHA-256, and read
//! into batches of raw strings (nested objects flattened to `a.b`, numbers exact). Every row's
//! location names its page and the response's hash (`…?page=3 #17 sha256:ab12…`), so a number in
//! the warehouse traces back to the exact response it came from.
//!
//! Paging always ends: on an empty page, a null next token or link, the total reached, a page
//! that repeats the previous one (an error: the server ignores the paging parameter), or
//! `max_pages` (an error). A total that moves during the harvest is caught (`on_change`).
//! Incremental harvests send the greatest `incremental.field` of the last complete harvest as a
//! request parameter; the state moves only when a harvest completes.

mod ckan;
mod config;
mod download;
mod http;

pub use config::{
    Auth, ChangeProbe, CkanConfig, Incremental, Method, OnChange, Pagination, RestConfig, Shape,
};

use satu_core::{
    Batch, BatchStream, Catalog, ErrorKind, ReadContext, Source, SourceError, SourceState, LOCATION_COLUMN,
};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

type Sender = tokio::sync::mpsc::Sender<Result<Batch, SourceError>>;

/// A paginated JSON API (or a CKAN DataStore resource, read as one).
pub struct RestSource {
    config: RestConfig,
    /// Where response bodies are kept (`<landing>/<pipeline>/responses`), if anywhere.
    responses: Option<PathBuf>,
    label: String,
}

impl RestSource {
    /// A source for `config`, keeping responses under `responses` when the config says so.
    pub fn new(config: RestConfig, responses: Option<PathBuf>) -> Self {
        let label = display_url(&config.url);
        let responses = responses.filter(|_| config.keep_responses);
        Self { config, responses, label }
    }

    /// The parameters of a page request: paging, and the incremental position.
    fn params(&self, pager: &Pager, since: Option<&str>) -> Vec<(String, String)> {
        let mut params = pager.params();
        if let Some(inc) = &self.config.incremental {
            params.extend(inc.value(since).map(|v| (inc.param.clone(), v)));
        }
        params
    }

    /// Fetches and reads the first page only (check and discover).
    async fn first_page(&self) -> Result<Vec<satu_formats::json::Record>, SourceError> {
        let mut client = http::Client::new(self.config.clone(), self.label.clone())?;
        let params = self.params(&Pager::new(&self.config.pagination), None);
        let response = client.fetch(&self.config.url, &params, "page 1").await?;
        json_body(&self.label, "page 1", &response)?;
        satu_formats::json::records(&response.body, &self.config.records)
            .map_err(|e| SourceError::data(format!("{} page 1", self.label), e.to_string()))
    }

    async fn produce(&self, cx: ReadContext, tx: &Sender) -> Result<(), SourceError> {
        let mut client = http::Client::new(self.config.clone(), self.label.clone())?;
        let since =
            cx.state.as_ref().and_then(|s| s.0.get("since")).and_then(|v| v.as_str()).map(str::to_string);
        let mut newest = since.clone();
        let saved_mark =
            cx.state.as_ref().and_then(|s| s.0.get("modified")).and_then(|v| v.as_str()).map(str::to_string);
        let (mark, described) = match &self.config.changed {
            None => (None, None),
            Some(probe) => {
                let r = client.probe(&probe.url, "change check").await?;
                let body = json_body(&self.label, "change check", &r)?;
                (probe.paths.iter().find_map(|p| lookup(&body, p).and_then(as_text)), Some(body))
            }
        };
        if mark.is_some() && mark == saved_mark {
            tracing::info!(source = %self.label, modified = mark.as_deref().unwrap_or(""), "not modified since the last harvest: nothing to read");
            let df = satu_formats::json::frame(&[], vec![], LOCATION_COLUMN)
                .map_err(|e| SourceError::internal(&self.label, e))?;
            let _ = tx.send(Ok(Batch { df, seq: 0, checkpoint: cx.state.clone(), replaces: None })).await;
            return Ok(());
        }
        let no_datastore = described
            .as_ref()
            .is_some_and(|b| lookup(b, "result.datastore_active").and_then(|v| v.as_bool()) == Some(false));
        if self.config.shape == Shape::CkanResource && no_datastore {
            let state = SourceState(serde_json::json!({ "since": since, "modified": mark }));
            let body = described.unwrap_or_default();
            return download::read(self, &mut client, &body, &cx, state, tx).await;
        }
        let mut pager = Pager::new(&self.config.pagination);
        let mut url = self.config.url.clone();
        let (mut fetched, mut total_seen, mut previous_hash, mut seq) =
            (0u64, None::<u64>, None::<String>, 0u64);
        let mut pending: Option<Batch> = None;
        for n in 1..=self.config.max_pages {
            let page = format!("page {n}");
            let params = self.params(&pager, since.as_deref());
            // A next link is a whole URL: the fixed query is already in it.
            let response = if url == self.config.url {
                client.fetch(&url, &params, &page).await?
            } else {
                client.probe(&url, &page).await?
            };
            let body = json_body(&self.label, &page, &response)?;
            let hash = hex(&Sha256::digest(&response.body));
            self.keep(&hash, &response.body).await?;
            let records = match self.config.shape {
                Shape::Records | Shape::CkanResource => {
                    satu_formats::json::records(&response.body, &self.config.records)
                }
                Shape::CkanPackages => Ok(ckan::packages(&body)),
            }
            .map_err(|e| SourceError::data(format!("{} {page}", self.label), e.to_string()))?;
            if !records.is_empty() && previous_hash.as_deref() == Some(hash.as_str()) {
                return Err(SourceError::data(
                    format!("{} {page}", self.label),
                    format!("the server sent the same page again (sha256 {}…): it ignores the paging parameter, or pages forever", &hash[..12]),
                ));
            }
            previous_hash = Some(hash.clone());
            if let Some(path) = &self.config.total {
                let total = lookup(&body, path).and_then(as_u64);
                match (total_seen, total) {
                    (Some(before), Some(now)) if before != now => {
                        let message = format!("the total moved from {before} to {now} during the harvest (the source changed between pages)");
                        if self.config.on_change == OnChange::Fail {
                            return Err(SourceError::new(
                                ErrorKind::Network,
                                format!("{} {page}", self.label),
                                message,
                            ));
                        }
                        tracing::warn!(source = %self.label, page = n, "{message}; continuing as configured");
                        total_seen = Some(now);
                    }
                    (None, Some(now)) => total_seen = Some(now),
                    _ => {}
                }
            }
            if let Some(inc) = &self.config.incremental {
                for r in &records {
                    if let Some((_, Some(v))) = r.iter().find(|(k, _)| *k == inc.field) {
                        if newest.as_deref().is_none_or(|m| v.as_str() > m) {
                            newest = Some(v.clone());
                        }
                    }
                }
            }
            let count = records.len() as u64;
            fetched += count;
            let shown = display_page(&url, &params);
            for (i, chunk) in records.chunks(cx.batch_rows.max(1)).enumerate() {
                let offset = i * cx.batch_rows.max(1);
                let locations = (0..chunk.len())
                    .map(|j| format!("{shown} #{} sha256:{}", offset + j, &hash[..12]))
                    .collect();
                let df = satu_formats::json::frame(chunk, locations, LOCATION_COLUMN)
                    .map_err(|e| SourceError::internal(&self.label, e))?;
                // The batch before goes out now; the last one waits to carry the final state.
                if let Some(b) =
                    pending.replace(Batch { df, seq, checkpoint: cx.state.clone(), replaces: None })
                {
                    if tx.send(Ok(b)).await.is_err() {
                        return Ok(());
                    }
                }
                seq += 1;
            }
            let next = pager.advance(count, &body, &response.headers, total_seen.map(|t| fetched >= t));
            let next = match next {
                // A relative link (`/items?page=3`) is relative to the page it came from.
                Next::Url(link) => Next::Url(
                    reqwest::Url::parse(&url).and_then(|base| base.join(&link)).map(String::from).map_err(
                        |e| {
                            SourceError::data(
                                format!("{} {page}", self.label),
                                format!("bad next link `{link}`: {e}"),
                            )
                        },
                    )?,
                ),
                other => other,
            };
            match next {
                Next::Stop => {
                    let state = SourceState(serde_json::json!({ "since": newest, "modified": mark }));
                    let last = pending.take().map(|mut b| {
                        b.checkpoint = Some(state.clone());
                        b
                    });
                    let last = last.unwrap_or_else(|| Batch {
                        df: satu_formats::json::frame(&[], vec![], LOCATION_COLUMN).unwrap_or_default(),
                        seq,
                        checkpoint: Some(state),
                        replaces: None,
                    });
                    let _ = tx.send(Ok(last)).await;
                    tracing::info!(source = %self.label, pages = n, records = fetched, "harvest complete");
                    return Ok(());
                }
                Next::Same => {}
                Next::Url(next_url) => url = next_url,
            }
        }
        Err(SourceError::data(
            &self.label,
            format!("more than {} pages: the server seems to page forever (raise `max_pages` if it really has that many)", self.config.max_pages),
        ))
    }

    /// Keeps a response body as `<responses>/<sha256>.json` (once: identical pages share a file).
    async fn keep(&self, hash: &str, body: &[u8]) -> Result<(), SourceError> {
        self.keep_as(hash, "json", body).await.map(|_| ())
    }

    /// Keeps a body as `<responses>/<sha256>.<ext>`; returns its path (`None` when responses are
    /// not kept).
    async fn keep_as(&self, hash: &str, ext: &str, body: &[u8]) -> Result<Option<PathBuf>, SourceError> {
        let Some(dir) = &self.responses else { return Ok(None) };
        let path = dir.join(format!("{hash}.{ext}"));
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(Some(path));
        }
        tokio::fs::create_dir_all(dir).await.map_err(|e| SourceError::io(dir.display().to_string(), &e))?;
        let partial = dir.join(format!("{hash}.{ext}.partial"));
        tokio::fs::write(&partial, body)
            .await
            .map_err(|e| SourceError::io(partial.display().to_string(), &e))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| SourceError::io(path.display().to_string(), &e))?;
        Ok(Some(path))
    }
}

/// The body as JSON, or an error saying what came instead (an HTML error page, a cut-short
/// body). Both are retryable: WAFs and proxies do this when busy.
pub(crate) fn json_body(
    label: &str,
    page: &str,
    r: &http::Response,
) -> Result<serde_json::Value, SourceError> {
    let kind = r.headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let start = r.body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if kind.contains("html") || start == Some(b'<') {
        return Err(SourceError::new(
            ErrorKind::Network,
            format!("{label} {page}"),
            format!("expected JSON, got an HTML page with status {} ({})", r.status, http::snippet(&r.body)),
        ));
    }
    serde_json::from_slice(&r.body).map_err(|e| {
        SourceError::new(
            ErrorKind::Network,
            format!("{label} {page}"),
            format!("invalid JSON, {} bytes, cut short? ({e})", r.body.len()),
        )
    })
}

/// Where paging stands.
struct Pager {
    style: Pagination,
    page: u64,
    offset: u64,
    cursor: Option<String>,
}

/// What comes after a page.
enum Next {
    /// The harvest is complete.
    Stop,
    /// The same URL, with the pager's new parameters.
    Same,
    /// Another URL (a next link).
    Url(String),
}

impl Pager {
    fn new(style: &Pagination) -> Self {
        let page = match style {
            Pagination::Page { start, .. } => *start,
            _ => 0,
        };
        Self { style: style.clone(), page, offset: 0, cursor: None }
    }

    /// The paging parameters of the next request.
    fn params(&self) -> Vec<(String, String)> {
        match &self.style {
            Pagination::None | Pagination::NextLink { .. } => vec![],
            Pagination::Page { param, size_param, size, .. } => {
                let mut p = vec![(param.clone(), self.page.to_string())];
                if let Some(s) = size_param {
                    p.push((s.clone(), size.to_string()));
                }
                p
            }
            Pagination::Offset { offset_param, limit_param, limit } => {
                vec![
                    (offset_param.clone(), self.offset.to_string()),
                    (limit_param.clone(), limit.to_string()),
                ]
            }
            Pagination::Cursor { param, .. } => {
                self.cursor.iter().map(|c| (param.clone(), c.clone())).collect()
            }
        }
    }

    /// Moves past a page of `count` records. `done` says whether the total is reached.
    fn advance(
        &mut self,
        count: u64,
        body: &serde_json::Value,
        headers: &reqwest::header::HeaderMap,
        done: Option<bool>,
    ) -> Next {
        if count == 0 || done == Some(true) {
            return Next::Stop;
        }
        match &self.style {
            Pagination::None => Next::Stop,
            Pagination::Page { size, size_param, .. } => {
                if size_param.is_some() && count < *size && done.is_none() {
                    return Next::Stop;
                }
                self.page += 1;
                Next::Same
            }
            Pagination::Offset { limit, .. } => {
                if count < *limit && done.is_none() {
                    return Next::Stop;
                }
                self.offset += count;
                Next::Same
            }
            Pagination::Cursor { next, .. } => {
                match lookup(body, next).and_then(as_text).filter(|c| !c.is_empty()) {
                    Some(c) => {
                        self.cursor = Some(c);
                        Next::Same
                    }
                    None => Next::Stop,
                }
            }
            Pagination::NextLink { next } => {
                let link =
                    if next == "header" { link_next(headers) } else { lookup(body, next).and_then(as_text) };
                match link.filter(|l| !l.is_empty()) {
                    Some(l) => Next::Url(l),
                    None => Next::Stop,
                }
            }
        }
    }
}

/// The `rel="next"` target of a `Link` header.
fn link_next(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find(|part| part.contains("rel=\"next\"") || part.contains("rel=next")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part.find('>')?;
        Some(part[start..end].trim().to_string())
    })
}

/// The value at a dot path.
pub(crate) fn lookup<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').filter(|k| !k.is_empty()).try_fold(v, |v, k| v.get(k))
}

fn as_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

pub(crate) fn as_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A URL for logs and lineage: scheme, host and path (no query, no credentials).
pub(crate) fn display_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => without_query.to_string(),
    }
}

/// A page for lineage: the URL and the paging parameters (never the credentials).
fn display_page(url: &str, params: &[(String, String)]) -> String {
    let base = display_url(url);
    if params.is_empty() {
        return base;
    }
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{base}?{}", query.join("&"))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait::async_trait]
impl Source for RestSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        self.first_page().await.map(|_| ())
    }

    async fn discover(&mut self) -> Result<Catalog, SourceError> {
        let records = self.first_page().await?;
        Ok(satu_formats::json::catalog(self.label.clone(), &records, None))
    }

    fn read(self: Box<Self>, cx: ReadContext) -> BatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            if let Err(e) = self.produce(cx, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        satu_core::channel_stream(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_logs_carry_no_credentials() {
        assert_eq!(display_url("https://user:pw@api.go.id/v1/data?key=rahasia"), "https://api.go.id/v1/data");
        assert_eq!(
            display_page("https://api.go.id/v1/data", &[("page".into(), "3".into())]),
            "https://api.go.id/v1/data?page=3"
        );
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            reqwest::header::HeaderValue::from_static(
                "<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(link_next(&h).as_deref(), Some("https://a/x?page=3"));
    }
}
