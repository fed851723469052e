//! Choosing the members once each is placed: duplicate roles, stale
//! members kept only where the array needs them, the redundancy check, and
//! the final geometry. Shared by the md and DDF planners.

use std::collections::BTreeMap;

use platter_core::Source;

use super::{ArrayGroup, AssembleError, Excluded, ExclusionReason, PlanMember, plan_codes};
use crate::error::Result;
use crate::geometry::{Geometry, Level, Slot};
use crate::metadata::Finding;

/// A member placed by its metadata, not yet chosen.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    /// Index in the list given.
    pub image: usize,
    /// The slot its metadata names.
    pub slot: usize,
    /// Where the array data starts on it.
    pub data_offset: u64,
    /// Array bytes it holds from there.
    pub size: u64,
    /// md event count.
    pub events: Option<u64>,
    /// DDF sequence number.
    pub sequence: Option<u32>,
    /// Orders lagging members: the freshest is kept first when needed.
    pub freshness: u64,
    /// Why the member lags the others (stale, recovering, failed) and a
    /// message saying so; such a member is used only when needed.
    pub lagging: Option<(ExclusionReason, String)>,
}

/// A chosen member.
#[derive(Debug, Clone)]
pub(super) struct Placed {
    pub cand: Candidate,
    /// A lagging member used because the array needs it.
    pub kept_stale: bool,
}

/// What the choice needs to know about the array.
pub(super) struct Ctx<'a> {
    /// The array, for messages (UUID or name).
    pub array: &'a str,
    /// Member names, by image index.
    pub names: &'a [&'a str],
    /// Level, layout and chunk, one slot per role with its usable size
    /// (images unset): what [`survivable`] checks against.
    pub base: &'a Geometry,
}

/// The slots no member fills.
pub(super) fn missing_slots(by_slot: &[Option<Placed>]) -> Vec<usize> {
    (0..by_slot.len())
        .filter(|&s| by_slot[s].is_none())
        .collect()
}

