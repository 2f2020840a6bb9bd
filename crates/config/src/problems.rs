use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// One thing wrong with a deployment, located by its path in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, as a TOML path: `pipeline[1].source.delimter`; empty for the file as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// A likely fix, e.g. the key that was probably meant.
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Every problem found in a deployment; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Records a problem at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), message: message.into(), hint: None });
    }

    /// Records a problem at `path` with a hint.
    pub fn push_hint(&mut self, path: impl Into<String>, message: impl Into<String>, hint: String) {
        self.0.push(Problem { path: path.into(), message: message.into(), hint: Some(hint) });
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// Takes all problems of `other`.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Joins a parent path and a child key: `pipeline[0]` + `source` → `pipeline[0].source`.
pub(crate) fn join(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (_, true) => parent.to_string(),
        _ if child.starts_with('[') => format!("{parent}{child}"),
        _ => format!("{parent}.{child}"),
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely misspelling.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Deserialises `value` (found at `path`) into `T`, recording problems instead of stopping at
/// the first one: every unknown key (with the likely intended key) is reported and removed, and
/// deserialisation goes on; the first other error (wrong type, missing key, unknown variant)
/// ends this value. Returns `None` when `T` could not be built; a value built after removing
/// unknown keys is returned (its problems are recorded) so that later checks still see it.
pub fn deserialize_at<T: DeserializeOwned>(value: &Value, path: &str, problems: &mut Problems) -> Option<T> {
    let mut value = value.clone();
    // Each loop removes one unknown key; a table cannot hold more keys than this.
    for _ in 0..1000 {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(t) => return Some(t),
            Err(err) => err,
        };
        let at = err.path().to_string();
        let at = if at == "." { String::new() } else { at };
        let message = err.inner().to_string();
        let names = backticked(&message);
        let full = join(path, &at);
        if message.starts_with("unknown field") {
            let (key, expected) = names.split_first().map_or(("", &[][..]), |(k, e)| (k.as_str(), e));
            let hint = suggest(key, expected.iter().map(String::as_str))
                .unwrap_or_else(|| format!("known keys: {}", expected.join(", ")));
            let key_path = if at.rsplit('.').next() == Some(key) { full } else { join(&full, key) };
            problems.push_hint(key_path, format!("unknown key `{key}`"), hint);
            if !remove_key(&mut value, &at, key) {
                return None;
            }
            continue;
        }
        if message.starts_with("unknown variant") {
            let (got, expected) = names.split_first().map_or(("", &[][..]), |(k, e)| (k.as_str(), e));
            let hint = suggest(got, expected.iter().map(String::as_str))
                .unwrap_or_else(|| format!("expected one of: {}", expected.join(", ")));
            problems.push_hint(full, format!("unknown value `{got}`"), hint);
            return None;
        }
        problems.push(full, message);
        return None;
    }
    None
}

/// The `quoted` names of a serde message: `unknown field `x`, expected `a` or `b`` → x, a, b.
fn backticked(message: &str) -> Vec<String> {
    message.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// Removes `key` from the table at serde_path_to_error path `at` (`a.b[2].c`); false when the
/// path does not lead to a table holding `key`.
fn remove_key(value: &mut Value, at: &str, key: &str) -> bool {
    let mut cur = value;
    for seg in at.split('.').filter(|s| !s.is_empty()) {
        let (name, indexes) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        // The unknown key itself may already be the path's last segment.
        if name == key && indexes.is_empty() && cur.get(key).is_some() {
            break;
        }
        if !name.is_empty() {
            match cur.get_mut(name) {
                Some(next) => cur = next,
                None => return false,
            }
        }
        for idx in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            let Ok(i) = idx.parse::<usize>() else { return false };
            match cur.get_mut(i) {
                Some(next) => cur = next,
                None => return false,
            }
        }
    }
    cur.as_object_mut().and_then(|m| m.remove(key)).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        delimiter: Option<String>,
        header_row: Option<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[test]
    fn reports_every_unknown_key_with_a_suggestion() {
        let v = serde_json::json!({
            "name": "x", "nmae": "y",
            "inner": { "delimter": ";", "header_rwo": 2, "completely_else": 1 }
        });
        let mut p = Problems::default();
        let out: Option<Outer> = deserialize_at(&v, "pipeline[0]", &mut p);
        assert_eq!(out.map(|o| o.name), Some("x".to_string()));
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(p.len(), 4, "{p}");
        assert!(paths.contains(&"pipeline[0].nmae"), "{paths:?}");
        assert!(paths.contains(&"pipeline[0].inner.delimter"), "{paths:?}");
        let delim = p.iter().find(|p| p.path.ends_with("delimter")).and_then(|p| p.hint.clone());
        assert_eq!(delim.as_deref(), Some("did you mean `delimiter`?"));
        let other = p.iter().find(|p| p.path.ends_with("completely_else")).and_then(|p| p.hint.clone());
        assert!(other.is_some_and(|h| h.starts_with("known keys:")));
    }

    #[test]
    fn type_errors_name_their_path() {
        let v = serde_json::json!({ "name": "x", "inner": { "header_row": "two" } });
        let mut p = Problems::default();
        assert_eq!(deserialize_at::<Outer>(&v, "", &mut p), None);
        assert_eq!(p.0[0].path, "inner.header_row");
    }

    #[test]
    fn clean_values_deserialize() {
        let v = serde_json::json!({ "name": "x", "inner": { "delimiter": ";" } });
        let mut p = Problems::default();
        let out: Option<Outer> = deserialize_at(&v, "", &mut p);
        assert!(p.is_empty());
        assert_eq!(out.map(|o| o.inner.delimiter), Some(Some(";".into())));
    }
}
