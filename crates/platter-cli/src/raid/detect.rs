//! `platter raid detect`: infer an array's geometry from its members alone,
//! and the detection step of `platter raid assemble --auto`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platter_core::Source;
use platter_core::size::{human_size, parse_size};
use platter_open::{Opened, Registry};
use platter_raid::geometry::{Geometry, Level, ParityLayout};
use platter_raid::recipe::{Recipe, RecipeMember};
use platter_raid_infer::report::describe;
use platter_raid_infer::{Hint, Options, Report, Verdict, infer};

use super::args::DetectArgs;
use crate::args::{GlobalOpts, exit};
use crate::info::print_json;
use crate::output::write_small_file;

/// Parses `--hint level=5,chunk=64K,layout=left-symmetric,members=4,offset=1M`.
pub fn parse_hint(text: &str) -> anyhow::Result<Hint> {
    let mut h = Hint::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .with_context(|| format!("--hint: {part:?} is not KEY=VALUE"))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "level" => {
                h.level = Some(
                    v.parse::<Level>()
                        .with_context(|| format!("--hint level={v}"))?,
                );
            }
            "layout" => {
                h.layout = Some(
                    v.parse::<ParityLayout>()
                        .with_context(|| format!("--hint layout={v}"))?,
                );
            }
            "chunk" => {
                h.chunk_bytes =
                    Some(parse_size(v, 512).with_context(|| format!("--hint chunk={v}"))?);
            }
            "members" | "slots" | "disks" => {
                h.slots = Some(
                    v.parse()
                        .with_context(|| format!("--hint {k}={v}: not a number"))?,
                );
            }
            "offset" => {
                h.data_offset_bytes =
                    Some(parse_size(v, 512).with_context(|| format!("--hint offset={v}"))?);
            }
            other => bail!(
                "--hint: unknown key {other:?} (known: level, layout, chunk, members, offset)"
            ),
        }
    }
    Ok(h)
}

/// The members, opened through the registry (any format), with the report.
pub struct Detected {
    /// The members as opened.
    pub members: Vec<Opened>,
    /// The inference report.
    pub report: Report,
}

/// Opens `paths` and infers their geometry.
pub fn run_detect(
    g: &GlobalOpts,
    paths: &[PathBuf],
    hint: Hint,
    top: usize,
) -> anyhow::Result<Detected> {
    let opts = crate::open_options(g);
    let reg = Registry::builtin();
    let mut members = Vec::with_capacity(paths.len());
    for p in paths {
        members.push(
            reg.open(p, &opts)
                .with_context(|| format!("cannot open member {}", p.display()))?,
        );
    }
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            if same_path(a, b) {
                bail!(
                    "{} is given twice: each member image may appear once",
                    b.display()
                );
            }
        }
    }
    let sources: Vec<&dyn Source> = members.iter().map(|m| &*m.source as &dyn Source).collect();
    let report = infer(
        &sources,
        &Options {
            top: top.max(1),
            hint,
            ..Options::default()
        },
    )
    .context("inference failed")?;
    Ok(Detected { members, report })
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The recipe of the top candidate.
pub fn recipe_of(geometry: &Geometry, members: &[Opened]) -> anyhow::Result<Recipe> {
    let images: Vec<RecipeMember> = members
        .iter()
        .map(|m| RecipeMember {
            path: Some(m.path.clone()),
            image_bytes: Some(m.source.len()),
            ..RecipeMember::default()
        })
        .collect();
    Ok(Recipe::from_geometry(geometry, &images)?)
}

/// `platter raid detect`.
pub fn detect(g: &GlobalOpts, a: &DetectArgs) -> anyhow::Result<u8> {
    let hint = match &a.hint {
        Some(h) => parse_hint(h)?,
        None => Hint::default(),
    };
    let d = run_detect(g, &a.members, hint, a.top)?;
    let r = &d.report;
    if let Some(path) = &a.recipe_out {
        let Some(top) = r.candidates.first().filter(|_| r.verdict == Verdict::Found) else {
            bail!(
                "not writing {}: {}",
                path.display(),
                verdict_text(&r.verdict)
            );
        };
        let mut recipe = recipe_of(&top.geometry, &d.members)?;
        recipe.comment = Some(format!(
            "detected by platter raid detect: {}",
            describe(top)
        ));
        recipe.relative_paths(path);
        let text = recipe
            .to_json()
            .context("the recipe needs UTF-8 member paths")?;
        for m in &d.members[1..] {
            m.check_output_path(path)?;
        }
        write_small_file(&d.members[0], path, &text, a.force, "--recipe-out")?;
    }
    let mut out = io::stdout().lock();
    if a.json {
        print_json(&mut out, r)?;
    } else {
        write_human(&mut out, &d, a)?;
    }
    out.flush()?;
    Ok(exit::OK)
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Found => "found".into(),
        Verdict::Ambiguous { reason } => format!("ambiguous: {reason}"),
        Verdict::NoInformativeData { reason } => format!("no informative data: {reason}"),
        Verdict::NoParity { reason } => format!("undecided: {reason}"),
        Verdict::Unsupported { reason } => format!("undecided: {reason}"),
    }
}