/// Places the members: fresh members first (two in one role is an error),
/// then lagging ones, freshest first, only into roles that would otherwise
/// be lost to the array. The rest are appended to `excluded`.
pub(super) fn select(
    ctx: &Ctx<'_>,
    cands: Vec<Candidate>,
    excluded: &mut Vec<Excluded>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Option<Placed>>> {
    let n = ctx.base.slots.len();
    let name = |i: usize| ctx.names.get(i).copied().unwrap_or("?").to_string();
    let mut by_slot: Vec<Option<Placed>> = vec![None; n];
    let (fresh, mut lagging): (Vec<Candidate>, Vec<Candidate>) =
        cands.into_iter().partition(|c| c.lagging.is_none());
    for c in fresh {
        if let Some(prev) = &by_slot[c.slot] {
            return Err(AssembleError::DuplicateRole {
                array: ctx.array.to_string(),
                role: c.slot,
                first: name(prev.cand.image),
                second: name(c.image),
            }
            .into());
        }
        let slot = c.slot;
        by_slot[slot] = Some(Placed {
            cand: c,
            kept_stale: false,
        });
    }
    lagging.sort_by(|a, b| b.freshness.cmp(&a.freshness).then(a.image.cmp(&b.image)));
    let mut left_out = Vec::new();
    for c in lagging {
        let needed = by_slot[c.slot].is_none() && !survivable(ctx.base, &missing_slots(&by_slot));
        if !needed {
            left_out.push(c);
            continue;
        }
        let why = c.lagging.as_ref().map(|l| l.1.as_str()).unwrap_or("");
        findings.push(Finding {
            member: Some(c.image),
            code: plan_codes::STALE_KEPT,
            message: format!(
                "{}: {why}; USED ANYWAY for role {} because the array cannot be assembled without it: whatever was written after it dropped out is missing from it, so expect old or inconsistent data",
                name(c.image),
                c.slot
            ),
        });
        let slot = c.slot;
        by_slot[slot] = Some(Placed {
            cand: c,
            kept_stale: true,
        });
    }
    for c in left_out {
        let Some((reason, why)) = c.lagging else {
            continue;
        };
        let message = format!("{}: {why}; left out", name(c.image));
        findings.push(Finding {
            member: Some(c.image),
            code: plan_codes::STALE_EXCLUDED,
            message: message.clone(),
        });
        excluded.push(Excluded {
            image: c.image,
            name: name(c.image),
            reason,
            message,
        });
    }
    let missing = missing_slots(&by_slot);
    if !survivable(ctx.base, &missing) {
        return Err(AssembleError::TooManyMissing {
            array: ctx.array.to_string(),
            level: ctx.base.level,
            raid_disks: n,
            missing,
            excluded: excluded.iter().map(|e| e.message.clone()).collect(),
        }
        .into());
    }
    if !missing.is_empty() {
        let roles: Vec<String> = missing.iter().map(|s| s.to_string()).collect();
        findings.push(Finding {
            member: None,
            code: plan_codes::DEGRADED,
            message: format!(
                "array {}: no member for role(s) {}: their data is rebuilt from the redundancy of the others",
                ctx.array,
                roles.join(", ")
            ),
        });
    }
    Ok(by_slot)
}

/// Whether every array byte can still be read with `missing` slots gone:
/// none for RAID0 and linear, all but one for RAID1, the parity count for
/// RAID4/5/6, and for RAID10 at least one copy of every chunk.
pub(super) fn survivable(base: &Geometry, missing: &[usize]) -> bool {
    if missing.is_empty() {
        return true;
    }
    let n = base.slots.len();
    match base.level {
        Level::Raid0 | Level::Linear => false,
        Level::Raid1 => missing.len() < n,
        Level::Raid4 | Level::Raid5 | Level::Raid6 => missing.len() <= base.level.parity_count(),
        Level::Raid10 => {
            let mut g = base.clone();
            for s in &mut g.slots {
                s.image = None;
            }
            // An unusable geometry fails again, with its own error, when
            // the array is built: nothing to decide here.
            let Ok(m) = g.mapping(&[]) else {
                return true;
            };
            // Which devices hold chunk c depends only on (c · near) mod n,
            // so the first n chunks show every pattern (kernel raid10.c
            // `__raid10_find_phys`).
            let chunk = g.chunk_bytes;
            (0..n as u64).all(|c| {
                let copies = m.copies(c.saturating_mul(chunk));
                copies.is_empty() || copies.iter().any(|l| !missing.contains(&l.slot))
            })
        }
    }
}

/// Slots for `n` roles of `size` bytes each, without images: the base
/// geometry [`survivable`] checks against.
pub(super) fn unfilled_slots(n: usize, size: u64) -> Vec<Slot> {
    vec![
        Slot {
            image: None,
            data_offset: 0,
            size: Some(size),
        };
        n
    ]
}

/// The final geometry: `base` (level, layout, chunk) with the chosen
/// members in their slots, resolved against the member lengths. The array
/// size the metadata records is applied when the members hold it; a
/// difference either way is a finding.
pub(super) fn build(
    mut base: Geometry,
    by_slot: &[Option<Placed>],
    members: &[(&str, &dyn Source)],
    recorded_size: Option<u64>,
    array: &str,
    findings: &mut Vec<Finding>,
) -> Result<(Geometry, u64)> {
    base.slots = by_slot
        .iter()
        .map(|p| match p {
            Some(p) => Slot {
                image: Some(p.cand.image),
                data_offset: p.cand.data_offset,
                size: Some(p.cand.size),
            },
            None => Slot {
                image: None,
                data_offset: 0,
                size: None,
            },
        })
        .collect();
    base.array_size = None;
    let sizes: Vec<Option<u64>> = members.iter().map(|(_, s)| Some(s.len())).collect();
    let capacity = base.mapping(&sizes)?.capacity();
    let mut array_bytes = capacity;
    if let Some(r) = recorded_size {
        if r <= capacity {
            base.array_size = Some(r);
            array_bytes = r;
        }
        if r != capacity {
            let what = if r < capacity {
                "the members hold more; the recorded size is used"
            } else {
                "the members hold less (truncated members?); the array is cut to what they hold"
            };
            findings.push(Finding {
                member: None,
                code: plan_codes::ARRAY_SIZE,
                message: format!(
                    "array {array}: the metadata records {r} bytes, the geometry gives {capacity}: {what}"
                ),
            });
        }
    }
    Ok((base, array_bytes))
}

/// The key (md array UUID, DDF container GUID) claimed by strictly more
/// members than any other; a tie is an error naming every group.
pub(super) fn majority(names: &[&str], keys: &[&str]) -> Result<String> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        groups.entry(k).or_default().push(i);
    }
    let best = groups.values().map(Vec::len).max().unwrap_or(0);
    let top: Vec<&str> = groups
        .iter()
        .filter(|(_, v)| v.len() == best)
        .map(|(k, _)| *k)
        .collect();
    if let [only] = top[..] {
        return Ok(only.to_string());
    }
    let mut list: Vec<(&str, &Vec<usize>)> = groups.iter().map(|(k, v)| (*k, v)).collect();
    list.sort_by_key(|(_, v)| v[0]);
    Err(AssembleError::MixedArrays {
        groups: list
            .into_iter()
            .map(|(uuid, v)| ArrayGroup {
                uuid: uuid.to_string(),
                members: v
                    .iter()
                    .map(|&i| names.get(i).copied().unwrap_or("?").to_string())
                    .collect(),
            })
            .collect(),
    }
    .into())
}

/// The chosen members as the plan lists them, in slot order.
pub(super) fn plan_members(by_slot: &[Option<Placed>], names: &[&str]) -> Vec<PlanMember> {
    by_slot
        .iter()
        .flatten()
        .map(|p| PlanMember {
            image: p.cand.image,
            name: names[p.cand.image].to_string(),
            slot: p.cand.slot,
            data_offset_bytes: p.cand.data_offset,
            size_bytes: p.cand.size,
            events: p.cand.events,
            sequence: p.cand.sequence,
            kept_stale: p.kept_stale,
        })
        .collect()
}

/// Records a member left out for its role or metadata.
pub(super) fn exclude(
    excluded: &mut Vec<Excluded>,
    findings: &mut Vec<Finding>,
    image: usize,
    name: &str,
    reason: ExclusionReason,
    message: String,
) {
    findings.push(Finding {
        member: Some(image),
        code: plan_codes::MEMBER_EXCLUDED,
        message: message.clone(),
    });
    excluded.push(Excluded {
        image,
        name: name.to_string(),
        reason,
        message,
    });
}
