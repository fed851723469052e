//! `platter raid assemble`: write the assembled array (and/or its recipe).
//!
//! Assembled from metadata, the report starts with the plan: the metadata
//! read, members left out and why, missing slots and every finding; a
//! recipe written then carries that geometry (and a comment saying where
//! it came from) so it can be edited.
//!
//! The output follows the rules of [`crate::output`]; every member, its
//! segments and mapfiles, and the recipe read count as the source. The exit
//! status is 3 when some of the array could not be read or rebuilt: the
//! report lists those array ranges, which were filled with `--fill`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platter_core::size::human_size;
use platter_hash::{CopyOptions, Digest, HashAlg, hash_source};
use platter_open::OpenedArray;
use platter_raid::assemble::MetadataPlan;
use platter_raid::recipe::{Recipe, RecipeMember};
use serde::Serialize;

use super::ArrayInput;
use super::args::AssembleArgs;
use crate::args::{GlobalOpts, exit};
use crate::info::print_report;
use crate::output::{Output, check_not_output, same_file, write_small_file};
use crate::progress::bytes_bar;
use crate::rescue::sectors;
use crate::table::{Align, Table};

/// One member of the report.
#[derive(Debug, Serialize)]
pub struct MemberReport {
    /// The slot (md role).
    pub slot: usize,
    /// The member image, or `None` when missing.
    pub path: Option<PathBuf>,
    /// How it was read (`raw`, `split-raw`, …).
    pub format: Option<&'static str>,
    /// Its length in bytes.
    pub image_bytes: Option<u64>,
    /// Where the array data starts on it.
    pub data_offset_bytes: u64,
    /// Usable bytes from the data offset (after md's rounding).
    pub size_bytes: u64,
    /// Its ddrescue mapfile.
    pub mapfile: Option<PathBuf>,
}

/// The members of `arr`, by slot.
pub fn member_reports(arr: &OpenedArray) -> Vec<MemberReport> {
    let g = arr.array.geometry();
    let sizes = arr.array.mapping().slot_sizes();
    g.slots
        .iter()
        .enumerate()
        .map(|(slot, s)| {
            let m = s
                .image
                .and_then(|i| arr.members.get(i))
                .and_then(|m| m.as_ref());
            MemberReport {
                slot,
                path: m.map(|m| m.path.clone()),
                format: m.map(|m| m.format.name),
                image_bytes: m.map(|m| m.source.len()),
                data_offset_bytes: s.data_offset,
                size_bytes: sizes[slot],
                mapfile: m.and_then(|m| m.rescue.as_ref().map(|r| r.path().to_path_buf())),
            }
        })
        .collect()
}

/// What `platter raid assemble --json` prints. Field names are stable.
#[derive(Debug, Serialize)]
struct AssembleReport<'a> {
    /// The plan, when assembled from the members' metadata.
    metadata: Option<&'a MetadataPlan>,
    geometry: String,
    level: String,
    layout: String,
    chunk_bytes: u64,
    recipe: Option<&'a Path>,
    members: Vec<MemberReport>,
    array_size_bytes: u64,
    recipe_out: Option<&'a Path>,
    output: Option<PathBuf>,
    bytes: Option<u64>,
    digests: Vec<Digest>,
    rebuilt_from_parity_bytes: u64,
    rebuilt_from_mirror_bytes: u64,
    fill: u8,
    unreadable: Vec<Range>,
    unreadable_bytes: u64,
}

/// An array byte range.
#[derive(Debug, Serialize)]
struct Range {
    offset: u64,
    len: u64,
}

