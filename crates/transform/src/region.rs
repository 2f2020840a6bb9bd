//! Region resolution against the shipped Kemendagri list.
//!
//! A value is either a Kemendagri code (plain `3576021003` or dotted `35.76.02.1003`) or a name.
//! Names are normalised (upper case; prefixes such as `Kel.`, `Desa`, `Kecamatan`, `Kota`
//! stripped; spaces and punctuation dropped, so `Prajurit Kulon` = `Prajuritkulon`) and matched at
//! the declared level inside the declared area, so `Magersari` the kecamatan and `Magersari` the
//! kelurahan never meet. A parent (from a parent column or a hint in brackets, `Wates
//! (Magersari)`) narrows the match and must agree. No match, or more than one, is a reject: never
//! a guess.

use crate::{Memo, Reject};
use satu_config::{CodeSystem, Level, WilayahSpec};
use satu_reference::{bps, kemendagri, Region};
use std::collections::HashMap;
use std::sync::OnceLock;

const PREFIXES: [&str; 11] = [
    "KELURAHAN",
    "KECAMATAN",
    "KABUPATEN",
    "PROVINSI",
    "KEL.",
    "KEC.",
    "KAB.",
    "PROV.",
    "DESA",
    "DS.",
    "KOTA",
];

/// Normalises a region name for matching: `Kel. Prajurit Kulon` → `PRAJURITKULON`.
pub fn normalise_name(raw: &str) -> String {
    let mut s = raw.trim().to_uppercase();
    'strip: loop {
        for p in PREFIXES {
            if let Some(rest) = s.strip_prefix(p) {
                if p.ends_with('.') || rest.starts_with([' ', '.']) {
                    s = rest.trim_start_matches([' ', '.']).to_string();
                    continue 'strip;
                }
            }
        }
        break;
    }
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Turns a plain or dotted Kemendagri code into its dotted form, if it is well formed.
pub fn dotted_code(raw: &str) -> Option<String> {
    const PARTS: [usize; 4] = [2, 2, 2, 4];
    if raw.contains('.') {
        let parts: Vec<&str> = raw.split('.').collect();
        let ok = parts.len() <= 4
            && parts.iter().zip(PARTS).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_digit()));
        return ok.then(|| raw.to_string());
    }
    if !raw.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = raw;
    for n in PARTS {
        if rest.is_empty() {
            break;
        }
        if rest.len() < n {
            return None;
        }
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    (rest.is_empty() && !out.is_empty()).then(|| out.join("."))
}

fn by_code() -> &'static HashMap<&'static str, &'static Region> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Region>> = OnceLock::new();
    INDEX.get_or_init(|| kemendagri().iter().map(|r| (r.code.as_str(), r)).collect())
}

/// The region with dotted code `code`.
pub fn lookup(code: &str) -> Option<&'static Region> {
    by_code().get(code).copied()
}

/// The Kemendagri region of each shipped BPS code, matched by parent and normalised name (levels
/// 1 and 2 share their codes); a BPS area with no single match is left out.
fn crosswalk() -> &'static HashMap<&'static str, &'static Region> {
    static MAP: OnceLock<HashMap<&'static str, &'static Region>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut list: Vec<_> = bps().iter().collect();
        list.sort_by_key(|b| b.level);
        let mut map: HashMap<&'static str, &'static Region> = HashMap::new();
        for b in list {
            let found = match b.level {
                1 | 2 => dotted_code(&b.code).and_then(|c| lookup(&c)),
                _ => b.parent.as_deref().and_then(|p| map.get(p).copied()).and_then(|parent| {
                    let prefix = format!("{}.", parent.code);
                    let name = normalise_name(&b.name);
                    let hits: Vec<&'static Region> = kemendagri()
                        .iter()
                        .filter(|r| {
                            r.level == b.level
                                && r.code.starts_with(&prefix)
                                && normalise_name(&r.name) == name
                        })
                        .collect();
                    (hits.len() == 1).then(|| hits[0])
                }),
            };
            if let Some(r) = found {
                map.insert(b.code.as_str(), r);
            }
        }
        map
    })
}

