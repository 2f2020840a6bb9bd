//! Reference data shipped inside Satu: the Kemendagri region code list (Kepmendagri 2025,
//! 91,599 codes, MIT, see `data/README.md`). Embedded in the binary, so resolving regions and
//! seeding `ref.wilayah` need no network and no files at run time.

use std::sync::OnceLock;

/// The embedded list, as shipped (CSV with `kode,kode_polos,nama,level,jenis,kode_induk`).
pub const KEMENDAGRI_CSV: &str = include_str!("../data/wilayah_kemendagri_2025.csv");

/// Which list this is; stored in the warehouse so a newer list can be detected and reloaded.
pub const KEMENDAGRI_VERSION: &str = "kepmendagri-2025/cahyadsn-wilayah-d68e8d5";

/// One administrative area.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Region {
    /// Dotted code, e.g. `35.76.02.1003`.
    #[serde(rename = "kode")]
    pub code: String,
    /// Official name, e.g. `Magersari`.
    #[serde(rename = "nama")]
    pub name: String,
    /// 1 provinsi, 2 kabupaten/kota, 3 kecamatan, 4 desa/kelurahan.
    pub level: u8,
    /// `provinsi`, `kabupaten`, `kota`, `kecamatan`, `kelurahan`, `desa`, `desa_adat`.
    #[serde(rename = "jenis")]
    pub kind: String,
    /// Dotted code of the parent; `None` for provinces.
    #[serde(rename = "kode_induk", deserialize_with = "empty_as_none")]
    pub parent: Option<String>,
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s: String = serde::Deserialize::deserialize(d)?;
    Ok((!s.is_empty()).then_some(s))
}

/// The whole Kemendagri list, parsed once.
pub fn kemendagri() -> &'static [Region] {
    static LIST: OnceLock<Vec<Region>> = OnceLock::new();
    LIST.get_or_init(|| {
        csv::Reader::from_reader(KEMENDAGRI_CSV.as_bytes())
            .deserialize()
            .collect::<Result<Vec<Region>, _>>()
            // Invariant: the embedded file is checked by the tests below; it cannot change at
            // run time.
            .expect("the embedded Kemendagri list is valid CSV")
    })
}

/// BPS codes for Kota Mojokerto (BPS MFD 2018, ODbL 1.0, see `data/README.md`), as shipped
/// (`kode_bps,nama_bps,level,kode_induk_bps`).
pub const BPS_CSV: &str = include_str!("../data/bps/bps_mfd2018_kota_mojokerto.csv");

/// One BPS area.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct BpsRegion {
    /// Plain BPS code: 2, 4, 7 or 10 digits.
    #[serde(rename = "kode_bps")]
    pub code: String,
    /// BPS name, upper case.
    #[serde(rename = "nama_bps")]
    pub name: String,
    /// 1 provinsi, 2 kabupaten/kota, 3 kecamatan, 4 desa/kelurahan.
    pub level: u8,
    /// Plain BPS code of the parent.
    #[serde(rename = "kode_induk_bps", deserialize_with = "empty_as_none")]
    pub parent: Option<String>,
}

/// The shipped BPS codes, parsed once.
pub fn bps() -> &'static [BpsRegion] {
    static LIST: OnceLock<Vec<BpsRegion>> = OnceLock::new();
    LIST.get_or_init(|| {
        csv::Reader::from_reader(BPS_CSV.as_bytes())
            .deserialize()
            .collect::<Result<Vec<BpsRegion>, _>>()
            // Invariant: the embedded file is checked by the tests below.
            .expect("the embedded BPS list is valid CSV")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_list_is_embedded() {
        let list = kemendagri();
        assert_eq!(list.len(), 91_599);
        let magersari: Vec<_> = list.iter().filter(|r| r.name == "Magersari").collect();
        assert!(magersari.iter().any(|r| r.code == "35.76.02" && r.level == 3));
        assert!(magersari.iter().any(|r| r.code == "35.76.02.1003" && r.level == 4));
        assert_eq!(list[0].parent, None);
        assert!(list.iter().skip(1).all(|r| r.level == 1 || r.parent.is_some()));
    }

    #[test]
    fn the_bps_subset_is_embedded() {
        let list = bps();
        assert_eq!(list.len(), 22);
        assert!(list.iter().any(|r| r.code == "3576021" && r.name == "KRANGGAN" && r.level == 3));
    }
}
