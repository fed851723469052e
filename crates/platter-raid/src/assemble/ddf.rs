//! Planning from SNIA DDF metadata.
//!
//! The virtual disk's configuration record gives the geometry: PRL/RLQ/SRL
//! translated to md terms by [`ddf_to_md`](crate::metadata::ddf_to_md),
//! the strip size, and per position in its physical disk reference table
//! the disk and the start LBA of its extent (the data offset); the record's
//! block count is each member's usable size and the VD size the array
//! size. A member is placed by the reference number in its own physical
//! disk data, the way mdadm `super-ddf.c` (`getinfo_super_ddf_bvd`) finds
//! `raid_disk` = position in the reference table + BVD sequence × primary
//! element count.
//!
//! Members with a lower header sequence number than the freshest are
//! stale; disks the freshest physical disk records mark failed or missing
//! are treated the same way (used only when needed).

use platter_core::Source;

use super::group;
use super::select::{self, Candidate, Ctx, exclude};
use super::{AssembleError, ExclusionReason, MetadataKind, MetadataPlan};
use super::{PlanOptions, plan_codes};
use crate::error::{Error, Result};
use crate::geometry::{Geometry, Layout, Level, ParityLayout, Raid0Layout, Raid10Layout, SECTOR};
use crate::metadata::{DdfMetadata, DdfVdConfig, ExamineReport, Finding, MdEquivalent, rfc3339};

/// Physical disk state bits that put a disk out of the array (SNIA DDF
/// "PD_State": 0x02 failed, 0x40 missing).
const PD_FAILED: u16 = 0x02;
const PD_MISSING: u16 = 0x40;

/// One slot of the virtual disk, from its configuration record.
#[derive(Debug, Clone, Copy)]
struct SlotEntry {
    refnum: u32,
    slot: usize,
    start_bytes: Option<u64>,
    size_bytes: Option<u64>,
}

