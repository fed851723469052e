//! Validation of candidates on the assembled array: each candidate is read
//! as an array (through a light view over the borrowed members) and the
//! file systems inside are checked ([`structures::validate`]). A wrong
//! order, chunk or layout puts metadata where the file system does not
//! expect it, and checks fail.

use platter_core::{Result as CoreResult, Source};
use platter_raid::geometry::{Geometry, Mapping};
use platter_raid::gf;

use crate::report::Candidate;
use crate::structures::{Validation, validate};

/// Bytes a validation may read per candidate.
pub const BUDGET_BYTES: u64 = 8 << 20;
/// A candidate whose file systems pass this fraction of checks is valid.
pub const VALID_RATE: f64 = 0.95;
/// Fewer checks than this say nothing.
pub const MIN_CHECKS: u64 = 4;

/// A candidate's array over borrowed members: data is read from where the
/// geometry puts it; slots without an image read as errors (validation
/// skips what it cannot read).
#[derive(Debug)]
struct View<'a> {
    members: &'a [&'a dyn Source],
    geometry: Geometry,
    mapping: Mapping,
}

impl View<'_> {
    /// Rebuilds a missing data chunk's bytes from the rest of its row:
    /// one missing data chunk from P (the XOR of the other data chunks
    /// and P) or, with P missing too, from Q; two missing data chunks
    /// from P and Q together. False when the row lacks what that needs.
    fn rebuild(
        &self,
        row: Option<u64>,
        slot: usize,
        member_offset: u64,
        out: &mut [u8],
    ) -> CoreResult<bool> {
        let Some(layout) = row.and_then(|r| self.mapping.row(r)) else {
            return Ok(false);
        };
        let image = |s: usize| {
            self.geometry.slots[s]
                .image
                .and_then(|i| self.members.get(i))
        };
        // Data offsets are equal across slots in inferred geometries.
        let read = |s: usize, buf: &mut [u8]| -> CoreResult<bool> {
            let Some(m) = image(s) else {
                return Ok(false);
            };
            let off = member_offset - self.geometry.slots[slot].data_offset
                + self.geometry.slots[s].data_offset;
            m.read_exact_at(buf, off)?;
            Ok(true)
        };
        let len = out.len();
        let exps = &layout.q_exponents;
        let mut present: Vec<Vec<u8>> = Vec::new();
        let mut present_exps: Vec<u8> = Vec::new();
        let mut lost: Vec<(usize, u8)> = Vec::new();
        for (j, &s) in layout.data_slots.iter().enumerate() {
            let mut buf = vec![0u8; len];
            if read(s, &mut buf)? {
                present.push(buf);
                present_exps.extend(exps.get(j));
            } else {
                lost.push((s, exps.get(j).copied().unwrap_or(0)));
            }
        }
        let mut p = vec![0u8; len];
        let have_p = match layout.p {
            Some(s) => read(s, &mut p)?,
            None => false,
        };
        let mut q = vec![0u8; len];
        let have_q = match layout.q {
            Some(s) => read(s, &mut q)? && present_exps.len() == present.len(),
            None => false,
        };
        let data: Vec<&[u8]> = present.iter().map(Vec::as_slice).collect();
        let mut px = vec![0u8; len];
        gf::raid6::gen_p(&data, &mut px);
        match lost[..] {
            [(s, _)] if s == slot && have_p => {
                gf::raid6::recover_data_from_p(&p, &px, out);
            }
            [(s, ex)] if s == slot && have_q => {
                let mut qx = vec![0u8; len];
                gf::raid6::gen_q(&data, &present_exps, &mut qx);
                gf::raid6::recover_data_from_q(&q, &qx, ex, out);
            }
            [(a, ea), (b, eb)] if (a == slot || b == slot) && have_p && have_q && ea != eb => {
                let mut qx = vec![0u8; len];
                gf::raid6::gen_q(&data, &present_exps, &mut qx);
                let mut other = vec![0u8; len];
                if a == slot {
                    gf::raid6::recover_two_data(&p, &q, &px, &qx, ea, eb, out, &mut other);
                } else {
                    gf::raid6::recover_two_data(&p, &q, &px, &qx, ea, eb, &mut other, out);
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl Source for View<'_> {
    fn len(&self) -> u64 {
        self.mapping.array_size()
    }

    fn name(&self) -> &str {
        "candidate array"
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let Some(loc) = self.mapping.locate(pos) else {
                break;
            };
            let want = (buf.len() - done).min(usize::try_from(loc.len).unwrap_or(usize::MAX));
            let img = self.geometry.slots[loc.slot]
                .image
                .and_then(|i| self.members.get(i));
            let out = &mut buf[done..done + want];
            match img {
                Some(m) => m.read_exact_at(out, loc.member_offset)?,
                None => {
                    if !self.rebuild(loc.row, loc.slot, loc.member_offset, out)? {
                        if done > 0 {
                            break;
                        }
                        return Err(platter_core::Error::Unreadable {
                            name: "candidate array".into(),
                            offset: pos,
                            len: want as u64,
                        });
                    }
                }
            }
            done += want;
        }
        Ok(done)
    }
}

/// Validates `c` over `members`; `None` when the geometry does not resolve.
pub fn check(members: &[&dyn Source], c: &Candidate) -> Option<Validation> {
    let sizes: Vec<Option<u64>> = members.iter().map(|m| Some(m.len())).collect();
    let mapping = c.geometry.mapping(&sizes).ok()?;
    let view = View {
        members,
        geometry: c.geometry.clone(),
        mapping,
    };
    Some(validate(&view, BUDGET_BYTES))
}

/// True when `v` found file systems and they pass.
pub fn passes(v: &Validation) -> bool {
    v.checks >= MIN_CHECKS && v.rate().is_some_and(|r| r >= VALID_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use platter_core::MemSource;
    use platter_raid::geometry::{Layout, Level, ParityLayout};

    /// A RAID6 read with two members missing: every row's data comes back,
    /// whichever two of data, P and Q are gone (two data chunks from P and
    /// Q, one data chunk from P, or from Q when P is gone too).
    #[test]
    fn a_raid6_missing_two_members_reads_back_whole() {
        let (n, chunk, rows) = (6usize, 4096usize, 12usize);
        let g = Geometry::new(
            Level::Raid6,
            Layout::Parity(ParityLayout::LeftSymmetric),
            chunk as u64,
            n,
        )
        .with_order(&(0..n).map(Some).collect::<Vec<_>>());
        let member = (rows * chunk) as u64;
        let mapping = g.mapping(&vec![Some(member); n]).unwrap();
        let data: Vec<u8> = crate::structures::test_support::noise(7, rows * (n - 2) * chunk);
        let mut members = vec![vec![0u8; rows * chunk]; n];
        for r in 0..rows {
            let row = mapping.row(r as u64).unwrap();
            let at = r * chunk..(r + 1) * chunk;
            let blocks: Vec<&[u8]> = (0..n - 2)
                .map(|d| &data[(r * (n - 2) + d) * chunk..][..chunk])
                .collect();
            for (d, &s) in row.data_slots.iter().enumerate() {
                members[s][at.clone()].copy_from_slice(blocks[d]);
            }
            let (mut p, mut q) = (vec![0u8; chunk], vec![0u8; chunk]);
            gf::raid6::gen_pq(&blocks, &row.q_exponents, &mut p, &mut q);
            members[row.p.unwrap()][at.clone()].copy_from_slice(&p);
            members[row.q.unwrap()][at].copy_from_slice(&q);
        }
        let srcs: Vec<MemSource> = members
            .iter()
            .enumerate()
            .map(|(i, m)| MemSource::new(format!("m{i}"), m.clone()))
            .collect();
        let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
        for gone in [[0usize, 1], [1, 4], [2, 5]] {
            let order: Vec<Option<usize>> =
                (0..n).map(|s| (!gone.contains(&s)).then_some(s)).collect();
            let view = View {
                members: &refs,
                geometry: g.clone().with_order(&order),
                mapping: mapping.clone(),
            };
            let mut out = vec![0u8; data.len()];
            view.read_exact_at(&mut out, 0).unwrap();
            assert!(out == data, "slots {gone:?} missing");
        }
    }
}
