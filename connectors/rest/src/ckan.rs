//! CKAN packages as catalog rows: the metadata a walidata needs beside the data.

use satu_formats::json::Record;
use serde_json::Value;

/// The columns of a catalog row, in order.
pub const COLUMNS: [&str; 13] = [
    "id",
    "name",
    "title",
    "organization",
    "organization_title",
    "notes",
    "frequency",
    "unit",
    "tags",
    "resources",
    "datastore_resources",
    "metadata_modified",
    "url",
];

/// One row per package of a `package_search` response (`result.results`).
pub fn packages(body: &Value) -> Vec<Record> {
    let results = body.pointer("/result/results").and_then(Value::as_array).cloned().unwrap_or_default();
    results.iter().map(row).collect()
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A value from the package's own field or its `extras` (`[{key, value}]`), under any of `keys`.
fn field_or_extra(p: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(p.get(*k)).filter(|s| !s.is_empty())).or_else(|| {
        let extras = p.get("extras")?.as_array()?;
        extras.iter().find_map(|e| {
            let key = e.get("key")?.as_str()?.to_lowercase();
            keys.contains(&key.as_str()).then(|| text(e.get("value"))).flatten()
        })
    })
}

fn row(p: &Value) -> Record {
    let names = |list: &str, key: &str| -> Vec<String> {
        p.get(list)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|t| text(t.get(key))).collect())
            .unwrap_or_default()
    };
    let resources = p.get("resources").and_then(Value::as_array).cloned().unwrap_or_default();
    let datastore: Vec<String> = resources
        .iter()
        .filter(|r| r.get("datastore_active").and_then(Value::as_bool) == Some(true))
        .filter_map(|r| text(r.get("id")))
        .collect();
    let values = [
        text(p.get("id")),
        text(p.get("name")),
        text(p.get("title")),
        text(p.pointer("/organization/name")),
        text(p.pointer("/organization/title")),
        text(p.get("notes")),
        field_or_extra(p, &["frequency", "frekuensi", "accrual_periodicity"]),
        field_or_extra(p, &["unit", "satuan"]),
        Some(names("tags", "name").join(", ")),
        Some(resources.len().to_string()),
        Some(serde_json::to_string(&datastore).unwrap_or_default()),
        text(p.get("metadata_modified")),
        text(p.get("url")),
    ];
    COLUMNS.iter().map(|c| c.to_string()).zip(values).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_from_fields_and_extras() {
        let body = json!({ "result": { "count": 1, "results": [{
            "id": "a1", "name": "penduduk-2024", "title": "Jumlah Penduduk 2024",
            "organization": { "name": "dispendukcapil", "title": "Dispendukcapil" },
            "extras": [{ "key": "Frekuensi", "value": "tahunan" }, { "key": "satuan", "value": "jiwa" }],
            "tags": [{ "name": "kependudukan" }, { "name": "penduduk" }],
            "resources": [{ "id": "r1", "datastore_active": true }, { "id": "r2", "datastore_active": false }],
            "metadata_modified": "2024-06-01T10:00:00.123456"
        }]}});
        let rows = packages(&body);
        let get = |k: &str| rows[0].iter().find(|(n, _)| n == k).and_then(|(_, v)| v.clone());
        assert_eq!(get("organization").as_deref(), Some("dispendukcapil"));
        assert_eq!(get("frequency").as_deref(), Some("tahunan"));
        assert_eq!(get("unit").as_deref(), Some("jiwa"));
        assert_eq!(get("tags").as_deref(), Some("kependudukan, penduduk"));
        assert_eq!(get("resources").as_deref(), Some("2"));
        assert_eq!(get("datastore_resources").as_deref(), Some(r#"["r1"]"#));
    }
}