/// The Kemendagri region of BPS code `code`, when the shipped crosswalk knows it.
pub fn from_bps(code: &str) -> Option<&'static Region> {
    crosswalk().get(code).copied()
}

/// A region found for a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Dotted Kemendagri code.
    pub code: &'static str,
    /// Official name.
    pub name: &'static str,
    /// 1 provinsi, 2 kabupaten/kota, 3 kecamatan, 4 desa/kelurahan.
    pub level: u8,
}

impl Resolved {
    fn of(r: &'static Region) -> Self {
        Self { code: &r.code, name: &r.name, level: r.level }
    }
}

/// Resolves the values of one column, as a pipeline's `wilayah` declares; remembers answers.
pub struct RegionResolver {
    /// The declared level first, then the `totals` levels.
    areas: Vec<Area>,
    codes: CodeSystem,
    /// Answers by raw value, and by raw value + parent.
    cache: Memo<Result<Resolved, Reject>>,
    with_parent: Memo<Result<Resolved, Reject>>,
}

/// The regions a column may name: those at one level inside one area (or the area itself, for
/// a total row at the area's own level).
struct Area {
    level: Level,
    within: &'static Region,
    names: HashMap<String, Vec<&'static Region>>,
}

impl RegionResolver {
    /// Prepares the names of every region at `spec.level` (and the `totals` levels) inside
    /// `spec.within`. Fails (a config error) when `within` is not a known code or the levels do
    /// not fit it.
    pub fn new(spec: &WilayahSpec) -> Result<Self, String> {
        let within = dotted_code(spec.within.trim())
            .and_then(|c| lookup(&c))
            .ok_or_else(|| format!("`{}` is not a Kemendagri region code", spec.within))?;
        if within.level >= spec.level.number() {
            return Err(format!(
                "`{}` ({}) is not above the level `{:?}`",
                within.code, within.name, spec.level
            )
            .to_lowercase());
        }
        let mut areas = vec![Area::new(spec.level, within)];
        for total in &spec.totals {
            if total.number() >= spec.level.number() || total.number() < within.level {
                return Err(format!(
                    "totals level `{total:?}` must be coarser than `{:?}` and not coarser than `{}` ({})",
                    spec.level, within.code, within.name
                )
                .to_lowercase());
            }
            areas.push(Area::new(*total, within));
        }
        Ok(Self { areas, codes: spec.codes, cache: Memo::new(), with_parent: Memo::new() })
    }

    /// Resolves `raw`, with an optional parent name or code and an optional name that must
    /// agree with a code.
    pub fn resolve(
        &mut self,
        raw: &str,
        parent: Option<&str>,
        name: Option<&str>,
    ) -> Result<Resolved, Reject> {
        let (areas, codes) = (&self.areas, self.codes);
        let answer = match parent {
            None => self.cache.get_or(raw, || resolve_in(areas, codes, raw, None)),
            Some(p) => {
                self.with_parent.get_or(&format!("{raw}\u{1f}{p}"), || resolve_in(areas, codes, raw, Some(p)))
            }
        }?;
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) if normalise_name(n) != normalise_name(answer.name) => Err(Reject::new(
                "kode_nama_tidak_cocok",
                format!(
                    "code `{}` is {} ({}), but the row names `{n}`",
                    raw.trim(),
                    answer.code,
                    answer.name
                ),
            )),
            _ => Ok(answer),
        }
    }
}

