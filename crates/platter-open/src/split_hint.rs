//! A hint for a common mistake: opening a later segment of a split set
//! (`disk.002`, `disk.ab`) instead of the first, which reads that segment
//! alone.

use std::path::{Path, PathBuf};

/// When `path` is named like a later segment of a split set whose first
/// segment exists next to it, returns that first segment.
pub(crate) fn first_segment_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    let candidates: Vec<String> = if ext.len() >= 3 && ext.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = ext.parse().ok()?;
        if n <= 1 {
            return None;
        }
        let w = ext.len();
        vec![format!("{:0w$}", 0), format!("{:0w$}", 1)]
    } else if (2..=3).contains(&ext.len())
        && (ext.bytes().all(|b| b.is_ascii_lowercase())
            || ext.bytes().all(|b| b.is_ascii_uppercase()))
    {
        let a = if ext.bytes().all(|b| b.is_ascii_lowercase()) {
            "a"
        } else {
            "A"
        };
        let first = a.repeat(ext.len());
        if ext == first {
            return None;
        }
        vec![first]
    } else {
        return None;
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    candidates
        .into_iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn finds_the_first_segment_of_numeric_and_alphabetic_sets() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for n in [
            "x.001", "x.002", "y.aa", "y.ab", "z.000", "z.001", "lone.002", "Y.AA", "Y.AB",
        ] {
            fs::write(d.join(n), b"seg").unwrap();
        }
        assert_eq!(first_segment_of(&d.join("x.002")), Some(d.join("x.001")));
        assert_eq!(first_segment_of(&d.join("y.ab")), Some(d.join("y.aa")));
        assert_eq!(first_segment_of(&d.join("Y.AB")), Some(d.join("Y.AA")));
        assert_eq!(
            first_segment_of(&d.join("z.001")),
            None,
            "001 is never later"
        );
        assert_eq!(first_segment_of(&d.join("x.001")), None);
        assert_eq!(first_segment_of(&d.join("y.aa")), None);
        assert_eq!(
            first_segment_of(&d.join("lone.002")),
            None,
            "no first segment"
        );
        assert_eq!(first_segment_of(&d.join("disk.img")), None);
        assert_eq!(first_segment_of(&d.join(".002")), None);
    }
}
