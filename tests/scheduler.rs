//! `satu serve` end to end, with second-level cron schedules and real processes: runs on
//! schedule, retries, circuit breakers, overlapping ticks, timeouts, memory budgets, SIGTERM and
//! the misfire run at the next start, two schedulers sharing a PostgreSQL warehouse, and
//! `/healthz` and `/metrics` (checked with the Prometheus client's own parser).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A port nobody listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `satu serve`, its log in `serve-N.log`.
struct Serve {
    child: Child,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, n: u32, envs: &[(&str, &str)]) -> std::io::Result<Self> {
        let log = dir.join(format!("serve-{n}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_satu"));
        cmd.current_dir(dir)
            .arg("serve")
            .env_remove("SATU_CONFIG")
            .env("SATU_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?);
        // Its own process group, so a test can kill the scheduler with its runs, as a host dies.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        Ok(Self { child: cmd.spawn()?, log })
    }

    /// SIGTERM, then the exit status (within `limit`).
    fn stop(&mut self, limit: Duration) -> Result<ExitStatus, Box<dyn std::error::Error>> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id())?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                return Err(
                    format!("satu serve did not stop within {limit:?}; log:\n{}", self.log_text()).into()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL to the scheduler and its runs (its process group): a host that dies.
    fn kill_all(&mut self) -> std::io::Result<()> {
        let group =
            nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).map_err(std::io::Error::other)?);
        nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::other)?;
        self.child.wait().map(|_| ())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    /// A failed test leaves no scheduler (or run) behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.kill_all();
        }
    }
}

/// `GET path` on the scheduler's listener: (status line, body).
fn http_get(port: u16, path: &str) -> std::io::Result<(String, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((head.lines().next().unwrap_or_default().to_string(), body.to_string()))
}

