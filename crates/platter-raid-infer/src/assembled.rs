//! Continuity of assembled candidates: candidates that every redundancy
//! test accepts alike (the rotations and chunk sizes of a RAID10 far or
//! offset cycle, whose copies sit the same distance apart whatever the
//! chunk) still read the array in different orders. Each candidate is
//! read at array offsets where one of them puts a chunk boundary, and the
//! sector pair meeting there is scored for continuity (sequence numbers,
//! flowing text, bytes that persist: [`crate::continuity`]). The right
//! candidate reads the sector that really came next at every point; a
//! wrong one reads a sector of another chunk at its own boundaries, or
//! the next sector of the same member where the data really moved on.
//!
//! All candidates are scored at the same points, so each pair is compared
//! where they read different sectors, in standard errors of the paired
//! difference ([`paired_lead`]).

use platter_core::Source;
use platter_raid::geometry::{Geometry, Mapping};

use crate::continuity::{Continuity, paired_lead, similarity, stats};
use crate::sample::{HEAD_BYTES, SECTOR};
use crate::text_flow::TextModel;

/// Boundary points taken from each candidate.
const PER_CANDIDATE: usize = 96;

/// A candidate's continuity over the shared points.
#[derive(Debug, Clone)]
pub(crate) struct Scored {
    /// Index into the candidates given.
    pub index: usize,
    /// Continuity over the points it could read.
    pub continuity: Continuity,
    /// Per point: the sector pair it reads (a key) and its similarity.
    junctions: Vec<Option<(usize, f32)>>,
}

/// The mapping of `g` over members of `sizes` (by image).
fn mapping(g: &Geometry, sizes: &[u64]) -> Option<Mapping> {
    let per_slot: Vec<Option<u64>> = g
        .slots
        .iter()
        .map(|s| s.image.and_then(|i| sizes.get(i).copied()))
        .collect();
    g.mapping(&per_slot).ok()
}

/// Array offsets of chunk boundaries of `g`: half spread over the head of
/// the array (where file systems keep their metadata), half over all of
/// it.
fn boundary_points(g: &Geometry, m: &Mapping, members: usize, per_candidate: usize) -> Vec<u64> {
    let chunk = g.chunk_bytes.max(SECTOR as u64);
    let size = m.array_size();
    if size < 4 * chunk {
        return Vec::new();
    }
    let head = size.min(HEAD_BYTES * members as u64);
    let half = per_candidate / 2;
    let mut v = Vec::with_capacity(per_candidate);
    for span in [head, size] {
        let step = (span / half as u64).max(chunk);
        let mut p = chunk;
        while p + 2 * (SECTOR as u64) <= span && v.len() < per_candidate {
            v.push(p / chunk * chunk);
            p += step;
        }
    }
    v
}

/// Reads the array sector at `off` under `m`: its bytes and where they
/// sit (image, member offset). `None` past the end, on a missing member
/// or a read error.
fn sector(members: &[&dyn Source], g: &Geometry, m: &Mapping, off: u64) -> Option<(Vec<u8>, u64)> {
    let loc = m.locate(off)?;
    let read = |image: usize, at: u64| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; SECTOR];
        members.get(image)?.read_exact_at(&mut buf, at).ok()?;
        Some(buf)
    };
    let slot = g.slots.get(loc.slot)?;
    if let Some(image) = slot.image {
        return Some((
            read(image, loc.member_offset)?,
            (image as u64) << 48 ^ loc.member_offset,
        ));
    }
    // A missing slot's data is the XOR of the rest of its row and P.
    let row = m.row(loc.row?)?;
    let p = row.p?;
    let mut out = vec![0u8; SECTOR];
    for s in row.data_slots.iter().copied().chain([p]) {
        if s == loc.slot {
            continue;
        }
        let other = g.slots.get(s)?;
        let at = loc.member_offset - slot.data_offset + other.data_offset;
        for (o, b) in out.iter_mut().zip(read(other.image?, at)?) {
            *o ^= b;
        }
    }
    let key = (0xFF00 + loc.slot as u64) << 48 ^ loc.member_offset;
    Some((out, key))
}

/// The junctions of `g` at `points`.
fn junctions(
    members: &[&dyn Source],
    g: &Geometry,
    m: &Mapping,
    points: &[u64],
    text: Option<&TextModel>,
) -> Vec<Option<(usize, f32)>> {
    let s = SECTOR as u64;
    points
        .iter()
        .map(|&p| {
            let a_prev = sector(members, g, m, p.checked_sub(2 * s)?)?;
            let a = sector(members, g, m, p - s)?;
            let b = sector(members, g, m, p)?;
            let b_next = sector(members, g, m, p + s)?;
            let v = similarity(&a_prev.0, &a.0, &b.0, &b_next.0, text)?;
            // The key names the sector pair read, so that two candidates
            // reading the same pair are not compared there.
            let key = a.1.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.1;
            Some((key as usize, v))
        })
        .collect()
}

