//! The report as one self-contained HTML page: a summary, then one card per OPD with a line per
//! pipeline. Inline CSS only; it reads on a phone as well as on a desk.

use crate::{Delivery, Freshness, Report};
use std::fmt::Write as _;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root{--ok:#1b7f3b;--late:#b26a00;--never:#b3261e;--ink:#1d1d1f;--muted:#5f6368;--line:#e3e3e3}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:#f6f7f9}
header{background:#0b3d91;color:#fff;padding:16px 20px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:12px}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin:8px 0 16px}
.tile{background:#fff;border-radius:10px;padding:12px 14px;border-left:6px solid var(--line)}
.tile b{display:block;font-size:28px}
.tile.ok{border-color:var(--ok)}.tile.late{border-color:var(--late)}.tile.never{border-color:var(--never)}
section{background:#fff;border-radius:10px;margin:0 0 14px;padding:12px 14px}
section h2{font-size:16px;margin:0 0 2px}
section .code{color:var(--muted);font-size:12px;margin-bottom:8px}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:8px 6px;border-top:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
.badge{display:inline-block;border-radius:999px;padding:2px 10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.badge.on_time{background:var(--ok)}.badge.late{background:var(--late)}.badge.never{background:var(--never)}
.failed{color:var(--never);font-weight:600}
.small{font-size:12px;color:var(--muted)}
.err{font-size:12px;color:var(--never);word-break:break-word}
@media (max-width:640px){
 thead{display:none}
 tr{display:block;border-top:1px solid var(--line);padding:8px 0}
 td{display:block;border:0;padding:2px 0}
 td[data-label]::before{content:attr(data-label) ': ';color:var(--muted);font-size:12px}
}
";

/// Renders the page.
pub(crate) fn render(report: &Report) -> String {
    let (on_time, late, never) = report.tally();
    let failing = report.deliveries.iter().filter(|d| d.last_status == "failed").count();
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Laporan Walidata — Satu Data</title><style>{STYLE}</style></head><body>\
         <header><h1>Laporan Walidata: pengiriman data OPD</h1>\
         <p>Dibuat {} · {} pipeline dari {} OPD</p></header><main>\
         <div class=\"summary\">\
         <div class=\"tile ok\"><b>{on_time}</b>Tepat waktu</div>\
         <div class=\"tile late\"><b>{late}</b>Terlambat</div>\
         <div class=\"tile never\"><b>{never}</b>Belum pernah dikirim</div>\
         <div class=\"tile never\"><b>{failing}</b>Gagal pada run terakhir</div></div>",
        esc(&report.generated_at.format("%d-%m-%Y %H:%M %:z").to_string()),
        report.deliveries.len(),
        opd_groups(report).len(),
    );
    for group in opd_groups(report) {
        let first = group[0];
        let _ = write!(
            out,
            "<section><h2>{}</h2><div class=\"code\">{}</div><table><colgroup><col style=\"width:38%\"><col style=\"width:14%\">\
             <col style=\"width:16%\"><col style=\"width:14%\"><col style=\"width:18%\"></colgroup><thead><tr>\
             <th>Dataset</th><th>Status</th><th>Terakhir berhasil</th><th>Run terakhir</th>\
             <th>Baris ditolak</th></tr></thead><tbody>",
            esc(&first.opd_name),
            esc(&first.opd)
        );
        for d in group {
            write_row(&mut out, d, report.generated_at.offset());
        }
        out.push_str("</tbody></table></section>");
    }
    out.push_str(
        "<p class=\"small\">Tepat waktu: dikirim dalam periode frekuensi dataset (harian, bulanan, \
         triwulanan, semesteran, tahunan) ditambah satu hari. Dibuat oleh <code>satu report</code>.</p>\
         </main></body></html>\n",
    );
    out
}

/// The deliveries grouped by OPD, in order.
fn opd_groups(report: &Report) -> Vec<Vec<&Delivery>> {
    let mut groups: Vec<Vec<&Delivery>> = Vec::new();
    for d in &report.deliveries {
        match groups.last_mut() {
            Some(g) if g[0].opd == d.opd => g.push(d),
            _ => groups.push(vec![d]),
        }
    }
    groups
}

fn write_row(out: &mut String, d: &Delivery, zone: &chrono::FixedOffset) {
    let local = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(zone).format("%d-%m-%Y %H:%M").to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    let last_success = match (&d.last_success, d.age_days) {
        (Some(t), Some(age)) => {
            let ago =
                if age < 1.0 { format!("{:.0} jam lalu", age * 24.0) } else { format!("{age} hari lalu") };
            format!("{}<div class=\"small\">{ago}</div>", esc(&local(t)))
        }
        _ => "—".into(),
    };
    let status = if d.last_status == "failed" {
        let error = d.last_error.as_deref().unwrap_or_default();
        format!(
            "<span class=\"failed\">gagal</span><div class=\"err\">{}</div>",
            esc(&error.chars().take(300).collect::<String>())
        )
    } else if d.last_status == "success" {
        format!("berhasil<div class=\"small\">{} baris dibaca</div>", d.rows_read)
    } else {
        esc(&d.last_status)
    };
    let rejects = if d.reject_reasons.is_empty() {
        d.rows_rejected.to_string()
    } else {
        let reasons: Vec<String> =
            d.reject_reasons.iter().map(|(rule, n)| format!("{} ({n})", esc(rule))).collect();
        format!("{}<div class=\"small\">{}</div>", d.rows_rejected, reasons.join(", "))
    };
    let freshness = match d.freshness {
        Freshness::OnTime => "on_time",
        Freshness::Late => "late",
        Freshness::Never => "never",
    };
    let _ = write!(
        out,
        "<tr><td><b>{}</b><div class=\"small\">{} · {} · {}</div></td>\
         <td data-label=\"Status\"><span class=\"badge {freshness}\">{}</span></td>\
         <td data-label=\"Terakhir berhasil\">{last_success}</td>\
         <td data-label=\"Run terakhir\">{status}</td>\
         <td data-label=\"Baris ditolak\">{rejects}</td></tr>",
        esc(if d.title.is_empty() { &d.dataset } else { &d.title }),
        esc(&d.dataset),
        esc(&d.pipeline),
        esc(&d.frequency),
        d.freshness.label(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<b>\"Kec.\" & 'Kel.'</b>"),
            "&lt;b&gt;&quot;Kec.&quot; &amp; &#39;Kel.&#39;&lt;/b&gt;"
        );
    }
}
