//! The REST source against real local HTTP servers (axum on 127.0.0.1): every pagination style,
//! the stop rules, retries (429 with Retry-After, 5xx, timeouts), broken bodies (cut-short JSON,
//! an HTML page with status 200), OAuth2 refresh on a 401, a total that moves, incremental
//! harvests, and credentials kept out of the lineage.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::StreamExt;
use satu_connector_rest::{RestConfig, RestSource};
use satu_core::{ReadContext, Source, SourceError, SourceState};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Params = Query<HashMap<String, String>>;

/// Request counts, by name.
#[derive(Default)]
struct Hits(std::sync::Mutex<HashMap<&'static str, usize>>);

impl Hits {
    fn add(&self, name: &'static str) -> usize {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(name).or_default();
        *n += 1;
        *n
    }
    fn get(&self, name: &'static str) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(name).copied().unwrap_or(0)
    }
}

/// Serves `app` on a free port; returns its base URL.
async fn serve(app: Router) -> Result<String, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

/// Ten records, `id` 1..=10, `jumlah` exact decimals sent as numbers or strings alternately.
fn record(id: u64) -> Value {
    if id % 2 == 0 {
        json!({ "id": id, "jumlah": "1.234", "wilayah": { "kode": "35.76.01" }, "updated_at": format!("2024-01-{id:02}") })
    } else {
        json!({ "id": id, "jumlah": 23.456, "wilayah": { "kode": "35.76.02" }, "updated_at": format!("2024-01-{id:02}") })
    }
}

fn config(value: Value) -> RestConfig {
    let mut v = value;
    if v.get("retry_backoff_ms").is_none() {
        v["retry_backoff_ms"] = json!(20);
    }
    serde_json::from_value(v).unwrap_or_else(|e| panic!("test config: {e}"))
}

/// Reads the whole source: its rows as (id, location), the final state, or the error.
async fn harvest(
    config: RestConfig,
    state: Option<Value>,
) -> Result<(Vec<(String, String)>, Option<Value>), SourceError> {
    let dir = std::env::temp_dir().join(format!("satu-rest-{}-{}", std::process::id(), rand_suffix()));
    let source = Box::new(RestSource::new(config, Some(dir.clone())));
    let cx = ReadContext {
        pipeline: "t".into(),
        batch_rows: 3,
        state: state.map(SourceState),
        from: None,
        needs: vec![],
    };
    let mut stream = source.read(cx);
    let mut rows = Vec::new();
    let mut last_state = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let df = &batch.df;
        if df.height() > 0 {
            let ids = df.column("id").map_err(|e| SourceError::internal("t", e.to_string()))?;
            let loc = df.column("_lokasi").map_err(|e| SourceError::internal("t", e.to_string()))?;
            for i in 0..df.height() {
                let id = ids.str().map(|c| c.get(i).unwrap_or_default().to_string()).unwrap_or_default();
                let l = loc.str().map(|c| c.get(i).unwrap_or_default().to_string()).unwrap_or_default();
                rows.push((id, l));
            }
        }
        last_state = batch.checkpoint.map(|s| s.0);
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok((rows, last_state))
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn ids(rows: &[(String, String)]) -> Vec<String> {
    rows.iter().map(|(id, _)| id.clone()).collect()
}

fn one_to(n: u64) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn page_offset_cursor_and_next_link_pagination() -> TestResult {
    async fn by_page(Query(q): Params) -> axum::Json<Value> {
        let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let size: u64 = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(4);
        let items: Vec<Value> = ((page - 1) * size + 1..=(page * size).min(10)).map(record).collect();
        axum::Json(json!({ "data": { "items": items } }))
    }
    async fn by_offset(Query(q): Params) -> axum::Json<Value> {
        let offset: u64 = q.get("offset").and_then(|p| p.parse().ok()).unwrap_or(0);
        let limit: u64 = q.get("limit").and_then(|p| p.parse().ok()).unwrap_or(4);
        let items: Vec<Value> = (offset + 1..=(offset + limit).min(10)).map(record).collect();
        axum::Json(json!({ "rows": items, "meta": { "total": 10 } }))
    }
    async fn by_cursor(Query(q): Params) -> axum::Json<Value> {
        let from: u64 =
            q.get("cursor").and_then(|c| c.strip_prefix("c").and_then(|n| n.parse().ok())).unwrap_or(1);
        let items: Vec<Value> = (from..=(from + 3).min(10)).map(record).collect();
        let next = if from + 4 <= 10 { json!(format!("c{}", from + 4)) } else { Value::Null };
        axum::Json(json!({ "results": items, "next_cursor": next }))
    }
    // The last page is empty but still has a next link: the harvest must stop there.
    async fn by_link(
        State(base): State<Arc<std::sync::OnceLock<String>>>,
        Query(q): Params,
    ) -> axum::Json<Value> {
        let page: u64 = q.get("p").and_then(|p| p.parse().ok()).unwrap_or(1);
        let items: Vec<Value> =
            ((page - 1) * 4 + 1..=(page * 4).min(10)).filter(|i| *i <= 10).map(record).collect();
        let base = base.get().cloned().unwrap_or_default();
        axum::Json(json!({ "records": items, "links": { "next": format!("{base}/link?p={}", page + 1) } }))
    }
    async fn by_header(Query(q): Params) -> Response {
        let page: u64 = q.get("p").and_then(|p| p.parse().ok()).unwrap_or(1);
        let items: Vec<Value> = ((page - 1) * 4 + 1..=(page * 4).min(10)).map(record).collect();
        let mut headers = HeaderMap::new();
        if page < 3 {
            let link = format!("</header?p={}>; rel=\"next\"", page + 1);
            headers.insert("link", link.parse().unwrap_or_else(|_| axum::http::HeaderValue::from_static("")));
        }
        (headers, axum::Json(Value::Array(items))).into_response()
    }
    let base_cell = Arc::new(std::sync::OnceLock::new());
    let app = Router::new()
        .route("/page", get(by_page))
        .route("/offset", get(by_offset))
        .route("/cursor", get(by_cursor))
        .route("/link", get(by_link))
        .route("/header", get(by_header))
        .with_state(base_cell.clone());
    let base = serve(app).await?;
    let _ = base_cell.set(base.clone());

    let (rows, _) = harvest(
        config(json!({ "url": format!("{base}/page"), "records": "data.items",
                       "pagination": { "type": "page", "size_param": "per_page", "size": 4 } })),
        None,
    )
    .await?;
    assert_eq!(ids(&rows), one_to(10));
    assert!(rows[9].1.starts_with(&format!("{base}/page?page=3&per_page=4 #1 sha256:")), "{}", rows[9].1);

    let (rows, _) = harvest(
        config(json!({ "url": format!("{base}/offset"), "records": "rows", "total": "meta.total",
                       "pagination": { "type": "offset", "limit": 4 } })),
        None,
    )
    .await?;
    assert_eq!(ids(&rows), one_to(10));

    let (rows, _) = harvest(
        config(json!({ "url": format!("{base}/cursor"), "records": "results",
                       "pagination": { "type": "cursor", "next": "next_cursor" } })),
        None,
    )
    .await?;
    assert_eq!(ids(&rows), one_to(10));

    let (rows, _) = harvest(
        config(json!({ "url": format!("{base}/link"), "records": "records",
                       "pagination": { "type": "next_link", "next": "links.next" } })),
        None,
    )
    .await?;
    assert_eq!(ids(&rows), one_to(10), "stops at the empty page despite its next link");

    let (rows, _) = harvest(
        config(json!({ "url": format!("{base}/header"), "pagination": { "type": "next_link", "next": "header" } })),
        None,
    )
    .await?;
    assert_eq!(ids(&rows), one_to(10));
    Ok(())
}

#[tokio::test]
async fn servers_that_page_forever_are_stopped_with_a_clear_error() -> TestResult {
    // Ignores the page parameter: the same last page, forever.
    async fn stuck() -> axum::Json<Value> {
        axum::Json(json!({ "items": [record(9), record(10)] }))
    }
    // A new page every time, forever.
    async fn endless(Query(q): Params) -> axum::Json<Value> {
        let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        axum::Json(json!({ "items": [record(page)] }))
    }
    let base = serve(Router::new().route("/stuck", get(stuck)).route("/endless", get(endless))).await?;
    let err = harvest(
        config(
            json!({ "url": format!("{base}/stuck"), "records": "items", "pagination": { "type": "page" } }),
        ),
        None,
    )
    .await
    .err()
    .ok_or("a server repeating its page must fail")?;
    assert!(err.message.contains("the same page again"), "{err}");
    assert_eq!(err.location, format!("{base}/stuck page 2"));

    let err = harvest(
        config(json!({ "url": format!("{base}/endless"), "records": "items", "max_pages": 5,
                       "pagination": { "type": "page" } })),
        None,
    )
    .await
    .err()
    .ok_or("max_pages must stop an endless harvest")?;
    assert!(err.message.contains("more than 5 pages"), "{err}");
    Ok(())
}

#[tokio::test]
async fn retries_honour_retry_after_and_survive_5xx_and_timeouts() -> TestResult {
    async fn busy(State(h): State<Arc<Hits>>) -> Response {
        if h.add("busy") == 1 {
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response();
        }
        axum::Json(json!([record(1), record(2)])).into_response()
    }
    async fn flaky(State(h): State<Arc<Hits>>) -> Response {
        if h.add("flaky") <= 2 {
            return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response();
        }
        axum::Json(json!([record(1), record(2)])).into_response()
    }
    async fn slow(State(h): State<Arc<Hits>>) -> axum::Json<Value> {
        if h.add("slow") == 1 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        axum::Json(json!([record(1)]))
    }
    async fn down(State(h): State<Arc<Hits>>) -> StatusCode {
        h.add("down");
        StatusCode::SERVICE_UNAVAILABLE
    }
    let hits = Arc::new(Hits::default());
    let app = Router::new()
        .route("/busy", get(busy))
        .route("/flaky", get(flaky))
        .route("/slow", get(slow))
        .route("/down", get(down))
        .with_state(hits.clone());
    let base = serve(app).await?;

    let start = Instant::now();
    let (rows, _) = harvest(config(json!({ "url": format!("{base}/busy") })), None).await?;
    assert_eq!(ids(&rows), one_to(2));
    assert!(start.elapsed() >= Duration::from_millis(950), "waited as Retry-After said");
    assert_eq!(hits.get("busy"), 2);

    let (rows, _) = harvest(config(json!({ "url": format!("{base}/flaky") })), None).await?;
    assert_eq!(ids(&rows), one_to(2));
    assert_eq!(hits.get("flaky"), 3);

    let (rows, _) =
        harvest(config(json!({ "url": format!("{base}/slow"), "timeout_seconds": 1 })), None).await?;
    assert_eq!(ids(&rows), one_to(1));
    assert_eq!(hits.get("slow"), 2);

    let err = harvest(config(json!({ "url": format!("{base}/down"), "retries": 2 })), None)
        .await
        .err()
        .ok_or("a server that stays down fails the harvest")?;
    assert_eq!(hits.get("down"), 3, "one try and two retries");
    assert_eq!(err.retry, satu_core::Retry::Backoff, "the scheduler may try again later");
    assert!(err.message.contains("503 Service Unavailable after 3 attempts"), "{err}");
    Ok(())
}

#[tokio::test]
async fn broken_bodies_are_named_not_loaded() -> TestResult {
    async fn cut() -> Response {
        ([("content-type", "application/json")], r#"{"items": [{"id": 1}, {"id": 2"#).into_response()
    }
    async fn waf() -> Response {
        ([("content-type", "text/html")], "<html><body>Request blocked by firewall</body></html>")
            .into_response()
    }
    async fn moving(State(h): State<Arc<Hits>>, Query(q): Params) -> axum::Json<Value> {
        h.add("moving");
        let offset: u64 = q.get("offset").and_then(|p| p.parse().ok()).unwrap_or(0);
        let total = if offset == 0 { 10 } else { 11 };
        axum::Json(json!({ "rows": [record(offset + 1), record(offset + 2)], "total": total }))
    }
    let hits = Arc::new(Hits::default());
    let app = Router::new()
        .route("/cut", get(cut))
        .route("/waf", get(waf))
        .route("/moving", get(moving))
        .with_state(hits.clone());
    let base = serve(app).await?;

    let err = harvest(config(json!({ "url": format!("{base}/cut"), "records": "items" })), None)
        .await
        .err()
        .ok_or("cut-short JSON fails")?;
    assert!(err.message.contains("invalid JSON"), "{err}");
    assert_eq!(err.location, format!("{base}/cut page 1"));

    let err = harvest(config(json!({ "url": format!("{base}/waf"), "records": "items" })), None)
        .await
        .err()
        .ok_or("an HTML page is not data")?;
    assert!(err.message.contains("expected JSON, got an HTML page with status 200 OK"), "{err}");
    assert!(err.message.contains("Request blocked by firewall"), "{err}");

    let err = harvest(
        config(json!({ "url": format!("{base}/moving"), "records": "rows", "total": "total",
                       "pagination": { "type": "offset", "limit": 2 } })),
        None,
    )
    .await
    .err()
    .ok_or("a total that moves fails the harvest")?;
    assert!(err.message.contains("the total moved from 10 to 11"), "{err}");
    let (rows, _) = harvest(
        config(json!({ "url": format!("{base}/moving"), "records": "rows", "total": "total", "on_change": "continue",
                       "pagination": { "type": "offset", "limit": 2 } })),
        None,
    )
    .await?;
    assert_eq!(rows.len(), 12, "continued to the moved total");
    Ok(())
}

#[tokio::test]
async fn oauth2_refreshes_once_on_401_and_keys_stay_out_of_lineage() -> TestResult {
    async fn token(State(h): State<Arc<Hits>>, headers: HeaderMap) -> Response {
        let n = h.add("token");
        // HTTP basic with client id and secret.
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        if auth != "Basic c2F0dTpyYWhhc2lhLWtsaWVu" {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        axum::Json(
            json!({ "access_token": format!("token-{n}"), "token_type": "bearer", "expires_in": 3600 }),
        )
        .into_response()
    }
    // Accepts the second token only: the first has "expired".
    async fn data(headers: HeaderMap) -> Response {
        match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some("Bearer token-2") => axum::Json(json!([record(1)])).into_response(),
            _ => StatusCode::UNAUTHORIZED.into_response(),
        }
    }
    async fn never(State(h): State<Arc<Hits>>) -> StatusCode {
        h.add("never");
        StatusCode::UNAUTHORIZED
    }
    async fn keyed(Query(q): Params) -> Response {
        if q.get("api_key").map(String::as_str) != Some("kunci-rahasia") {
            return StatusCode::FORBIDDEN.into_response();
        }
        axum::Json(json!([record(1), record(2)])).into_response()
    }
    let hits = Arc::new(Hits::default());
    let app = Router::new()
        .route("/token", post(token))
        .route("/data", get(data))
        .route("/never", get(never))
        .route("/keyed", get(keyed))
        .with_state(hits.clone());
    let base = serve(app).await?;
    let oauth = |path: &str| {
        json!({ "url": format!("{base}/{path}"),
                "auth": { "type": "oauth2", "token_url": format!("{base}/token"), "client_id": "satu", "client_secret": "rahasia-klien" } })
    };
    let (rows, _) = harvest(config(oauth("data")), None).await?;
    assert_eq!(ids(&rows), one_to(1));
    assert_eq!(hits.get("token"), 2, "one refresh after the 401");

    let err = harvest(config(oauth("never")), None).await.err().ok_or("a second 401 fails")?;
    assert_eq!(err.kind, satu_core::ErrorKind::Auth);
    assert_eq!(hits.get("never"), 2, "tried once, refreshed once, then gave up");
    assert_eq!(err.retry, satu_core::Retry::Never);

    let (rows, _) = harvest(
        config(json!({ "url": format!("{base}/keyed"),
                       "auth": { "type": "api_key", "query": "api_key", "value": "kunci-rahasia" } })),
        None,
    )
    .await?;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|(_, l)| !l.contains("kunci-rahasia")), "{rows:?}");
    let err = harvest(
        config(json!({ "url": format!("{base}/keyed"), "auth": { "type": "api_key", "query": "api_key", "value": "salah" } })),
        None,
    )
    .await
    .err()
    .ok_or("a wrong key fails")?;
    assert!(!err.to_string().contains("salah"), "{err}");
    Ok(())
}

#[tokio::test]
async fn incremental_harvests_send_the_saved_position() -> TestResult {
    async fn changed(State(h): State<Arc<Hits>>, Query(q): Params) -> axum::Json<Value> {
        h.add("changed");
        let since = q.get("updated_since").cloned().unwrap_or_default();
        let items: Vec<Value> = (1..=10)
            .map(record)
            .filter(|r| r["updated_at"].as_str().unwrap_or("") > since.as_str())
            .collect();
        axum::Json(Value::Array(items))
    }
    let hits = Arc::new(Hits::default());
    let base = serve(Router::new().route("/changed", get(changed)).with_state(hits.clone())).await?;
    let cfg = || {
        config(
            json!({ "url": format!("{base}/changed"), "incremental": { "param": "updated_since", "field": "updated_at" } }),
        )
    };
    let (rows, state) = harvest(cfg(), None).await?;
    assert_eq!(rows.len(), 10);
    assert_eq!(state, Some(json!({ "since": "2024-01-10", "modified": null })));
    let (rows, state) = harvest(cfg(), state).await?;
    assert!(rows.is_empty(), "nothing modified since: {rows:?}");
    assert_eq!(state, Some(json!({ "since": "2024-01-10", "modified": null })), "the position stays");
    Ok(())
}
