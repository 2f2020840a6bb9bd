//! Helpers shared by the end-to-end tests: a copy of the demo deployment in a temporary
//! directory, and the `satu` binary run on it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh copy of `pipelines.toml` and `demo/` in a temporary directory.
pub fn demo_copy() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(repo().join("pipelines.toml"), dir.path().join("pipelines.toml"))?;
    std::fs::create_dir_all(dir.path().join("demo/data"))?;
    for entry in std::fs::read_dir(repo().join("demo/data"))? {
        let entry = entry?;
        std::fs::copy(entry.path(), dir.path().join("demo/data").join(entry.file_name()))?;
    }
    Ok(dir)
}

/// Runs `satu` in `dir` with `args`; logs as JSON so tests can read them.
pub fn satu(dir: &Path, args: &[&str]) -> std::io::Result<Output> {
    std::process::Command::new(env!("CARGO_BIN_EXE_satu"))
        .current_dir(dir)
        .args(args)
        .env_remove("SATU_CONFIG")
        .env("SATU_LOG_FORMAT", "json")
        .output()
}

/// Runs a query and returns its rows as JSON objects.
pub fn query(dir: &Path, sql: &str) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    let out = satu(dir, &["query", "--format", "json", sql])?;
    assert!(out.status.success(), "query failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// `satu status --format json`, keyed by pipeline.
pub fn status(dir: &Path) -> Result<serde_json::Map<String, serde_json::Value>, Box<dyn std::error::Error>> {
    let out = satu(dir, &["status", "--format", "json"])?;
    assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    Ok(rows.into_iter().map(|r| (r["pipeline"].as_str().unwrap_or_default().to_string(), r)).collect())
}

/// A deployment head for tests of population by kelurahan and sex (SQLite warehouse, one OPD,
/// dataset and indicator); tests append their pipelines.
pub const PENDUDUK_KELURAHAN: &str = r#"
[warehouse]
url = "sqlite://warehouse.db"

[[organisation]]
code = "DISPENDUKCAPIL-3576"
name = "Dispendukcapil Kota Mojokerto"

[[dataset]]
slug = "penduduk-kelurahan"
title = "Jumlah Penduduk menurut Kelurahan dan Jenis Kelamin"
opd = "DISPENDUKCAPIL-3576"
frequency = "semesteran"

[[indicator]]
code = "kependudukan.jumlah_penduduk"
name = "Jumlah penduduk"
satuan = "jiwa"
dimensi = ["jenis_kelamin"]
"#;

/// A pipeline of the `PENDUDUK_KELURAHAN` indicator named `name`, reading `source` (a TOML
/// inline table), the kelurahan in column `wilayah`, the sex in `jk`, the count in `jumlah`.
pub fn penduduk_pipeline(name: &str, source: &str, wilayah: &str) -> String {
    format!(
        r#"
[[pipeline]]
name = "{name}"
opd = "DISPENDUKCAPIL-3576"
source = {source}
[pipeline.target]
dataset = "penduduk-kelurahan"
indikator = "kependudukan.jumlah_penduduk"
wilayah = {{ column = "{wilayah}", level = "kelurahan", within = "35.76" }}
periode = {{ column = "periode" }}
nilai = {{ column = "jumlah", integer = true }}
dimensi = {{ jenis_kelamin = "jk" }}
"#
    )
}
