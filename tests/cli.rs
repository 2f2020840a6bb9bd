//! The command line: config errors, exit codes, read-only queries, logs.

mod common;
use common::{demo_copy, satu};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn five_config_mistakes_are_reported_at_once() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();
    let good = std::fs::read_to_string(d.join("pipelines.toml"))?;
    let bad = good
        .replacen("schedule = \"0 0 3 1 * *\"", "shedule = \"0 0 3 1 * *\"", 1)
        .replacen("delimiter = \";\"", "delimiter = \";\", encodng = \"utf-8\"", 1)
        .replacen("level = \"kecamatan\"", "level = \"kecamtan\"", 1)
        .replacen("opd = \"DISDIK-3576\"\ndescription", "opd = \"DISDIK-9999\"\ndescription", 1)
        .replacen("url = \"sqlite://warehouse.db\"", "url = \"${SATU_TEST_UNSET_WAREHOUSE}\"", 1);
    assert_ne!(good, bad);
    std::fs::write(d.join("broken.toml"), bad)?;
    let out = satu(d, &["check", "--config", "broken.toml"])?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "pipeline[3].shedule: unknown key `shedule` (did you mean `schedule`?)",
        "pipeline[0].source.encodng: unknown key `encodng` (did you mean `encoding`?)",
        "pipeline[2].target.wilayah.level: unknown value `kecamtan` (did you mean `kecamatan`?)",
        "pipeline[2].opd: unknown organisation `DISDIK-9999`",
        "warehouse.url: environment variable `SATU_TEST_UNSET_WAREHOUSE` is not set",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert!(err.contains("5 problem(s)"), "{err}");
    // Nothing ran: no warehouse was created.
    assert!(!d.join("warehouse.db").exists());
    Ok(())
}

#[test]
fn run_refuses_an_invalid_config_and_unknown_pipelines() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();
    let out = satu(d, &["run", "no-such-pipeline"])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no pipeline `no-such-pipeline`"));
    let out = satu(d, &["run"])?;
    assert_eq!(out.status.code(), Some(2));
    let out = satu(d, &["check", "--config", "missing.toml"])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the config file"));
    Ok(())
}

#[test]
fn query_is_read_only_and_formats_csv() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();
    let run = satu(d, &["run", "disdik-peserta-didik-sd"])?;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let del = satu(d, &["query", "DELETE FROM dw.observasi"])?;
    assert_eq!(del.status.code(), Some(3));
    let csv = satu(
        d,
        &[
            "query",
            "--format",
            "csv",
            "SELECT kode, nama FROM ref.wilayah WHERE kode_induk = '35.76' ORDER BY kode",
        ],
    )?;
    assert!(csv.status.success());
    assert_eq!(
        String::from_utf8(csv.stdout)?,
        "kode,nama\n35.76.01,Prajuritkulon\n35.76.02,Magersari\n35.76.03,Kranggan\n"
    );
    let bad = satu(d, &["query", "SELEC 1"])?;
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("syntax error"));
    Ok(())
}

#[test]
fn logs_are_json_lines_and_hold_no_secret() -> TestResult {
    let dir = demo_copy()?;
    let d = dir.path();
    let toml = std::fs::read_to_string(d.join("pipelines.toml"))?
        .replace("url = \"sqlite://warehouse.db\"", "url = \"sqlite://${SATU_TEST_WAREHOUSE_FILE}\"");
    std::fs::write(d.join("pipelines.toml"), toml)?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_satu"))
        .current_dir(d)
        .args(["run", "--all", "--log-format", "json"])
        .env("SATU_TEST_WAREHOUSE_FILE", "secret-name-wh.db")
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let logs = String::from_utf8(out.stderr)?;
    let mut lines = 0;
    for line in logs.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        assert!(v["level"].is_string());
        lines += 1;
    }
    assert!(lines >= 8, "{logs}");
    assert!(!logs.contains("secret-name-wh"), "the warehouse URL is never logged");
    assert!(d.join("secret-name-wh.db").exists());
    Ok(())
}

#[test]
fn help_explains_the_commands() -> TestResult {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_satu")).arg("--help").output()?;
    let help = String::from_utf8(out.stdout)?;
    for cmd in ["check", "run", "status", "query", "Exit codes"] {
        assert!(help.contains(cmd), "{cmd} in {help}");
    }
    Ok(())
}

#[test]
fn backfill_is_refused_for_sources_that_read_everything() -> TestResult {
    let dir = common::demo_copy()?;
    let out = common::satu(dir.path(), &["run", "disdik-peserta-didik-sd", "--from", "2024-01-01"])?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--from backfills incremental database sources"), "{err}");
    let out = common::satu(dir.path(), &["run", "disdik-peserta-didik-sd", "--from", "1 Januari"])?;
    assert_eq!(out.status.code(), Some(2), "a date that is not YYYY-MM-DD is a usage error");
    Ok(())
}
