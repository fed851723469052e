//! `examine`: read the metadata of every member and cross-check them.
//!
//! Per member it reports the md superblock and DDF metadata found (either,
//! both or neither). Across members it flags what an engineer must decide
//! on before assembling: members that belong to another array, stale
//! members (md events or update time behind the freshest member, a lower
//! DDF sequence number), members that disagree on geometry, two members
//! claiming one role, roles nobody holds, and checksum failures.

use std::collections::{BTreeMap, BTreeSet};

use platter_core::Source;

use super::anomaly::{Severity, codes};
use super::ddf::{DdfMetadata, probe_ddf};
use super::md::{MdRole, MdSuperblock, probe_md};

/// Roles listed at most in one "missing roles" message.
const MAX_LISTED_ROLES: usize = 64;

/// Largest raid_disks for which missing roles are enumerated.
const MAX_ENUMERATED_DISKS: u32 = 1920;

/// Codes of [`Finding`]s, as constants so callers and tests can match on them.
pub mod finding_codes {
    /// Reading the member's metadata locations failed.
    pub const READ_ERROR: &str = "read_error";
    /// Neither an md superblock nor DDF metadata was found.
    pub const NO_METADATA: &str = "no_metadata";
    /// Both an md superblock and DDF metadata are present.
    pub const MD_AND_DDF: &str = "md_and_ddf";
    /// A superblock or DDF structure failed its checksum / CRC.
    pub const CHECKSUM: &str = "checksum";
    /// Metadata with an error-level anomaly (absurd counts, zero chunk …).
    pub const INVALID_METADATA: &str = "invalid_metadata";
    /// The member claims a different array (md UUID, DDF header GUID)
    /// than most members.
    pub const ARRAY_MISMATCH: &str = "array_mismatch";
    /// The member lags the freshest member (md events or update time,
    /// DDF sequence number): it dropped out earlier and holds old data.
    pub const STALE_MEMBER: &str = "stale_member";
    /// Level, layout, chunk or raid_disks differ from the freshest member.
    pub const GEOMETRY_MISMATCH: &str = "geometry_mismatch";
    /// Two members claim the same role.
    pub const DUPLICATE_ROLE: &str = "duplicate_role";
    /// Roles of the array no given member holds (missing members).
    pub const MISSING_ROLE: &str = "missing_role";
    /// The freshest member's role table disagrees with this member's claim.
    pub const ROLE_DISAGREES: &str = "role_disagrees";
}

use finding_codes as fc;

/// One cross-member or per-member finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Index of the member concerned (`None`: the array as a whole).
    pub member: Option<usize>,
    /// Stable code: one of [`finding_codes`].
    pub code: &'static str,
    /// Self-contained message naming the member(s).
    pub message: String,
}

/// What one member holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberReport {
    /// Position in the list given to [`examine`].
    pub index: usize,
    /// Name given for it.
    pub name: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// The md superblock (the newest, when several).
    pub md: Option<MdSuperblock>,
    /// DDF metadata.
    pub ddf: Option<DdfMetadata>,
}

/// Everything `examine` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExamineReport {
    /// One report per member, in the order given.
    pub members: Vec<MemberReport>,
    /// Findings, per member first, then across members.
    pub findings: Vec<Finding>,
}

/// Reads the md and DDF metadata of every member and cross-checks them.
/// Never fails: read errors become findings.
pub fn examine(members: &[(&str, &dyn Source)]) -> ExamineReport {
    let mut findings = Vec::new();
    let mut reports = Vec::with_capacity(members.len());
    for (index, &(name, src)) in members.iter().enumerate() {
        let md = probe_md(src).unwrap_or_else(|e| {
            findings.push(Finding {
                member: Some(index),
                code: fc::READ_ERROR,
                message: format!("{name}: cannot read the md superblock locations: {e}"),
            });
            None
        });
        let ddf = probe_ddf(src).unwrap_or_else(|e| {
            let (code, message) = match &e {
                crate::Error::Metadata { .. } => (fc::INVALID_METADATA, e.to_string()),
                _ => (
                    fc::READ_ERROR,
                    format!("{name}: cannot read the DDF anchor: {e}"),
                ),
            };
            findings.push(Finding {
                member: Some(index),
                code,
                message,
            });
            None
        });
        per_member(index, name, md.as_ref(), ddf.as_ref(), &mut findings);
        reports.push(MemberReport {
            index,
            name: name.to_string(),
            size_bytes: src.len(),
            md,
            ddf,
        });
    }
    cross_md(&reports, &mut findings);
    cross_ddf(&reports, &mut findings);
    ExamineReport {
        members: reports,
        findings,
    }
}

