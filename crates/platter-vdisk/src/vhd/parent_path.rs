//! Resolving a parent path named inside a differencing image (VHD parent
//! locators, VHDX `relative_path`/`absolute_win32_path`), with the
//! security rule of the crate: only files inside the child's folder unless
//! `allow_outside_paths`.
//!
//! Windows paths (`.\base.vhd`, `C:\VMs\base.vhdx`, `\\server\share\x`)
//! are accepted: backslashes become separators; an absolute path that
//! cannot exist here is looked up by its file name in the child's folder.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The folder of `child` (`.` for a bare file name).
pub(crate) fn folder_of(child: &Path) -> PathBuf {
    match child.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Finds the first of `hints` (in order of preference) that names an
/// existing file allowed by the path rule.
///
/// # Errors
/// [`Error::PathEscape`] when the only existing candidates leave the
/// folder; [`Error::Missing`] when none exists.
pub(crate) fn resolve_parent(
    child: &Path,
    hints: &[String],
    allow_outside: bool,
) -> Result<PathBuf> {
    let dir = folder_of(child);
    let mut escaped: Option<String> = None;
    for hint in hints {
        let text = hint.trim_end_matches('\0').trim();
        if text.is_empty() {
            continue;
        }
        let unix = text.replace('\\', "/");
        let windows_absolute = unix.starts_with("//")
            || (unix.len() >= 2
                && unix.as_bytes()[1] == b':'
                && unix.as_bytes()[0].is_ascii_alphabetic());
        let rel = Path::new(&unix);
        let leaves = rel.is_absolute()
            || windows_absolute
            || rel.components().any(|c| matches!(c, Component::ParentDir));
        if leaves {
            if allow_outside && rel.is_absolute() && rel.is_file() {
                return Ok(rel.to_path_buf());
            }
            if allow_outside && !windows_absolute && !rel.is_absolute() && dir.join(rel).is_file() {
                return Ok(dir.join(rel));
            }
            // The same file name next to the child is inside the folder.
            if let Some(name) = unix
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty() && *n != "..")
            {
                let local = dir.join(name);
                if local.is_file() {
                    return Ok(local);
                }
            }
            if dir.join(rel).exists() || rel.exists() {
                escaped.get_or_insert_with(|| text.to_string());
            }
            continue;
        }
        let candidate = dir.join(rel);
        if !candidate.is_file() {
            continue;
        }
        if !allow_outside && !inside(&dir, &candidate) {
            escaped.get_or_insert_with(|| text.to_string());
            continue;
        }
        return Ok(candidate);
    }
    match escaped {
        Some(reference) => Err(Error::PathEscape {
            path: child.to_path_buf(),
            reference,
        }),
        None => Err(Error::Missing {
            path: child.to_path_buf(),
            reference: hints
                .iter()
                .map(|h| h.trim_end_matches('\0').trim())
                .find(|h| !h.is_empty())
                .unwrap_or("(no parent name recorded)")
                .to_string(),
        }),
    }
}

/// True when `candidate`, with symbolic links resolved, lies in `dir`.
fn inside(dir: &Path, candidate: &Path) -> bool {
    match (dir.canonicalize(), candidate.canonicalize()) {
        (Ok(d), Ok(c)) => c.starts_with(d),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_absolute_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let child = dir.path().join("child.vhd");
        std::fs::write(dir.path().join("base.vhd"), b"x").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(dir.path().join("outside.vhd"), b"x").unwrap();
        let child_in_sub = sub.join("child.vhd");

        let ok = resolve_parent(&child, &[".\\base.vhd".into()], false).unwrap();
        assert_eq!(ok, dir.path().join("base.vhd"));
        // A Windows absolute path falls back to the name next to the child.
        let ok = resolve_parent(&child, &["C:\\VMs\\base.vhd".into()], false).unwrap();
        assert_eq!(ok, dir.path().join("base.vhd"));
        // `..` leaves the folder: refused, then allowed with the flag.
        let err = resolve_parent(&child_in_sub, &["..\\outside.vhd".into()], false).unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
        let ok = resolve_parent(&child_in_sub, &["..\\outside.vhd".into()], true).unwrap();
        assert!(ok.ends_with("outside.vhd"));
        let abs = dir.path().join("outside.vhd").display().to_string();
        let err = resolve_parent(&child_in_sub, std::slice::from_ref(&abs), false).unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
        assert!(resolve_parent(&child_in_sub, &[abs], true).is_ok());
        let err = resolve_parent(&child, &["nope.vhd".into()], false).unwrap_err();
        assert!(matches!(err, Error::Missing { .. }), "{err}");
    }
}