/// Waits until the listener answers.
fn wait_listening(port: u16, serve: &Serve) -> TestResult {
    let start = Instant::now();
    while http_get(port, "/healthz").is_err() {
        if start.elapsed() > Duration::from_secs(30) {
            return Err(format!("satu serve never listened; log:\n{}", serve.log_text()).into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Parses Prometheus text with the official Python client's parser; returns
/// `name{labels} value` lines as it understood them.
fn prometheus_parse(text: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n\
                  for f in text_string_to_metric_families(sys.stdin.read()):\n    for s in f.samples:\n        \
                  labels = ','.join(f'{k}={v}' for k, v in sorted(s.labels.items()))\n        \
                  print(f'{s.name}{{{labels}}} {s.value}')\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or("no stdin")?.write_all(text.as_bytes())?;
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'prometheus_client'") && std::env::var("CI").as_deref() != Ok("true")
    {
        eprintln!("skipped the Prometheus parse: pip install prometheus_client");
        return Ok(vec![]);
    }
    assert!(out.status.success(), "the Prometheus parser refused /metrics: {stderr}\n{text}");
    Ok(String::from_utf8(out.stdout)?.lines().map(str::to_string).collect())
}

/// The demo deployment with every pipeline monthly but `dinkes-kunjungan-puskesmas` every two
/// seconds, plus `extra` pipelines and `[scheduler]` settings.
fn demo_with(dir: &Path, scheduler: &str, extra: &str) -> std::io::Result<()> {
    let path = dir.join("pipelines.toml");
    let demo = std::fs::read_to_string(&path)?
        .replace("schedule = \"0 0 2 * * *\"", "schedule = \"0 0 3 1 * *\"")
        .replace(
            "name = \"dinkes-kunjungan-puskesmas\"\n",
            "name = \"dinkes-kunjungan-puskesmas\"\nschedule = \"*/2 * * * * *\"\n",
        );
    std::fs::write(path, format!("{demo}\n[scheduler]\n{scheduler}\n{extra}"))
}

/// A pipeline reading a CSV whose columns are not the ones its target maps: a data error, not
/// retried.
const BROKEN: &str = r#"
[[pipeline]]
name = "disdik-rusak"
opd = "DISDIK-3576"
schedule = "* * * * * *"
source = { type = "csv", path = "demo/data/rusak.csv" }
[pipeline.target]
dataset = "peserta-didik-sd"
indikator = "pendidikan.peserta_didik_sd"
wilayah = { column = "kecamatan", level = "kecamatan", within = "35.76" }
periode = { column = "tahun_ajaran" }
nilai = { column = "peserta_didik", integer = true }
dimensi = { status_sekolah = "status_sekolah" }
"#;

/// A pipeline whose OPD database does not answer: retryable.
const UNREACHABLE: &str = r#"
[[pipeline]]
name = "simpus-mati"
opd = "DINKES-3576"
schedule = "*/3 * * * * *"
source = { type = "postgres", url = "postgres://satu@127.0.0.1:9/simpus", table = "kunjungan" }
[pipeline.entity]
table = "kunjungan"
primary_key = ["id"]
columns = { id = "bigint" }
"#;

#[test]
fn serve_runs_on_schedule_retries_and_opens_circuits() -> TestResult {
    let dir = common::demo_copy()?;
    let port = free_port()?;
    std::fs::write(
        dir.path().join("demo/data/rusak.csv"),
        "kec,status,ta,jumlah\nMagersari,Negeri,2024/2025,10\n",
    )?;
    let scheduler = format!(
        "listen = \"127.0.0.1:{port}\"\nretries = 1\nretry_backoff = \"200ms\"\ncircuit_after = 2\nprobe_every = \"1h\""
    );
    demo_with(dir.path(), &scheduler, &format!("{BROKEN}{UNREACHABLE}"))?;
    let check = common::satu(dir.path(), &["check"])?;
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let mut serve = Serve::start(dir.path(), 1, &[])?;
    wait_listening(port, &serve)?;
    std::thread::sleep(Duration::from_secs(8));
    let (status, health) = http_get(port, "/healthz")?;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let (_, metrics) = http_get(port, "/metrics")?;
    let (not_found, _) = http_get(port, "/nope")?;
    assert_eq!(not_found, "HTTP/1.1 404 Not Found");
    let stopped = serve.stop(Duration::from_secs(30))?;
    assert!(stopped.success(), "satu serve exits 0 on SIGTERM: {stopped:?}");

    // The healthy pipeline ran on even seconds, every tick, and succeeded each time.
    let ticks = common::query(
        dir.path(),
        "SELECT scheduled_for, outcome FROM etl.tick WHERE pipeline = 'dinkes-kunjungan-puskesmas'",
    )?;
    assert!(ticks.len() >= 3, "{ticks:?}");
    for t in &ticks {
        let at = t["scheduled_for"].as_str().unwrap_or_default();
        let second: u32 = at.get(17..19).and_then(|s| s.parse().ok()).unwrap_or(1);
        assert_eq!(second % 2, 0, "a */2 tick at {at}");
        assert!(t["outcome"] == "success" || t["outcome"].is_null(), "{t}");
    }
    let runs = common::query(
        dir.path(),
        "SELECT status, count(*) AS n FROM etl.run WHERE pipeline = 'dinkes-kunjungan-puskesmas' GROUP BY status",
    )?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "success");

    // The broken one failed twice (not retried: a data error), then its circuit opened and held
    // the following ticks back, while the others kept running.
    let broken =
        common::query(dir.path(), "SELECT status, error FROM etl.run WHERE pipeline = 'disdik-rusak'")?;
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken.iter().all(|r| r["status"] == "failed"), "{broken:?}");
    let held = common::query(
        dir.path(),
        "SELECT count(*) AS n FROM etl.tick WHERE pipeline = 'disdik-rusak' AND outcome = 'circuit_open'",
    )?;
    assert!(held[0]["n"].as_i64().unwrap_or(0) >= 2, "{held:?}");

    // The unreachable one was retried once per tick (two runs per tick), then its circuit opened.
    let dead = common::query(dir.path(), "SELECT status, error FROM etl.run WHERE pipeline = 'simpus-mati'")?;
    assert!(dead.len() >= 2 && dead.len() % 2 == 0, "two attempts per tick: {dead:?}");
    assert!(dead.iter().all(|r| r["status"] == "failed"), "{dead:?}");

    let status = common::status(dir.path())?;
    let circuit = |p: &str| status[p]["circuit"].as_str().unwrap_or_default().to_string();
    assert!(circuit("disdik-rusak").starts_with("open since"), "{}", circuit("disdik-rusak"));
    assert!(circuit("simpus-mati").starts_with("open since"), "{}", circuit("simpus-mati"));
    assert_eq!(circuit("dinkes-kunjungan-puskesmas"), "closed");
    assert!(status["dinkes-kunjungan-puskesmas"]["next_run"]
        .as_str()
        .unwrap_or_default()
        .ends_with("+07:00"));

    // /metrics is valid Prometheus text and says the same.
    let samples = prometheus_parse(&metrics)?;
    if !samples.is_empty() {
        let value = |key: &str| {
            samples
                .iter()
                .find_map(|s| s.strip_prefix(key)?.strip_prefix(' ')?.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        assert!(value("satu_runs_total{outcome=circuit_open,pipeline=disdik-rusak}") >= 1.0, "{samples:?}");
        assert_eq!(value("satu_runs_total{outcome=failed,pipeline=disdik-rusak}"), 2.0, "{samples:?}");
        assert_eq!(value("satu_circuit_open{pipeline=disdik-rusak}"), 1.0, "{samples:?}");
        assert_eq!(value("satu_circuit_open{pipeline=dinkes-kunjungan-puskesmas}"), 0.0, "{samples:?}");
        assert!(value("satu_last_success_timestamp_seconds{pipeline=dinkes-kunjungan-puskesmas}") > 1.7e9);
        assert!(value("satu_rows_total{outcome=read,pipeline=dinkes-kunjungan-puskesmas}") >= 23.0);
    }

    // A reset closes the circuit by hand.
    let reset = common::satu(dir.path(), &["reset", "disdik-rusak"])?;
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    assert_eq!(common::status(dir.path())?["disdik-rusak"]["circuit"], "closed");
    let history = common::satu(dir.path(), &["history", "simpus-mati", "--format", "json"])?;
    let history: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout)?;
    assert_eq!(history.len(), dead.len());
    assert!(history[0]["seconds"].as_f64().is_some(), "{:?}", history[0]);
    Ok(())
}

/// A slow entity pipeline reading PostgreSQL (`pg_sleep` per row).
fn slow_pipeline(name: &str, seconds: f64, rows: u32, schedule: &str, timeout: Option<&str>) -> String {
    let timeout = timeout.map(|t| format!("timeout = \"{t}\"\n")).unwrap_or_default();
    format!(
        r#"
[[pipeline]]
name = "{name}"
opd = "DINKES-3576"
schedule = "{schedule}"
{timeout}source = {{ type = "postgres", url = "${{SATU_TEST_SOURCE}}", query = "SELECT g AS id, pg_sleep({seconds})::text AS jeda FROM generate_series(1, {rows}) g" }}
[pipeline.entity]
table = "{table}"
primary_key = ["id"]
sync = "full_refresh"
columns = {{ id = "bigint", jeda = "text" }}
"#,
        table = name.replace('-', "_")
    )
}

/// A minimal deployment around `pipelines`.
fn deployment(dir: &Path, warehouse: &str, scheduler: &str, pipelines: &str) -> std::io::Result<()> {
    std::fs::write(
        dir.join("pipelines.toml"),
        format!(
            "[warehouse]\nurl = \"{warehouse}\"\n[scheduler]\n{scheduler}\n\
             [[organisation]]\ncode = \"DINKES-3576\"\nname = \"Dinas Kesehatan\"\n{pipelines}"
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_ticks_are_skipped_and_runaway_runs_stopped() -> TestResult {
    let Some(source) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let scheduler = format!("listen = \"127.0.0.1:{port}\"\nretries = 0\nper_host = 2");
    let pipelines = format!(
        "{}{}",
        slow_pipeline("lambat", 0.7, 3, "* * * * * *", None),
        slow_pipeline("macet", 30.0, 1, "*/4 * * * * *", Some("2s"))
    );
    deployment(dir.path(), "sqlite://warehouse.db", &scheduler, &pipelines)?;
    let env = [("SATU_TEST_SOURCE", source.url.as_str())];
    let mut serve = Serve::start(dir.path(), 1, &env)?;
    wait_listening(port, &serve)?;
    std::thread::sleep(Duration::from_secs(7));
    let (_, metrics) = http_get(port, "/metrics")?;
    serve.stop(Duration::from_secs(40))?;

    // Runs of one pipeline never overlap: ticks that came during a run were skipped.
    let runs = common::query(
        dir.path(),
        "SELECT started_at, finished_at, status FROM etl.run WHERE pipeline = 'lambat' ORDER BY id",
    )?;
    assert!(!runs.is_empty() && runs.len() <= 4, "{runs:?}");
    for pair in runs.windows(2) {
        assert!(pair[1]["started_at"].as_str() >= pair[0]["finished_at"].as_str(), "overlap: {pair:?}");
    }
    let skipped = metrics
        .lines()
        .find(|l| l.starts_with("satu_ticks_skipped_total{pipeline=\"lambat\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(skipped >= 2.0, "{metrics}");
    // The hung run was stopped at its timeout and recorded as such.
    let hung = common::query(dir.path(), "SELECT status, error FROM etl.run WHERE pipeline = 'macet'")?;
    assert!(!hung.is_empty(), "{hung:?}");
    assert_eq!(hung[0]["status"], "failed");
    assert_eq!(hung[0]["error"], "timed out after 2s");

    // A run over its memory budget is stopped, recorded, and the scheduler goes on.
    let scheduler = format!("listen = \"127.0.0.1:{port}\"\nretries = 0\nmemory_mb = 1");
    deployment(
        dir.path(),
        "sqlite://warehouse.db",
        &scheduler,
        &slow_pipeline("boros", 0.5, 4, "*/3 * * * * *", None),
    )?;
    let mut serve = Serve::start(dir.path(), 2, &env)?;
    wait_listening(port, &serve)?;
    std::thread::sleep(Duration::from_secs(5));
    serve.stop(Duration::from_secs(30))?;
    // (A 1 MiB budget stops the run before it records itself: the circuit keeps the reason.)
    let greedy =
        common::query(dir.path(), "SELECT failures, last_error FROM etl.circuit WHERE pipeline = 'boros'")?;
    assert!(!greedy.is_empty(), "{greedy:?}");
    let error = greedy[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("memory budget exceeded"), "{error}");
    assert!(common::query(
        dir.path(),
        "SELECT * FROM etl.run WHERE pipeline = 'boros' AND status = 'running'"
    )?
    .is_empty());
    Ok(())
}

/// Rows of the table the SIGTERM test copies: enough for a run of many batches.
const MANY: i64 = 300_000;

/// An entity pipeline that snapshots `register` (MANY rows) in primary-key chunks of 10,000,
/// each committed with its position.
fn chunked_pipeline(schedule: &str) -> String {
    format!(
        r#"
[[pipeline]]
name = "register"
opd = "DINKES-3576"
schedule = "{schedule}"
source = {{ type = "postgres", url = "${{SATU_TEST_SOURCE}}", table = "register", primary_key = "id" }}
[pipeline.entity]
table = "register"
primary_key = ["id"]
sync = "full_refresh"
columns = {{ id = "bigint", nama = "text" }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_then_the_next_start_resumes_from_the_last_commit() -> TestResult {
    let Some(source) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    let mut pg = <sqlx::PgConnection as sqlx::Connection>::connect(&source.url).await?;
    sqlx::raw_sql(&format!(
        "CREATE TABLE register AS SELECT g::bigint AS id, 'Warga ' || g AS nama FROM generate_series(1, {MANY}) g; \
         ALTER TABLE register ADD PRIMARY KEY (id)"
    ))
    .execute(&mut pg)
    .await?;
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let scheduler = format!("listen = \"127.0.0.1:{port}\"\nshutdown_grace = \"10s\"");
    deployment(dir.path(), "sqlite://warehouse.db", &scheduler, &chunked_pipeline("*/2 * * * * *"))?;
    let env = [("SATU_TEST_SOURCE", source.url.as_str())];
    let mut serve = Serve::start(dir.path(), 1, &env)?;
    wait_listening(port, &serve)?;
    // Stop once the run has committed a chunk or two, half-way through.
    let start = Instant::now();
    loop {
        let read = common::query(dir.path(), "SELECT coalesce(max(rows_read), 0) AS n FROM etl.run")?;
        if read[0]["n"].as_i64().unwrap_or(0) >= 10_000 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no chunk committed; {}", serve.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let stopped = serve.stop(Duration::from_secs(30))?;
    assert!(stopped.success(), "{stopped:?}");
    let runs = common::query(
        dir.path(),
        "SELECT status, error, rows_read FROM etl.run WHERE pipeline = 'register'",
    )?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "failed");
    assert!(runs[0]["error"].as_str().unwrap_or_default().starts_with("interrupted"), "{runs:?}");
    let committed = runs[0]["rows_read"].as_i64().unwrap_or(0);
    assert!((10_000..MANY).contains(&committed), "stopped half-way: {runs:?}");
    let open = common::query(dir.path(), "SELECT count(*) AS n FROM etl.tick WHERE finished_at IS NULL")?;
    assert_eq!(open[0]["n"], 1, "the interrupted tick is released, not finished");

    // Next start, with a nightly schedule: the missed tick runs once, at start, and resumes after
    // the last committed chunk instead of starting over.
    deployment(dir.path(), "sqlite://warehouse.db", &scheduler, &chunked_pipeline("0 0 2 * * *"))?;
    let mut serve = Serve::start(dir.path(), 2, &env)?;
    wait_listening(port, &serve)?;
    let start = Instant::now();
    loop {
        let done = common::query(dir.path(), "SELECT count(*) AS n FROM etl.run WHERE status = 'success'")?;
        if done[0]["n"] == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the missed tick did not run; {}",
            serve.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    serve.stop(Duration::from_secs(30))?;
    let runs = common::query(dir.path(), "SELECT status, rows_read FROM etl.run ORDER BY id")?;
    assert_eq!(runs.len(), 2, "one run at start, not one per missed tick: {runs:?}");
    let open = common::query(dir.path(), "SELECT count(*) AS n FROM etl.tick WHERE finished_at IS NULL")?;
    assert_eq!(
        open[0]["n"], 0,
        "the interrupted tick is done (resumed or superseded), not left to run again"
    );
    assert_eq!(runs[1]["rows_read"].as_i64(), Some(MANY - committed), "resumed after the committed chunks");
    let rows = common::query(
        dir.path(),
        "SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id) AS total FROM dw.register",
    )?;
    assert_eq!((rows[0]["n"].as_i64(), rows[0]["ids"].as_i64()), (Some(MANY), Some(MANY)));
    assert_eq!(rows[0]["total"].as_i64(), Some(MANY * (MANY + 1) / 2));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schedulers_share_a_postgres_warehouse() -> TestResult {
    let Some(warehouse) = satu_testkit::PgTestDb::create().await else { return Ok(()) };
    let dir = common::demo_copy()?;
    let path = dir.path().join("pipelines.toml");
    let demo = std::fs::read_to_string(&path)?
        .replace("url = \"sqlite://warehouse.db\"", "url = \"${SATU_TEST_WAREHOUSE}\"")
        .replace("schedule = \"0 0 2 * * *\"", "schedule = \"* * * * * *\"");
    std::fs::write(&path, format!("{demo}\n[scheduler]\nlisten = \"\"\nlease = \"2s\"\n"))?;
    let env = [("SATU_TEST_WAREHOUSE", warehouse.url.as_str())];
    // Create the warehouse first, so both start on a migrated one.
    let ok =
        Command::new(env!("CARGO_BIN_EXE_satu")).current_dir(dir.path()).envs(env).arg("status").output()?;
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let mut a = Serve::start(dir.path(), 1, &env)?;
    let mut b = Serve::start(dir.path(), 2, &env)?;
    std::thread::sleep(Duration::from_secs(7));
    let a_pid = a.child.id();
    a.kill_all()?;
    let killed_at = chrono::Utc::now();
    std::thread::sleep(Duration::from_secs(7));
    let b_log = b.log_text();
    b.stop(Duration::from_secs(30))?;

    let mut pg = <sqlx::PgConnection as sqlx::Connection>::connect(&warehouse.url).await?;
    let runs: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT pipeline, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), \
         to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), status \
         FROM etl.run ORDER BY pipeline, started_at",
    )
    .fetch_all(&mut pg)
    .await?;
    assert!(!runs.is_empty());
    // No two runs of a pipeline at the same time, whichever scheduler started them.
    for pair in runs.windows(2).filter(|p| p[0].0 == p[1].0) {
        let finished = pair[0].2.as_deref().unwrap_or("9999");
        assert!(pair[1].1.as_str() >= finished, "overlapping runs: {pair:?}");
    }
    // Each tick ran at most once: successful runs never outnumber the ticks that can account
    // for one — successful ticks, and the dead scheduler's last tick when its run had ended
    // before the kill but was not recorded: the survivor finds a newer tick and closes that one
    // as superseded instead of running it again.
    let ticks: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT pipeline, scheduled_for, owner, outcome FROM etl.tick ORDER BY scheduled_for")
            .fetch_all(&mut pg)
            .await?;
    for p in ["dinkes-kunjungan-puskesmas", "disdik-peserta-didik-sd"] {
        let ok_runs = runs.iter().filter(|r| r.0 == p && r.3 == "success").count();
        let ok_ticks = ticks.iter().filter(|t| t.0 == p && t.3.as_deref() == Some("success")).count();
        let superseded = ticks
            .iter()
            .filter(|t| {
                t.0 == p && t.3.as_deref() == Some("superseded") && t.2.ends_with(&format!(":{a_pid}"))
            })
            .count();
        assert!(
            ok_runs > 0 && ok_runs <= ok_ticks + superseded.min(1),
            "{p}: {ok_runs} successful runs for {ok_ticks} successful ticks ({superseded} superseded)"
        );
    }
    // The survivor kept every pipeline going after the other died.
    let after = timestamp_after(killed_at, 3);
    let late: Vec<_> = ticks.iter().filter(|t| t.1 > after && t.3.as_deref() == Some("success")).collect();
    assert!(late.len() >= 2, "the surviving scheduler ran nothing after the kill; its log:\n{b_log}");
    assert!(
        late.iter().all(|t| !t.2.ends_with(&format!(":{a_pid}"))),
        "a dead scheduler cannot finish ticks: {late:?}"
    );
    Ok(())
}

fn timestamp_after(t: chrono::DateTime<chrono::Utc>, seconds: i64) -> String {
    (t + chrono::TimeDelta::seconds(seconds)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn ticks_missed_while_no_scheduler_ran_run_once_at_start() -> TestResult {
    let dir = common::demo_copy()?;
    let path = dir.path().join("pipelines.toml");
    let demo = std::fs::read_to_string(&path)?
        .replace("schedule = \"0 0 2 * * *\"", "schedule = \"0 0 3 1 * *\"")
        .replace(
            "name = \"dinkes-kunjungan-puskesmas\"\n",
            "name = \"dinkes-kunjungan-puskesmas\"\nschedule = \"0 0 2 * * *\"\n",
        );
    std::fs::write(&path, format!("{demo}\n[scheduler]\nlisten = \"\"\n"))?;
    let created = common::satu(dir.path(), &["status"])?;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    // The last scheduler ran its nightly tick of 2 January, then the host was down for weeks.
    let etl = format!("sqlite://{}", dir.path().join("warehouse.etl.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&etl).await?;
    sqlx::query(
        "INSERT INTO tick (pipeline, scheduled_for, owner, lease_until, finished_at, outcome) VALUES \
         ('dinkes-kunjungan-puskesmas', '2026-01-01T19:00:00.000Z', 'gone:1', '2026-01-01T19:05:00.000Z', \
          '2026-01-01T19:04:00.000Z', 'success')",
    )
    .execute(&mut conn)
    .await?;
    let mut serve = Serve::start(dir.path(), 1, &[])?;
    let start = Instant::now();
    while common::query(dir.path(), "SELECT id FROM etl.run")?.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "nothing ran; {}", serve.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    serve.stop(Duration::from_secs(30))?;
    let runs = common::query(dir.path(), "SELECT pipeline, status FROM etl.run")?;
    assert_eq!(runs.len(), 1, "weeks of missed ticks run once: {runs:?}");
    assert_eq!(runs[0]["status"], "success");
    let ticks =
        common::query(dir.path(), "SELECT scheduled_for, outcome FROM etl.tick ORDER BY scheduled_for DESC")?;
    let latest = ticks[0]["scheduled_for"].as_str().unwrap_or_default();
    assert!(latest.ends_with("T19:00:00.000Z"), "the latest missed tick, 02:00 WIB: {latest}");
    assert_eq!(ticks[0]["outcome"], "success");
    Ok(())
}
