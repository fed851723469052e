//! `platter raid …`: assemble, map and scrub arrays.
//!
//! An array is described on the command line by its members and explicit
//! geometry options ([`args::GeometryArgs`]), by one recipe file, or by
//! the members alone, whose md/DDF metadata then gives the geometry
//! ([`open_from_args`] decides which).

pub mod args;
mod assemble;
mod detect;
mod examine;
mod map;
mod metadata;
mod scrub;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platter_core::size::parse_size;
use platter_open::{MemberSpec, OpenedArray, Registry, is_recipe, open_array, open_recipe};
use platter_raid::assemble::MetadataPlan;
use platter_raid::geometry::{DelayedParity, Geometry, Layout, Level, Slot};

use crate::args::GlobalOpts;
use args::{GeometryArgs, RaidCommand};

/// Runs a `platter raid` command.
pub fn run(g: &GlobalOpts, c: &RaidCommand) -> anyhow::Result<u8> {
    match c {
        RaidCommand::Assemble(a) => assemble::assemble(g, a),
        RaidCommand::Examine(a) => examine::examine(g, a),
        RaidCommand::Detect(a) => detect::detect(g, a),
        RaidCommand::Map(a) => map::map(a),
        RaidCommand::Scrub(a) => scrub::scrub(g, a),
    }
}

/// The array the command line names, opened.
pub struct ArrayInput {
    /// The array and its members.
    pub arr: OpenedArray,
    /// The recipe it was read from, if any.
    pub recipe: Option<PathBuf>,
    /// How the members' metadata was read, when the array was assembled
    /// from it (member indexes are those of the non-`missing` arguments).
    pub plan: Option<MetadataPlan>,
}

/// Opens the array of `members` + `geo`, or the recipe given as the only
/// member, or the array the members' md/DDF metadata describes when no
/// geometry is given (explicit geometry overrides metadata completely).
pub fn open_from_args(
    g: &GlobalOpts,
    members: &[PathBuf],
    geo: &GeometryArgs,
) -> anyhow::Result<ArrayInput> {
    if let Some(map) = &g.mapfile {
        bail!(
            "--mapfile {} names the mapfile of one image: give each member's mapfile with \
             --member-mapfile SLOT=FILE",
            map.display()
        );
    }
    let opts = crate::open_options(g);
    if geo.level.is_none() {
        if let [only] = members {
            if is_recipe(only) {
                if geo.any() {
                    bail!(
                        "{} is a recipe, which carries its own geometry: give either the recipe \
                         alone or the members with --level, --layout, --chunk…",
                        only.display()
                    );
                }
                let arr = open_recipe(only, &opts).context("cannot open the recipe")?;
                return Ok(ArrayInput {
                    arr,
                    recipe: Some(only.clone()),
                    plan: None,
                });
            }
        }
        if let Some(flag) = geo.needs_level() {
            bail!(
                "{flag} needs --level: explicit geometry replaces the members' metadata \
                 completely, so give --level (and --layout, --chunk… as needed), or no \
                 geometry option at all to assemble from the md/DDF metadata"
            );
        }
        let (arr, plan) = metadata::open(g, members, geo)?;
        return Ok(ArrayInput {
            arr,
            recipe: None,
            plan: Some(plan),
        });
    }
    if let Some(vd) = &geo.virtual_disk {
        bail!(
            "--virtual-disk {vd} chooses a DDF virtual disk when assembling from metadata; \
             with --level the geometry is given explicitly: drop one of them"
        );
    }
    let (geometry, specs) = geometry_from_args(members, geo)?;
    let arr = open_array(&Registry::builtin(), geometry, &specs, &opts, "array")?;
    Ok(ArrayInput {
        arr,
        recipe: None,
        plan: None,
    })
}

/// The `missing` keyword in member lists.
const MISSING: &str = "missing";

fn is_missing(p: &Path) -> bool {
    p.as_os_str() == MISSING
}

