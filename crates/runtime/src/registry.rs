//! The connector registry: an explicit `match` on `source.type`, each connector behind a cargo
//! feature, so that a connector the binary does not reference cannot silently vanish.

use satu_config::{deserialize_at, Deployment, Pipeline, Problems};
use satu_core::Source;
use satu_transform::Mapper;

/// The connector types this build knows.
pub const CONNECTORS: &[&str] = &[
    #[cfg(feature = "file")]
    "csv",
    #[cfg(feature = "file")]
    "xlsx",
    #[cfg(feature = "file")]
    "json",
    #[cfg(feature = "file")]
    "avro",
    #[cfg(feature = "file")]
    "folder",
    #[cfg(feature = "sql")]
    "mysql",
    #[cfg(feature = "sql")]
    "mariadb",
    #[cfg(feature = "sql")]
    "postgres",
    #[cfg(feature = "sql")]
    "sqlite",
    #[cfg(feature = "rest")]
    "rest",
    #[cfg(feature = "rest")]
    "ckan",
];

/// Everything `satu check` finds beyond the config file itself: each pipeline's connector table
/// and target mapping. Pure: no file, network or database is touched.
pub fn check(d: &Deployment) -> Problems {
    let mut problems = Problems::default();
    for p in &d.pipelines {
        if let Err(e) = build_source(d, p) {
            problems.extend(e);
        }
        if p.entity.as_ref().is_some_and(|e| e.delete_detection) {
            let sql = matches!(
                p.source.get("type").and_then(|t| t.as_str()),
                Some("mysql" | "mariadb" | "postgres" | "postgresql" | "sqlite")
            );
            if !sql || p.source.get("primary_key").is_none() {
                problems.push(
                    format!("{}.entity.delete_detection", p.at),
                    "delete detection needs a SQL source with a `primary_key` (its keys are listed after each run)",
                );
            }
        }
        if p.target.is_none() {
            if !p.skip.is_empty() {
                problems.push(
                    format!("{}.skip", p.at),
                    "`skip` rules apply to canonical targets, not to entity tables",
                );
            }
            continue;
        }
        if let Err(e) = Mapper::new(d, p) {
            problems.extend(e);
        }
    }
    problems
}

/// Builds the source of pipeline `p` from its `source` table, without I/O.
pub fn build_source(d: &Deployment, p: &Pipeline) -> Result<Box<dyn Source>, Problems> {
    let mut problems = Problems::default();
    let mut table = p.source.clone();
    let kind = table
        .as_object_mut()
        .and_then(|m| m.remove("type"))
        .and_then(|t| t.as_str().map(str::to_string))
        .unwrap_or_default();
    let path = format!("{}.source", p.at);
    let source: Option<Box<dyn Source>> = match kind.as_str() {
        #[cfg(feature = "file")]
        "csv" => deserialize_at::<satu_connector_file::CsvConfig>(&table, &path, &mut problems).map(|c| {
            for (key, message) in c.problems() {
                problems.push(format!("{path}.{key}"), message);
            }
            Box::new(satu_connector_file::CsvSource::new(c, &d.base_dir)) as Box<dyn Source>
        }),
        #[cfg(feature = "file")]
        "folder" => {
            deserialize_at::<satu_connector_file::FolderConfig>(&table, &path, &mut problems).map(|c| {
                for (key, message) in c.problems() {
                    problems.push(format!("{path}.{key}"), message);
                }
                Box::new(satu_connector_file::FolderSource::new(c, &d.base_dir)) as Box<dyn Source>
            })
        }
        #[cfg(feature = "file")]
        "avro" => deserialize_at::<satu_connector_file::AvroConfig>(&table, &path, &mut problems)
            .map(|c| Box::new(satu_connector_file::JsonSource::avro(c, &d.base_dir)) as Box<dyn Source>),
        #[cfg(feature = "file")]
        "json" => deserialize_at::<satu_connector_file::JsonConfig>(&table, &path, &mut problems)
            .map(|c| Box::new(satu_connector_file::JsonSource::new(c, &d.base_dir)) as Box<dyn Source>),
        #[cfg(feature = "file")]
        "xlsx" => deserialize_at::<satu_connector_file::SheetConfig>(&table, &path, &mut problems)
            .map(|c| Box::new(satu_connector_file::SheetSource::new(c, &d.base_dir)) as Box<dyn Source>),
        #[cfg(feature = "sql")]
        "mysql" | "mariadb" | "postgres" | "postgresql" | "sqlite" => {
            use satu_connector_sql::{Driver, SqlConfig, SqlSource};
            let driver = Driver::from_type(&kind);
            deserialize_at::<SqlConfig>(&table, &path, &mut problems).zip(driver).map(|(c, driver)| {
                for (key, message) in c.problems(driver) {
                    problems.push(format!("{path}.{key}"), message);
                }
                Box::new(SqlSource::new(c.resolve_relative(driver, &d.base_dir), driver)) as Box<dyn Source>
            })
        }
        #[cfg(feature = "rest")]
        "rest" | "ckan" => {
            use satu_connector_rest::{CkanConfig, RestConfig, RestSource};
            let config = if kind == "rest" {
                deserialize_at::<RestConfig>(&table, &path, &mut problems)
            } else {
                deserialize_at::<CkanConfig>(&table, &path, &mut problems).map(|c| {
                    for (key, message) in c.problems() {
                        problems.push(format!("{path}.{key}"), message);
                    }
                    c.to_rest()
                })
            };
            config.map(|c| {
                for (key, message) in c.problems() {
                    problems.push(format!("{path}.{key}"), message);
                }
                let responses = d.landing_root().join(&p.name).join("responses");
                Box::new(RestSource::new(c, Some(responses))) as Box<dyn Source>
            })
        }
        "" => None, // reported by satu-config
        other => {
            let hint = satu_config::Problem {
                path: format!("{path}.type"),
                message: format!("unknown connector type `{other}`"),
                hint: Some(format!("this build knows: {}", CONNECTORS.join(", "))),
            };
            problems.0.push(hint);
            None
        }
    };
    match source {
        Some(s) if problems.is_empty() => Ok(s),
        _ => Err(problems),
    }
}

