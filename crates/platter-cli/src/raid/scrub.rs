//! `platter raid scrub`: check parity or copies without writing anything.
//!
//! Exit status: 4 when inconsistent rows are found; else 3 when some member
//! bytes could not be read (those rows were only partly checked); else 0,
//! also when rows were skipped because members are missing (the report
//! says so).

use std::io::{self, Write};
use std::path::PathBuf;

use platter_raid::assemble::MetadataPlan;
use platter_raid::scrub::{Check, ScrubReport, ScrubRun, Verdict, scrub as run_scrub};
use serde::Serialize;

use super::args::ScrubArgs;
use super::assemble::{MemberReport, member_reports, write_members};
use super::{ArrayInput, slot_name};
use crate::args::{GlobalOpts, exit};
use crate::info::print_json;
use crate::progress::bytes_bar;

/// What `platter raid scrub --json` prints. Field names are stable.
#[derive(Debug, Serialize)]
struct ScrubJson<'a> {
    /// The plan, when assembled from the members' metadata.
    metadata: Option<&'a MetadataPlan>,
    recipe: Option<PathBuf>,
    members: Vec<MemberReport>,
    array_size_bytes: u64,
    #[serde(flatten)]
    report: &'a ScrubReport,
}

/// `platter raid scrub`.
pub fn scrub(g: &GlobalOpts, a: &ScrubArgs) -> anyhow::Result<u8> {
    let ArrayInput { arr, recipe, plan } = super::open_from_args(g, &a.members, &a.geometry)?;
    let size = arr.array.mapping().array_size();
    let bar = bytes_bar(size, g.quiet, "scrub".into());
    let report = run_scrub(&arr.array, &|done| bar.set_position(done));
    bar.finish_and_clear();
    let report = report?;
    let mut out = io::stdout().lock();
    if a.json {
        let j = ScrubJson {
            metadata: plan.as_ref(),
            recipe,
            members: member_reports(&arr),
            array_size_bytes: size,
            report: &report,
        };
        print_json(&mut out, &j)?;
    } else {
        if let Some(r) = &recipe {
            writeln!(out, "{:<17}{}", "recipe:", r.display())?;
        }
        if let Some(plan) = &plan {
            super::metadata::write_head(&mut out, plan)?;
        }
        write_human(&mut out, &arr, plan.as_ref(), &report)?;
    }
    out.flush()?;
    Ok(if !report.is_consistent() {
        exit::INCONSISTENT
    } else if report.unreadable_member_bytes > 0 {
        exit::UNREADABLE
    } else {
        exit::OK
    })
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `row 3` or `rows 3-7`.
fn unit_range(unit: &str, first: u64, count: u64) -> String {
    if count == 1 {
        format!("{unit} {first}")
    } else {
        format!("{unit}s {first}-{}", first + count - 1)
    }
}

/// A verdict in words, naming the members.
fn verdict_text(arr: &platter_open::OpenedArray, v: &Verdict) -> String {
    let slots = |s: &[usize]| {
        s.iter()
            .map(|&s| slot_name(arr, s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match v {
        Verdict::ParityMismatch => {
            "P does not match the data (one parity cannot tell which member is wrong)".into()
        }
        Verdict::PWrong { slot } => format!("P on {} is wrong", slot_name(arr, *slot)),
        Verdict::QWrong { slot } => format!("Q on {} is wrong", slot_name(arr, *slot)),
        Verdict::DataWrong { slot } => format!(
            "the data on {} is wrong (P and Q agree)",
            slot_name(arr, *slot)
        ),
        Verdict::Multiple => {
            "more than one member is wrong (P and Q point at no single one)".into()
        }
        Verdict::CopyWrong { slots: s } => {
            format!("the copy on {} disagrees with the others", slots(s))
        }
        Verdict::CopiesDiffer { slots: s } => {
            format!("the copies differ, with no majority: {}", slots(s))
        }
    }
}

fn write_run(
    w: &mut dyn Write,
    arr: &platter_open::OpenedArray,
    unit: &str,
    r: &ScrubRun,
) -> io::Result<()> {
    let units = unit_range(unit, r.first_unit, r.units);
    writeln!(
        w,
        "  {units}: array offset {:#x}, {} bytes: {}",
        r.array_offset,
        r.array_len,
        verdict_text(arr, &r.verdict)
    )?;
    for m in &r.members {
        writeln!(
            w,
            "    {}: offset {:#x}, {} bytes",
            slot_name(arr, m.slot),
            m.offset,
            m.len
        )?;
    }
    Ok(())
}

fn write_human(
    w: &mut dyn Write,
    arr: &platter_open::OpenedArray,
    plan: Option<&MetadataPlan>,
    r: &ScrubReport,
) -> io::Result<()> {
    let field = |w: &mut dyn Write, label: &str, value: &dyn std::fmt::Display| {
        writeln!(w, "{:<17}{value}", format!("{label}:"))
    };
    field(w, "array", &r.geometry)?;
    write_members(w, &member_reports(arr))?;
    if let Some(plan) = plan {
        super::metadata::write_decisions(w, plan)?;
    }
    let what = match r.check {
        Check::Parity => "P",
        Check::ParityAndQ => "P and Q",
        Check::Copies => "copies",
    };
    field(
        w,
        "checked",
        &format_args!(
            "{what} of {} of {}",
            plural(r.units_checked, r.unit),
            r.units
        ),
    )?;
    if r.units_skipped > 0 {
        field(
            w,
            "skipped",
            &format_args!(
                "{}: {}",
                plural(r.units_skipped, r.unit),
                r.skipped_reason.as_deref().unwrap_or("")
            ),
        )?;
    }
    if r.unreadable_member_bytes > 0 {
        field(
            w,
            "unreadable",
            &format_args!(
                "{} member bytes could not be read and were not compared, in {}:",
                r.unreadable_member_bytes,
                plural(r.unchecked.iter().map(|u| u.units).sum(), r.unit)
            ),
        )?;
        for u in &r.unchecked {
            writeln!(
                w,
                "  {}: array offset {:#x}, {} bytes ({} member bytes unread)",
                unit_range(r.unit, u.first_unit, u.units),
                u.array_offset,
                u.array_len,
                u.unreadable_member_bytes
            )?;
        }
    }
    if r.units_checked == 0 {
        return field(w, "result", &"nothing could be checked");
    }
    if r.is_consistent() {
        return field(w, "result", &"consistent");
    }
    field(
        w,
        "result",
        &format_args!(
            "{} inconsistent, in {}:",
            plural(r.inconsistent_units, r.unit),
            plural(r.inconsistent.len() as u64, "run")
        ),
    )?;
    for run in &r.inconsistent {
        write_run(w, arr, r.unit, run)?;
    }
    if r.truncated {
        writeln!(w, "  (the list was cut; the counts are exact)")?;
    }
    Ok(())
}
