//! Recipe files: an array's parameters and member files as JSON, so an
//! assembly found once (by hand, from metadata or by inference) can be
//! opened again anywhere as a [`Source`](platter_core::Source).
//!
//! The format is documented in `docs/recipes.md`. A recipe is one JSON
//! object whose `"platter_recipe"` key holds the format version (1):
//!
//! ```
//! use platter_raid::recipe::Recipe;
//!
//! let text = r#"{
//!   "platter_recipe": 1,
//!   "level": "raid5",
//!   "layout": "left-symmetric",
//!   "chunk_bytes": 65536,
//!   "members": [
//!     {"path": "m0.img", "data_offset_bytes": 1048576},
//!     null,
//!     {"path": "/evidence/m2.img", "data_offset_bytes": 1048576, "mapfile": "m2.map"}
//!   ]
//! }"#;
//! let r = Recipe::parse(text, "case/r.json".as_ref()).unwrap();
//! let g = r.geometry().unwrap();
//! assert_eq!(g.describe(), "raid5[left-symmetric,64K,3 members]");
//! assert_eq!(g.slots[1].image, None); // null: the member is missing
//! // Relative paths are relative to the recipe's folder.
//! let m = r.resolve("case/r.json".as_ref());
//! assert_eq!(m[0].as_ref().unwrap().path, std::path::Path::new("case/m0.img"));
//! assert_eq!(m[2].as_ref().unwrap().mapfile.as_deref(), Some("case/m2.map".as_ref()));
//!
//! // Syntax errors name the recipe, the line and the column.
//! let err = Recipe::parse("{\n  \"platter_recipe\": 1,\n  oops\n}", "r.json".as_ref()).unwrap_err();
//! assert!(err.to_string().contains("r.json"), "{err}");
//! assert!(err.to_string().contains("line 3, column 3"), "{err}");
//! ```

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geometry::{DelayedParity, Geometry, Layout, Level, MAX_MEMBERS, Slot};

/// The recipe format version this build reads and writes.
pub const RECIPE_VERSION: u32 = 1;

/// The key that marks a JSON object as a recipe; its value is the version.
pub const RECIPE_KEY: &str = "platter_recipe";

/// The largest recipe file accepted: 1 MiB (256 members with long paths
/// fit in a few tens of KiB).
pub const MAX_RECIPE_BYTES: u64 = 1 << 20;

/// A recipe: the JSON document, field by field. See the [module docs](self)
/// and `docs/recipes.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Format version: [`RECIPE_VERSION`].
    pub platter_recipe: u32,
    /// RAID level: `raid0`, `raid1`, `raid4`, `raid5`, `raid6`, `raid10`, `linear`.
    pub level: Level,
    /// Layout name (`left-symmetric`, `n2`, `original`, `none`, …); the
    /// level's md default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// Chunk size in bytes (0 or absent for RAID1; for linear, md's
    /// rounding of member sizes, 512 when absent).
    #[serde(default)]
    pub chunk_bytes: u64,
    /// The members by slot (md role 0…n−1); `null` for a missing member.
    pub members: Vec<Option<RecipeMember>>,
    /// Delayed parity (RAID5/6, HP Smart Array style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed_parity: Option<DelayedParity>,
    /// Array size in bytes. Written as computed; when read it overrides the
    /// computed size and must not exceed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_size_bytes: Option<u64>,
    /// Free text for the reader (case number, how the geometry was found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One member of a recipe.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeMember {
    /// The member image: a file, block device, first segment of a split
    /// set, or anything else platter opens. Relative paths are relative to
    /// the recipe's folder. Absent: the member is missing but its size is
    /// known (needed for RAID0 and linear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Where the array data starts on the member, in bytes.
    #[serde(default)]
    pub data_offset_bytes: u64,
    /// Usable bytes from the data offset on (md's component size); the
    /// rest of the image when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// The length of the member image when the recipe was written; checked
    /// when the recipe is opened, to catch a wrong or truncated file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_bytes: Option<u64>,
    /// A GNU ddrescue mapfile of the member: areas it does not mark
    /// rescued are unreadable and rebuilt from the other members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapfile: Option<PathBuf>,
    /// SHA-256 of the member image (64 hex digits), for verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A member's files with paths resolved against the recipe's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMember {
    /// The member image.
    pub path: PathBuf,
    /// Its ddrescue mapfile, if any.
    pub mapfile: Option<PathBuf>,
}