/// Resolves in the declared level first, then in the totals levels.
fn resolve_in(
    areas: &[Area],
    codes: CodeSystem,
    raw: &str,
    parent: Option<&str>,
) -> Result<Resolved, Reject> {
    let value = raw.trim();
    // `[3576010] Prajurit Kulon` or `Prajurit Kulon [3576010]`: a code in square brackets, with
    // the name beside it that must agree.
    if let (Some(open), Some(close)) = (value.find('['), value.find(']')) {
        if open < close {
            let code = value[open + 1..close].trim();
            let name = format!("{} {}", &value[..open], &value[close + 1..]);
            let region = resolve_in(areas, codes, code, parent)?;
            let name = name.trim();
            if !name.is_empty() && normalise_name(name) != normalise_name(region.name) {
                return Err(Reject::new(
                    "kode_nama_tidak_cocok",
                    format!(
                        "code `{code}` is {} ({}), but the value names `{name}`",
                        region.code, region.name
                    ),
                ));
            }
            return Ok(region);
        }
    }
    if is_scientific(value) {
        return Err(Reject::new(
            "kode_notasi_ilmiah",
            format!(
                "`{value}` is a region code a spreadsheet turned into scientific notation (its digits are lost): \
                 format the column as text where the data is exported"
            ),
        ));
    }
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let region = code_region(codes, value)?;
        let Some(area) = areas.iter().find(|a| a.level.number() == region.level) else {
            return Err(Reject::new(
                "level_wilayah_salah",
                format!("`{value}` ({}) is not a {}", region.name, areas[0].level_name()),
            ));
        };
        return area.contains(region, value);
    }
    let first = areas[0].resolve(raw, parent);
    match &first {
        Err(r) if r.rule == "wilayah_tidak_dikenal" => {
            areas[1..].iter().find_map(|a| a.resolve(raw, parent).ok()).map_or(first, Ok)
        }
        _ => first,
    }
}

/// `3.576021003E+09`: a number in scientific notation.
fn is_scientific(value: &str) -> bool {
    let Some((mantissa, exponent)) = value.split_once(['E', 'e']) else { return false };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        && mantissa.starts_with(|c: char| c.is_ascii_digit())
        && !exponent.is_empty()
        && exponent.chars().all(|c| c.is_ascii_digit())
}

/// The Kemendagri region a code names, read in `codes`.
fn code_region(codes: CodeSystem, value: &str) -> Result<&'static Region, Reject> {
    let digits = value.chars().all(|c| c.is_ascii_digit());
    match codes {
        CodeSystem::Kemendagri => kemendagri_code(value),
        CodeSystem::Bps => bps_code(value),
        CodeSystem::Campuran if digits && value.len() == 7 => bps_code(value),
        CodeSystem::Campuran if digits && value.len() == 10 => Err(Reject::new(
            "kode_ambigu",
            format!("`{value}`: 10-digit codes collide between BPS and Kemendagri; declare `codes = \"bps\"` or `\"kemendagri\"`"),
        )),
        CodeSystem::Campuran => kemendagri_code(value),
    }
}

fn kemendagri_code(value: &str) -> Result<&'static Region, Reject> {
    let Some(code) = dotted_code(value) else {
        return Err(Reject::new(
            "kode_wilayah_tidak_valid",
            format!("`{value}` is not a Kemendagri code (PP.KK.CC.DDDD or 2/4/6/10 digits)"),
        ));
    };
    lookup(&code).ok_or_else(|| {
        Reject::new("kode_wilayah_tidak_dikenal", format!("`{value}` is not a Kemendagri code"))
    })
}

fn bps_code(value: &str) -> Result<&'static Region, Reject> {
    if !value.chars().all(|c| c.is_ascii_digit()) || ![2, 4, 7, 10].contains(&value.len()) {
        return Err(Reject::new(
            "kode_wilayah_tidak_valid",
            format!("`{value}` is not a BPS code (2, 4, 7 or 10 digits)"),
        ));
    }
    from_bps(value).ok_or_else(|| {
        Reject::new(
            "kode_wilayah_tidak_dikenal",
            format!("`{value}` is not a BPS code Satu can map to Kemendagri"),
        )
    })
}

impl Area {
    fn new(level: Level, within: &'static Region) -> Self {
        let mut names: HashMap<String, Vec<&'static Region>> = HashMap::new();
        if level.number() == within.level {
            names.insert(normalise_name(&within.name), vec![within]);
        } else {
            let prefix = format!("{}.", within.code);
            for r in kemendagri() {
                if r.level == level.number() && r.code.starts_with(&prefix) {
                    names.entry(normalise_name(&r.name)).or_default().push(r);
                }
            }
        }
        Self { level, within, names }
    }

