//! Requests that survive government APIs: retries with backoff and jitter on timeouts,
//! connection errors and 5xx, `Retry-After` on 429, one token refresh on a 401 (OAuth2), a
//! request rate limit, and errors that say what the server answered.

use crate::config::{Auth, Method, RestConfig};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use satu_core::{ErrorKind, SourceError};
use std::time::{Duration, Instant};

/// A response that came back in full.
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTP client for one source.
pub struct Client {
    http: reqwest::Client,
    config: RestConfig,
    /// The OAuth2 access token, once fetched.
    token: Option<String>,
    last_request: Option<Instant>,
    label: String,
}

impl Client {
    /// A client for `config`; `label` names the source in errors.
    pub fn new(config: RestConfig, label: String) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .connect_timeout(Duration::from_secs(config.timeout_seconds.clamp(1, 30)))
            .user_agent(concat!("satu/", env!("CARGO_PKG_VERSION"), " (Satu Data ETL)"))
            .build()
            .map_err(|e| SourceError::internal(&label, format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http, config, token: None, last_request: None, label })
    }

    /// GETs or POSTs `url` with `params`, retrying as configured. `page` names the request in
    /// errors.
    pub async fn fetch(
        &mut self,
        url: &str,
        params: &[(String, String)],
        page: &str,
    ) -> Result<Response, SourceError> {
        self.send(url, params, page, true).await
    }

    /// GETs `url` as given (a next link, a change check, a file: without the source's fixed
    /// query), with the same retries and auth.
    pub async fn probe(&mut self, url: &str, page: &str) -> Result<Response, SourceError> {
        self.send(url, &[], page, false).await
    }

    async fn send(
        &mut self,
        url: &str,
        params: &[(String, String)],
        page: &str,
        fixed: bool,
    ) -> Result<Response, SourceError> {
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            self.pace().await;
            let sent = self.request(url, params, fixed).await?.send().await;
            attempt += 1;
            let retries_left = attempt <= self.config.retries;
            let wait = match sent {
                Err(e) if (e.is_timeout() || e.is_connect() || e.is_request()) && retries_left => {
                    tracing::warn!(source = %self.label, page, attempt, error = %without_url(&e), "request failed; retrying");
                    self.backoff(attempt)
                }
                Err(e) if e.is_builder() => {
                    return Err(SourceError::config(
                        format!("{} {page}", self.label),
                        format!("bad request: {}", without_url(&e)),
                    ))
                }
                Err(e) => {
                    return Err(network(&self.label, page, format!("request failed: {}", without_url(&e))))
                }
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    let body = match r.bytes().await {
                        Ok(b) => b.to_vec(),
                        Err(e) if retries_left => {
                            tracing::warn!(source = %self.label, page, attempt, error = %without_url(&e), "response cut short; retrying");
                            tokio::time::sleep(self.backoff(attempt)).await;
                            continue;
                        }
                        Err(e) => {
                            return Err(network(
                                &self.label,
                                page,
                                format!("response cut short: {}", without_url(&e)),
                            ))
                        }
                    };
                    match status {
                        s if s.is_success() => return Ok(Response { status, headers, body }),
                        StatusCode::TOO_MANY_REQUESTS if retries_left => {
                            let wait = retry_after(&headers).unwrap_or_else(|| self.backoff(attempt));
                            tracing::warn!(source = %self.label, page, attempt, wait_ms = wait.as_millis() as u64, "429 Too Many Requests; waiting as told");
                            wait
                        }
                        StatusCode::UNAUTHORIZED
                            if !refreshed && matches!(self.config.auth, Auth::Oauth2 { .. }) =>
                        {
                            tracing::info!(source = %self.label, page, "401: fetching a new access token, once");
                            refreshed = true;
                            self.token = None;
                            continue;
                        }
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                            return Err(SourceError::new(
                                ErrorKind::Auth,
                                format!("{} {page}", self.label),
                                format!("{status}: the credentials were refused ({})", snippet(&body)),
                            ))
                        }
                        s if s.is_server_error() && retries_left => {
                            tracing::warn!(source = %self.label, page, attempt, %status, "server error; retrying");
                            self.backoff(attempt)
                        }
                        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                            return Err(network(
                                &self.label,
                                page,
                                format!("{status} after {attempt} attempts ({})", snippet(&body)),
                            ))
                        }
                        _ => {
                            return Err(SourceError::config(
                                format!("{} {page}", self.label),
                                format!("{status}: {}", snippet(&body)),
                            ))
                        }
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The request, with its auth.
    async fn request(
        &mut self,
        url: &str,
        params: &[(String, String)],
        fixed: bool,
    ) -> Result<reqwest::RequestBuilder, SourceError> {
        let method = if fixed { self.config.method } else { Method::Get };
        let mut req = match method {
            Method::Get => self.http.get(url),
            Method::Post => {
                let body = serde_json::to_vec(self.config.body.as_ref().unwrap_or(&serde_json::Value::Null))
                    .map_err(|e| SourceError::config(&self.label, format!("body: {e}")))?;
                self.http.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body)
            }
        };
        if fixed {
            req = req.query(&self.config.query);
        }
        req = req.query(params).header("Accept", "application/json");
        for (k, v) in &self.config.headers {
            req = req.header(k, v);
        }
        Ok(match &self.config.auth {
            Auth::None => req,
            Auth::Bearer { token } => req.bearer_auth(token.expose()),
            Auth::Basic { username, password } => req.basic_auth(username, Some(password.expose())),
            Auth::ApiKey { header: Some(h), value, .. } => req.header(h, value.expose()),
            Auth::ApiKey { query: Some(q), value, .. } => req.query(&[(q, value.expose())]),
            Auth::ApiKey { .. } => req,
            Auth::Oauth2 { .. } => {
                let token = self.access_token().await?;
                req.bearer_auth(token)
            }
        })
    }

    /// The OAuth2 access token, fetched when missing (client credentials grant).
    async fn access_token(&mut self) -> Result<String, SourceError> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        let Auth::Oauth2 { token_url, client_id, client_secret, scope } = &self.config.auth else {
            return Err(SourceError::internal(&self.label, "no OAuth2 configuration"));
        };
        let mut form = vec![("grant_type", "client_credentials".to_string())];
        if let Some(s) = scope {
            form.push(("scope", s.clone()));
        }
        let response = self
            .http
            .post(token_url)
            .basic_auth(client_id, Some(client_secret.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                network(&self.label, "token", format!("token request failed: {}", without_url(&e)))
            })?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if !status.is_success() {
            return Err(SourceError::new(
                ErrorKind::Auth,
                format!("{} token", self.label),
                format!("the token endpoint answered {status} ({})", snippet(&body)),
            ));
        }
        let token = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("access_token").and_then(|t| t.as_str()).map(str::to_string))
            .ok_or_else(|| {
                SourceError::new(
                    ErrorKind::Auth,
                    format!("{} token", self.label),
                    "no access_token in the token response",
                )
            })?;
        self.token = Some(token.clone());
        Ok(token)
    }

    /// Waits as the rate limit says.
    async fn pace(&mut self) {
        if let (Some(rps), Some(last)) = (self.config.requests_per_second, self.last_request) {
            let gap = Duration::from_secs_f64(1.0 / rps);
            let elapsed = last.elapsed();
            if elapsed < gap {
                tokio::time::sleep(gap - elapsed).await;
            }
        }
        self.last_request = Some(Instant::now());
    }

    /// `retry_backoff_ms × 2^(attempt-1)`, plus up to half again as jitter, capped at a minute.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = Duration::from_millis(self.config.retry_backoff_ms);
        let exp = base.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(Duration::from_secs(60));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        exp + exp.mul_f64(f64::from(nanos % 1000) / 2000.0)
    }
}

/// `Retry-After` as seconds (or an HTTP date we do not parse: then the backoff applies), capped
/// at ten minutes.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(600)))
}

fn network(label: &str, page: &str, message: String) -> SourceError {
    SourceError::new(ErrorKind::Network, format!("{label} {page}"), message)
}

/// A reqwest error and its causes, without the URL (which may carry a query-parameter key).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(i) = text.find(" for url (") {
        text.truncate(i);
    }
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The start of a body, for error messages.
pub fn snippet(body: &[u8]) -> String {
    satu_formats::json::preview(&String::from_utf8_lossy(&body[..body.len().min(400)]))
}
