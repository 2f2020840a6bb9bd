//! `source = { type = "rest", … }` and `source = { type = "ckan", … }`.

use satu_core::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A paginated JSON API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestConfig {
    /// The endpoint, `https://…` (query parameters belong in `query`).
    pub url: String,
    /// `GET` (default) or `POST` (with `body` as JSON).
    #[serde(default)]
    pub method: Method,
    /// Dot path to the records array in the response (`data.items`); `""` (default) when the
    /// body is the array.
    #[serde(default)]
    pub records: String,
    /// Fixed query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Extra request headers (not secrets: put those in `auth`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body of a `POST`; pagination and incremental parameters go in the query.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// How pages follow each other (default: one request, no paging).
    #[serde(default)]
    pub pagination: Pagination,
    /// Dot path to the total number of records, when the API says it: paging stops there, and a
    /// total that moves during a harvest is caught (see `on_change`).
    #[serde(default)]
    pub total: Option<String>,
    /// When the total moves between pages: `fail` (default: stop; the next run harvests again,
    /// and merging makes that harmless) or `continue` (finish the harvest, with a warning).
    #[serde(default)]
    pub on_change: OnChange,
    /// Credentials.
    #[serde(default)]
    pub auth: Auth,
    /// Incremental harvest: a request parameter filled from the saved state.
    #[serde(default)]
    pub incremental: Option<Incremental>,
    /// Skip the harvest when the source says it has not changed since the last complete one:
    /// `{ url = "…/resource_show?id=…", paths = ["result.last_modified"] }` — the first non-null
    /// value at `paths` is saved, and an equal value next time means nothing to read.
    #[serde(default)]
    pub changed: Option<ChangeProbe>,
    /// Most pages in one harvest (default 10000): a server that pages forever stops here.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Seconds before a request times out (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Retries of a request after a timeout, a connection error, a 5xx or a 429 (default 5).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// First wait before a retry, in milliseconds (default 500), doubled each time, with jitter;
    /// a 429's `Retry-After` takes precedence.
    #[serde(default = "default_backoff")]
    pub retry_backoff_ms: u64,
    /// Most requests per second to this API (default: no limit).
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Keep every response body in the landing zone, named by its SHA-256 (default true).
    #[serde(default = "default_true")]
    pub keep_responses: bool,
    /// How records are read (set by the `ckan` preset, not configurable).
    #[serde(skip)]
    pub shape: Shape,
    /// How a downloaded CSV resource is read (the `ckan` preset's `csv` table).
    #[serde(skip)]
    pub csv: Option<serde_json::Value>,
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    #[default]
    Get,
    /// POST with a JSON body.
    Post,
}

/// Pagination styles.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request.
    #[default]
    None,
    /// `?page=1&per_page=100`, then 2, 3… until an empty or short page, or the total.
    Page {
        /// The page parameter (default `page`).
        #[serde(default = "default_page_param")]
        param: String,
        /// The first page number (default 1).
        #[serde(default = "one")]
        start: u64,
        /// The page-size parameter, if the API takes one.
        #[serde(default)]
        size_param: Option<String>,
        /// Records per page (default 100).
        #[serde(default = "default_size")]
        size: u64,
    },
    /// `?offset=0&limit=100`, then 100, 200… until an empty or short page, or the total.
    Offset {
        /// The offset parameter (default `offset`).
        #[serde(default = "default_offset_param")]
        offset_param: String,
        /// The limit parameter (default `limit`).
        #[serde(default = "default_limit_param")]
        limit_param: String,
        /// Records per page (default 100).
        #[serde(default = "default_size")]
        limit: u64,
    },
    /// A token from each response (`next`: its dot path) sent back as `param`, until it is null
    /// or empty.
    Cursor {
        /// The request parameter (default `cursor`).
        #[serde(default = "default_cursor_param")]
        param: String,
        /// Dot path to the next token in the response.
        next: String,
    },
    /// A next-page URL: at a dot path in the body (`links.next`), or in the `Link` header
    /// (`next = "header"`), until it is null or a page is empty.
    NextLink {
        /// Dot path, or `header` for `Link: <…>; rel="next"`.
        next: String,
    },
}

/// A request that tells whether the source changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeProbe {
    /// The URL (with its own query; the source's `query` is not added).
    pub url: String,
    /// Dot paths to try, in order: the first non-null value is the modification mark.
    pub paths: Vec<String>,
}

/// What to do when the total changes during a harvest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// Stop with an error.
    #[default]
    Fail,
    /// Carry on, with a warning.
    Continue,
}