impl Recipe {
    /// Parses and [validates](Self::validate) recipe text; `path` names the
    /// recipe in errors. Syntax errors give the line and column.
    pub fn parse(text: &str, path: &Path) -> Result<Recipe> {
        let recipe: Recipe = serde_json::from_str(text).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    "invalid JSON"
                }
                _ => "invalid recipe",
            };
            recipe_error(
                path,
                format!(
                    "{what} at line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    strip_position(&e.to_string())
                ),
            )
        })?;
        recipe.validate(path)?;
        Ok(recipe)
    }

    /// Reads a recipe file (at most [`MAX_RECIPE_BYTES`]) and parses it.
    pub fn load(path: &Path) -> Result<Recipe> {
        let meta = std::fs::metadata(path).map_err(|source| platter_core::Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.len() > MAX_RECIPE_BYTES {
            return Err(recipe_error(
                path,
                format!(
                    "{} bytes is too large for a recipe (at most {MAX_RECIPE_BYTES})",
                    meta.len()
                ),
            ));
        }
        let bytes = std::fs::read(path).map_err(|source| platter_core::Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            recipe_error(
                path,
                format!(
                    "not UTF-8 text (invalid byte at offset {:#x})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Recipe::parse(&text, path)
    }

    /// Checks the version, the member list and the geometry; `path` names
    /// the recipe in errors.
    pub fn validate(&self, path: &Path) -> Result<()> {
        if self.platter_recipe != RECIPE_VERSION {
            return Err(recipe_error(
                path,
                format!(
                    "format version {} is not supported (this build reads version {RECIPE_VERSION})",
                    self.platter_recipe
                ),
            ));
        }
        if self.members.len() > MAX_MEMBERS {
            return Err(recipe_error(
                path,
                format!(
                    "{} members is more than the supported {MAX_MEMBERS}",
                    self.members.len()
                ),
            ));
        }
        for (slot, m) in self.members.iter().enumerate() {
            let Some(m) = m else { continue };
            if m.path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err(recipe_error(path, format!("member {slot}: empty path")));
            }
            if m.path.is_none() && m.mapfile.is_some() {
                return Err(recipe_error(
                    path,
                    format!("member {slot}: a mapfile is given but no path"),
                ));
            }
            if let Some(h) = &m.sha256 {
                if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(recipe_error(
                        path,
                        format!("member {slot}: sha256 {h:?} is not 64 hexadecimal digits"),
                    ));
                }
            }
            if let (Some(img), Some(size)) = (m.image_bytes, m.size_bytes) {
                if m.data_offset_bytes
                    .checked_add(size)
                    .is_none_or(|e| e > img)
                {
                    return Err(recipe_error(
                        path,
                        format!(
                            "member {slot}: data offset {} + size {size} is past the end of the \
                             {img}-byte image",
                            m.data_offset_bytes
                        ),
                    ));
                }
            }
        }
        self.geometry()
            .and_then(|g| g.validate())
            .map_err(|e| recipe_error(path, e.to_string()))
    }

    /// The geometry: slot `i` is filled by image `i` (the member listed
    /// `i`-th) unless it is missing.
    pub fn geometry(&self) -> Result<Geometry> {
        let layout = match &self.layout {
            Some(l) => Layout::parse_for(self.level, l)?,
            None => Layout::default_for(self.level),
        };
        let chunk_bytes = match (self.level, self.chunk_bytes) {
            (Level::Linear, 0) => crate::geometry::SECTOR,
            (_, c) => c,
        };
        Ok(Geometry {
            level: self.level,
            layout,
            chunk_bytes,
            slots: self
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| Slot {
                    image: m.as_ref().and_then(|m| m.path.as_ref()).map(|_| i),
                    data_offset: m.as_ref().map_or(0, |m| m.data_offset_bytes),
                    size: m.as_ref().and_then(|m| m.size_bytes),
                })
                .collect(),
            delayed_parity: self.delayed_parity,
            array_size: self.array_size_bytes,
        })
    }

    /// A recipe for `geometry`, whose slots name indexes into `images`
    /// (each a member's path, mapfile, length and hash). Members are listed
    /// by slot; slots without an image are `null` unless they carry a size.
    pub fn from_geometry(geometry: &Geometry, images: &[RecipeMember]) -> Result<Recipe> {
        geometry.validate()?;
        let mut members = Vec::with_capacity(geometry.slots.len());
        for (slot, s) in geometry.slots.iter().enumerate() {
            let m = match s.image {
                Some(i) => {
                    let img = images.get(i).ok_or(Error::ImageOutOfRange {
                        slot,
                        image: i,
                        images: images.len(),
                    })?;
                    Some(RecipeMember {
                        data_offset_bytes: s.data_offset,
                        size_bytes: s.size,
                        ..img.clone()
                    })
                }
                None => s.size.map(|size| RecipeMember {
                    size_bytes: Some(size),
                    ..RecipeMember::default()
                }),
            };
            members.push(m);
        }
        let layout = match geometry.layout {
            Layout::None => None,
            l => Some(l.to_string()),
        };
        let chunk_bytes = if geometry.level == Level::Raid1 {
            0
        } else {
            geometry.chunk_bytes
        };
        Ok(Recipe {
            platter_recipe: RECIPE_VERSION,
            level: geometry.level,
            layout,
            chunk_bytes,
            members,
            delayed_parity: geometry.delayed_parity,
            array_size_bytes: geometry.array_size,
            comment: None,
        })
    }

    /// The recipe as pretty-printed JSON with a final newline. Fails only
    /// for a path that is not UTF-8 (JSON strings are).
    pub fn to_json(&self) -> std::result::Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// The member files by slot, relative paths resolved against the
    /// folder of the recipe at `recipe_path`. `None` for missing members.
    pub fn resolve(&self, recipe_path: &Path) -> Vec<Option<ResolvedMember>> {
        let base = recipe_path.parent().unwrap_or(Path::new(""));
        let join = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        self.members
            .iter()
            .map(|m| {
                let m = m.as_ref()?;
                Some(ResolvedMember {
                    path: join(m.path.as_ref()?),
                    mapfile: m.mapfile.as_deref().map(join),
                })
            })
            .collect()
    }

    /// Rewrites member paths (absolute, or relative to the current
    /// directory) relative to the folder the recipe will be written to,
    /// when that folder and the file share an ancestor; other paths become
    /// absolute. Paths that cannot be made absolute are kept as given.
    pub fn relative_paths(&mut self, recipe_path: &Path) {
        let Some(dir) = absolute_dir(recipe_path) else {
            return;
        };
        for m in self.members.iter_mut().flatten() {
            for p in [&mut m.path, &mut m.mapfile].into_iter().flatten() {
                if let Ok(abs) = std::fs::canonicalize(&*p) {
                    *p = relative_to(&dir, &abs).unwrap_or(abs);
                }
            }
        }
    }

    /// Checks the member images' lengths against `image_bytes` (a different
    /// length means a wrong or truncated file): `lens[slot]` is the opened
    /// length of the slot's member. A data area running past the end of its
    /// image is allowed (a member imaged only in part): those bytes read as
    /// unreadable.
    pub fn check_member_lengths(&self, recipe_path: &Path, lens: &[Option<u64>]) -> Result<()> {
        for (slot, (m, len)) in self.members.iter().zip(lens).enumerate() {
            let (Some(m), Some(len)) = (m, len) else {
                continue;
            };
            let name = m
                .path
                .as_deref()
                .map_or_else(String::new, |p| format!(" ({})", p.display()));
            if let Some(want) = m.image_bytes {
                if want != *len {
                    return Err(recipe_error(
                        recipe_path,
                        format!(
                            "member {slot}{name} is {len} bytes, but the recipe says {want}: \
                             a wrong or truncated file"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// True when `head` (the first bytes of a file) looks like a recipe: a JSON
/// object, after optional whitespace and byte-order mark, that mentions
/// [`RECIPE_KEY`] as a key. Cheap; the file still has to parse.
pub fn sniff(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let Some(start) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    if head[start] != b'{' {
        return false;
    }
    let key = format!("\"{RECIPE_KEY}\"");
    head.windows(key.len()).any(|w| w == key.as_bytes())
}

fn recipe_error(path: &Path, reason: String) -> Error {
    Error::Recipe {
        path: path.to_path_buf(),
        reason,
    }
}

/// serde_json appends " at line L column C" to its messages; the position
/// is reported separately.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// The absolute, canonical folder that will hold `file`.
fn absolute_dir(file: &Path) -> Option<PathBuf> {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(parent).ok()
}

/// `target` relative to the folder `base` (both absolute and canonical),
/// with `..` steps; `None` when they share no more than the root.
fn relative_to(base: &Path, target: &Path) -> Option<PathBuf> {
    let b: Vec<Component<'_>> = base.components().collect();
    let t: Vec<Component<'_>> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    if common <= 1 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::ParityLayout;

    fn p() -> &'static Path {
        Path::new("case/r.json")
    }

    #[test]
    fn round_trip_through_json() {
        let mut g = Geometry::new(
            Level::Raid6,
            Layout::Parity(ParityLayout::DdfNContinue),
            4096,
            5,
        )
        .with_order(&[Some(2), Some(0), None, Some(1), Some(3)])
        .with_data_offset(65536);
        g.slots[4].size = Some(1 << 20);
        g.delayed_parity = Some(DelayedParity {
            rows_per_group: 4,
            first_group_rows: 2,
        });
        g.array_size = Some(3 << 20);
        let images: Vec<RecipeMember> = (0..4)
            .map(|i| RecipeMember {
                path: Some(format!("m{i}.img").into()),
                image_bytes: Some(2 << 20),
                ..RecipeMember::default()
            })
            .collect();
        let r = Recipe::from_geometry(&g, &images).unwrap();
        assert_eq!(r.members[0].as_ref().unwrap().path, Some("m2.img".into()));
        assert_eq!(r.members[2], None);
        let text = r.to_json().unwrap();
        assert!(text.contains("\"platter_recipe\": 1"), "{text}");
        assert!(text.contains("\"layout\": \"ddf-N-continue\""), "{text}");
        let back = Recipe::parse(&text, p()).unwrap();
        assert_eq!(back, r);
        // Slot i is image i in the recipe's own numbering.
        let g2 = back.geometry().unwrap();
        assert_eq!(g2.slots[0].image, Some(0));
        assert_eq!(g2.slots[2].image, None);
        assert_eq!(g2.slots[3].data_offset, 65536);
        assert_eq!(g2.slots[4].size, Some(1 << 20));
        assert_eq!(g2.delayed_parity, g.delayed_parity);
        assert_eq!(g2.array_size, Some(3 << 20));
        assert_eq!(g2.layout, g.layout);
    }

    fn err(text: &str) -> String {
        Recipe::parse(text, p()).unwrap_err().to_string()
    }

    #[test]
    fn bad_recipes_are_named_and_explained() {
        let e = err("{\"platter_recipe\": 1, \"level\": \"raid5\",\n \"members\": [}");
        assert!(
            e.starts_with("recipe case/r.json: invalid JSON at line 2, column"),
            "{e}"
        );
        let e = err(
            r#"{"platter_recipe": 2, "level": "raid5", "chunk_bytes": 512, "members": [null, null]}"#,
        );
        assert!(e.contains("format version 2 is not supported"), "{e}");
        let e = err(r#"{"platter_recipe": 1, "level": "raid9", "members": []}"#);
        assert!(
            e.contains("invalid recipe at line 1") && e.contains("raid9"),
            "{e}"
        );
        let e = err(
            r#"{"platter_recipe": 1, "level": "raid5", "chunk_bytes": 0, "members": [{"path":"a"},{"path":"b"}]}"#,
        );
        assert!(e.contains("invalid chunk size 0"), "{e}");
        let e = err(
            r#"{"platter_recipe": 1, "level": "raid6", "chunk_bytes": 4096, "members": [{"path":"a"},{"path":"b"},{"path":"c"}]}"#,
        );
        assert!(e.contains("raid6 needs at least 4 members, got 3"), "{e}");
        let e = err(
            r#"{"platter_recipe": 1, "level": "raid5", "chunk_bytes": 4096, "colour": 3, "members": []}"#,
        );
        assert!(e.contains("unknown field `colour`"), "{e}");
        let e = err(
            r#"{"platter_recipe": 1, "level": "raid5", "chunk_bytes": 4096, "members": [{"path":"a","sha256":"xyz"},{"path":"b"}]}"#,
        );
        assert!(e.contains("member 0: sha256"), "{e}");
        let e = err(
            r#"{"platter_recipe": 1, "level": "raid5", "layout": "n2", "chunk_bytes": 4096, "members": [{"path":"a"},{"path":"b"}]}"#,
        );
        assert!(e.contains("n2"), "{e}");
        let e = err(
            r#"{"platter_recipe": 1, "level": "raid1", "members": [{"path":"a","data_offset_bytes":18446744073709551615,"size_bytes":2}]}"#,
        );
        assert!(e.contains("overflows"), "{e}");
        let many = vec!["null"; MAX_MEMBERS + 1].join(",");
        let e = err(&format!(
            r#"{{"platter_recipe": 1, "level": "raid0", "chunk_bytes": 4096, "members": [{many}]}}"#
        ));
        assert!(e.contains("257 members"), "{e}");
    }

    #[test]
    fn member_lengths_are_checked() {
        let text = r#"{"platter_recipe": 1, "level": "raid1", "members": [
            {"path": "a", "image_bytes": 4096},
            {"path": "b", "data_offset_bytes": 1024, "size_bytes": 2048}]}"#;
        let r = Recipe::parse(text, p()).unwrap();
        assert!(
            r.check_member_lengths(p(), &[Some(4096), Some(3072)])
                .is_ok()
        );
        let e = r
            .check_member_lengths(p(), &[Some(4095), Some(3072)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("member 0 (a) is 4095 bytes, but the recipe says 4096"),
            "{e}"
        );
        // A member imaged only in part is allowed: its tail reads as unreadable.
        assert!(
            r.check_member_lengths(p(), &[Some(4096), Some(2000)])
                .is_ok()
        );
    }

    #[test]
    fn sniffing() {
        assert!(sniff(b"\xef\xbb\xbf  {\n \"platter_recipe\": 1}"));
        assert!(!sniff(b"{\"level\": \"raid5\"}"));
        assert!(!sniff(b"platter_recipe {\"platter_recipe\""));
        assert!(!sniff(b""));
    }

    #[test]
    fn relative_paths() {
        let base = Path::new("/a/b/c");
        assert_eq!(
            relative_to(base, Path::new("/a/b/c/m0.img")),
            Some("m0.img".into())
        );
        assert_eq!(
            relative_to(base, Path::new("/a/x/m0.img")),
            Some("../../x/m0.img".into())
        );
        assert_eq!(relative_to(base, Path::new("/z/m0.img")), None);
    }

    #[test]
    fn missing_member_with_size() {
        let text = r#"{"platter_recipe": 1, "level": "raid0", "chunk_bytes": 4096,
            "members": [{"path": "a"}, {"size_bytes": 8192}]}"#;
        let r = Recipe::parse(text, p()).unwrap();
        let g = r.geometry().unwrap();
        assert_eq!(g.slots[1].image, None);
        assert_eq!(g.slots[1].size, Some(8192));
        assert_eq!(r.resolve(p())[1], None);
    }
}
