//! The 34 kernel-made md arrays of `fixtures/raid/` (see its README), as
//! the tests that read them share them: the manifest and every member
//! image, decompressed once per test binary with the `xz` command
//! (xz-utils).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

/// One array of the manifest, with its members decompressed (creation
/// order).
pub struct Fixture {
    /// The array's name in the manifest.
    pub name: String,
    /// The array's manifest entry.
    pub array: Value,
    /// Member images, in the manifest's order.
    pub members: Vec<Arc<Vec<u8>>>,
}

/// The fixture folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/raid")
}

/// `fixtures/raid/manifest.json`, parsed.
pub fn manifest() -> Value {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// `xz -dc` of a member image.
pub fn unxz(path: &Path) -> Vec<u8> {
    let out = Command::new("xz")
        .arg("-dc")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xz (install xz-utils): {e}"));
    assert!(
        out.status.success(),
        "xz -dc {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every array with its members, decompressed once (in parallel) and
/// shared by the tests of the binary.
pub fn all() -> &'static [Fixture] {
    static ALL: OnceLock<Vec<Fixture>> = OnceLock::new();
    ALL.get_or_init(load_all)
}

/// The array called `name`.
pub fn fixture(name: &str) -> &'static Fixture {
    all()
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn load_all() -> Vec<Fixture> {
    let m = manifest();
    let arrays = m["arrays"].as_array().expect("arrays").clone();
    assert_eq!(arrays.len(), 34, "the README promises 34 arrays");
    std::thread::scope(|s| {
        let handles: Vec<_> = arrays
            .into_iter()
            .map(|array| {
                s.spawn(move || {
                    let members = array["members"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|mem| {
                            let bytes = unxz(&fixtures().join(mem["file"].as_str().unwrap()));
                            assert_eq!(bytes.len() as u64, mem["image_bytes"].as_u64().unwrap());
                            Arc::new(bytes)
                        })
                        .collect();
                    Fixture {
                        name: array["name"].as_str().unwrap().to_string(),
                        array,
                        members,
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