fn per_member(
    index: usize,
    name: &str,
    md: Option<&MdSuperblock>,
    ddf: Option<&DdfMetadata>,
    out: &mut Vec<Finding>,
) {
    let push = |out: &mut Vec<Finding>, code, message| {
        out.push(Finding {
            member: Some(index),
            code,
            message,
        })
    };
    match (md, ddf) {
        (None, None) => push(
            out,
            fc::NO_METADATA,
            format!("{name}: no md superblock and no DDF anchor"),
        ),
        (Some(m), Some(_)) => push(
            out,
            fc::MD_AND_DDF,
            format!(
                "{name}: holds both an md {} superblock and DDF metadata; one is probably left over",
                m.version
            ),
        ),
        _ => {}
    }
    let anomalies = md
        .map(|m| m.anomalies.as_slice())
        .unwrap_or_default()
        .iter()
        .chain(ddf.map(|d| d.anomalies.as_slice()).unwrap_or_default());
    for a in anomalies {
        if a.code == codes::CHECKSUM {
            push(out, fc::CHECKSUM, a.message.clone());
        } else if a.severity == Severity::Error {
            push(out, fc::INVALID_METADATA, a.message.clone());
        }
    }
}

/// The value most members share; ties go to the first one met in `order`.
fn majority<'a>(values: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|c| c.0 == v) {
            Some(c) => c.1 += 1,
            None => counts.push((v, 1)),
        }
    }
    let best = counts.iter().map(|c| c.1).max()?;
    counts.iter().find(|c| c.1 == best).map(|c| c.0)
}

