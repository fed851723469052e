//! Split raw image sets: `x.001, x.002, …` (any width of at least three
//! digits, starting at `.000` or `.001`) and `x.aa, x.ab, …` (two or three
//! letters, as written by `split`).
//!
//! Segments are found by probing the next name in order, not by listing the
//! directory, and the set ends at the first missing name.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::{OpenOptions, open_os};
use crate::error::{Error, Result};
use crate::source::{Concat, SharedSource};

/// Most segments a split set may have; probing stops there.
pub const MAX_SEGMENTS: usize = 100_000;

/// A split-set suffix: its family and position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    /// Decimal: `number` printed with at least `width` digits.
    Numeric { number: u64, width: usize },
    /// Letters in base 26, `width` letters, `upper` for `AA` style.
    Alpha {
        index: u64,
        width: usize,
        upper: bool,
    },
}

impl Suffix {
    /// Parses the text after the last dot.
    fn parse(ext: &[u8]) -> Option<Suffix> {
        if ext.len() >= 3 && ext.len() <= 19 && ext.iter().all(u8::is_ascii_digit) {
            let number = std::str::from_utf8(ext).ok()?.parse().ok()?;
            return Some(Suffix::Numeric {
                number,
                width: ext.len(),
            });
        }
        let upper = ext.iter().all(u8::is_ascii_uppercase);
        if (ext.len() == 2 || ext.len() == 3) && (upper || ext.iter().all(u8::is_ascii_lowercase)) {
            let base = if upper { b'A' } else { b'a' };
            let index = ext
                .iter()
                .fold(0u64, |acc, &c| acc * 26 + u64::from(c - base));
            return Some(Suffix::Alpha {
                index,
                width: ext.len(),
                upper,
            });
        }
        None
    }

    /// Whether this suffix starts a set (`000`, `001`, `aa`, `aaa`).
    fn is_first(self) -> bool {
        match self {
            Suffix::Numeric { number, .. } => number <= 1,
            Suffix::Alpha { index, .. } => index == 0,
        }
    }

    /// The suffix before this one, if any.
    fn prev(self) -> Option<Suffix> {
        match self {
            Suffix::Numeric { number, width } => number
                .checked_sub(1)
                .map(|number| Suffix::Numeric { number, width }),
            Suffix::Alpha {
                index,
                width,
                upper,
            } => index.checked_sub(1).map(|index| Suffix::Alpha {
                index,
                width,
                upper,
            }),
        }
    }

    /// The suffix after this one, or `None` when the letters run out.
    fn next(self) -> Option<Suffix> {
        match self {
            Suffix::Numeric { number, width } => number
                .checked_add(1)
                .map(|number| Suffix::Numeric { number, width }),
            Suffix::Alpha {
                index,
                width,
                upper,
            } => {
                let index = index + 1;
                // `width` is 2 or 3, so this cannot overflow.
                (index < 26u64.pow(width as u32)).then_some(Suffix::Alpha {
                    index,
                    width,
                    upper,
                })
            }
        }
    }

    fn render(self) -> Vec<u8> {
        match self {
            Suffix::Numeric { number, width } => format!("{number:0width$}").into_bytes(),
            Suffix::Alpha {
                index,
                width,
                upper,
            } => {
                let base = if upper { b'A' } else { b'a' };
                let mut out = vec![base; width];
                let mut rest = index;
                for slot in out.iter_mut().rev() {
                    // `rest % 26` is below 26, so the cast is exact.
                    *slot = base + (rest % 26) as u8;
                    rest /= 26;
                }
                out
            }
        }
    }
}

/// The sibling of `path` with the same stem and suffix `s`.
fn with_suffix(dir: &Path, stem: &[u8], s: Suffix) -> PathBuf {
    let mut name = stem.to_vec();
    name.push(b'.');
    name.extend(s.render());
    dir.join(OsString::from_vec(name))
}

/// Whether `path` exists. Errors other than "not found" (permissions, a
/// path component that is a file) are reported, naming the path.
fn exists(path: &Path) -> Result<bool> {
    match fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::Open {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// If `path` is the **first** segment of a split raw set and at least one
/// more segment exists, returns all segments in order; otherwise `None`.
///
/// Recognised names: `stem.000`/`stem.001` followed by consecutive numbers of
/// the same (minimum) width, e.g. `.001 … .999, .1000`; and `stem.aa`,
/// `stem.ab` … `stem.zz` (or three letters, `stem.aaa` …, either case).
/// The set ends at the first missing name, or at [`MAX_SEGMENTS`].
///
/// `x.001` is not a first segment when `x.000` exists. A path that does not
/// exist is an [`Error::Open`].
pub fn split_segments(path: &Path) -> Result<Option<Vec<PathBuf>>> {
    if !exists(path)? {
        return Err(Error::Open {
            path: path.to_path_buf(),
            source: io::Error::from(io::ErrorKind::NotFound),
        });
    }
    let Some(file_name) = path.file_name() else {
        return Ok(None);
    };
    let bytes = file_name.as_bytes();
    let Some(dot) = bytes.iter().rposition(|&b| b == b'.') else {
        return Ok(None);
    };
    let (stem, ext) = (&bytes[..dot], &bytes[dot + 1..]);
    if stem.is_empty() {
        return Ok(None);
    }
    let Some(first) = Suffix::parse(ext).filter(|s| s.is_first()) else {
        return Ok(None);
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    if let Some(prev) = first.prev() {
        if exists(&with_suffix(dir, stem, prev))? {
            return Ok(None);
        }
    }
    let mut segments = vec![path.to_path_buf()];
    let mut cur = first;
    while segments.len() < MAX_SEGMENTS {
        let Some(next) = cur.next() else { break };
        let candidate = with_suffix(dir, stem, next);
        if !exists(&candidate)? {
            break;
        }
        segments.push(candidate);
        cur = next;
    }
    Ok((segments.len() > 1).then_some(segments))
}

/// Opens the segments of a split set (from [`split_segments`]) as one
/// [`Concat`] named after the first segment. Each segment is opened with
/// [`open_os`], so a missing or unreadable segment fails with its own path.
pub fn open_split(segments: &[PathBuf], opts: &OpenOptions) -> Result<Concat> {
    let Some(first) = segments.first() else {
        return Err(Error::Split {
            path: PathBuf::new(),
            reason: "no segments given".to_string(),
        });
    };
    let parts = segments
        .iter()
        .map(|p| open_os(p, opts))
        .collect::<Result<Vec<SharedSource>>>()?;
    Ok(Concat::new(first.display().to_string(), parts))
}

/// For tests: the name a suffix renders to.
#[cfg(test)]
fn render_ext(ext: &str) -> Option<String> {
    Suffix::parse(ext.as_bytes()).map(|s| String::from_utf8(s.render()).unwrap())
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
