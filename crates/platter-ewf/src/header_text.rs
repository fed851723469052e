//! The case metadata sections: `header` (zlib-compressed ASCII, CRLF lines)
//! and `header2` (zlib-compressed UTF-16LE with a BOM, LF lines), as EnCase 6
//! and `ewfacquire -f encase6` write them.
//!
//! Source: libyal libewf "Expert Witness Compression Format (EWF)", section
//! "Header2 section" (EnCase 5 to 7 layout: categories `main`, `srce`,
//! `sub`), and the header layout in REFERENCE.md.

use std::io::{Read, Write};

use platter_core::CaseInfo;

/// Largest decompressed header text the reader accepts.
pub const MAX_HEADER_TEXT_BYTES: u64 = 1 << 20;

/// Case text stripped of the separators the format uses (tab, CR, LF).
fn clean(v: &Option<String>) -> String {
    v.as_deref()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\r' | '\n') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Values common to both header sections.
struct Values {
    a: String,
    c: String,
    n: String,
    e: String,
    t: String,
    av: String,
    ov: String,
}

fn values(case: &CaseInfo) -> Values {
    let os = match std::env::consts::OS {
        "linux" => "Linux".to_string(),
        other => other.to_string(),
    };
    Values {
        a: clean(&case.description),
        c: clean(&case.case_number),
        n: clean(&case.evidence_number),
        e: clean(&case.examiner),
        t: clean(&case.notes),
        // EnCase keeps at most 11 characters of the version.
        av: env!("CARGO_PKG_VERSION").chars().take(11).collect(),
        ov: os,
    }
}

/// The `header` section text (before compression) for an acquisition at
/// `epoch_secs` (written as UTC, `YYYY M D h m s` like EnCase).
pub fn header_text(case: &CaseInfo, epoch_secs: u64) -> Vec<u8> {
    let v = values(case);
    let (y, mo, d, h, mi, s) = civil_from_epoch(epoch_secs);
    let date = format!("{y} {mo} {d} {h} {mi} {s}");
    let text = format!(
        "1\r\nmain\r\nc\tn\ta\te\tt\tav\tov\tm\tu\tp\r\n{}\t{}\t{}\t{}\t{}\t{}\t{}\t{date}\t{date}\t0\r\n\r\n",
        v.c, v.n, v.a, v.e, v.t, v.av, v.ov
    );
    // The header section is ASCII: replace anything else.
    text.chars()
        .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
        .collect()
}

/// The `header2` section text (before compression): UTF-16LE with a BOM.
pub fn header2_text(case: &CaseInfo, epoch_secs: u64) -> Vec<u8> {
    let v = values(case);
    let text = format!(
        "3\nmain\na\tc\tn\te\tt\tmd\tsn\tav\tov\tm\tu\tp\tdc\n\
         {}\t{}\t{}\t{}\t{}\t\t\t{}\t{}\t{epoch_secs}\t{epoch_secs}\t0\t\n\n\
         srce\n0\t1\np\tn\tid\tev\ttb\tlo\tpo\tah\tgu\taq\n0\t0\n\t\t\t\t\t-1\t-1\t\t\t\n\n\
         sub\n0\t1\np\tn\tid\tnu\tco\tgu\n0\t0\n\t\t\t\t1\t\n\n",
        v.a, v.c, v.n, v.e, v.t, v.av, v.ov
    );
    let mut out = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// zlib-compresses a header text.
pub fn compress_text(text: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(text);
    enc.finish().unwrap_or_default()
}

/// Decompresses a header section body, at most [`MAX_HEADER_TEXT_BYTES`].
pub fn decompress_text(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_HEADER_TEXT_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| format!("header text is not a valid zlib stream: {e}"))?;
    Ok(out)
}

/// Decodes header text: UTF-16 (by BOM) or 8-bit (read as Latin-1).
pub fn decode_text(raw: &[u8]) -> String {
    let utf16 = |be: bool| {
        let units: Vec<u16> = raw[2..]
            .chunks_exact(2)
            .map(|p| {
                if be {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match raw {
        [0xff, 0xfe, ..] => utf16(false),
        [0xfe, 0xff, ..] => utf16(true),
        _ => raw.iter().map(|&b| b as char).collect(),
    }
}

/// Parses the `main` category of a header or header2 text into
/// `(key, value)` pairs in the order of the key line.
pub fn parse_main(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let Some(i) = lines.iter().position(|l| *l == "main") else {
        return Vec::new();
    };
    let (Some(keys), Some(vals)) = (lines.get(i + 1), lines.get(i + 2)) else {
        return Vec::new();
    };
    let vals: Vec<&str> = vals.split('\t').collect();
    keys.split('\t')
        .enumerate()
        .filter(|(_, k)| !k.is_empty())
        .map(|(j, k)| {
            (
                k.to_string(),
                vals.get(j).copied().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// A label for a header key, for display.
pub fn key_label(key: &str) -> Option<&'static str> {
    Some(match key {
        "c" => "case number",
        "n" => "evidence number",
        "a" => "description",
        "e" => "examiner",
        "t" => "notes",
        "md" => "model",
        "sn" => "serial number",
        "l" => "device label",
        "av" => "software version",
        "ov" => "operating system",
        "m" => "acquisition date",
        "u" => "system date",
        _ => return None,
    })
}

/// A header date for display: header2 dates are epoch seconds (shown as
/// UTC), header dates are already `YYYY M D h m s`.
pub fn display_date(v: &str) -> String {
    match v.trim().parse::<u64>() {
        Ok(secs) => {
            let (y, mo, d, h, mi, s) = civil_from_epoch(secs);
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
        }
        Err(_) => v.to_string(),
    }
}

/// The case fields of parsed header values.
pub fn case_from(values: &[(String, String)]) -> CaseInfo {
    let get = |k: &str| {
        values
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    CaseInfo {
        case_number: get("c"),
        evidence_number: get("n"),
        examiner: get("e"),
        description: get("a"),
        notes: get("t"),
    }
}

/// (year, month, day, hour, minute, second) in UTC for seconds since 1970
/// (Howard Hinnant's days-to-civil algorithm).
pub fn civil_from_epoch(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem / 60 % 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_epoch(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_epoch(1_142_163_845), (2006, 3, 12, 11, 44, 5));
        assert_eq!(civil_from_epoch(951_782_400), (2000, 2, 29, 0, 0, 0));
    }

    #[test]
    fn header2_round_trips_case_fields() {
        let case = CaseInfo {
            case_number: Some("2026-17".into()),
            evidence_number: Some("E\t1".into()),
            examiner: Some("Zoë".into()),
            description: Some("disk".into()),
            notes: None,
        };
        let raw = decompress_text(&compress_text(&header2_text(&case, 1000))).unwrap();
        let vals = parse_main(&decode_text(&raw));
        let back = case_from(&vals);
        assert_eq!(back.case_number.as_deref(), Some("2026-17"));
        assert_eq!(back.evidence_number.as_deref(), Some("E 1"));
        assert_eq!(back.examiner.as_deref(), Some("Zoë"));
        assert_eq!(back.notes, None);
        let h = parse_main(&decode_text(&header_text(&case, 1000)));
        assert_eq!(case_from(&h).examiner.as_deref(), Some("Zo?"));
    }
}
