//! RAID arrays as images: [`open_array`] assembles members opened through
//! the registry (so a member can be anything platter reads: a file, a
//! block device, a split set, a ddrescue image under its mapfile, later an
//! E01 or VMDK) with an explicit geometry, [`open_array_from_metadata`]
//! does the same with the geometry read from the members' md superblocks
//! or DDF records, and [`RecipeProbe`] recognises a recipe file
//! (`platter_raid::recipe`) by its content and opens it as the array.
//!
//! A recipe may name another recipe as a member (RAID 50, 60, 10 over
//! mirrors); a recipe that includes itself, directly or not, is refused,
//! and nesting stops at [`MAX_NESTING`] levels.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use platter_core::size::human_size;
use platter_core::sys::OpenOptions;
use platter_core::{SharedSource, Source};
use platter_raid::array::RaidArray;
use platter_raid::assemble::{MetadataPlan, PlanOptions, plan_from_metadata_with};
use platter_raid::geometry::{Geometry, Level};
use platter_raid::metadata::{MdRole, probe_ddf, probe_md};
use platter_raid::recipe::{MAX_RECIPE_BYTES, Recipe, sniff};

use crate::error::{Error, Result};
use crate::probe::{Confidence, Format, FormatProbe, ProbeContext};
use crate::registry::{NO_SIGNATURE_NOTE, Opened, Registry};

/// The format of a recipe file, opened as the array it describes.
pub const RECIPE_FORMAT: Format = Format {
    name: "raid-recipe",
    description: "platter RAID recipe (JSON), read as the array assembled from its members",
};

/// The format of an array assembled from members given explicitly.
pub const ARRAY_FORMAT: Format = Format {
    name: "raid",
    description: "RAID array assembled from its members",
};

/// The end of the note [`metadata_note`] adds to a raw image holding RAID
/// metadata (left out of an array's notes: the array says it all).
const EXAMINE_HINT: &str = "(`platter raid examine` shows it all)";

/// How deeply recipes may name recipes as members.
pub const MAX_NESTING: usize = 8;

/// A member to open: its image and, optionally, its ddrescue mapfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    /// The member image.
    pub path: PathBuf,
    /// Its ddrescue mapfile: areas not marked rescued are rebuilt from the
    /// other members when the redundancy allows.
    pub mapfile: Option<PathBuf>,
}

/// An assembled array with its members.
#[derive(Debug, Clone)]
pub struct OpenedArray {
    /// The array as an image: [`Opened::source`] reads the array;
    /// [`Opened::segments`] lists every file read (members, their segments
    /// and mapfiles, and the recipe), so outputs can be checked against all.
    pub opened: Opened,
    /// The array itself (the same object as `opened.source`).
    pub array: Arc<RaidArray>,
    /// The members by image index (`None`: not given).
    pub members: Vec<Option<Opened>>,
}

/// Opens each member with `registry` and assembles `geometry` over them:
/// `members[i]` is image `i` of the geometry's slots. `label` names the
/// array in errors ("recipe r.json", "the array").
///
/// # Errors
/// A member that cannot be opened ([`Error::ArrayMember`], naming its
/// index and wrapping the member's own error), or a geometry the members
/// do not fit ([`Error::ArrayAssembly`]).
pub fn open_array(
    registry: &Registry,
    geometry: Geometry,
    members: &[Option<MemberSpec>],
    opts: &OpenOptions,
    label: &str,
) -> Result<OpenedArray> {
    let opened = open_members(registry, members, opts, label)?;
    assemble(geometry, opened, label)
}

