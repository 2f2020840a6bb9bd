//! Formats shared by Satu's sources: JSON payloads (REST APIs, CKAN portals) and spreadsheets,
//! read into records of raw strings, numbers exact where the format allows.

pub mod avro;
pub mod json;
pub mod sheet;

/// Whether `name` matches `pattern`: `*` stands for any run of characters (`REKAP*` matches
/// `Rekap SD`, `*.xlsx` matches `rekap.XLSX`); without `*`, names match whole; case does not
/// matter. Used for sheet names and drop-folder file names.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_lowercase(), name.to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !n.starts_with(first) || !n[first.len()..].ends_with(last) || n.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &n[first.len()..n.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        let Some(at) = rest.find(part) else { return false };
        rest = &rest[at + part.len()..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns() {
        assert!(matches("REKAP*", "Rekap SD"));
        assert!(matches("*sd", "REKAP SD"));
        assert!(matches("rekap sd", "REKAP SD"));
        assert!(!matches("REKAP*SMP", "REKAP SD"));
        assert!(matches("*.xlsx", "rekap.XLSX"));
        assert!(matches("rekap*2024*.csv", "rekap_sd_2024_final.csv"));
        assert!(!matches("*.csv", "rekap.xlsx"));
        assert!(matches("*", "x"));
        assert!(!matches("a*a", "a"));
    }
}
