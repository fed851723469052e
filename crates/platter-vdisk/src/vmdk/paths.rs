//! Resolving extent and parent file names from a descriptor, refusing
//! names that leave the descriptor's folder.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Resolves `reference` (as written in the descriptor or header of
/// `referrer`) to a path next to `referrer`.
///
/// Without `allow_outside`, absolute paths, `..` components and Windows
/// drive or UNC prefixes are refused with [`Error::PathEscape`]. Windows
/// separators (`\`) are treated as separators, so `sub\disk.vmdk` works.
///
/// # Errors
/// [`Error::PathEscape`] as above; [`Error::Corrupt`] for an empty name.
pub fn resolve(referrer: &Path, reference: &str, allow_outside: bool) -> Result<PathBuf> {
    let escape = || Error::PathEscape {
        path: referrer.to_path_buf(),
        reference: reference.to_string(),
    };
    if reference.trim().is_empty() || reference.contains('\0') {
        return Err(Error::Corrupt {
            path: referrer.to_path_buf(),
            offset: 0,
            what: format!("empty or invalid file name {reference:?}"),
        });
    }
    let normalized = reference.replace('\\', "/");
    let bytes = normalized.as_bytes();
    let has_drive = bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic();
    let rel = Path::new(&normalized);
    let dir = referrer.parent().unwrap_or(Path::new(""));
    if allow_outside {
        return Ok(if rel.is_absolute() {
            rel.to_path_buf()
        } else {
            dir.join(rel)
        });
    }
    if rel.is_absolute() || has_drive {
        return Err(escape());
    }
    for comp in rel.components() {
        match comp {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(escape());
            }
        }
    }
    Ok(dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_paths_resolve_next_to_the_referrer() {
        let r = Path::new("/cases/vm/disk.vmdk");
        assert_eq!(
            resolve(r, "disk-flat.vmdk", false).unwrap(),
            Path::new("/cases/vm/disk-flat.vmdk")
        );
        assert_eq!(
            resolve(r, "sub\\d.vmdk", false).unwrap(),
            Path::new("/cases/vm/sub/d.vmdk")
        );
    }

    #[test]
    fn escapes_are_refused_unless_allowed() {
        let r = Path::new("/cases/vm/disk.vmdk");
        for bad in [
            "/etc/passwd",
            "../other.vmdk",
            "a/../../x",
            "C:\\vm\\x.vmdk",
            "\\\\srv\\x",
        ] {
            assert!(
                matches!(resolve(r, bad, false), Err(Error::PathEscape { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            resolve(r, "../other.vmdk", true).unwrap(),
            Path::new("/cases/vm/../other.vmdk")
        );
        assert!(resolve(r, "", false).is_err());
    }
}
