//! `satu`: the command line of the Satu ETL.

mod output;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use output::{print_query, print_runs, Format};
use satu_config::{Deployment, Problems};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// mimalloc: batches allocate and free millions of small strings; with glibc's allocator, frees
/// and page faults were about 5 % of a SQL copy's CPU in its profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README.
mod exit {
    /// A pipeline failed (the others still ran).
    pub const RUN_FAILED: u8 = 1;
    /// The configuration is invalid, or the command line is wrong.
    pub const INVALID: u8 = 2;
    /// The warehouse could not be opened or a query failed.
    pub const WAREHOUSE: u8 = 3;
    /// Another process is running the pipeline (PostgreSQL warehouse lock): nothing was done.
    pub const BUSY: u8 = 4;
    /// Every pipeline that failed may pass on a retry (EX_TEMPFAIL): an unreachable source or
    /// warehouse. `satu serve` retries these.
    pub const RETRYABLE: u8 = 75;
    /// Stopped by Ctrl-C or SIGTERM (128 + SIGINT).
    pub const INTERRUPTED: u8 = 130;
}

/// Resolves on Ctrl-C or SIGTERM, naming which.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

#[derive(Parser)]
#[command(
    name = "satu",
    version,
    about = "Satu: consolidates the data of regional agencies (OPD) into one Satu Data warehouse",
    long_about = "Satu reads OPD sources declared in pipelines.toml (CSV files, MySQL/MariaDB, PostgreSQL \
                  and SQLite databases, REST/JSON APIs, CKAN DataStore resources), normalises them into canonical Satu Data observations (Kemendagri \
                  region codes, periods, Indonesian numbers, dimensions) and loads them into a warehouse \
                  (an embedded SQLite file by default). Rejected rows are kept with their reason. `satu serve` \
                  runs every pipeline on its schedule, unattended.",
    after_help = "Examples:\n  satu check                         validate pipelines.toml, touching nothing\n  \
                  satu run --all                     run every pipeline\n  \
                  satu run dinkes-kunjungan-puskesmas run one pipeline\n  \
                  satu status                        last run, next run and circuit of each pipeline\n  \
                  satu serve                         run every pipeline on its schedule, unattended\n  \
                  satu history dinkes-kunjungan-puskesmas  its runs, newest first\n  \
                  satu report --format html -o laporan.html  the walidata's morning report\n  \
                  satu query \"SELECT count(*) FROM dw.observasi\"\n\n\
                  Exit codes: 0 ok, 1 a pipeline failed, 2 invalid configuration or usage, 3 warehouse error, \
                  4 already running elsewhere, 75 every failure may pass on a retry, 130 interrupted (Ctrl-C or SIGTERM)."
)]
struct Cli {
    /// The deployment file.
    #[arg(long, short, global = true, env = "SATU_CONFIG", default_value = "pipelines.toml")]
    config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "SATU_LOG_FORMAT")]
    log_format: LogFormat,
    /// Log filter, e.g. `info`, `warn`, `satu_runtime=debug` (RUST_LOG syntax).
    #[arg(long, global = true, default_value = "info", env = "SATU_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The name on the command line.
    fn name(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Json => "json",
        }
    }
}

/// Formats of `satu report`.
#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    /// An aligned table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One self-contained HTML page.
    Html,
}