pub(super) fn plan(
    members: &[(&str, &dyn Source)],
    report: ExamineReport,
    options: &PlanOptions,
) -> Result<MetadataPlan> {
    let names: Vec<&str> = members.iter().map(|m| m.0).collect();
    let group::Grouped {
        metas: ddfs,
        key: _,
        group,
        fresh: fresh_i,
        mut excluded,
        mut findings,
    } = group::group::<DdfMetadata>(&names, &report)?;
    let fresh = ddfs[fresh_i];

    // The newest record of each (VD, BVD) any member holds, freshest member first.
    let mut configs: Vec<&DdfVdConfig> = Vec::new();
    for &i in std::iter::once(&fresh_i).chain(group.iter().filter(|&&i| i != fresh_i)) {
        for c in &ddfs[i].configs {
            let same = |o: &&DdfVdConfig| {
                o.vd_guid == c.vd_guid && o.secondary_element_seq == c.secondary_element_seq
            };
            match configs.iter().position(same) {
                Some(p) if configs[p].sequence < c.sequence => configs[p] = c,
                Some(_) => {}
                None => configs.push(c),
            }
        }
    }
    let vd = choose_vd(&configs, &group, &ddfs, options, &mut findings)?;
    let Some(vd) = vd else {
        return Err(AssembleError::Unsupported {
            name: names[fresh_i].to_string(),
            what: "a DDF container without virtual disk configuration records".into(),
        }
        .into());
    };
    let mut bvds: Vec<&DdfVdConfig> = configs
        .iter()
        .copied()
        .filter(|c| c.vd_guid == vd)
        .collect();
    bvds.sort_by_key(|c| c.secondary_element_seq);
    let c0 = bvds[0];
    let md = c0.md.ok_or_else(|| AssembleError::Unsupported {
        name: names[fresh_i].to_string(),
        what: format!(
            "DDF {} (PRL {:#04x}, RLQ {}, SRL {:#04x} × {}) has no md equivalent",
            c0.prl_name, c0.prl, c0.rlq, c0.srl, c0.secondary_elements
        ),
    })?;
    let (level, layout) = level_layout(names[fresh_i], md)?;
    Geometry::check_member_count(level, u64::from(md.raid_disks))?;
    let raid_disks = md.raid_disks as usize;
    let chunk_bytes = match (level, c0.strip_bytes) {
        (Level::Raid1, s) => s.unwrap_or(0),
        (Level::Linear, s) => s.unwrap_or(SECTOR),
        (_, Some(s)) => s,
        (_, None) => {
            return Err(Error::Metadata {
                name: names[fresh_i].to_string(),
                offset: c0.offset_bytes,
                what: "DDF configuration record".into(),
                reason: format!(
                    "no strip size (exponent {}) for a striped level",
                    c0.strip_size_exponent
                ),
            });
        }
    };
    if let Some(r) = c0.rotate_parity_count.filter(|&r| r != 0) {
        findings.push(Finding {
            member: None,
            code: plan_codes::DDF_IGNORED,
            message: format!(
                "DDF virtual disk {vd}: rotate parity count {r} is recorded but not applied (unverified semantics); the data may need delayed parity"
            ),
        });
    }
    let table = slot_table(&bvds, raid_disks);

    let max_seq = fresh.sequence;
    let mut cands = Vec::new();
    for &i in &group {
        let d = ddfs[i];
        let name = names[i];
        let Some(refnum) = d.this_disk.as_ref().map(|t| t.refnum) else {
            exclude(
                &mut excluded,
                &mut findings,
                i,
                name,
                ExclusionReason::Unidentified,
                format!("{name}: no DDF physical disk data says which disk it is; left out"),
            );
            continue;
        };
        let Some(entry) = table.iter().find(|e| e.refnum == refnum) else {
            exclude(
                &mut excluded,
                &mut findings,
                i,
                name,
                ExclusionReason::NotInVirtualDisk { refnum },
                format!(
                    "{name}: disk {refnum:#010x} is not part of DDF virtual disk {vd}; left out"
                ),
            );
            continue;
        };
        let (Some(start), Some(size)) = (entry.start_bytes, entry.size_bytes) else {
            exclude(
                &mut excluded,
                &mut findings,
                i,
                name,
                ExclusionReason::InvalidMetadata {
                    detail: "start LBA or block count overflows".into(),
                },
                format!("{name}: its extent's start LBA or block count overflows; left out"),
            );
            continue;
        };
        let pd_state = fresh
            .physical_disks
            .iter()
            .find(|p| p.refnum == refnum)
            .filter(|p| p.state & (PD_FAILED | PD_MISSING) != 0);
        let lagging = if d.sequence < max_seq {
            Some((
                ExclusionReason::Stale {
                    counter: "sequence",
                    value: u64::from(d.sequence),
                    freshest: u64::from(max_seq),
                    updated: d.timestamp.clone(),
                    freshest_updated: fresh.timestamp.clone(),
                },
                format!(
                    "stale: DDF sequence {} < {} on {} (updated {}, {} at {})",
                    d.sequence,
                    max_seq,
                    names[fresh_i],
                    d.timestamp,
                    names[fresh_i],
                    fresh.timestamp
                ),
            ))
        } else {
            pd_state.map(|p| {
                (
                    ExclusionReason::Failed {
                        state: p.state_text.clone(),
                    },
                    format!(
                        "the freshest DDF records mark disk {refnum:#010x} {}",
                        p.state_text
                    ),
                )
            })
        };
        cands.push(Candidate {
            image: i,
            slot: entry.slot,
            data_offset: start,
            size,
            events: None,
            sequence: Some(d.sequence),
            freshness: u64::from(d.sequence),
            lagging,
        });
    }

    let array = c0
        .vd_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or(vd.clone());
    let mut base = Geometry::new(level, layout, chunk_bytes, 0);
    let nominal = table.iter().find_map(|e| e.size_bytes).unwrap_or(0);
    base.slots = select::unfilled_slots(raid_disks, nominal);
    let ctx = Ctx {
        array: &array,
        names: &names,
        base: &base,
    };
    let by_slot = select::select(&ctx, cands, &mut excluded, &mut findings)?;
    let recorded = c0
        .vd_size_blocks
        .checked_mul(u64::from(c0.block_size))
        .filter(|&b| b > 0);
    let (geometry, array_bytes) =
        select::build(base, &by_slot, members, recorded, &array, &mut findings)?;
    Ok(MetadataPlan {
        source: MetadataKind::Ddf {
            revision: fresh.revision.clone(),
        },
        array_uuid: vd,
        array_name: c0.vd_name.clone(),
        missing_slots: select::missing_slots(&by_slot),
        geometry,
        array_bytes,
        members: select::plan_members(&by_slot, &names),
        excluded,
        findings,
        events: None,
        sequence: Some(max_seq),
        updated: rfc3339(fresh.timestamp_secs),
    })
}

