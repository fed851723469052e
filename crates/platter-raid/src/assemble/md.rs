//! Planning from md superblocks.
//!
//! What the kernel does when it assembles (Linux `drivers/md/md.c`
//! `analyze_sbs`, `super_90_load`/`super_1_load`,
//! `super_90_validate`/`super_1_validate`), and mdadm `Assemble.c`:
//!
//! - The freshest superblock (highest events) gives the geometry.
//! - A member whose events are more than one behind it is refused
//!   ("ev1 + 1 < mddev->events"); one behind is accepted, and then its role
//!   is read from the freshest superblock's `dev_roles` (1.x), since the
//!   others may have marked it faulty in that last update.
//! - Per member: `data_offset` (1.x; 0 for 0.90), and the usable size:
//!   the component size `size` for redundant levels; for RAID0 and linear,
//!   1.x `data_size` and for 0.90 everything before the superblock
//!   (`rdev->sectors = rdev->sb_start`).
//! - RAID4 keeps parity on the last member whatever the layout field says
//!   (`raid5.c` `raid5_compute_sector`, `case 4`).
//! - RAID0 zones after the first follow the layout field: 1 =
//!   `RAID0_ORIG_LAYOUT`, 2 = `RAID0_ALT_MULTIZONE_LAYOUT` (`raid0.h`);
//!   arrays made before Linux 5.4 record 0 and the kernel refuses them
//!   unless told which (`default_layout`).

use platter_core::Source;

use super::group;
use super::plan_codes;
use super::select::{self, Candidate, Ctx, exclude};
use super::{AssembleError, ExclusionReason, MetadataKind, MetadataPlan};
use crate::error::Result;
use crate::geometry::{Geometry, Layout, Level, ParityLayout, Raid0Layout, Raid10Layout, SECTOR};
use crate::metadata::{ExamineReport, Finding, MdRole, MdSuperblock, rfc3339};

/// md accepts a member this many events behind the freshest.
const EVENTS_MARGIN: u64 = 1;

/// `recovery_offset` and `reshape_position` count 512-byte sectors.
const SECTOR_BYTES: u64 = 512;