/// The members holding one kind of metadata (`meta`) that belong to the
/// array whose `key` most of them hold, freshest first by `freshness`
/// (counter, then time), with that key; a finding for each member naming
/// another (`label`: how the key and the array are called). `None` when no
/// member holds this kind of metadata.
fn array_group<'a, M>(
    reports: &'a [MemberReport],
    meta: impl Fn(&'a MemberReport) -> Option<&'a M>,
    key: impl Fn(&'a M) -> &'a str,
    freshness: impl Fn(&M) -> (u64, u64),
    label: (&str, &str),
    out: &mut Vec<Finding>,
) -> Option<(&'a str, Vec<(&'a MemberReport, &'a M)>)> {
    let held: Vec<(&MemberReport, &M)> = reports
        .iter()
        .filter_map(|r| meta(r).map(|m| (r, m)))
        .collect();
    // Members ordered freshest first: the majority key is the one of the
    // freshest member when counts tie.
    let mut by_fresh = held.clone();
    by_fresh.sort_by_key(|(_, m)| std::cmp::Reverse(freshness(m)));
    let wanted = majority(by_fresh.iter().map(|(_, m)| key(m)))?;
    let (what, array) = label;
    for (r, m) in &held {
        if key(m) != wanted {
            out.push(Finding {
                member: Some(r.index),
                code: fc::ARRAY_MISMATCH,
                message: format!(
                    "{}: {what} {} differs from {wanted} (held by most members); it belongs to another {array}",
                    r.name,
                    key(m)
                ),
            });
        }
    }
    let group = by_fresh
        .into_iter()
        .filter(|(_, m)| key(m) == wanted)
        .collect();
    Some((wanted, group))
}

/// A [`fc::DUPLICATE_ROLE`] finding for each member of every key (role,
/// disk reference) that more than one member claims, worded by
/// `message(member name, key, claimant count, claimant names)`.
fn duplicate_claims(
    reports: &[MemberReport],
    claims: &BTreeMap<u32, Vec<usize>>,
    out: &mut Vec<Finding>,
    message: impl Fn(&str, u32, usize, &str) -> String,
) {
    for (&key, who) in claims {
        if who.len() > 1 {
            let names: Vec<&str> = who.iter().map(|&i| reports[i].name.as_str()).collect();
            let all = names.join(", ");
            for &i in who {
                out.push(Finding {
                    member: Some(i),
                    code: fc::DUPLICATE_ROLE,
                    message: message(&reports[i].name, key, who.len(), &all),
                });
            }
        }
    }
}

fn cross_md(reports: &[MemberReport], out: &mut Vec<Finding>) {
    let Some((uuid, group)) = array_group(
        reports,
        |r| r.md.as_ref(),
        |m| m.array_uuid.as_str(),
        |m| (m.events, m.utime_secs),
        ("md array UUID", "array"),
        out,
    ) else {
        return;
    };
    let (fresh_r, fresh) = group[0];
    let max_utime = group.iter().map(|(_, m)| m.utime_secs).max().unwrap_or(0);

    for &(r, m) in &group[1..] {
        let mut why = Vec::new();
        if m.events < fresh.events {
            why.push(format!(
                "events {} < {} on {}",
                m.events, fresh.events, fresh_r.name
            ));
        }
        if m.utime_secs < max_utime {
            why.push(format!(
                "updated {} < {}",
                m.utime,
                super::rfc3339(max_utime)
            ));
        }
        if !why.is_empty() {
            out.push(Finding {
                member: Some(r.index),
                code: fc::STALE_MEMBER,
                message: format!(
                    "{}: stale md member ({}); it dropped out earlier and may hold old data",
                    r.name,
                    why.join(", ")
                ),
            });
        }
        let geo = |s: &MdSuperblock| (s.level, s.layout, s.chunk_bytes, s.raid_disks);
        if geo(m) != geo(fresh) {
            out.push(Finding {
                member: Some(r.index),
                code: fc::GEOMETRY_MISMATCH,
                message: format!(
                    "{}: level {} layout {} chunk {} raid_disks {}, but {} (freshest) says level {} layout {} chunk {} raid_disks {}",
                    r.name, m.level, m.layout, m.chunk_bytes, m.raid_disks,
                    fresh_r.name, fresh.level, fresh.layout, fresh.chunk_bytes, fresh.raid_disks
                ),
            });
        }
        // What the freshest role table says about this member's device number.
        if m.version != "0.90" {
            if let Some(d) = fresh
                .dev_roles
                .iter()
                .find(|d| d.dev_number == m.dev_number)
            {
                if d.role != m.role {
                    out.push(Finding {
                        member: Some(r.index),
                        code: fc::ROLE_DISAGREES,
                        message: format!(
                            "{}: claims {} (device {}), but the newest superblock ({}) lists device {} as {}",
                            r.name, m.role, m.dev_number, fresh_r.name, d.dev_number, d.role
                        ),
                    });
                }
            }
        }
    }

    // Roles: who holds each slot.
    let mut holders: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &(r, m) in &group {
        if let MdRole::Active(slot) = m.role {
            holders.entry(slot).or_default().push(r.index);
        }
    }
    duplicate_claims(reports, &holders, out, |name, slot, count, all| {
        format!(
            "{name}: role {slot} is claimed by {count} members ({all}); the one with the most events is current"
        )
    });
    if fresh.raid_disks <= MAX_ENUMERATED_DISKS {
        let missing: Vec<u32> = (0..fresh.raid_disks)
            .filter(|s| !holders.contains_key(s))
            .collect();
        if !missing.is_empty() {
            out.push(Finding {
                member: None,
                code: fc::MISSING_ROLE,
                message: format!(
                    "md array {uuid}: {} of {} roles held by no given member: {}",
                    missing.len(),
                    fresh.raid_disks,
                    list(&missing)
                ),
            });
        }
    }
}

fn cross_ddf(reports: &[MemberReport], out: &mut Vec<Finding>) {
    let Some((_, group)) = array_group(
        reports,
        |r| r.ddf.as_ref(),
        |d| d.header_guid.as_str(),
        |d| (u64::from(d.sequence), 0),
        ("DDF header GUID", "container"),
        out,
    ) else {
        return;
    };
    let (fresh_r, fresh) = group[0];
    for &(r, d) in &group[1..] {
        if d.sequence < fresh.sequence {
            out.push(Finding {
                member: Some(r.index),
                code: fc::STALE_MEMBER,
                message: format!(
                    "{}: stale DDF member (sequence {} < {} on {})",
                    r.name, d.sequence, fresh.sequence, fresh_r.name
                ),
            });
        }
    }
    // Which disk each member is, by reference number.
    let mut present: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &(r, d) in &group {
        if let Some(t) = &d.this_disk {
            present.entry(t.refnum).or_default().push(r.index);
        }
    }
    duplicate_claims(reports, &present, out, |name, refnum, count, all| {
        format!(
            "{name}: DDF disk reference {refnum:#010x} is claimed by {count} members ({all}); duplicate images of one disk?"
        )
    });
    // Members each virtual disk needs (from the freshest member's records).
    let mut seen = BTreeSet::new();
    for c in &fresh.configs {
        if !seen.insert((c.vd_guid.clone(), c.secondary_element_seq)) {
            continue;
        }
        let missing: Vec<u32> = c
            .members
            .iter()
            .filter(|m| !present.contains_key(&m.refnum))
            .map(|m| m.slot)
            .collect();
        if !missing.is_empty() {
            let vd = c.vd_name.clone().unwrap_or_else(|| c.vd_guid.clone());
            out.push(Finding {
                member: None,
                code: fc::MISSING_ROLE,
                message: format!(
                    "DDF virtual disk {vd}: {} of {} members not given (slots {})",
                    missing.len(),
                    c.members.len(),
                    list(&missing)
                ),
            });
        }
    }
}

/// A bounded, comma-separated list of numbers.
fn list(v: &[u32]) -> String {
    let mut s: Vec<String> = v
        .iter()
        .take(MAX_LISTED_ROLES)
        .map(|n| n.to_string())
        .collect();
    if v.len() > MAX_LISTED_ROLES {
        s.push(format!("… {} more", v.len() - MAX_LISTED_ROLES));
    }
    s.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_prefers_count_then_first() {
        assert_eq!(majority(["a", "b", "b"].into_iter()), Some("b"));
        assert_eq!(majority(["a", "b"].into_iter()), Some("a"));
        assert_eq!(majority(std::iter::empty()), None);
    }

    #[test]
    fn list_is_bounded() {
        let v: Vec<u32> = (0..100).collect();
        let s = list(&v);
        assert!(s.ends_with("… 36 more"), "{s}");
    }
}