/// Opens each member with `registry` (honouring its mapfile), reads their
/// md superblocks or DDF metadata, and assembles the array they describe
/// ([`platter_raid::assemble::plan_from_metadata_with`]): members may come
/// in any order, stale members and members of another array are left out,
/// missing ones are rebuilt while the redundancy allows.
///
/// The returned [`OpenedArray`] holds only the members the plan uses (its
/// geometry numbers them in the order given, skipping those left out), so a
/// recipe written from it names exactly the array's members; the
/// [`MetadataPlan`] names every member by its index in `members` and keeps
/// the reasons for leaving any out. Outputs are checked against every
/// member given, used or not ([`Opened::segments`]). The array is named
/// after the metadata (`md:host:name`, `ddf:NAME`).
///
/// # Errors
/// A member that cannot be opened ([`Error::ArrayMember`]); no usable
/// metadata, members of mixed arrays, two members claiming one role, more
/// roles missing than the level can rebuild ([`Error::Raid`] wrapping
/// [`platter_raid::assemble::AssembleError`], naming the members); members
/// that do not fit the planned geometry ([`Error::ArrayAssembly`]).
pub fn open_array_from_metadata(
    registry: &Registry,
    members: &[MemberSpec],
    plan_options: &PlanOptions,
    opts: &OpenOptions,
) -> Result<(OpenedArray, MetadataPlan)> {
    let specs: Vec<Option<MemberSpec>> = members.iter().cloned().map(Some).collect();
    let mut opened: Vec<Option<Opened>> = open_members(registry, &specs, opts, "the array")?;
    let names: Vec<String> = members
        .iter()
        .map(|m| m.path.display().to_string())
        .collect();
    let plan = {
        let sources: Vec<(&str, &dyn Source)> = opened
            .iter()
            .zip(&names)
            .filter_map(|(o, n)| o.as_ref().map(|o| (n.as_str(), &*o.source as &dyn Source)))
            .collect();
        plan_from_metadata_with(&sources, plan_options)?
    };
    // Keep the members the geometry uses, renumbered in the order given.
    let mut renumber: Vec<Option<usize>> = vec![None; opened.len()];
    for s in &plan.geometry.slots {
        if let Some(i) = s.image {
            if let Some(r) = renumber.get_mut(i) {
                *r = Some(0);
            }
        }
    }
    let mut used: Vec<Option<Opened>> = Vec::new();
    let mut left_out: Vec<Opened> = Vec::new();
    for (i, o) in opened.iter_mut().enumerate() {
        let Some(o) = o.take() else { continue };
        if renumber[i].is_some() {
            renumber[i] = Some(used.len());
            used.push(Some(o));
        } else {
            left_out.push(o);
        }
    }
    let mut geometry = plan.geometry.clone();
    for s in &mut geometry.slots {
        s.image = s.image.and_then(|i| renumber.get(i).copied().flatten());
    }
    let mut arr = assemble(geometry, used, &plan.display_name())?;
    let name = plan.array_name.as_deref().filter(|n| !n.is_empty());
    arr.opened.notes.insert(
        0,
        format!(
            "assembled from {} metadata: array {}{}",
            plan.source,
            plan.array_uuid,
            name.map(|n| format!(" ({n})")).unwrap_or_default()
        ),
    );
    for e in &plan.excluded {
        arr.opened.notes.push(format!("left out: {}", e.message));
    }
    for o in left_out {
        arr.opened.segments.extend(o.segments);
        arr.opened
            .segments
            .extend(o.rescue.as_ref().map(|r| r.path().to_path_buf()));
    }
    Ok((arr, plan))
}

/// One line on the md superblock or DDF metadata found on `source`, for
/// the notes of an image opened as raw (a RAID member): "md 1.2
/// superblock at 0x1000: member 2 of raid5 array UUID (host:name), events
/// 42". `None` when there is none or it cannot be read.
pub(crate) fn metadata_note(source: &dyn Source) -> Option<String> {
    if let Ok(Some(sb)) = probe_md(source) {
        let level = Level::from_md_number(sb.level).map_or_else(
            || format!("md level {}", sb.level),
            |l| l.name().to_string(),
        );
        let role = match sb.role {
            MdRole::Active(n) => format!("member {n}"),
            other => other.to_string(),
        };
        let name = sb.name.as_deref().filter(|n| !n.is_empty());
        return Some(format!(
            "md {} superblock at {:#x}: {role} of {level} array {}{}, events {} {EXAMINE_HINT}",
            sb.version,
            sb.superblock_offset_bytes,
            sb.array_uuid,
            name.map(|n| format!(" ({n})")).unwrap_or_default(),
            sb.events
        ));
    }
    let ddf = probe_ddf(source).ok().flatten()?;
    let vd = ddf
        .configs
        .iter()
        .find_map(|c| c.this_disk_slot.map(|s| (s, c)))
        .map(|(slot, c)| {
            format!(
                ": slot {slot} of {} virtual disk {}",
                c.prl_name,
                c.vd_name.as_deref().unwrap_or(&c.vd_guid)
            )
        });
    Some(format!(
        "DDF {} metadata, container {}{} {EXAMINE_HINT}",
        ddf.revision,
        ddf.header_guid,
        vd.unwrap_or_default()
    ))
}