/// The virtual disk to assemble: the one asked for, else the one most
/// given members belong to (the first on a tie). `None` without records.
fn choose_vd(
    configs: &[&DdfVdConfig],
    group: &[usize],
    ddfs: &[&DdfMetadata],
    options: &PlanOptions,
    findings: &mut Vec<Finding>,
) -> Result<Option<String>> {
    let mut vds: Vec<(&str, Option<&str>)> = Vec::new();
    for c in configs {
        if !vds.iter().any(|v| v.0 == c.vd_guid) {
            vds.push((&c.vd_guid, c.vd_name.as_deref()));
        }
    }
    let label = |v: &(&str, Option<&str>)| match v.1 {
        Some(n) if !n.is_empty() => format!("{} ({n})", v.0),
        _ => v.0.to_string(),
    };
    if let Some(w) = &options.virtual_disk {
        return match vds
            .iter()
            .find(|v| v.0.eq_ignore_ascii_case(w) || v.1 == Some(w.as_str()))
        {
            Some(v) => Ok(Some(v.0.to_string())),
            None => Err(AssembleError::NoSuchVirtualDisk {
                wanted: w.clone(),
                available: vds.iter().map(label).collect(),
            }
            .into()),
        };
    }
    let refnums: Vec<u32> = group
        .iter()
        .filter_map(|&i| ddfs[i].this_disk.as_ref().map(|t| t.refnum))
        .collect();
    let members_of = |vd: &str| {
        refnums
            .iter()
            .filter(|&&r| {
                configs
                    .iter()
                    .any(|c| c.vd_guid == vd && c.members.iter().any(|m| m.refnum == r))
            })
            .count()
    };
    let mut best: Option<(usize, usize)> = None;
    for (k, v) in vds.iter().enumerate() {
        let n = members_of(v.0);
        if best.is_none_or(|b| n > b.1) {
            best = Some((k, n));
        }
    }
    let Some((k, _)) = best else {
        return Ok(None);
    };
    if vds.len() > 1 {
        let others: Vec<String> = vds
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != k)
            .map(|(_, v)| label(v))
            .collect();
        findings.push(Finding {
            member: None,
            code: plan_codes::OTHER_VIRTUAL_DISKS,
            message: format!(
                "the DDF container holds {} virtual disks; assembling {}, not {}: choose another by GUID or name",
                vds.len(),
                label(&vds[k]),
                others.join(", ")
            ),
        });
    }
    Ok(Some(vds[k].0.to_string()))
}

/// Every slot of the virtual disk: slot = BVD sequence × primary elements +
/// position in the reference table (mdadm `getinfo_super_ddf_bvd`).
fn slot_table(bvds: &[&DdfVdConfig], raid_disks: usize) -> Vec<SlotEntry> {
    let mut out: Vec<SlotEntry> = Vec::new();
    for c in bvds {
        let prim = usize::from(c.primary_elements);
        let size = c.block_count.checked_mul(u64::from(c.block_size));
        for m in &c.members {
            let t = m.table_index as usize;
            let Some(slot) = usize::from(c.secondary_element_seq)
                .checked_mul(prim)
                .and_then(|s| s.checked_add(t))
            else {
                continue;
            };
            if t >= prim || slot >= raid_disks || out.iter().any(|e| e.slot == slot) {
                continue;
            }
            out.push(SlotEntry {
                refnum: m.refnum,
                slot,
                start_bytes: m.start_bytes,
                size_bytes: size,
            });
        }
    }
    out
}

/// The engine's level and layout for DDF's md equivalent.
fn level_layout(name: &str, md: MdEquivalent) -> Result<(Level, Layout)> {
    let unsupported = || AssembleError::Unsupported {
        name: name.to_string(),
        what: format!("md level {} layout {} from DDF", md.level, md.layout),
    };
    let level = Level::from_md_number(md.level).ok_or_else(unsupported)?;
    let layout = match level {
        Level::Raid4 => Layout::Parity(ParityLayout::ParityLast),
        Level::Raid5 | Level::Raid6 => {
            Layout::Parity(ParityLayout::from_md_number(md.layout).ok_or_else(unsupported)?)
        }
        Level::Raid10 => {
            Layout::Raid10(Raid10Layout::from_md_word(md.layout).ok_or_else(unsupported)?)
        }
        // DDF members of one record share a block count: one zone.
        Level::Raid0 => Layout::Raid0(Raid0Layout::Original),
        Level::Raid1 | Level::Linear => Layout::None,
    };
    Ok((level, layout))
}
