//! Human sizes: `4096`, `64K`, `1M`, `1.5G`, `2048s` (sectors), `0x200`.
//!
//! Suffixes are binary (K = 1024). An optional trailing `B` or `iB` is
//! accepted (`64KiB`, `1MB`). `s` counts sectors of the size passed in.

use crate::error::{Error, Result};

/// Parses a size such as `64K`, `1.5G` or `2048s` into bytes.
///
/// `sector_size` is the unit of the `s` suffix.
///
/// ```
/// use platter_core::size::parse_size;
/// assert_eq!(parse_size("64K", 512).unwrap(), 65536);
/// assert_eq!(parse_size("1.5G", 512).unwrap(), 1536 * 1024 * 1024);
/// assert_eq!(parse_size("2048s", 512).unwrap(), 1 << 20);
/// assert_eq!(parse_size("0x200", 512).unwrap(), 512);
/// ```
pub fn parse_size(text: &str, sector_size: u64) -> Result<u64> {
    let err = |reason| Error::InvalidSize {
        text: text.to_string(),
        reason,
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(err("empty"));
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_err(|_| err("bad hexadecimal number"));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    if num.is_empty() {
        return Err(err("no number"));
    }
    let suffix = suffix.trim();
    let unit: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "s" => sector_size,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        "p" | "pb" | "pib" => 1 << 50,
        _ => return Err(err("unknown suffix (use K, M, G, T, P or s)")),
    };
    if let Some((int, frac)) = num.split_once('.') {
        if frac.contains('.') {
            return Err(err("more than one decimal point"));
        }
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| err("bad number"))?
        };
        if frac.is_empty() || frac.len() > 9 {
            return Err(err("fraction must have 1 to 9 digits"));
        }
        let frac_val: u64 = frac.parse().map_err(|_| err("bad number"))?;
        let scale = 10u64.pow(frac.len() as u32);
        let whole = int.checked_mul(unit).ok_or_else(|| err("too large"))?;
        let part = u128::from(frac_val) * u128::from(unit);
        if part % u128::from(scale) != 0 {
            return Err(err("not a whole number of bytes"));
        }
        let part = (part / u128::from(scale)) as u64;
        whole.checked_add(part).ok_or_else(|| err("too large"))
    } else {
        let n: u64 = num.parse().map_err(|_| err("bad number"))?;
        n.checked_mul(unit).ok_or_else(|| err("too large"))
    }
}

/// Formats a byte count for people: `1.50 GiB (1610612736 bytes)` style,
/// returning only the short part (`1.50 GiB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.2} {}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_size("0", 512).unwrap(), 0);
        assert_eq!(parse_size("4096", 512).unwrap(), 4096);
        assert_eq!(parse_size("64K", 512).unwrap(), 65536);
        assert_eq!(parse_size("64KiB", 512).unwrap(), 65536);
        assert_eq!(parse_size("1M", 512).unwrap(), 1 << 20);
        assert_eq!(parse_size("2G", 512).unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5G", 512).unwrap(), 3 << 29);
        assert_eq!(parse_size("2048s", 512).unwrap(), 1 << 20);
        assert_eq!(parse_size("8s", 4096).unwrap(), 32768);
        assert_eq!(parse_size("0x1000", 512).unwrap(), 4096);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "K",
            "1X",
            "1.2.3G",
            "1.5",
            "99999999999999999999",
            "16384P",
            "-1",
        ] {
            assert!(parse_size(bad, 512).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn human() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.50 KiB");
        assert_eq!(human_size(3 << 29), "1.50 GiB");
    }
}