    /// Whether `region` (found by `value`) lies where this area allows.
    fn contains(&self, region: &'static Region, value: &str) -> Result<Resolved, Reject> {
        let inside = if self.level.number() == self.within.level {
            region.code == self.within.code
        } else {
            region.code.starts_with(&format!("{}.", self.within.code))
        };
        if inside {
            Ok(Resolved::of(region))
        } else {
            Err(Reject::new(
                "wilayah_di_luar_cakupan",
                format!("`{value}` ({}) is outside {}", region.name, self.describe()),
            ))
        }
    }

    fn describe(&self) -> String {
        format!("{} {}", self.within.code, self.within.name)
    }

    fn level_name(&self) -> &'static str {
        match self.level {
            Level::Provinsi => "provinsi",
            Level::Kabkota => "kabupaten/kota",
            Level::Kecamatan => "kecamatan",
            Level::Kelurahan => "kelurahan/desa",
        }
    }

    fn resolve(&self, raw: &str, parent: Option<&str>) -> Result<Resolved, Reject> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(Reject::new("wilayah_kosong", "no region given"));
        }
        // `Wates (Magersari)`: a parent hint in brackets.
        let (value, hint) = match value.split_once('(') {
            Some((name, rest)) if rest.trim_end().ends_with(')') => {
                (name.trim(), Some(rest.trim_end().trim_end_matches(')').trim()))
            }
            _ => (value, None),
        };
        let parent = parent.map(str::trim).filter(|p| !p.is_empty()).or(hint);
        let wanted = normalise_name(value);
        let Some(candidates) =
            self.names.get(&wanted).map(|c| self.same_kind(value, c)).filter(|c| !c.is_empty())
        else {
            return Err(Reject::new(
                "wilayah_tidak_dikenal",
                format!("`{value}` is not a {} in {}", self.level_name(), self.describe()),
            ));
        };
        let matching: Vec<&Region> = match parent {
            None => candidates,
            Some(p) => {
                let by_code = dotted_code(p);
                let by_name = normalise_name(p);
                let found: Vec<&Region> = candidates
                    .iter()
                    .copied()
                    .filter(|r| {
                        let Some(parent) = r.parent.as_deref().and_then(lookup) else { return false };
                        by_code.as_deref() == Some(parent.code.as_str())
                            || normalise_name(&parent.name) == by_name
                    })
                    .collect();
                if found.is_empty() {
                    let names: Vec<String> = candidates
                        .iter()
                        .filter_map(|r| r.parent.as_deref().and_then(lookup))
                        .map(|p| p.name.clone())
                        .collect();
                    return Err(Reject::new(
                        "wilayah_induk_tidak_cocok",
                        format!("`{value}` does not lie in `{p}` (it lies in {})", names.join(", ")),
                    ));
                }
                found
            }
        };
        match matching.as_slice() {
            [r] => Ok(Resolved::of(r)),
            many => {
                let list: Vec<String> = many.iter().map(|r| format!("{} {}", r.code, r.name)).collect();
                Err(Reject::new(
                    "wilayah_ambigu",
                    format!(
                        "`{value}` matches {} regions ({}); give the parent",
                        many.len(),
                        list.join(", ")
                    ),
                ))
            }
        }
    }

    /// At kabupaten/kota level `Kota Mojokerto` and `Kabupaten Mojokerto` are different places
    /// with the same bare name: a written `Kota`/`Kab.` prefix keeps only regions of that kind.
    fn same_kind(&self, value: &str, candidates: &[&'static Region]) -> Vec<&'static Region> {
        let upper = value.trim().to_uppercase();
        let kind = if self.level != Level::Kabkota {
            None
        } else if upper.starts_with("KOTA ") || upper.starts_with("KOTA.") {
            Some("kota")
        } else if upper.starts_with("KAB") {
            Some("kabupaten")
        } else {
            None
        };
        candidates.iter().copied().filter(|r| kind.is_none_or(|k| r.kind == k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(level: Level) -> RegionResolver {
        let spec = WilayahSpec {
            column: "x".into(),
            level,
            within: "35.76".into(),
            parent_column: None,
            name_column: None,
            codes: Default::default(),
            totals: vec![],
        };
        RegionResolver::new(&spec).expect("35.76 is a valid area")
    }

    #[test]
    fn bps_codes_go_through_the_crosswalk_and_mixed_codes_only_where_unambiguous() {
        let spec = WilayahSpec {
            column: "x".into(),
            level: Level::Kecamatan,
            within: "35.76".into(),
            parent_column: None,
            name_column: None,
            codes: CodeSystem::Campuran,
            totals: vec![Level::Kabkota],
        };
        let mut r = RegionResolver::new(&spec).expect("valid");
        assert_eq!(code(&mut r, "3576010", None), Ok("35.76.01"), "BPS Prajurit Kulon");
        assert_eq!(code(&mut r, "3576021", None), Ok("35.76.03"), "BPS Kranggan is Kemendagri 03");
        assert_eq!(code(&mut r, "357602", None), Ok("35.76.02"), "Kemendagri, plain");
        assert_eq!(code(&mut r, "35.76.02", None), Ok("35.76.02"));
        assert_eq!(code(&mut r, "3576", None), Ok("35.76"), "the city's own total row");
        assert_eq!(code(&mut r, "Kota Mojokerto", None), Ok("35.76"));
        assert_eq!(code(&mut r, "3576021001", None), Err("kode_ambigu"));
        assert_eq!(code(&mut r, "3.576021003E+09", None), Err("kode_notasi_ilmiah"));
        assert_eq!(code(&mut r, "[3576010] Prajurit Kulon", None), Ok("35.76.01"));
        assert_eq!(code(&mut r, "Kranggan [3576021]", None), Ok("35.76.03"));
        assert_eq!(code(&mut r, "[3576010] Magersari", None), Err("kode_nama_tidak_cocok"));
        assert_eq!(code(&mut r, "3,57602E+05", None), Err("kode_notasi_ilmiah"));
        assert_eq!(
            code(&mut r, "Kedundung", None),
            Err("wilayah_tidak_dikenal"),
            "a kelurahan, not a kecamatan"
        );
        assert_eq!(code(&mut r, "3578", None), Err("wilayah_di_luar_cakupan"), "Kota Surabaya");
        assert_eq!(code(&mut r, "3576099", None), Err("kode_wilayah_tidak_dikenal"));
        let level = r.resolve("3576", None, None).map(|x| x.level);
        assert_eq!(level, Ok(2));
        // BPS desa codes, declared as such: 3576021001 is Kelurahan Kranggan in BPS (and
        // Gununggedangan in Kemendagri).
        let mut bps = RegionResolver::new(&WilayahSpec {
            level: Level::Kelurahan,
            codes: CodeSystem::Bps,
            totals: vec![],
            ..spec.clone()
        })
        .expect("valid");
        assert_eq!(code(&mut bps, "3576021001", None), Ok("35.76.03.1001"));
        assert_eq!(code(&mut bps, "3576020002", None), Ok("35.76.02.1001"), "GUNUNG GEDANGAN");
        let mut kemendagri = resolver(Level::Kelurahan);
        assert_eq!(code(&mut kemendagri, "3576021001", None), Ok("35.76.02.1001"));
        assert!(RegionResolver::new(&WilayahSpec { totals: vec![Level::Kelurahan], ..spec }).is_err());
    }

    fn code(r: &mut RegionResolver, raw: &str, parent: Option<&str>) -> Result<&'static str, &'static str> {
        r.resolve(raw, parent, None).map(|x| x.code).map_err(|e| e.rule)
    }

    #[test]
    fn kelurahan_names_in_their_variants() {
        let mut r = resolver(Level::Kelurahan);
        assert_eq!(code(&mut r, "Kel. Magersari", None), Ok("35.76.02.1003"));
        assert_eq!(code(&mut r, "MAGERSARI ", None), Ok("35.76.02.1003"));
        assert_eq!(code(&mut r, "Gunung Gedangan", None), Ok("35.76.02.1001"));
        assert_eq!(code(&mut r, "Prajurit Kulon", None), Ok("35.76.01.1006"));
        assert_eq!(code(&mut r, "Wates (Magersari)", None), Ok("35.76.02.1010"));
        assert_eq!(code(&mut r, "Desa Jagalan", None), Ok("35.76.03.1004"));
        assert_eq!(code(&mut r, "KELURAHAN  KRANGGAN", None), Ok("35.76.03.1001"));
    }

    #[test]
    fn magersari_the_kecamatan_is_not_magersari_the_kelurahan() {
        let mut kec = resolver(Level::Kecamatan);
        assert_eq!(code(&mut kec, "Magersari", None), Ok("35.76.02"));
        assert_eq!(code(&mut kec, "Kec. Prajurit Kulon", None), Ok("35.76.01"));
        let mut kel = resolver(Level::Kelurahan);
        assert_eq!(code(&mut kel, "Magersari", None), Ok("35.76.02.1003"));
    }

    #[test]
    fn codes_plain_and_dotted() {
        let mut r = resolver(Level::Kelurahan);
        assert_eq!(code(&mut r, "3576021003", None), Ok("35.76.02.1003"));
        assert_eq!(code(&mut r, "35.76.02.1003", None), Ok("35.76.02.1003"));
        assert_eq!(code(&mut r, "357602", None), Err("level_wilayah_salah"));
        assert_eq!(code(&mut r, "3576029999", None), Err("kode_wilayah_tidak_dikenal"));
        assert_eq!(code(&mut r, "3.576021003", None), Err("kode_wilayah_tidak_valid"));
        assert_eq!(code(&mut r, "3501012001", None), Err("wilayah_di_luar_cakupan"));
    }

    #[test]
    fn a_name_beside_a_code_must_agree() {
        let mut r = resolver(Level::Kelurahan);
        let ok = r.resolve("3576021003", None, Some("Kel. Magersari")).map(|x| x.code);
        assert_eq!(ok, Ok("35.76.02.1003"));
        // BPS 3576021001 is Kranggan; Kemendagri 3576021001 is Gununggedangan.
        let clash = r.resolve("3576021001", None, Some("KRANGGAN")).map_err(|e| e.rule);
        assert_eq!(clash, Err("kode_nama_tidak_cocok"));
    }

    #[test]
    fn unknown_and_mismatched_names_are_rejected() {
        let mut r = resolver(Level::Kelurahan);
        assert_eq!(code(&mut r, "Sooko", None), Err("wilayah_tidak_dikenal"));
        assert_eq!(code(&mut r, "", None), Err("wilayah_kosong"));
        assert_eq!(code(&mut r, "Wates", Some("Kranggan")), Err("wilayah_induk_tidak_cocok"));
        assert_eq!(code(&mut r, "Wates", Some("35.76.02")), Ok("35.76.02.1010"));
        assert_eq!(code(&mut r, "Meri", Some("Kec. Kranggan")), Ok("35.76.03.1003"));
    }

    #[test]
    fn ambiguous_names_are_rejected_not_guessed() {
        // Kelurahan names repeat across Jawa Timur: `Kauman` is in several kabupaten/kota.
        let spec = WilayahSpec {
            column: "x".into(),
            level: Level::Kelurahan,
            within: "35".into(),
            parent_column: None,
            name_column: None,
            codes: Default::default(),
            totals: vec![],
        };
        let mut r = RegionResolver::new(&spec).expect("35 is valid");
        assert_eq!(code(&mut r, "Kauman", None), Err("wilayah_ambigu"));
        let spec = WilayahSpec { level: Level::Kabkota, ..spec };
        let mut r = RegionResolver::new(&spec).expect("35 is valid");
        assert_eq!(code(&mut r, "Kota Mojokerto", None), Ok("35.76"));
        assert_eq!(code(&mut r, "Kab. Mojokerto", None), Ok("35.16"));
        assert_eq!(code(&mut r, "Mojokerto", None), Err("wilayah_ambigu"));
    }

    #[test]
    fn bad_areas_are_config_errors() {
        let mut spec = WilayahSpec {
            column: "x".into(),
            level: Level::Kecamatan,
            within: "99.99".into(),
            parent_column: None,
            name_column: None,
            codes: Default::default(),
            totals: vec![],
        };
        assert!(RegionResolver::new(&spec).is_err());
        spec.within = "35.76.01".into();
        assert!(RegionResolver::new(&spec).is_err());
    }
}