pub(super) fn plan(members: &[(&str, &dyn Source)], report: ExamineReport) -> Result<MetadataPlan> {
    let names: Vec<&str> = members.iter().map(|m| m.0).collect();
    let group::Grouped {
        metas: sbs,
        key: uuid,
        group,
        fresh: fresh_i,
        mut excluded,
        mut findings,
    } = group::group::<MdSuperblock>(&names, &report)?;
    let fresh = sbs[fresh_i];
    let max_events = fresh.events;

    // A reshape leaves two geometries on the members: refuse.
    for &i in &group {
        let sb = sbs[i];
        if let Some(r) = sb.reshape {
            if sb.events.saturating_add(EVENTS_MARGIN) >= max_events {
                return Err(AssembleError::ReshapeInProgress {
                    name: names[i].to_string(),
                    position_bytes: r.position_sectors.saturating_mul(SECTOR_BYTES),
                    detail: format!(
                        "level {} → {}, layout {} → {}, {} → {} members, chunk {} → {} bytes",
                        sb.level,
                        r.new_level,
                        sb.layout,
                        r.new_layout,
                        sb.raid_disks,
                        i64::from(sb.raid_disks) + i64::from(r.delta_disks),
                        sb.chunk_bytes,
                        r.new_chunk_bytes
                    ),
                }
                .into());
            }
        }
    }

    let (level, layout) = level_layout(names[fresh_i], fresh)?;
    let n = fresh.raid_disks;
    Geometry::check_member_count(level, u64::from(n))?;
    let chunk_bytes = match (level, fresh.chunk_bytes) {
        // md linear rounds members to the chunk only when one is set.
        (Level::Linear, 0) => SECTOR,
        (_, c) => c,
    };

    // Place each member by its role.
    let mut cands = Vec::new();
    for &i in &group {
        let sb = sbs[i];
        let name = names[i];
        let role = role_of(sb, fresh, max_events);
        let slot = match role {
            MdRole::Active(r) if r < n => r as usize,
            MdRole::Active(r) => {
                exclude(
                    &mut excluded,
                    &mut findings,
                    i,
                    name,
                    ExclusionReason::RoleOutOfRange {
                        role: r,
                        raid_disks: n,
                    },
                    format!("{name}: role {r} is beyond the array's {n} members; left out"),
                );
                continue;
            }
            other => {
                exclude(
                    &mut excluded,
                    &mut findings,
                    i,
                    name,
                    ExclusionReason::NotActive {
                        role: other.to_string(),
                    },
                    format!("{name}: {other}, not an active member; left out"),
                );
                continue;
            }
        };
        let geo = |s: &MdSuperblock| (s.level, s.layout, s.chunk_bytes, s.raid_disks);
        if geo(sb) != geo(fresh) {
            let detail = format!(
                "level {} layout {} chunk {} raid_disks {}, but {} (freshest) says level {} layout {} chunk {} raid_disks {}",
                sb.level,
                sb.layout,
                sb.chunk_bytes,
                sb.raid_disks,
                names[fresh_i],
                fresh.level,
                fresh.layout,
                fresh.chunk_bytes,
                fresh.raid_disks
            );
            let message = format!("{name}: {detail}; left out");
            exclude(
                &mut excluded,
                &mut findings,
                i,
                name,
                ExclusionReason::GeometryMismatch { detail },
                message,
            );
            continue;
        }
        let lagging = if sb.events.saturating_add(EVENTS_MARGIN) < max_events {
            Some((
                ExclusionReason::Stale {
                    counter: "events",
                    value: sb.events,
                    freshest: max_events,
                    updated: sb.utime.clone(),
                    freshest_updated: fresh.utime.clone(),
                },
                format!(
                    "stale: events {} < {} on {} (updated {}, {} at {})",
                    sb.events, max_events, names[fresh_i], sb.utime, names[fresh_i], fresh.utime
                ),
            ))
        } else if let Some(r) = sb.recovery_offset_sectors {
            let bytes = r.saturating_mul(SECTOR_BYTES);
            Some((
                ExclusionReason::Recovering {
                    recovery_offset_bytes: bytes,
                },
                format!(
                    "was being rebuilt: valid only up to {bytes:#x} bytes past its data offset"
                ),
            ))
        } else {
            None
        };
        if lagging.is_none() && sb.events < max_events {
            findings.push(Finding {
                member: Some(i),
                code: plan_codes::EVENTS_MARGIN,
                message: format!(
                    "{name}: events {} one behind {} on {}: accepted, as md accepts it (role taken from the freshest superblock)",
                    sb.events, max_events, names[fresh_i]
                ),
            });
        }
        cands.push(Candidate {
            image: i,
            slot,
            data_offset: sb.data_offset_bytes,
            size: member_size(sb),
            events: Some(sb.events),
            sequence: None,
            freshness: sb.events,
            lagging,
        });
    }

    let array = fresh
        .name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or(uuid.clone());
    let mut base = Geometry::new(level, layout, chunk_bytes, 0);
    base.slots = select::unfilled_slots(n as usize, member_size(fresh));
    let ctx = Ctx {
        array: &array,
        names: &names,
        base: &base,
    };
    let by_slot = select::select(&ctx, cands, &mut excluded, &mut findings)?;

    if level == Level::Raid0 {
        base.layout = raid0_layout(fresh.layout, &by_slot, chunk_bytes, &array, &mut findings);
    }
    // RAID0 members differ in size and linear sizes sum: only the
    // redundant levels record an array size one superblock implies.
    let recorded = match level {
        Level::Raid0 | Level::Linear => None,
        _ => fresh.array_size_bytes(),
    };
    let (geometry, array_bytes) =
        select::build(base, &by_slot, members, recorded, &array, &mut findings)?;
    Ok(MetadataPlan {
        source: MetadataKind::Md {
            version: fresh.version.to_string(),
        },
        array_uuid: uuid,
        array_name: fresh.name.clone(),
        missing_slots: select::missing_slots(&by_slot),
        geometry,
        array_bytes,
        members: select::plan_members(&by_slot, &names),
        excluded,
        findings,
        events: Some(max_events),
        sequence: None,
        updated: rfc3339(fresh.utime_secs),
    })
}