/// A source for a bare database URL (`mysql://…`, `postgres://…`, `sqlite://…`), to discover a
/// database that no pipeline reads yet. The URL stays a secret.
pub fn source_from_url(url: &str) -> Result<Box<dyn Source>, String> {
    #[cfg(feature = "sql")]
    {
        use satu_connector_sql::{Driver, SqlConfig, SqlSource};
        let scheme = url.split(':').next().unwrap_or_default();
        let driver = Driver::from_type(scheme).ok_or_else(|| {
            format!("`{scheme}:` is not a database this build can read (mysql, mariadb, postgres, sqlite)")
        })?;
        let config: SqlConfig =
            serde_json::from_value(serde_json::json!({ "url": url })).map_err(|e| e.to_string())?;
        Ok(Box::new(SqlSource::new(config, driver)))
    }
    #[cfg(not(feature = "sql"))]
    {
        let _ = url;
        Err("this build has no SQL connectors".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(toml: &str) -> Vec<String> {
        let loaded = satu_config::load_str(toml, std::path::Path::new("."), &Default::default());
        let mut all = loaded.problems;
        all.extend(check(&loaded.deployment));
        all.iter().map(ToString::to_string).collect()
    }

    const BASE: &str = r#"
[[organisation]]
code = "X"
name = "X"
[[pipeline]]
name = "p"
opd = "X"
SOURCE
[pipeline.entity]
table = "t"
primary_key = ["id"]
delete_detection = true
columns = { id = "bigint" }
"#;

    #[test]
    fn connector_tables_are_checked_with_their_paths() {
        let p = problems_of(
            &BASE.replace("SOURCE", r#"source = { type = "csv", path = "a.csv", delimter = ";" }"#),
        );
        assert!(
            p.iter()
                .any(|m| m.contains("pipeline[0].source.delimter: unknown key") && m.contains("delimiter")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("pipeline[0].entity.delete_detection")), "{p:?}");
        let p = problems_of(&BASE.replace("SOURCE", r#"source = { type = "oracle", url = "x" }"#));
        assert!(p.iter().any(|m| m.contains("unknown connector type `oracle`")), "{p:?}");
        let ok = BASE.replace(
            "SOURCE",
            r#"source = { type = "mysql", url = "mysql://h/db", table = "t", primary_key = "id" }"#,
        );
        assert_eq!(problems_of(&ok), Vec::<String>::new());
    }
}