#[derive(Subcommand)]
enum LandingCommand {
    /// Show a landed run (`landing/<pipeline>/<date>/<run>`) or file: its manifest, the schema
    /// embedded in the Avro file and the first rows.
    Inspect {
        /// A run directory or a `part-NNNNN.avro` file.
        path: PathBuf,
        /// How many rows to show.
        #[arg(long, default_value_t = 10)]
        rows: usize,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Validate the deployment without touching any source or the warehouse; reports every
    /// problem at once, with its path. Exits 2 when anything is wrong.
    Check {
        /// Also connect to every source and check it can be read (read-only; no rows are read).
        #[arg(long)]
        connect: bool,
    },
    /// List the tables (or files) of a pipeline's source: columns, types, keys, row estimates.
    Discover {
        /// The pipeline whose source to inspect.
        #[arg(required_unless_present = "source")]
        pipeline: Option<String>,
        /// Inspect a database no pipeline reads yet, by URL (`mysql://…`, `postgres://…`,
        /// `sqlite://…`). Pass it from the environment (`--source "$SIMPUS_DB_URL"`), not typed out.
        #[arg(long, conflicts_with = "pipeline")]
        source: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run pipelines: read, normalise, load. Others keep running when one fails.
    Run {
        /// Pipelines to run, by name.
        pipelines: Vec<String>,
        /// Run every pipeline.
        #[arg(long, conflicts_with = "pipelines")]
        all: bool,
        /// Backfill: incremental database sources read from this date (YYYY-MM-DD, midnight in
        /// the source's time zone) instead of their saved position, e.g. after an OPD corrected
        /// old records without touching their update time.
        #[arg(long, value_name = "DATE")]
        from: Option<chrono::NaiveDate>,
    },
    /// Run every pipeline on its cron schedule, unattended, until SIGTERM or Ctrl-C: limits per
    /// host and overall, timeouts, memory budgets, retries, circuit breakers, and `/healthz` and
    /// `/metrics` on `[scheduler].listen`. Several `satu serve` may share one PostgreSQL
    /// warehouse: each tick runs once. Settings: `[scheduler]` in the README.
    Serve,
    /// Runs of one pipeline or all, newest first: outcome, counts, duration and error.
    History {
        /// Only this pipeline.
        pipeline: Option<String>,
        /// How many runs.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Close a pipeline's circuit (after fixing what made it fail), so `satu serve` runs it on
    /// schedule again; with `--state`, also forget where its source was read up to, so the next
    /// run reads everything again.
    Reset {
        /// The pipeline.
        pipeline: String,
        /// Also forget the source state (incremental cursor, snapshot position).
        #[arg(long)]
        state: bool,
    },
    /// Push landed data through the current transform into the warehouse, without touching the
    /// source: after fixing a pipeline's target, reprocess what the OPD already delivered.
    /// `satu replay 42` replays run 42; `satu replay PIPELINE --from 2026-11-01` replays every
    /// landed run of the pipeline since that date, oldest first (the newest values win).
    Replay {
        /// A run id, or a pipeline name.
        run_or_pipeline: String,
        /// With a pipeline: only runs landed on or after this date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
    },
    /// Show schema drift: columns added, removed or retyped at a source between runs, and what
    /// the pipeline did (recorded, discarded, stopped). Newest first.
    Drift {
        /// Only this pipeline.
        pipeline: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The raw landing zone: what each run's source produced, kept as Avro files.
    Landing {
        #[command(subcommand)]
        command: LandingCommand,
    },
    /// Show every pipeline: its last run (result and row counts), next scheduled run and
    /// circuit state.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The walidata report: per OPD, its pipelines and datasets, the last successful delivery,
    /// freshness against each dataset's frequency (on time / late / never delivered), the last
    /// run's outcome and why rows were rejected. `--format html` writes one self-contained page.
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Run one read-only SQL statement on the warehouse, e.g.
    /// `SELECT w.nama, o.nilai FROM dw.observasi o JOIN ref.wilayah w ON w.kode = o.kode_wilayah`.
    Query {
        /// The SQL statement.
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let progress = indicatif::MultiProgress::new();
    output::init_tracing(cli.log_format, &cli.log, progress.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::WAREHOUSE);
        }
    };
    match runtime.block_on(dispatch(cli, progress)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::WAREHOUSE)
        }
    }
}

/// Loads and fully checks the deployment; prints every problem and returns None when invalid.
fn load_checked(path: &std::path::Path) -> Option<Deployment> {
    let loaded = satu_config::load(path);
    let mut problems: Problems = loaded.problems;
    problems.extend(satu_runtime::check(&loaded.deployment));
    if problems.is_empty() {
        return Some(loaded.deployment);
    }
    eprintln!("{}: {} problem(s):\n{problems}", path.display(), problems.len());
    None
}

/// Loads the deployment for commands that only read the warehouse: problems elsewhere in the
/// file do not matter to them, but a broken `[warehouse]` section does.
fn load_for_reading(path: &std::path::Path) -> Option<Deployment> {
    let loaded = satu_config::load(path);
    let blocking: Vec<_> =
        loaded.problems.iter().filter(|p| p.path.is_empty() || p.path.starts_with("warehouse")).collect();
    if blocking.is_empty() {
        return Some(loaded.deployment);
    }
    for p in blocking {
        eprintln!("{}: {p}", path.display());
    }
    None
}

async fn open_warehouse(d: &Deployment) -> anyhow::Result<Box<dyn satu_warehouse::Warehouse>> {
    let wh = satu_warehouse::open(&d.warehouse.url, &d.base_dir).await.context("opening the warehouse")?;
    let report = wh.migrate().await.context("migrating the warehouse")?;
    if report.regions_loaded > 0 {
        tracing::info!(regions = report.regions_loaded, "loaded the Kemendagri region list into ref.wilayah");
    }
    Ok(wh)
}

async fn dispatch(cli: Cli, progress: indicatif::MultiProgress) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { connect } => {
            let Some(d) = load_checked(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            if connect {
                let mut failed = 0;
                for p in &d.pipelines {
                    let Ok(mut source) = satu_runtime::build_source(&d, p) else { continue };
                    match source.check().await {
                        Ok(()) => println!("{}: source ok", p.name),
                        Err(e) => {
                            failed += 1;
                            eprintln!("{}: {e}", p.name);
                        }
                    }
                }
                if failed > 0 {
                    return Ok(ExitCode::from(exit::RUN_FAILED));
                }
            }
            println!(
                "{}: ok ({} pipelines, {} datasets, {} indicators)",
                cli.config.display(),
                d.pipelines.len(),
                d.datasets.len(),
                d.indicators.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let Some(d) = load_checked(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let wh: std::sync::Arc<dyn satu_warehouse::Warehouse> = open_warehouse(&d).await?.into();
            wh.sync_metadata(&d).await.context("writing metadata to the warehouse")?;
            let config = std::path::absolute(&cli.config).context("locating the deployment file")?;
            let launcher = satu_scheduler::Launcher {
                program: std::env::current_exe().context("locating the satu binary")?,
                args: vec![
                    "--config".into(),
                    config.into(),
                    "--log-format".into(),
                    cli.log_format.name().into(),
                    "--log".into(),
                    cli.log.clone().into(),
                ],
            };
            let stop = async {
                let signal = shutdown_signal().await;
                tracing::info!(signal, "received");
            };
            satu_scheduler::serve(d, wh, launcher, stop).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::History { pipeline, limit, format } => {
            let Some(d) = load_for_reading(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let wh = open_warehouse(&d).await?;
            print_runs(&wh.runs(pipeline.as_deref(), limit).await?, format)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reset { pipeline, state } => {
            let Some(d) = load_for_reading(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            if d.pipeline(&pipeline).is_none() {
                eprintln!("error: no pipeline `{pipeline}` in {}", cli.config.display());
                return Ok(ExitCode::from(exit::INVALID));
            }
            let wh = open_warehouse(&d).await?;
            wh.reset(&pipeline, &satu_warehouse::timestamp(chrono::Utc::now()), state).await?;
            println!(
                "{pipeline}: circuit closed{}",
                if state { "; source state forgotten: the next run reads everything" } else { "" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { pipelines, all, from } => {
            let Some(d) = load_checked(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let names: Vec<String> = if all {
                d.pipelines.iter().map(|p| p.name.clone()).collect()
            } else if pipelines.is_empty() {
                eprintln!("error: name the pipelines to run, or use --all (see `satu run --help`)");
                return Ok(ExitCode::from(exit::INVALID));
            } else {
                pipelines
            };
            if let Some(unknown) = names.iter().find(|n| d.pipeline(n).is_none()) {
                let known: Vec<&str> = d.pipelines.iter().map(|p| p.name.as_str()).collect();
                eprintln!(
                    "error: no pipeline `{unknown}` in {} (known: {})",
                    cli.config.display(),
                    known.join(", ")
                );
                return Ok(ExitCode::from(exit::INVALID));
            }
            let wh = open_warehouse(&d).await?;
            wh.sync_metadata(&d).await.context("writing metadata to the warehouse")?;
            let (mut failed, mut retryable, mut busy) = (0, 0, 0);
            let mut run_ids = Vec::new();
            for name in &names {
                let bar = progress.add(output::spinner(name));
                let show = |p: &satu_runtime::Progress| {
                    bar.set_message(format!(
                        "{}: {} rows read, {} batches",
                        p.pipeline, p.counts.read, p.batches
                    ));
                };
                let run = satu_runtime::run_pipeline(&d, wh.as_ref(), name, from, &show);
                let report = tokio::select! {
                    report = run => report,
                    signal = shutdown_signal() => {
                        bar.finish_and_clear();
                        // Dropping the run rolls back its open transaction; what was committed
                        // stays, with its checkpoint, and the next run resumes from there.
                        tracing::warn!(pipeline = %name, signal, "interrupted: the batch in flight was rolled back; the next run resumes from the last commit");
                        return Ok(ExitCode::from(exit::INTERRUPTED));
                    }
                };
                bar.finish_and_clear();
                let c = report.counts;
                match &report.result {
                    Ok(()) => tracing::info!(
                        pipeline = %name, read = c.read, inserted = c.inserted, updated = c.updated,
                        unchanged = c.unchanged, rejected = c.rejected, filtered = c.filtered,
                        duplicates = c.duplicates, seconds = report.elapsed.as_secs_f64(), "run succeeded"
                    ),
                    Err(e) => {
                        failed += 1;
                        retryable += usize::from(e.retry() != satu_core::Retry::Never);
                        busy += usize::from(matches!(
                            e,
                            satu_runtime::RuntimeError::Warehouse(satu_warehouse::WarehouseError::Busy(_))
                        ));
                        tracing::error!(pipeline = %name, kind = %e.kind(), error = %e, "run failed");
                    }
                }
                run_ids.extend(report.run_id);
            }
            let mut runs = Vec::new();
            for id in run_ids {
                runs.extend(wh.run(id).await?);
            }
            print_runs(&runs, Format::Table)?;
            Ok(match failed {
                0 => ExitCode::SUCCESS,
                n if n == busy => ExitCode::from(exit::BUSY),
                n if n == retryable => ExitCode::from(exit::RETRYABLE),
                _ => ExitCode::from(exit::RUN_FAILED),
            })
        }
        Command::Discover { pipeline, source, format } => {
            let built = match (&pipeline, source) {
                (_, Some(url)) => satu_runtime::source_from_url(&url).map_err(|e| eprintln!("error: {e}")),
                (Some(name), None) => {
                    let Some(d) = load_checked(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
                    let Some(p) = d.pipeline(name) else {
                        eprintln!("error: no pipeline `{name}` in {}", cli.config.display());
                        return Ok(ExitCode::from(exit::INVALID));
                    };
                    satu_runtime::build_source(&d, p).map_err(|e| eprintln!("{e}"))
                }
                (None, None) => {
                    eprintln!("error: name a pipeline or give --source URL");
                    Err(())
                }
            };
            let Ok(mut source) = built else { return Ok(ExitCode::from(exit::INVALID)) };
            let pipeline = pipeline.unwrap_or_else(|| "source".into());
            match source.discover().await {
                Ok(catalog) => {
                    output::print_catalog(&catalog, format)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {pipeline}: {e}");
                    Ok(ExitCode::from(exit::RUN_FAILED))
                }
            }
        }
        Command::Replay { run_or_pipeline, from } => {
            let Some(d) = load_checked(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let wh = open_warehouse(&d).await?;
            let root = d.landing_root();
            let (pipeline, runs) = match run_or_pipeline.parse::<i64>() {
                Ok(id) => {
                    let Some(run) = wh.run(id).await? else {
                        eprintln!("error: no run {id} in the warehouse");
                        return Ok(ExitCode::from(exit::INVALID));
                    };
                    let landed = satu_landing::runs(&root, &run.pipeline)?;
                    let dirs: Vec<PathBuf> =
                        landed.into_iter().filter(|(r, _)| *r == id).map(|(_, p)| p).collect();
                    (run.pipeline, dirs)
                }
                Err(_) => {
                    let landed = satu_landing::runs(&root, &run_or_pipeline)?;
                    let since = |dir: &PathBuf| {
                        let date =
                            dir.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
                        from.as_deref().is_none_or(|f| date >= f)
                    };
                    let ok =
                        |dir: &PathBuf| satu_landing::read_manifest(dir).is_ok_and(|m| m.status == "success");
                    let dirs = landed.into_iter().map(|(_, p)| p).filter(|p| since(p) && ok(p)).collect();
                    (run_or_pipeline.clone(), dirs)
                }
            };
            if d.pipeline(&pipeline).is_none() {
                eprintln!("error: no pipeline `{pipeline}` in {}", cli.config.display());
                return Ok(ExitCode::from(exit::INVALID));
            }
            if runs.is_empty() {
                eprintln!("error: nothing landed to replay for `{run_or_pipeline}` under {}", root.display());
                return Ok(ExitCode::from(exit::INVALID));
            }
            wh.sync_metadata(&d).await.context("writing metadata to the warehouse")?;
            let mut failed = 0;
            let mut records = Vec::new();
            for dir in runs {
                let report =
                    satu_runtime::replay_pipeline(&d, wh.as_ref(), &pipeline, dir.clone(), &|_| {}).await;
                if let Err(e) = &report.result {
                    failed += 1;
                    tracing::error!(pipeline = %pipeline, landed = %dir.display(), error = %e, "replay failed");
                }
                if let Some(id) = report.run_id {
                    records.extend(wh.run(id).await?);
                }
            }
            print_runs(&records, Format::Table)?;
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(exit::RUN_FAILED) })
        }
        Command::Drift { pipeline, format } => {
            let Some(d) = load_for_reading(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let wh = open_warehouse(&d).await?;
            print_query(&wh.drift_history(pipeline.as_deref()).await?, format)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Landing { command: LandingCommand::Inspect { path, rows } } => {
            match satu_landing::inspect(&path, rows) {
                Ok(seen) => {
                    println!("{}", serde_json::to_string_pretty(&seen)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(exit::INVALID))
                }
            }
        }
        Command::Status { format } => {
            let Some(d) = load_for_reading(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let wh = open_warehouse(&d).await?;
            let runs = wh.last_runs().await?;
            let circuits = wh.circuits().await?;
            let timetable = satu_scheduler::Timetable::new(&d).ok();
            let now = chrono::Utc::now();
            let rows: Vec<output::StatusRow> = d
                .pipelines
                .iter()
                .map(|p| output::StatusRow {
                    pipeline: p.name.clone(),
                    last: runs.iter().find(|r| r.pipeline == p.name).cloned(),
                    next: timetable.as_ref().and_then(|t| t.next_after(&p.name, now)),
                    circuit: circuits.iter().find(|c| c.pipeline == p.name).cloned(),
                })
                .collect();
            output::print_status(&rows, format)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { format, output } => {
            let Some(d) = load_for_reading(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let wh = open_warehouse(&d).await?;
            let report = satu_report::build(&d, wh.as_ref(), chrono::Utc::now()).await?;
            let text = match format {
                ReportFormat::Table => {
                    let mut table = comfy_table::Table::new();
                    table
                        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
                        .set_header(satu_report::Report::COLUMNS);
                    for mut row in report.rows() {
                        row[4] = row[4].chars().take(16).collect::<String>().replace('T', " ");
                        for long in [10, 11] {
                            row[long] = row[long].chars().take(60).collect();
                        }
                        table.add_row(row);
                    }
                    let (on_time, late, never) = report.tally();
                    format!("{table}\n{on_time} on time, {late} late, {never} never delivered\n")
                }
                ReportFormat::Csv => report.csv()?,
                ReportFormat::Html => report.html(),
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("report written to {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Query { sql, format } => {
            let Some(d) = load_for_reading(&cli.config) else { return Ok(ExitCode::from(exit::INVALID)) };
            let wh = open_warehouse(&d).await?;
            print_query(&wh.query(&sql).await?, format)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// How long a spinner waits between redraws.
const TICK: Duration = Duration::from_millis(120);
