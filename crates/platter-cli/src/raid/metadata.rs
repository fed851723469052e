//! Assembly from the members' md/DDF metadata on the command line: opening
//! the members, resolving `--member-mapfile SLOT=FILE` against the roles
//! the metadata gives, and printing the plan.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use platter_open::{MemberSpec, OpenedArray, Registry, open_array_from_metadata};
use platter_raid::assemble::{AssembleError, Excluded, ExclusionReason, MetadataPlan, PlanOptions};

use super::args::GeometryArgs;
use super::{is_missing, parse_member_mapfiles};
use crate::args::GlobalOpts;

/// Width of the labels in human output (as in `raid assemble`).
const LABEL: usize = 17;

/// Opens the array the metadata of `members` describes. `missing`
/// arguments are skipped: the metadata knows which roles are absent.
pub fn open(
    g: &GlobalOpts,
    members: &[PathBuf],
    geo: &GeometryArgs,
) -> anyhow::Result<(OpenedArray, MetadataPlan)> {
    let opts = crate::open_options(g);
    let mut specs: Vec<MemberSpec> = members
        .iter()
        .filter(|m| !is_missing(m))
        .map(|m| MemberSpec {
            path: m.clone(),
            mapfile: None,
        })
        .collect();
    if specs.is_empty() {
        bail!("no members given (only `missing`): give the member images");
    }
    let maps = parse_member_mapfiles(&geo.member_mapfile)?;
    let plan_options = PlanOptions {
        virtual_disk: geo.virtual_disk.clone(),
    };
    let registry = Registry::builtin();
    let (arr, plan) =
        open_array_from_metadata(&registry, &specs, &plan_options, &opts).map_err(explain)?;
    if maps.is_empty() {
        return Ok((arr, plan));
    }
    // SLOT is a role the metadata gives: find its member, then read every
    // member again, those with a mapfile through it.
    let mut by_slot = Vec::with_capacity(maps.len());
    for (slot, file) in maps {
        let Some(m) = plan.members.iter().find(|m| m.slot == slot) else {
            bail!(
                "--member-mapfile {slot}={}: no member holds slot {slot} of {} ({} slots; \
                 missing: {})",
                file.display(),
                plan.display_name(),
                plan.geometry.slots.len(),
                list_or_none(&plan.missing_slots)
            );
        };
        specs[m.image].mapfile = Some(file);
        by_slot.push((slot, m.image));
    }
    let (arr, again) = open_array_from_metadata(&registry, &specs, &plan_options, &opts)
        .map_err(explain)
        .context("reading the members through their mapfiles")?;
    for (slot, image) in by_slot {
        if !again
            .members
            .iter()
            .any(|m| m.slot == slot && m.image == image)
        {
            bail!(
                "read through its mapfile, {} no longer holds slot {slot}: its metadata \
                 area is not all rescued; give the geometry explicitly",
                specs[image].path.display()
            );
        }
    }
    Ok((arr, again))
}

/// The error of a failed assembly from metadata, with what to do next
/// when there is no metadata to go by.
fn explain(e: platter_open::Error) -> anyhow::Error {
    let no_metadata = matches!(
        &e,
        platter_open::Error::Raid(platter_raid::Error::Assemble(
            AssembleError::NoMetadata { .. }
        ))
    );
    if no_metadata {
        anyhow::anyhow!(
            "{e}. Without metadata give the geometry with --level, --layout and --chunk \
             (and --order, --offset as needed); `platter raid detect` will infer them \
             (not available yet)"
        )
    } else {
        anyhow::Error::new(e).context("cannot assemble the array from the members' metadata")
    }
}

/// `1, 3` or `none`.
fn list_or_none(v: &[usize]) -> String {
    if v.is_empty() {
        return "none".into();
    }
    let s: Vec<String> = v.iter().map(ToString::to_string).collect();
    s.join(", ")
}

/// One line on the metadata: kind, array, freshness.
pub fn summary(plan: &MetadataPlan) -> String {
    let name = plan
        .array_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let counter = match (plan.events, plan.sequence) {
        (Some(e), _) => format!(", events {e}"),
        (None, Some(s)) => format!(", sequence {s}"),
        (None, None) => String::new(),
    };
    format!(
        "{}, array {}{name}{counter}, updated {}",
        plan.source, plan.array_uuid, plan.updated
    )
}

/// Which member was left out and why, in one line.
pub fn exclusion_text(e: &Excluded) -> String {
    match &e.reason {
        ExclusionReason::Stale {
            counter,
            value,
            freshest,
            updated,
            freshest_updated,
        } => format!(
            "{}: stale: {counter} {value} vs {freshest} (last updated {updated}, the others \
             {freshest_updated}); it dropped out earlier and holds old data",
            e.name
        ),
        _ => e.message.clone(),
    }
}

/// The metadata line of the plan (printed before the members).
pub fn write_head(w: &mut dyn Write, plan: &MetadataPlan) -> io::Result<()> {
    writeln!(w, "{:<LABEL$}{}", "metadata:", summary(plan))
}

/// The rest of the plan: members left out and why, missing slots, findings.
pub fn write_decisions(w: &mut dyn Write, plan: &MetadataPlan) -> io::Result<()> {
    if plan.excluded.is_empty() {
        writeln!(w, "{:<LABEL$}none", "left out:")?;
    } else {
        writeln!(w, "left out:")?;
        for e in &plan.excluded {
            writeln!(w, "  {}", exclusion_text(e))?;
        }
    }
    let missing = if plan.missing_slots.is_empty() {
        "none".to_string()
    } else {
        format!(
            "{} (rebuilt from the others on every read)",
            list_or_none(&plan.missing_slots)
        )
    };
    writeln!(w, "{:<LABEL$}{missing}", "missing slots:")?;
    if plan.findings.is_empty() {
        return writeln!(w, "{:<LABEL$}none", "findings:");
    }
    writeln!(w, "findings:")?;
    for f in &plan.findings {
        writeln!(w, "  {:<18} {}", f.code, f.message)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_members_are_explained_with_both_counters() {
        let excluded = |reason| Excluded {
            image: 2,
            name: "m2.img".into(),
            reason,
            message: "m2.img: left out".into(),
        };
        let t = exclusion_text(&excluded(ExclusionReason::Stale {
            counter: "events",
            value: 37,
            freshest: 42,
            updated: "2025-01-01T00:00:00Z".into(),
            freshest_updated: "2025-01-02T00:00:00Z".into(),
        }));
        assert!(
            t.starts_with("m2.img: stale: events 37 vs 42 (last updated 2025-01-01T00:00:00Z"),
            "{t}"
        );
        let t = exclusion_text(&excluded(ExclusionReason::Unidentified));
        assert_eq!(t, "m2.img: left out");
    }

    #[test]
    fn lists() {
        assert_eq!(list_or_none(&[]), "none");
        assert_eq!(list_or_none(&[1, 3]), "1, 3");
    }
}