/// Builds the geometry and the member list from explicit options.
fn geometry_from_args(
    members: &[PathBuf],
    geo: &GeometryArgs,
) -> anyhow::Result<(Geometry, Vec<Option<MemberSpec>>)> {
    let level_text = geo.level.as_deref().unwrap_or_default();
    let level: Level = level_text
        .parse()
        .with_context(|| format!("--level {level_text}"))?;
    let layout = match &geo.layout {
        Some(l) => {
            Layout::parse_for(level, l).with_context(|| format!("--layout {l} for {level}"))?
        }
        None => Layout::default_for(level),
    };
    let chunk = match (&geo.chunk, level) {
        (Some(c), _) => parse_size(c, 512).with_context(|| format!("--chunk {c}"))?,
        (None, Level::Raid1) => 0,
        (None, Level::Linear) => 512,
        (None, _) => bail!("--chunk is required for {level} (mdadm's default is 512K)"),
    };
    // Slot -> MEMBER argument index (None: missing).
    let order: Vec<Option<usize>> = match &geo.order {
        Some(text) => {
            let items: Vec<&str> = text.split(',').map(str::trim).collect();
            Geometry::check_member_count(level, items.len() as u64)
                .with_context(|| format!("--order {text}"))?;
            let mut order = Vec::with_capacity(items.len());
            for item in items {
                if item.eq_ignore_ascii_case(MISSING) {
                    order.push(None);
                    continue;
                }
                let i: usize = item.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "--order {text}: {item:?} is neither a member index (from 0) nor `missing`"
                    )
                })?;
                if i >= members.len() {
                    bail!(
                        "--order {text}: member {i} does not exist: {} members were given \
                         (numbered from 0)",
                        members.len()
                    );
                }
                order.push((!is_missing(&members[i])).then_some(i));
            }
            for (i, m) in members.iter().enumerate() {
                if !is_missing(m) && !order.contains(&Some(i)) {
                    bail!(
                        "--order {text} leaves out member {i} ({}): name every member, \
                         or drop the ones not wanted from the command line",
                        m.display()
                    );
                }
            }
            order
        }
        None => {
            Geometry::check_member_count(level, members.len() as u64)
                .context("the members given")?;
            (0..members.len())
                .map(|i| (!is_missing(&members[i])).then_some(i))
                .collect()
        }
    };
    let n = order.len();
    let offsets = per_slot(geo.offset.as_deref(), n, "--offset")?;
    let sizes = per_slot(geo.member_size.as_deref(), n, "--member-size")?;
    let array_size = geo
        .size
        .as_deref()
        .map(|s| parse_size(s, 512).with_context(|| format!("--size {s}")))
        .transpose()?;
    let delayed_parity = geo.delayed.as_deref().map(parse_delayed).transpose()?;
    let geometry = Geometry {
        level,
        layout,
        chunk_bytes: chunk,
        slots: (0..n)
            .map(|s| Slot {
                image: order[s],
                data_offset: offsets.as_ref().map_or(0, |o| o[s]),
                size: sizes.as_ref().map(|v| v[s]),
            })
            .collect(),
        delayed_parity,
        array_size,
    };
    geometry.validate().context("invalid geometry")?;
    let mut specs: Vec<Option<MemberSpec>> = members
        .iter()
        .map(|m| {
            (!is_missing(m)).then(|| MemberSpec {
                path: m.clone(),
                mapfile: None,
            })
        })
        .collect();
    for (slot, file) in parse_member_mapfiles(&geo.member_mapfile)? {
        let Some(Some(image)) = order.get(slot) else {
            bail!(
                "--member-mapfile {slot}={}: slot {slot} has no member (the array has {n} \
                 slots, numbered from 0)",
                file.display()
            );
        };
        if let Some(spec) = specs[*image].as_mut() {
            spec.mapfile = Some(file);
        }
    }
    Ok((geometry, specs))
}

/// The `--member-mapfile SLOT=FILE` items, checked: slot numbers, each
/// slot once.
fn parse_member_mapfiles(items: &[String]) -> anyhow::Result<Vec<(usize, PathBuf)>> {
    let mut out: Vec<(usize, PathBuf)> = Vec::with_capacity(items.len());
    for item in items {
        let (slot, file) = item.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--member-mapfile {item}: expected SLOT=MAPFILE, e.g. 2=m2.map")
        })?;
        let slot: usize = slot.trim().parse().map_err(|_| {
            anyhow::anyhow!("--member-mapfile {item}: {slot:?} is not a slot number")
        })?;
        if out.iter().any(|(s, _)| *s == slot) {
            bail!("--member-mapfile: slot {slot} is given two mapfiles");
        }
        out.push((slot, PathBuf::from(file)));
    }
    Ok(out)
}

/// One size for every slot, or one per slot.
fn per_slot(text: Option<&str>, n: usize, flag: &str) -> anyhow::Result<Option<Vec<u64>>> {
    let Some(text) = text else { return Ok(None) };
    let items: Vec<&str> = text.split(',').collect();
    let values = items
        .iter()
        .map(|s| parse_size(s, 512).with_context(|| format!("{flag} {text}")))
        .collect::<anyhow::Result<Vec<u64>>>()?;
    match values.len() {
        1 => Ok(Some(vec![values[0]; n])),
        len if len == n => Ok(Some(values)),
        len => bail!("{flag} {text}: {len} values for {n} slots: give one, or one per slot"),
    }
}

/// `D` or `D,F`.
pub fn parse_delayed(text: &str) -> anyhow::Result<DelayedParity> {
    let bad = || {
        anyhow::anyhow!("--delayed {text}: expected D or D,F (rows per parity group, first group)")
    };
    let mut it = text.split(',').map(str::trim);
    let d: u32 = it.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let f: u32 = match it.next() {
        Some(s) => s.parse().map_err(|_| bad())?,
        None => d,
    };
    if it.next().is_some() {
        return Err(bad());
    }
    Ok(DelayedParity {
        rows_per_group: d,
        first_group_rows: f,
    })
}

/// `slot N (path)` for messages.
pub fn slot_name(arr: &OpenedArray, slot: usize) -> String {
    let image = arr.array.geometry().slots.get(slot).and_then(|s| s.image);
    match image
        .and_then(|i| arr.members.get(i))
        .and_then(|m| m.as_ref())
    {
        Some(m) => format!("slot {slot} ({})", m.path.display()),
        None => format!("slot {slot} (missing)"),
    }
}