fn write_human(w: &mut dyn Write, d: &Detected, a: &DetectArgs) -> io::Result<()> {
    let r = &d.report;
    writeln!(w, "verdict: {}", verdict_text(&r.verdict))?;
    if let Some(s) = &r.stale {
        let name = d.members.get(s.member).map_or_else(
            || format!("member {}", s.member),
            |m| m.path.display().to_string(),
        );
        writeln!(
            w,
            "stale: {name} (slot {}) holds old data: {}; the answer leaves it out, assemble without it",
            s.slot, s.evidence
        )?;
    }
    writeln!(
        w,
        "sampled: {} of each member ({} members, smallest {})",
        human_size(r.sampled_bytes_per_member),
        r.member_bytes.len(),
        human_size(r.member_bytes.iter().copied().min().unwrap_or(0))
    )?;
    for (i, c) in r.candidates.iter().enumerate() {
        writeln!(w)?;
        writeln!(
            w,
            "#{} {}  score {:.3}{}",
            i + 1,
            describe(c),
            c.score,
            if i == 0 {
                format!("  margin {:.3}", c.margin)
            } else {
                String::new()
            }
        )?;
        let per_slot = c
            .geometry
            .slots
            .iter()
            .any(|s| s.image.is_some() && s.data_offset != c.data_offset_bytes);
        for (slot, img) in c.order.iter().enumerate() {
            let name = img
                .and_then(|i| d.members.get(i))
                .map_or("missing".to_string(), |m| m.path.display().to_string());
            // Members whose data starts differ: each slot's start.
            match c
                .geometry
                .slots
                .get(slot)
                .filter(|s| per_slot && s.image.is_some())
            {
                Some(s) => writeln!(
                    w,
                    "   slot {slot}: {name} (data from {})",
                    human_size(s.data_offset)
                )?,
                None => writeln!(w, "   slot {slot}: {name}")?,
            }
        }
        let e = &c.evidence;
        writeln!(
            w,
            "   evidence: {} informative sectors, parity {:.1}%, Q located {:.1}%, mirror {:.1}%",
            e.informative_sectors,
            e.parity_consistent_rate * 100.0,
            e.q_located_rate * 100.0,
            e.mirror_rate * 100.0
        )?;
        if let (Some(x), Some(t)) = (e.anchors_explained, e.anchors_considered) {
            writeln!(
                w,
                "   structures: {x} of {t} self-locating structures explained"
            )?;
        }
        if let Some((a, d)) = e.parity_copies.filter(|&(a, d)| a + d > 0) {
            writeln!(
                w,
                "   parity copies: {a} of {} sparse-row copies put parity where this layout does",
                a + d
            )?;
        }
        if let Some(q) = e.q_consistent_rate {
            writeln!(
                w,
                "   RAID6 P+Q recomputed on {:.1}% of checked sectors",
                q * 100.0
            )?;
        }
        if let Some(cs) = e.continuity_score {
            writeln!(w, "   continuity across chunk boundaries {cs:.3}")?;
        }
        if let Some(v) = &e.validation {
            writeln!(
                w,
                "   validation: {} of {} checks passed ({})",
                v.passed,
                v.checks,
                v.found.join("; ")
            )?;
        }
    }
    if let Some(first) = r.candidates.first() {
        if !first.evidence.structures.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "structures found: {}",
                first.evidence.structures.join(", ")
            )?;
        }
    }
    if let Some(p) = &a.recipe_out {
        writeln!(w, "recipe written to {}", p.display())?;
    }
    Ok(())
}

/// `platter raid assemble --auto`: detect, then open the array found.
pub fn open_auto(
    g: &GlobalOpts,
    paths: &[PathBuf],
    hint: Option<&str>,
) -> anyhow::Result<super::ArrayInput> {
    let hint = match hint {
        Some(h) => parse_hint(h)?,
        None => Hint::default(),
    };
    let d = run_detect(g, paths, hint, 2)?;
    let r = &d.report;
    let Some(top) = r.candidates.first().filter(|_| r.verdict == Verdict::Found) else {
        bail!(
            "--auto: the geometry could not be inferred with confidence ({}); run `platter raid detect` to see the candidates, then give --hint or the geometry explicitly",
            verdict_text(&r.verdict)
        );
    };
    eprintln!("platter: detected {}", describe(top));
    let specs: Vec<Option<platter_open::MemberSpec>> = paths
        .iter()
        .map(|p| {
            Some(platter_open::MemberSpec {
                path: p.clone(),
                mapfile: None,
            })
        })
        .collect();
    let arr = platter_open::open_array(
        &Registry::builtin(),
        top.geometry.clone(),
        &specs,
        &crate::open_options(g),
        "array",
    )?;
    Ok(super::ArrayInput {
        arr,
        recipe: None,
        plan: None,
    })
}
