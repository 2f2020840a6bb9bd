//! Dimension values mapped onto their code lists: `LK`, `Laki-laki`, `l` → `L`.

use crate::{fold, Reject};
use satu_config::Dimension;
use std::collections::HashMap;

/// Maps raw values of one dimension onto its codes. Codes, labels and aliases all match,
/// case-insensitively and ignoring spacing and `-`.
#[derive(Debug, Clone)]
pub struct DimensionMapper {
    code: String,
    lookup: HashMap<String, String>,
}

impl DimensionMapper {
    /// Builds the lookup for `dim`.
    pub fn new(dim: &Dimension) -> Self {
        let mut lookup = HashMap::new();
        for (code, label) in &dim.values {
            lookup.insert(fold(code), code.clone());
            lookup.insert(fold(label), code.clone());
        }
        for (alias, code) in &dim.aliases {
            lookup.insert(fold(alias), code.clone());
        }
        Self { code: dim.code.clone(), lookup }
    }

    /// The dimension's code, e.g. `jenis_kelamin`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The code for `raw`; a missing or unknown value is a reject.
    pub fn map(&self, raw: Option<&str>) -> Result<&str, Reject> {
        let raw = raw.map(str::trim).unwrap_or_default();
        if raw.is_empty() {
            return Err(Reject::new("dimensi_kosong", format!("no value for dimension `{}`", self.code)));
        }
        self.lookup.get(&fold(raw)).map(String::as_str).ok_or_else(|| {
            let mut known: Vec<&str> = self.lookup.values().map(String::as_str).collect();
            known.sort_unstable();
            known.dedup();
            Reject::new(
                "dimensi_tidak_dikenal",
                format!("`{raw}` is not a value of `{}` (codes: {})", self.code, known.join(", ")),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sex_aliases() {
        let jk = Dimension::builtin()
            .into_iter()
            .find(|d| d.code == "jenis_kelamin")
            .map(|d| DimensionMapper::new(&d));
        let jk = jk.expect("jenis_kelamin is built in");
        for (raw, code) in [
            ("L", "L"),
            ("LK", "L"),
            ("Laki-laki", "L"),
            ("laki laki", "L"),
            (" p ", "P"),
            ("PR", "P"),
            ("Perempuan", "P"),
        ] {
            assert_eq!(jk.map(Some(raw)), Ok(code), "{raw}");
        }
        assert_eq!(jk.map(None).map_err(|r| r.rule), Err("dimensi_kosong"));
        assert_eq!(jk.map(Some("")).map_err(|r| r.rule), Err("dimensi_kosong"));
        assert_eq!(jk.map(Some("W")).map_err(|r| r.rule), Err("dimensi_tidak_dikenal"));
    }
}