/// Credentials; values come from the environment (`${VAR}`) and are never logged.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// None.
    #[default]
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// HTTP basic.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// An API key in a header (`header = "X-API-Key"`) or a query parameter (`query = "key"`).
    ApiKey {
        /// The header name.
        #[serde(default)]
        header: Option<String>,
        /// The query parameter name.
        #[serde(default)]
        query: Option<String>,
        /// The key.
        value: Secret,
    },
    /// OAuth2 client credentials: a token from `token_url`, fetched again once on a 401.
    Oauth2 {
        /// The token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Scope, if the server wants one.
        #[serde(default)]
        scope: Option<String>,
    },
}

/// `incremental = { param = "updated_since", field = "updated_at" }`: after a complete
/// harvest, the greatest `field` seen is saved; the next harvest sends it as `param`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// The request parameter.
    pub param: String,
    /// The record field (flattened name) whose greatest value is saved; ISO dates and times
    /// compare as text.
    pub field: String,
    /// The parameter's value, with `{}` standing for the saved position (default `{}`): e.g.
    /// `"metadata_modified:[{} TO *]"` for a Solr filter.
    #[serde(default)]
    pub template: Option<String>,
    /// The parameter's value before any harvest completed (default: the parameter is left out).
    #[serde(default)]
    pub initial: Option<String>,
    /// Seconds to step back from the saved position (an ISO date-time), to catch records
    /// committed late (default 0). Records read again merge as unchanged.
    #[serde(default)]
    pub overlap_seconds: u64,
}

impl Incremental {
    /// The parameter's value for saved position `since` (or before the first harvest).
    pub fn value(&self, since: Option<&str>) -> Option<String> {
        let Some(since) = since else { return self.initial.clone() };
        let since = step_back(since, self.overlap_seconds);
        Some(match &self.template {
            Some(t) => t.replace("{}", &since),
            None => since,
        })
    }
}

/// `2024-06-01T10:00:00.123` minus `seconds`, written back in Solr's UTC form
/// (`2024-06-01T09:55:00Z`); other values are kept as they are.
fn step_back(since: &str, seconds: u64) -> String {
    if seconds == 0 {
        return since.to_string();
    }
    let parsed = chrono::NaiveDateTime::parse_from_str(since.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f");
    match parsed {
        Ok(t) => (t - chrono::TimeDelta::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 2)))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        Err(_) => since.to_string(),
    }
}

/// What the records of a response are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// Records as they are, flattened.
    #[default]
    Records,
    /// CKAN packages, read into catalog rows (`ckan` with `organization` or `datasets`).
    CkanPackages,
    /// A CKAN resource: its DataStore, or, when it has none, the file itself (CSV or a
    /// spreadsheet), downloaded.
    CkanResource,
}

/// A CKAN portal's DataStore resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CkanConfig {
    /// The portal, e.g. `https://data.mojokertokota.go.id`.
    pub portal: String,
    /// The DataStore resource to read. Or, instead, `organization` or `datasets`.
    #[serde(default)]
    pub resource_id: Option<String>,
    /// Harvest the catalog of a whole organisation (its CKAN `name`): one row per dataset.
    #[serde(default)]
    pub organization: Option<String>,
    /// Harvest the catalog of these datasets (CKAN `name`s): one row per dataset.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// Records per `datastore_search` page, or datasets per `package_search` page (default
    /// 1000, at most 32000).
    #[serde(default = "default_ckan_limit")]
    pub limit: u64,
    /// How to read a resource without a DataStore when it is a CSV file: `{ delimiter = ";",
    /// header_row = 3, encoding = "latin1" }` (the `csv` source's keys, without `path`).
    #[serde(default)]
    pub csv: Option<serde_json::Value>,
    /// A CKAN API token, when the resource is not public.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// As for `rest`.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// As for `rest`.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// As for `rest`.
    #[serde(default = "default_backoff")]
    pub retry_backoff_ms: u64,
    /// As for `rest`.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// As for `rest`.
    #[serde(default)]
    pub on_change: OnChange,
}

impl CkanConfig {
    /// The equivalent REST harvest: `datastore_search` sorted by `_id`, offset paging that stops
    /// at `offset ≥ total` or an empty page — never following `_links.next` — skipped when
    /// `resource_show` says the resource was not modified since the last complete harvest.
    pub fn to_rest(&self) -> RestConfig {
        let Some(resource_id) = &self.resource_id else { return self.catalog() };
        let query = BTreeMap::from([
            ("resource_id".to_string(), resource_id.clone()),
            ("sort".to_string(), "_id".to_string()),
        ]);
        RestConfig {
            changed: Some(ChangeProbe {
                url: format!("{}/resource_show?id={resource_id}", self.api()),
                paths: vec!["result.last_modified".into(), "result.metadata_modified".into()],
            }),
            shape: Shape::CkanResource,
            csv: self.csv.clone(),
            ..self.action("datastore_search", "result.records", query, ("offset", "limit"), "result.total")
        }
    }