/// Scores `cands` over the union of their boundary points, best first.
/// `sizes` are the member image sizes.
pub(crate) fn rank(
    members: &[&dyn Source],
    sizes: &[u64],
    cands: &[Geometry],
    text: Option<&TextModel>,
) -> Vec<Scored> {
    rank_at(members, sizes, cands, text, PER_CANDIDATE)
}

/// [`rank`] with `per_candidate` boundary points taken from each
/// candidate.
pub(crate) fn rank_at(
    members: &[&dyn Source],
    sizes: &[u64],
    cands: &[Geometry],
    text: Option<&TextModel>,
    per_candidate: usize,
) -> Vec<Scored> {
    let maps: Vec<Option<Mapping>> = cands.iter().map(|g| mapping(g, sizes)).collect();
    let mut points: Vec<u64> = cands
        .iter()
        .zip(&maps)
        .filter_map(|(g, m)| {
            Some(boundary_points(
                g,
                m.as_ref()?,
                members.len(),
                per_candidate,
            ))
        })
        .flatten()
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut out: Vec<Scored> = cands
        .iter()
        .zip(&maps)
        .enumerate()
        .map(|(index, (g, m))| {
            let junctions = match m {
                Some(m) => junctions(members, g, m, &points, text),
                None => vec![None; points.len()],
            };
            Scored {
                index,
                continuity: stats(junctions.iter().flatten().map(|(_, v)| f64::from(*v))),
                junctions,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.continuity
            .mean
            .partial_cmp(&a.continuity.mean)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.index.cmp(&b.index))
    });
    out
}

/// Lead of `a` over `b` in standard errors, over the points where they
/// read different sector pairs; `None` when they never do (they read the
/// array alike there).
pub(crate) fn lead(a: &Scored, b: &Scored) -> Option<f64> {
    let differ = a
        .junctions
        .iter()
        .zip(&b.junctions)
        .filter(|(x, y)| matches!((x, y), (Some((i, _)), Some((j, _))) if i != j))
        .count();
    (differ >= 2).then(|| paired_lead(&a.junctions, &b.junctions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platter_core::MemSource;
    use platter_raid::geometry::{Layout, Level, Raid10Layout};

    /// Sector `n` of a labelled stream.
    fn labelled(n: u64) -> Vec<u8> {
        let mut s = format!("record sector {n:>10}\n").into_bytes();
        s.resize(SECTOR, b'.');
        s
    }

    fn far2(chunk: u64, order: &[Option<usize>], member: u64) -> Geometry {
        let mut g = Geometry::new(
            Level::Raid10,
            Layout::Raid10(Raid10Layout {
                near: 1,
                far: 2,
                offset: false,
                far_sets: false,
            }),
            chunk,
            order.len(),
        )
        .with_order(order);
        for s in &mut g.slots {
            s.size = Some(member);
        }
        g
    }

    /// Members of a far-2 array of labelled sectors, written through the
    /// engine's own mapping of `g`.
    fn build(g: &Geometry, member: u64) -> Vec<Vec<u8>> {
        let n = g.slots.len();
        let sizes = vec![member; n];
        let m = mapping(g, &sizes).unwrap();
        let mut imgs = vec![vec![0u8; member as usize]; n];
        let s = SECTOR as u64;
        for k in 0..m.array_size() / s {
            for loc in m.copies(k * s) {
                let img = g.slots[loc.slot].image.unwrap();
                let at = loc.member_offset as usize;
                imgs[img][at..at + SECTOR].copy_from_slice(&labelled(k));
            }
        }
        imgs
    }

    #[test]
    fn the_right_rotation_and_chunk_read_on() {
        let member = 512 << 10;
        let order = [Some(2), Some(0), Some(3), Some(1)];
        let truth = far2(16 << 10, &order, member);
        let imgs = build(&truth, member);
        let srcs: Vec<MemSource> = imgs
            .iter()
            .enumerate()
            .map(|(i, d)| MemSource::new(format!("m{i}"), d.clone()))
            .collect();
        let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
        let mut rotated = order;
        rotated.rotate_left(1);
        let cands = vec![
            far2(64 << 10, &order, member),
            far2(16 << 10, &rotated, member),
            truth.clone(),
            far2(8 << 10, &order, member),
        ];
        let r = rank(&refs, &[member; 4], &cands, None);
        assert_eq!(r[0].index, 2, "{r:?}");
        for other in &r[1..] {
            assert!(lead(&r[0], other).unwrap() > 4.0, "{other:?}");
        }
    }
}
