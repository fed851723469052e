//! Content images: built once by `harness/make-content.sh` (real mkfs
//! tools) and cached in `PLATTER_ACCURACY_CACHE` (default
//! `target/accuracy-cache`), so reruns are fast.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cases::ContentKey;

/// The cache directory.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("PLATTER_ACCURACY_CACHE") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/accuracy-cache"),
    }
}

/// True when `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// File-system kinds whose tools are installed.
pub fn fs_kinds() -> Vec<&'static str> {
    let mut k = Vec::new();
    if have("mkfs.ext4") && have("debugfs") {
        k.push("ext4");
    }
    if have("mkfs.vfat") && have("mcopy") {
        k.push("vfat");
    }
    if have("mkntfs") && have("ntfscp") {
        k.push("ntfs");
    }
    k
}

/// The content image (state A) and, when `with_b`, its later state B,
/// building them if the cache lacks them. Errors carry the script's stderr.
pub fn get(key: &ContentKey, with_b: bool) -> Result<(PathBuf, Option<PathBuf>), String> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).expect("create the accuracy cache directory");
    let stem = key.stem();
    let a = dir.join(format!("{stem}.A.img"));
    let b = dir.join(format!("{stem}.B.img"));
    let need = !a.exists() || (with_b && !b.exists());
    if need {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("harness/make-content.sh");
        // The seed picks files and serials: derived from the key.
        let seed = key
            .stem()
            .bytes()
            .fold(7u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)))
            % 32768;
        // Read whole before it runs: bash reads a script file as it goes,
        // and an edit during a long run would break it.
        let text = std::fs::read_to_string(&script)
            .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(text)
            .arg("make-content.sh")
            .arg(&key.kind)
            .arg(key.bytes.to_string())
            .arg(key.fill.to_string())
            .arg(seed.to_string())
            .arg(&a);
        if with_b {
            cmd.arg(&b);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run make-content.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "make-content.sh {stem} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok((a, with_b.then_some(b)))
}
