use crate::problems::{join, Problems};
use crate::validate::validate;
use crate::Deployment;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// A deployment as far as it could be read, and everything wrong with it. Sections and
/// pipelines that could not be read are left out of `deployment`, so later checks (connectors,
/// transforms) still run on the rest and every problem is reported in one go.
#[derive(Debug)]
pub struct Loaded {
    /// The valid part of the deployment.
    pub deployment: Deployment,
    /// Every problem found; a deployment with problems must not run.
    pub problems: Problems,
}

/// Reads and validates the deployment file at `path`, without network or database I/O.
///
/// Environment variables are read from the process: `${VAR}` references anywhere in a string
/// value, and `SATU_<SECTION>__<KEY>` overrides (e.g. `SATU_WAREHOUSE__URL`).
pub fn load(path: &Path) -> Loaded {
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let env: HashMap<String, String> = std::env::vars().collect();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, &base_dir, &env),
        Err(e) => {
            let mut problems = Problems::default();
            problems.push("", format!("cannot read the config file: {e}"));
            Loaded { deployment: crate::validate::empty(base_dir), problems }
        }
    }
}

/// [`load`] on a TOML text with an explicit environment: the pure core, used by tests.
pub fn load_str(text: &str, base_dir: &Path, env: &HashMap<String, String>) -> Loaded {
    let mut problems = Problems::default();
    let overrides: HashMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("SATU_") && k.contains("__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let built = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix("SATU")
                .prefix_separator("_")
                .separator("__")
                .source(Some(overrides)),
        )
        .build()
        .and_then(|c| c.try_deserialize::<Value>());
    let mut value = match built {
        Ok(v) => v,
        Err(e) => {
            problems.push("", format!("not valid TOML: {e}"));
            return Loaded { deployment: crate::validate::empty(base_dir.into()), problems };
        }
    };
    interpolate(&mut value, "", &|name| env.get(name).cloned(), &mut problems);
    let deployment = validate(&value, base_dir, &mut problems);
    Loaded { deployment, problems }
}

/// Replaces `${VAR}` in every string of `value` with the variable's value (`$${` writes a
/// literal `${`). A variable that is not set is a problem naming the variable and the key.
pub fn interpolate(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) {
    match value {
        Value::String(s) if s.contains("${") => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(i) = rest.find("${") {
                if rest[..i].ends_with('$') {
                    out.push_str(&rest[..i - 1]);
                    out.push_str("${");
                    rest = &rest[i + 2..];
                    continue;
                }
                out.push_str(&rest[..i]);
                let Some(end) = rest[i..].find('}') else {
                    problems.push(path, "unclosed `${` in value");
                    return;
                };
                let name = &rest[i + 2..i + end];
                let valid = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    problems.push(path, format!("`${{{name}}}` is not a valid variable name"));
                } else if let Some(v) = env(name) {
                    out.push_str(&v);
                } else {
                    problems.push(path, format!("environment variable `{name}` is not set"));
                }
                rest = &rest[i + end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, &format!("{path}[{i}]"), env, problems);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                interpolate(v, &join(path, k), env, problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn interpolates_and_reports_missing_variables_with_their_key() {
        let mut v = serde_json::json!({ "a": { "url": "mysql://u:${PW}@h/${DB}", "lit": "$${X}" } });
        let e = env(&[("PW", "s3cret")]);
        let mut p = Problems::default();
        interpolate(&mut v, "", &|n| e.get(n).cloned(), &mut p);
        assert_eq!(v["a"]["url"], "mysql://u:s3cret@h/");
        assert_eq!(v["a"]["lit"], "${X}");
        assert_eq!(p.len(), 1);
        assert_eq!(p.0[0].path, "a.url");
        assert!(p.0[0].message.contains("`DB`"));
    }

    #[test]
    fn environment_overrides_a_section_key() {
        let text = "[warehouse]\nurl = \"sqlite://a.db\"\n";
        let l = load_str(text, Path::new("."), &env(&[("SATU_WAREHOUSE__URL", "sqlite://b.db")]));
        assert!(l.problems.is_empty(), "{}", l.problems);
        assert_eq!(l.deployment.warehouse.url.expose(), "sqlite://b.db");
    }

    #[test]
    fn toml_syntax_errors_are_reported() {
        let l = load_str("[warehouse\nurl=1", Path::new("."), &HashMap::new());
        assert_eq!(l.problems.len(), 1);
        assert!(l.problems.0[0].message.contains("not valid TOML"));
    }
}
