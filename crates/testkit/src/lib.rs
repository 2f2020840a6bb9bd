//! Throwaway databases on the machine's real servers, one per test, with random names.
//!
//! The server comes from `SATU_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When the server cannot be reached a test is
//! skipped with a message — except under `CI=true`, where that is a failure.

use sqlx::{Connection, Executor};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The PostgreSQL server tests use.
pub fn postgres_server_url() -> String {
    std::env::var("SATU_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}_{}_{}_{}", std::process::id(), nanos, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Replaces the database of a `postgres://…/db` URL.
fn with_database(server: &str, db: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A PostgreSQL database that exists for one test and is dropped afterwards.
pub struct PgTestDb {
    /// Its URL.
    pub url: String,
    name: String,
}

impl PgTestDb {
    /// Creates a fresh empty database, or returns `None` (after saying why) when no server is
    /// reachable outside CI.
    pub async fn create() -> Option<Self> {
        let server = postgres_server_url();
        let mut conn = match sqlx::PgConnection::connect(&server).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("CI=true but PostgreSQL at {server} is unreachable: {e}");
                }
                eprintln!("skipped: PostgreSQL at {server} is unreachable ({e}); set SATU_TEST_POSTGRES_URL");
                return None;
            }
        };
        let name = unique_name("satu_test");
        conn.execute(format!("CREATE DATABASE {name}").as_str()).await.ok()?;
        Some(Self { url: with_database(&server, &name), name })
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let server = postgres_server_url();
        let name = self.name.clone();
        // Drop runs inside or outside a runtime: use a thread with a runtime of its own.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&server).await.ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok()
            })
        });
        let _ = handle.join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_urls() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