/// Opens every member, wrapping failures in [`Error::ArrayMember`].
fn open_members(
    registry: &Registry,
    members: &[Option<MemberSpec>],
    opts: &OpenOptions,
    label: &str,
) -> Result<Vec<Option<Opened>>> {
    let mut opened: Vec<Option<Opened>> = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        let Some(m) = m else {
            opened.push(None);
            continue;
        };
        let o = match &m.mapfile {
            Some(map) => registry.open_rescued(&m.path, map, opts),
            None => registry.open(&m.path, opts),
        }
        .map_err(|e| Error::ArrayMember {
            array: label.to_string(),
            member: i,
            path: m.path.clone(),
            source: Box::new(e),
        })?;
        opened.push(Some(o));
    }
    Ok(opened)
}

/// Assembles `geometry` over members already opened (by image index).
fn assemble(geometry: Geometry, opened: Vec<Option<Opened>>, label: &str) -> Result<OpenedArray> {
    let sources: Vec<Option<SharedSource>> = opened
        .iter()
        .map(|o| o.as_ref().map(|o| o.source.clone()))
        .collect();
    let array = RaidArray::new(geometry, sources).map_err(|source| Error::ArrayAssembly {
        array: label.to_string(),
        source,
    })?;
    let array = Arc::new(array.with_name(label));
    let mut segments = Vec::new();
    let mut notes = vec![format!("geometry: {}", array.geometry().describe())];
    let g = array.geometry();
    for (slot, s) in g.slots.iter().enumerate() {
        let Some(o) = s.image.and_then(|i| opened.get(i)).and_then(|o| o.as_ref()) else {
            notes.push(format!("slot {slot}: missing"));
            continue;
        };
        let size = array.mapping().slot_sizes()[slot];
        let mut note = format!(
            "slot {slot}: {} ({}, {} bytes from offset {:#x})",
            o.path.display(),
            o.format.name,
            size,
            s.data_offset
        );
        if let Some(r) = &o.rescue {
            note.push_str(&format!(
                ", mapfile {} ({} rescued)",
                r.path().display(),
                human_size(r.rescued_bytes())
            ));
        }
        notes.push(note);
        let end = s.data_offset.saturating_add(size);
        if end > o.source.len() {
            notes.push(format!(
                "slot {slot}: the member ends {} bytes before its data area does: \
                 those bytes read as unreadable (rebuilt where the redundancy allows)",
                end - o.source.len()
            ));
        }
        for n in o
            .notes
            .iter()
            .filter(|n| *n != NO_SIGNATURE_NOTE && !n.ends_with(EXAMINE_HINT))
        {
            notes.push(format!("slot {slot}: {n}"));
        }
        segments.extend(o.segments.iter().cloned());
        segments.extend(o.rescue.as_ref().map(|r| r.path().to_path_buf()));
    }
    let missing = array.missing_slots();
    if !missing.is_empty() {
        let can = missing.len() <= g.redundancy();
        notes.push(format!(
            "{} of {} members missing: {}",
            missing.len(),
            g.slots.len(),
            if can {
                "their data is rebuilt from the others on every read"
            } else {
                "more than the redundancy allows: their data reads as unreadable"
            }
        ));
    }
    let m = array.mapping();
    if m.array_size() != m.capacity() {
        notes.push(format!(
            "array size {} bytes set explicitly (the members hold {} bytes)",
            m.array_size(),
            m.capacity()
        ));
    }
    let source: SharedSource = array.clone();
    let opened_array = Opened {
        path: PathBuf::from(label),
        source,
        format: ARRAY_FORMAT,
        detected: None,
        notes,
        segments,
        device: None,
        rescue: None,
        metadata: Default::default(),
    };
    Ok(OpenedArray {
        opened: opened_array,
        array,
        members: opened,
    })
}

/// Opens the recipe at `path` as the array it describes, with the
/// [builtin](Registry::builtin) registry for the members.
pub fn open_recipe(path: &Path, opts: &OpenOptions) -> Result<OpenedArray> {
    let recipe = Recipe::load(path)?;
    open_parsed_recipe(
        &Registry::builtin(),
        path,
        &recipe,
        opts,
        vec![path.to_path_buf()],
    )
}

/// True when `path` is a recipe file (by content, as the probe decides).
pub fn is_recipe(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() > MAX_RECIPE_BYTES {
        return false;
    }
    std::fs::read(path).is_ok_and(|b| sniff(&b))
}