/// The role md would give the member: its own, except that a member
/// behind the freshest by the one event md tolerates takes its role from
/// the freshest 1.x superblock's table (kernel `super_1_validate`). A
/// member further behind is stale: md refuses it, and if it must be used
/// anyway, the role it claims itself is the one it held when it dropped
/// out (the others have since recorded it as removed).
fn role_of(sb: &MdSuperblock, fresh: &MdSuperblock, max_events: u64) -> MdRole {
    let within_margin =
        sb.events < max_events && sb.events.saturating_add(EVENTS_MARGIN) >= max_events;
    if sb.version != "0.90" && fresh.version != "0.90" && within_margin {
        if let Some(d) = fresh
            .dev_roles
            .iter()
            .find(|d| d.dev_number == sb.dev_number)
        {
            return d.role;
        }
    }
    sb.role
}

/// Array bytes the member holds past its data offset (see the module docs).
fn member_size(sb: &MdSuperblock) -> u64 {
    if sb.level <= 0 && sb.version == "0.90" {
        sb.superblock_offset_bytes
            .saturating_sub(sb.data_offset_bytes)
    } else {
        sb.used_bytes()
    }
}

/// The engine's level and layout for an md level and layout word.
fn level_layout(name: &str, sb: &MdSuperblock) -> Result<(Level, Layout)> {
    let unsupported = |what: String| AssembleError::Unsupported {
        name: name.to_string(),
        what,
    };
    let level = Level::from_md_number(sb.level).ok_or_else(|| {
        let kind = match sb.level {
            -4 => " (multipath)",
            -5 => " (faulty, a test personality)",
            _ => "",
        };
        unsupported(format!("md level {}{kind}", sb.level))
    })?;
    let bad_layout = || unsupported(format!("md layout {} for {level}", sb.layout));
    let layout = match level {
        // raid5.c raid5_compute_sector: RAID4 parity is always the last disk.
        Level::Raid4 => Layout::Parity(ParityLayout::ParityLast),
        Level::Raid5 => Layout::Parity(
            ParityLayout::from_md_number(sb.layout)
                .filter(|l| l.valid_for_raid5())
                .ok_or_else(bad_layout)?,
        ),
        Level::Raid6 => {
            Layout::Parity(ParityLayout::from_md_number(sb.layout).ok_or_else(bad_layout)?)
        }
        Level::Raid10 => {
            Layout::Raid10(Raid10Layout::from_md_word(sb.layout).ok_or_else(bad_layout)?)
        }
        // Decided once the member sizes are known (raid0_layout).
        Level::Raid0 => Layout::Raid0(Raid0Layout::Original),
        Level::Raid1 | Level::Linear => Layout::None,
    };
    Ok((level, layout))
}

/// The RAID0 zone layout: the recorded one, or for an unrecorded one
/// (arrays made before Linux 5.4) the original, with a warning when the
/// zones make the choice matter (kernel `create_strip_zones`: more than
/// one zone and a second zone of at least two members).
fn raid0_layout(
    recorded: u32,
    by_slot: &[Option<select::Placed>],
    chunk: u64,
    array: &str,
    findings: &mut Vec<Finding>,
) -> Layout {
    match recorded {
        1 => return Layout::Raid0(Raid0Layout::Original),
        2 => return Layout::Raid0(Raid0Layout::Alternate),
        _ => {}
    }
    let sizes: Vec<u64> = by_slot
        .iter()
        .flatten()
        .map(|p| p.cand.size - p.cand.size % chunk.max(1))
        .collect();
    let smallest = sizes.iter().copied().min().unwrap_or(0);
    let larger = sizes.iter().filter(|&&s| s > smallest).count();
    if larger >= 2 {
        findings.push(Finding {
            member: None,
            code: plan_codes::RAID0_LAYOUT_UNKNOWN,
            message: format!(
                "array {array}: RAID0 of unequal members with layout {recorded} (not recorded, made before Linux 5.4): zones after the first follow the original layout (Linux < 3.14) here; if the data looks wrong past the first zone, try the alternate layout (Linux 3.14-5.3)"
            ),
        });
    }
    Layout::Raid0(Raid0Layout::Original)
}
