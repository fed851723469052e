//! What inference returns: ranked candidates and a verdict that says
//! plainly when the evidence cannot decide.

use platter_raid::geometry::{Geometry, Level, ParityLayout};
use serde::Serialize;

use crate::signals::SignalSummary;

/// The evidence behind one candidate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Informative sectors in the samples (at least two members non-zero).
    pub informative_sectors: u64,
    /// Fraction of informative sectors whose XOR over all members is zero.
    pub parity_consistent_rate: f64,
    /// Fraction of informative sectors where exactly one member (Q) breaks
    /// the XOR.
    pub q_located_rate: f64,
    /// Fraction of located Q sectors whose member the candidate's rotation
    /// predicts (RAID6).
    pub q_placement_rate: Option<f64>,
    /// Fraction of checked sectors whose P and Q recompute exactly under
    /// the candidate (RAID6).
    pub q_consistent_rate: Option<f64>,
    /// Mean similarity (0…1) of logically adjacent sectors across the
    /// candidate's chunk boundaries (RAID5/4).
    pub continuity_score: Option<f64>,
    /// Chunk boundaries or sectors the score was computed on.
    pub checked: u64,
    /// Fraction of informative sectors where all members are equal.
    pub mirror_rate: f64,
    /// Self-locating structures (MFT records, superblocks, GPT…) whose
    /// recorded position the candidate explains.
    pub anchors_explained: Option<u64>,
    /// Self-locating structures found in the samples and inside the
    /// candidate's data area.
    pub anchors_considered: Option<u64>,
    /// Kinds of structures found in the samples, with counts.
    pub structures: Vec<String>,
    /// File-system checks run on the assembled candidate.
    pub validation: Option<crate::structures::Validation>,
    /// RAID4/5 with every slot filled: the sampled sectors that two
    /// members hold alike and all others as zeros (a sparse row's only
    /// data and its parity copy), as `(agree, disagree)` with the
    /// candidate's parity member (see [`crate::parity_copies::agreement`]).
    pub parity_copies: Option<(u64, u64)>,
}

/// One way the members could form an array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// RAID level.
    pub level: Level,
    /// Parity layout (RAID4/5/6 only).
    pub layout: Option<ParityLayout>,
    /// Chunk size in bytes (0 for RAID1).
    pub chunk_bytes: u64,
    /// `order[slot]` is the index (in the list given) of the member image
    /// filling that slot, or `None` for a missing member.
    pub order: Vec<Option<usize>>,
    /// Where array data starts on every member, in bytes. When the
    /// members' data starts differ (see `geometry.slots[i].data_offset`),
    /// that of the first slot with a member.
    pub data_offset_bytes: u64,
    /// The candidate's score, 0…1 (higher is better).
    pub score: f64,
    /// Score minus the runner-up's score (0 for all but the first).
    pub margin: f64,
    /// The evidence.
    pub evidence: Evidence,
    /// The whole geometry, ready for
    /// [`RaidArray`](platter_raid::array::RaidArray): level, layout, chunk,
    /// each slot's image (or `None` when missing) and data offset, delayed
    /// parity. Image indices refer to the members as given to
    /// [`infer`](crate::infer).
    pub geometry: Geometry,
}

impl Candidate {
    /// The candidate of geometry `g`: level, layout, chunk, order and data
    /// offset read from it, with `score` and `evidence` (margin 0).
    pub fn of(g: Geometry, score: f64, evidence: Evidence) -> Self {
        Candidate {
            level: g.level,
            layout: match g.layout {
                platter_raid::geometry::Layout::Parity(p) => Some(p),
                _ => None,
            },
            chunk_bytes: g.chunk_bytes,
            order: g.slots.iter().map(|s| s.image).collect(),
            data_offset_bytes: g.slots.first().map_or(0, |s| s.data_offset),
            score,
            margin: 0.0,
            evidence,
            geometry: g,
        }
    }
}

/// The overall answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// The first candidate is right with high confidence.
    Found,
    /// The evidence cannot separate the top candidates.
    Ambiguous {
        /// Why, naming the rivals.
        reason: String,
    },
    /// Too few sectors have at least two non-zero members.
    NoInformativeData {
        /// Details.
        reason: String,
    },
    /// No redundancy found: RAID0, JBOD/linear, unrelated members, or
    /// encrypted data (RAID0 order and chunk inference is not implemented).
    NoParity {
        /// Details.
        reason: String,
    },
    /// Redundancy of a kind this version does not resolve further.
    Unsupported {
        /// Details.
        reason: String,
    },
}

/// Result of [`infer`](crate::infer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The verdict.
    pub verdict: Verdict,
    /// Candidates, best first (at most `Options::top`).
    pub candidates: Vec<Candidate>,
    /// Member sizes in bytes, in the order given.
    pub member_bytes: Vec<u64>,
    /// Bytes read from each member.
    pub sampled_bytes_per_member: u64,
    /// The per-sector signal counts.
    pub signals: SignalSummary,
    /// A member whose data is older than the others' (it dropped out and
    /// the array ran degraded). The first candidate then leaves it out.
    pub stale: Option<crate::stale::StaleMember>,
}

/// Level, layout and chunk (levels without chunks show none).
fn head(c: &Candidate, layout: &str) -> String {
    let mut parts = vec![c.level.name().to_string()];
    if !layout.is_empty() {
        parts.push(layout.to_string());
    }
    if !matches!(c.level, Level::Linear | Level::Raid1) {
        parts.push(format!(
            "chunk {}",
            platter_core::size::human_size(c.chunk_bytes)
        ));
    }
    parts.join(" ")
}

/// The slot order, `missing` for empty slots.
fn order(c: &Candidate) -> String {
    c.order
        .iter()
        .map(|o| o.map_or("missing".to_string(), |i| i.to_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Short text of a candidate's parameters, for ambiguity messages.
pub fn describe(c: &Candidate) -> String {
    let mut layout = c.layout.map_or(String::new(), |l| l.name().to_string());
    if let platter_raid::geometry::Layout::Raid10(r) = c.geometry.layout {
        layout = r.to_string();
    }
    if let Some(d) = c.geometry.delayed_parity {
        layout.push_str(&format!(
            " delayed {}/{}",
            d.rows_per_group, d.first_group_rows
        ));
    }
    // Members whose data starts differ show each slot's start.
    let present: Vec<u64> = c
        .geometry
        .slots
        .iter()
        .filter(|s| s.image.is_some())
        .map(|s| s.data_offset)
        .collect();
    if present.iter().any(|&o| o != c.data_offset_bytes) {
        let per_slot: Vec<String> = c
            .geometry
            .slots
            .iter()
            .map(|s| {
                s.image
                    .map_or("-".to_string(), |_| s.data_offset.to_string())
            })
            .collect();
        return format!(
            "{} order [{}] offsets per slot [{}]",
            head(c, &layout),
            order(c),
            per_slot.join(",")
        );
    }
    format!(
        "{} order [{}] offset {}",
        head(c, &layout),
        order(c),
        c.data_offset_bytes
    )
}
