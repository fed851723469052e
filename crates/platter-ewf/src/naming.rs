//! Segment file names: `.E01` … `.E99`, then `.EAA` … `.EZZ`, `.FAA` … up
//! to `.ZZZ` (libewf documentation, "Segment file extensions", EWF-E01).

use std::path::{Path, PathBuf};

/// Highest segment number that has a name (`.ZZZ`).
pub const MAX_SEGMENTS: u32 = 99 + 26 * 26 * 22;

/// The extension of segment `number` (1-based), upper case, or `None`
/// past `.ZZZ`.
pub fn segment_extension(number: u32) -> Option<String> {
    match number {
        0 => None,
        1..=99 => Some(format!("E{number:02}")),
        _ => {
            let k = number - 100;
            let first = u8::try_from(k / 676).ok().filter(|&f| f < 22)?;
            let (a, b) = ((k / 26) % 26, k % 26);
            Some(format!(
                "{}{}{}",
                char::from(b'E' + first),
                char::from(b'A' + a as u8),
                char::from(b'A' + b as u8)
            ))
        }
    }
}

/// The name of segment `number` of the set whose first segment is `first`
/// (same directory and stem; lower-case extensions when `first`'s is).
pub fn segment_path(first: &Path, number: u32) -> Option<PathBuf> {
    let ext = segment_extension(number)?;
    let lower = first
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.chars().any(|c| c.is_ascii_lowercase()));
    Some(first.with_extension(if lower { ext.to_ascii_lowercase() } else { ext }))
}

/// The first segment's name for an output path: `path` itself when it ends
/// in `.E01` (any case), else `path` with `.E01` appended.
pub fn first_segment_name(path: &Path) -> PathBuf {
    let is_e01 = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("e01"));
    if is_e01 {
        path.to_path_buf()
    } else {
        let mut s = path.as_os_str().to_os_string();
        s.push(".E01");
        PathBuf::from(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_follow_encase() {
        assert_eq!(segment_extension(1).unwrap(), "E01");
        assert_eq!(segment_extension(99).unwrap(), "E99");
        assert_eq!(segment_extension(100).unwrap(), "EAA");
        assert_eq!(segment_extension(101).unwrap(), "EAB");
        assert_eq!(segment_extension(126).unwrap(), "EBA");
        assert_eq!(segment_extension(775).unwrap(), "EZZ");
        assert_eq!(segment_extension(776).unwrap(), "FAA");
        assert_eq!(segment_extension(MAX_SEGMENTS).unwrap(), "ZZZ");
        assert_eq!(segment_extension(MAX_SEGMENTS + 1), None);
        assert_eq!(segment_extension(0), None);
    }

    #[test]
    fn paths_keep_case_and_stem() {
        assert_eq!(
            segment_path(Path::new("/x/disk.e01"), 2).unwrap(),
            PathBuf::from("/x/disk.e02")
        );
        assert_eq!(
            segment_path(Path::new("disk.E01"), 100).unwrap(),
            PathBuf::from("disk.EAA")
        );
        assert_eq!(
            first_segment_name(Path::new("out/img")),
            PathBuf::from("out/img.E01")
        );
        assert_eq!(
            first_segment_name(Path::new("a.e01")),
            PathBuf::from("a.e01")
        );
    }
}