/// `platter raid assemble`.
pub fn assemble(g: &GlobalOpts, a: &AssembleArgs) -> anyhow::Result<u8> {
    if a.output.is_none() && a.recipe_out.is_none() {
        bail!(
            "nothing to write: give -o OUT (or -o - for standard output) for the array, \
             and/or --recipe-out FILE for its recipe"
        );
    }
    if let (Some(r), Some(o)) = (&a.recipe_out, &a.output) {
        let same = r == o || std::fs::metadata(o).is_ok_and(|m| same_file(r, &m));
        if same {
            bail!(
                "--recipe-out {} is the output itself: give it another name",
                r.display()
            );
        }
    }
    let ArrayInput { arr, recipe, plan } = if a.auto {
        super::detect::open_auto(g, &a.members, a.hint.as_deref())?
    } else {
        super::open_from_args(g, &a.members, &a.geometry)?
    };
    let out = a
        .output
        .as_deref()
        .map(|o| Output::open(&arr.opened, o, a.force, "array"))
        .transpose()?;
    if let Some(r) = &a.recipe_out {
        let written = match &out {
            Some(o) => check_not_output("--recipe-out", r, o.file()),
            None => Ok(()),
        }
        .and_then(|()| write_recipe(g, a, &arr, plan.as_ref(), r));
        if let Err(err) = written {
            if let Some(o) = out {
                o.discard();
            }
            return Err(err);
        }
    }
    let mut report = AssembleReport {
        metadata: plan.as_ref(),
        geometry: arr.array.geometry().describe(),
        level: arr.array.geometry().level.to_string(),
        layout: arr.array.geometry().layout.to_string(),
        chunk_bytes: arr.array.geometry().chunk_bytes,
        recipe: recipe.as_deref(),
        members: member_reports(&arr),
        array_size_bytes: arr.array.mapping().array_size(),
        recipe_out: a.recipe_out.as_deref(),
        output: None,
        bytes: None,
        digests: Vec::new(),
        rebuilt_from_parity_bytes: 0,
        rebuilt_from_mirror_bytes: 0,
        fill: a.fill,
        unreadable: Vec::new(),
        unreadable_bytes: 0,
    };
    let mut to_stdout = false;
    if let Some(out) = out {
        to_stdout = out.to_stdout;
        report.output = Some(out.name());
        let opts = CopyOptions {
            block_size: a.block_size.0,
            algs: a.hash.0.clone(),
            fill: a.fill,
        };
        let bar = bytes_bar(report.array_size_bytes, g.quiet, "array".into());
        let copied = out.copy_from(&*arr.array, &opts, &bar, || {
            format!("assembling {}", report.geometry)
        })?;
        let stats = arr.array.repair_stats();
        report.bytes = Some(copied.bytes);
        report.digests = copied.digests.clone();
        report.rebuilt_from_parity_bytes = stats.rebuilt_from_parity_bytes;
        report.rebuilt_from_mirror_bytes = stats.rebuilt_from_mirror_bytes;
        report.unreadable_bytes = copied.unreadable_bytes();
        report.unreadable = copied
            .unreadable
            .iter()
            .map(|e| Range {
                offset: e.offset,
                len: e.len,
            })
            .collect();
    }
    // With `-o -` the data owns stdout; the report goes to stderr.
    let sector = platter_core::Source::sector_size(&*arr.array).logical;
    print_report(&report, a.json, to_stdout, |w, r| write_human(w, r, sector))?;
    Ok(if report.unreadable.is_empty() {
        exit::OK
    } else {
        exit::UNREADABLE
    })
}

/// Writes the recipe of `arr` to `path`, member paths relative to it.
fn write_recipe(
    g: &GlobalOpts,
    a: &AssembleArgs,
    arr: &OpenedArray,
    plan: Option<&MetadataPlan>,
    path: &Path,
) -> anyhow::Result<()> {
    let mut images = Vec::with_capacity(arr.members.len());
    for m in &arr.members {
        let Some(m) = m else {
            images.push(RecipeMember::default());
            continue;
        };
        let sha256 = if a.member_hashes {
            Some(member_sha256(g, &m.path)?)
        } else {
            None
        };
        images.push(RecipeMember {
            path: Some(m.path.clone()),
            image_bytes: Some(m.source.len()),
            mapfile: m.rescue.as_ref().map(|r| r.path().to_path_buf()),
            sha256,
            ..RecipeMember::default()
        });
    }
    let mut recipe = Recipe::from_geometry(arr.array.geometry(), &images)?;
    recipe.array_size_bytes = Some(arr.array.mapping().array_size());
    recipe.comment = plan.map(recipe_comment);
    recipe.relative_paths(path);
    let text = recipe.to_json().with_context(|| {
        format!(
            "cannot write the recipe {}: JSON needs UTF-8 paths",
            path.display()
        )
    })?;
    write_small_file(&arr.opened, path, &text, a.force, "--recipe-out")
        .with_context(|| format!("cannot write the recipe {}", path.display()))
}