    /// The catalog harvest: `package_search` filtered to the organisation or datasets, oldest
    /// change first, paged with `start`/`rows` up to `count`; incremental on `metadata_modified`
    /// with a five-minute overlap.
    fn catalog(&self) -> RestConfig {
        let filter = match &self.organization {
            Some(org) => format!("organization:{org}"),
            None => format!("name:({})", self.datasets.join(" OR ")),
        };
        let query = BTreeMap::from([
            ("sort".to_string(), "metadata_modified asc".to_string()),
            ("include_private".to_string(), self.api_key.is_some().to_string()),
        ]);
        RestConfig {
            incremental: Some(Incremental {
                param: "fq".into(),
                field: "metadata_modified".into(),
                template: Some(format!("{filter} AND metadata_modified:[{{}} TO *]")),
                initial: Some(filter),
                overlap_seconds: 300,
            }),
            shape: Shape::CkanPackages,
            ..self.action("package_search", "result.results", query, ("start", "rows"), "result.count")
        }
    }

    /// `…/api/3/action` of the portal.
    fn api(&self) -> String {
        format!("{}/api/3/action", self.portal.trim_end_matches('/'))
    }

    /// A GET of CKAN action `action`, its records at `records`, offset-paged with the `paging`
    /// parameters up to the total at `total`, with this config's key, limits and retries.
    fn action(
        &self,
        action: &str,
        records: &str,
        query: BTreeMap<String, String>,
        paging: (&str, &str),
        total: &str,
    ) -> RestConfig {
        RestConfig {
            url: format!("{}/{action}", self.api()),
            method: Method::Get,
            records: records.into(),
            query,
            headers: BTreeMap::new(),
            body: None,
            pagination: Pagination::Offset {
                offset_param: paging.0.into(),
                limit_param: paging.1.into(),
                limit: self.limit,
            },
            total: Some(total.into()),
            on_change: self.on_change,
            auth: match &self.api_key {
                Some(key) => {
                    Auth::ApiKey { header: Some("Authorization".into()), query: None, value: key.clone() }
                }
                None => Auth::None,
            },
            incremental: None,
            changed: None,
            max_pages: default_max_pages(),
            timeout_seconds: self.timeout_seconds,
            retries: self.retries,
            retry_backoff_ms: self.retry_backoff_ms,
            requests_per_second: self.requests_per_second,
            keep_responses: true,
            shape: Shape::Records,
            csv: None,
        }
    }

    /// Problems `satu check` reports.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let targets = usize::from(self.resource_id.is_some())
            + usize::from(self.organization.is_some())
            + usize::from(!self.datasets.is_empty());
        if targets != 1 {
            out.push((
                "resource_id",
                "give exactly one of `resource_id`, `organization` or `datasets`".into(),
            ));
        }
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if self.organization.as_deref().is_some_and(|o| !plain(o)) || self.datasets.iter().any(|d| !plain(d))
        {
            out.push(("organization", "CKAN names are lower-case letters, digits, `-` and `_`".into()));
        }
        if !(1..=32_000).contains(&self.limit) {
            out.push(("limit", format!("must be between 1 and 32000, got {}", self.limit)));
        }
        if !self.portal.starts_with("http://") && !self.portal.starts_with("https://") {
            out.push(("portal", format!("`{}` is not an http(s) URL", self.portal)));
        }
        out
    }
}

impl RestConfig {
    /// Problems `satu check` reports.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !self.url.starts_with("http://") && !self.url.starts_with("https://") {
            out.push(("url", format!("`{}` is not an http(s) URL", self.url)));
        }
        if let Auth::ApiKey { header: None, query: None, .. } = self.auth {
            out.push(("auth", "an api_key needs `header` or `query`".into()));
        }
        if self.max_pages == 0 {
            out.push(("max_pages", "must be at least 1".into()));
        }
        if self.requests_per_second.is_some_and(|r| r <= 0.0) {
            out.push(("requests_per_second", "must be positive".into()));
        }
        out
    }
}

fn default_max_pages() -> u32 {
    10_000
}
fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    5
}
fn default_backoff() -> u64 {
    500
}
fn default_true() -> bool {
    true
}
fn default_page_param() -> String {
    "page".into()
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_limit_param() -> String {
    "limit".into()
}
fn default_cursor_param() -> String {
    "cursor".into()
}
fn default_size() -> u64 {
    100
}
fn default_ckan_limit() -> u64 {
    1000
}
fn one() -> u64 {
    1
}
