//! Throwaway databases on the machine's real servers, one per test, with random names.
//!
//! The servers come from `SATU_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `SATU_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`). When a server cannot be reached a test is skipped with a
//! message — except under `CI=true`, where that is a failure.

use sqlx::{Connection, Executor};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The PostgreSQL server tests use.
pub fn postgres_server_url() -> String {
    std::env::var("SATU_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The MySQL/MariaDB server tests use.
pub fn mysql_server_url() -> String {
    std::env::var("SATU_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_string())
}

fn unreachable(what: &str, url: &str, e: &sqlx::Error) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but {what} at {url} is unreachable: {e}");
    }
    eprintln!("skipped: {what} at {url} is unreachable ({e})");
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
                unreachable("PostgreSQL", &server, &e);
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

/// A MySQL/MariaDB database that exists for one test and is dropped afterwards.
pub struct MyTestDb {
    /// Its URL.
    pub url: String,
    name: String,
}

impl MyTestDb {
    /// Creates a fresh empty database (utf8mb4), or returns `None` (after saying why) when no
    /// server is reachable outside CI.
    pub async fn create() -> Option<Self> {
        let server = mysql_server_url();
        let mut conn = match sqlx::MySqlConnection::connect(&server).await {
            Ok(c) => c,
            Err(e) => {
                unreachable("MariaDB", &server, &e);
                return None;
            }
        };
        let name = unique_name("satu_test");
        conn.execute(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4").as_str()).await.ok()?;
        Some(Self { url: format!("{}/{name}", server.trim_end_matches('/')), name })
    }

    /// Runs statements (separated by `;` at line ends) on the database, in a session that
    /// allows zero dates, as old OPD applications do.
    pub async fn execute(&self, script: &str) -> Result<(), sqlx::Error> {
        let mut conn = sqlx::MySqlConnection::connect(&self.url).await?;
        conn.execute("SET SESSION sql_mode = ''").await?;
        for stmt in script.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            conn.execute(stmt.trim_end_matches(';')).await?;
        }
        Ok(())
    }
}

impl Drop for MyTestDb {
    fn drop(&mut self) {
        let server = mysql_server_url();
        let name = self.name.clone();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = sqlx::MySqlConnection::connect(&server).await.ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await.ok()
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