/// Where a recipe written from metadata came from.
fn recipe_comment(plan: &MetadataPlan) -> String {
    let mut c = format!("from metadata: {}", super::metadata::summary(plan));
    for e in &plan.excluded {
        c.push_str("; left out ");
        c.push_str(&super::metadata::exclusion_text(e));
    }
    c
}

/// The sha256 of a member's file(s) as stored (`sha256sum` of the file; a
/// split set's segments back to back), not of what a mapfile lets through.
fn member_sha256(g: &GlobalOpts, path: &Path) -> anyhow::Result<String> {
    let base = platter_open::base_context(path, &crate::open_options(g))?;
    let src = base.base();
    let opts = CopyOptions {
        algs: vec![HashAlg::Sha256],
        ..CopyOptions::default()
    };
    let bar = bytes_bar(src.len(), g.quiet, format!("hashing {}", path.display()));
    let r = hash_source(&**src, &opts, &|d| bar.set_position(d));
    bar.finish_and_clear();
    let r = r.with_context(|| format!("cannot hash member {}", path.display()))?;
    if !r.unreadable.is_empty() {
        bail!(
            "member {} has unreadable sectors: its sha256 cannot be computed (drop --member-hashes)",
            path.display()
        );
    }
    r.digest(HashAlg::Sha256)
        .map(|d| d.hex.clone())
        .context("no sha256 computed")
}

fn write_human(w: &mut dyn Write, r: &AssembleReport<'_>, sector: u32) -> io::Result<()> {
    let field = |w: &mut dyn Write, label: &str, value: &dyn std::fmt::Display| {
        writeln!(w, "{:<17}{value}", format!("{label}:"))
    };
    if let Some(plan) = r.metadata {
        super::metadata::write_head(w, plan)?;
    }
    field(w, "array", &r.geometry)?;
    if let Some(p) = r.recipe {
        field(w, "recipe", &p.display())?;
    }
    write_members(w, &r.members)?;
    if let Some(plan) = r.metadata {
        super::metadata::write_decisions(w, plan)?;
    }
    field(
        w,
        "array size",
        &format_args!(
            "{} bytes ({})",
            r.array_size_bytes,
            human_size(r.array_size_bytes)
        ),
    )?;
    if let Some(p) = r.recipe_out {
        field(w, "recipe written", &p.display())?;
    }
    let Some(out) = &r.output else {
        return Ok(());
    };
    field(w, "output", &out.display())?;
    let bytes = r.bytes.unwrap_or(0);
    field(
        w,
        "bytes written",
        &format_args!("{bytes} ({})", human_size(bytes)),
    )?;
    for d in &r.digests {
        field(w, &d.alg.to_string(), &d.hex)?;
    }
    field(
        w,
        "rebuilt",
        &format_args!(
            "{} bytes from parity, {} bytes from mirrors",
            r.rebuilt_from_parity_bytes, r.rebuilt_from_mirror_bytes
        ),
    )?;
    if r.unreadable.is_empty() {
        return field(w, "unreadable", &"none");
    }
    field(
        w,
        "unreadable",
        &format_args!(
            "{} bytes in {} ranges, filled with {:#04x}:",
            r.unreadable_bytes,
            r.unreadable.len(),
            r.fill
        ),
    )?;
    for e in &r.unreadable {
        writeln!(
            w,
            "  array offset {:#x}, {} bytes ({})",
            e.offset,
            e.len,
            sectors(e.offset, e.len, sector)
        )?;
    }
    Ok(())
}

/// The members as a table.
pub fn write_members(w: &mut dyn Write, members: &[MemberReport]) -> io::Result<()> {
    writeln!(w, "members:")?;
    let mut t = Table::new(&[
        ("slot", Align::Right),
        ("offset", Align::Right),
        ("size", Align::Right),
        ("format", Align::Left),
        ("member", Align::Left),
    ]);
    for m in members {
        let member = match (&m.path, &m.mapfile) {
            (Some(p), Some(map)) => format!("{} (mapfile {})", p.display(), map.display()),
            (Some(p), None) => p.display().to_string(),
            (None, _) => "missing".into(),
        };
        t.row(vec![
            m.slot.to_string(),
            format!("{:#x}", m.data_offset_bytes),
            m.size_bytes.to_string(),
            m.format.unwrap_or("-").to_string(),
            member,
        ]);
    }
    t.write(w, "  ")
}