thread_local! {
    /// Canonical paths of the recipes being opened on this thread.
    static OPENING: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// Pops the recipe off the stack of recipes being opened when dropped.
struct Nesting;

impl Drop for Nesting {
    fn drop(&mut self) {
        OPENING.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

fn enter(path: &Path) -> Result<Nesting> {
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let err = |reason: String| platter_raid::Error::Recipe {
        path: path.to_path_buf(),
        reason,
    };
    OPENING.with(|s| {
        let mut s = s.borrow_mut();
        if s.contains(&canon) {
            return Err(err(
                "it names itself as a member, directly or through another recipe".into(),
            ));
        }
        if s.len() >= MAX_NESTING {
            return Err(err(format!("recipes nested more than {MAX_NESTING} deep")));
        }
        s.push(canon);
        Ok(())
    })?;
    Ok(Nesting)
}

fn open_parsed_recipe(
    registry: &Registry,
    path: &Path,
    recipe: &Recipe,
    opts: &OpenOptions,
    extra_segments: Vec<PathBuf>,
) -> Result<OpenedArray> {
    let _nesting = enter(path)?;
    let geometry = recipe.geometry()?;
    let members: Vec<Option<MemberSpec>> = recipe
        .resolve(path)
        .into_iter()
        .map(|m| {
            m.map(|m| MemberSpec {
                path: m.path,
                mapfile: m.mapfile,
            })
        })
        .collect();
    let label = format!("recipe {}", path.display());
    // Check the members' lengths before the geometry complains about them.
    let opened_members = open_members(registry, &members, opts, &label)?;
    let lens: Vec<Option<u64>> = opened_members
        .iter()
        .map(|o| o.as_ref().map(|o| o.source.len()))
        .collect();
    recipe.check_member_lengths(path, &lens)?;
    let mut arr = assemble(geometry, opened_members, &label)?;
    arr.opened.path = path.to_path_buf();
    arr.opened.format = RECIPE_FORMAT;
    arr.opened.detected = Some(RECIPE_FORMAT);
    let mut segments = extra_segments;
    segments.append(&mut arr.opened.segments);
    arr.opened.segments = segments;
    if let Some(c) = &recipe.comment {
        arr.opened.notes.insert(0, format!("comment: {c}"));
    }
    Ok(arr)
}

/// Recognises a recipe by its content: a JSON object of at most
/// [`MAX_RECIPE_BYTES`] with a `"platter_recipe"` key; opens it as the
/// array (members through the [builtin](Registry::builtin) registry).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecipeProbe;

impl FormatProbe for RecipeProbe {
    fn name(&self) -> &'static str {
        RECIPE_FORMAT.name
    }

    fn probe(&self, ctx: &ProbeContext) -> Option<Confidence> {
        (ctx.len() <= MAX_RECIPE_BYTES && sniff(ctx.head())).then_some(Confidence::Likely)
    }

    fn open(&self, ctx: &ProbeContext) -> Result<Opened> {
        let path = ctx.path();
        let len = usize::try_from(ctx.len()).unwrap_or(usize::MAX);
        let mut bytes = vec![0u8; len.min(MAX_RECIPE_BYTES as usize)];
        ctx.base().read_exact_at(&mut bytes, 0)?;
        let text = String::from_utf8(bytes).map_err(|e| platter_raid::Error::Recipe {
            path: path.to_path_buf(),
            reason: format!(
                "not UTF-8 text (invalid byte at offset {:#x})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        let recipe = Recipe::parse(&text, path)?;
        let arr = open_parsed_recipe(
            &Registry::builtin(),
            path,
            &recipe,
            ctx.options(),
            ctx.segments().to_vec(),
        )?;
        Ok(arr.opened)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    /// A RAID0 recipe over two members of 2 × 512 bytes.
    fn raid0_recipe(dir: &Path, name: &str, a: &str, b: &str) -> PathBuf {
        let text = format!(
            r#"{{"platter_recipe": 1, "level": "raid0", "chunk_bytes": 512,
               "members": [{{"path": "{a}"}}, {{"path": "{b}"}}]}}"#
        );
        write(dir, name, text.as_bytes())
    }

    #[test]
    fn recipes_nest_and_protect_every_member() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        // Two RAID0 halves, mirrored: RAID 0+1.
        for (name, byte) in [("a0", 1u8), ("a1", 2), ("b0", 1), ("b1", 2)] {
            write(d, name, &[byte; 1024]);
        }
        raid0_recipe(d, "a.json", "a0", "a1");
        raid0_recipe(d, "b.json", "b0", "b1");
        let outer = write(
            d,
            "outer.json",
            br#"{"platter_recipe": 1, "level": "raid1",
                "members": [{"path": "a.json"}, {"path": "b.json"}]}"#,
        );
        let opened = crate::open(&outer, &OpenOptions::default()).unwrap();
        assert_eq!(opened.format, RECIPE_FORMAT);
        assert_eq!(opened.source.len(), 2048);
        let mut buf = vec![0u8; 2048];
        opened.source.read_exact_at(&mut buf, 0).unwrap();
        // Chunks alternate between the two members of each half.
        assert_eq!((buf[0], buf[512], buf[1024], buf[1536]), (1, 2, 1, 2));
        // Writing onto any file the array reads is refused.
        for f in ["outer.json", "a.json", "b1"] {
            assert!(opened.check_output_path(&d.join(f)).is_err(), "{f}");
        }
        assert!(opened.check_output_path(&d.join("new.img")).is_ok());
        assert!(opened.notes.iter().any(|n| n.contains("raid1[2 members]")));
    }

    #[test]
    fn a_recipe_cycle_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "m", &[0u8; 1024]);
        raid0_recipe(d, "x.json", "m", "y.json");
        raid0_recipe(d, "y.json", "m", "x.json");
        let err = open_recipe(&d.join("x.json"), &OpenOptions::default()).unwrap_err();
        let mut chain = err.to_string();
        let mut src = std::error::Error::source(&err);
        while let Some(e) = src {
            chain.push_str(": ");
            chain.push_str(&e.to_string());
            src = e.source();
        }
        assert!(chain.contains("names itself as a member"), "{chain}");
    }

    /// Decompresses member `k` of the real md array `name` (fixtures/raid).
    fn real_member(dir: &Path, name: &str, k: usize) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../fixtures/raid/{name}/m{k}.img.xz"));
        let out = dir.join(format!("{name}-m{k}.img"));
        let status = std::process::Command::new("xz")
            .arg("-dc")
            .arg(&src)
            .stdout(fs::File::create(&out).unwrap())
            .status()
            .expect("run xz");
        assert!(status.success(), "xz -dc {}", src.display());
        out
    }

    #[test]
    fn metadata_assembly_keeps_the_members_used_and_guards_every_one() {
        let tmp = tempfile::tempdir().unwrap();
        let m: Vec<PathBuf> = (0..4)
            .map(|k| real_member(tmp.path(), "stale-r5", k))
            .collect();
        // Given in reverse: the stale m2 is argument 1.
        let specs: Vec<MemberSpec> = m
            .iter()
            .rev()
            .map(|p| MemberSpec {
                path: p.clone(),
                mapfile: None,
            })
            .collect();
        let (arr, plan) = open_array_from_metadata(
            &Registry::builtin(),
            &specs,
            &PlanOptions::default(),
            &OpenOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.excluded.len(), 1);
        assert_eq!(plan.excluded[0].image, 1);
        // The array holds the three fresh members, each in its own slot.
        assert_eq!(arr.members.len(), 3);
        let g = arr.array.geometry();
        for slot in [0, 1, 3] {
            let i = g.slots[slot].image.unwrap();
            assert_eq!(arr.members[i].as_ref().unwrap().path, m[slot]);
        }
        assert_eq!(arr.array.missing_slots(), vec![2]);
        assert_eq!(arr.opened.source.len(), 6_094_848);
        assert!(arr.opened.notes[0].starts_with("assembled from md 1.2 metadata"));
        assert!(arr.opened.notes.iter().any(|n| n.starts_with("left out: ")));
        // Outputs are refused onto the member left out as well.
        for p in &m {
            assert!(arr.opened.check_output_path(p).is_err(), "{}", p.display());
        }
        // Opened alone, a member says what it is.
        let one = crate::open(&m[2], &OpenOptions::default()).unwrap();
        assert!(
            one.notes.iter().any(|n| n
                .starts_with("md 1.2 superblock at 0x1000: member 2 of raid5 array 068fa514:")
                && n.contains("events 37")),
            "{:?}",
            one.notes
        );
        assert!(!arr.opened.notes.iter().any(|n| n.ends_with(EXAMINE_HINT)));
    }

    #[test]
    fn only_recipes_are_recognised() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let other = write(d, "other.json", br#"{"level": "raid5", "members": []}"#);
        let opened = crate::open(&other, &OpenOptions::default()).unwrap();
        assert_eq!(opened.format, Format::RAW);
        assert!(!is_recipe(&other));
        // A disk image larger than any recipe, even one that starts like one.
        let mut big = br#"{"platter_recipe": 1}"#.to_vec();
        big.resize(MAX_RECIPE_BYTES as usize + 1, b' ');
        let big = write(d, "big.img", &big);
        assert_eq!(
            crate::open(&big, &OpenOptions::default()).unwrap().format,
            Format::RAW
        );
        assert!(!is_recipe(&big));
    }
}
