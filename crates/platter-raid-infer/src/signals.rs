//! Per-sector redundancy signals over the samples, at 512-byte granularity.
//!
//! A sector (the same member offset on every member) is *informative* when
//! at least two members hold non-zero bytes there: all-zero and
//! never-written regions satisfy every parity test and say nothing.

use serde::Serialize;

use crate::bytes::{is_zero, words};
use crate::member_offsets::is_metadata;
use crate::sample::{SECTOR, Samples};

/// What the parity tests say about one informative sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectorKind {
    /// The XOR of all members is zero (RAID5/4 row, or a mirror pair set).
    XorZero,
    /// The XOR is non-zero, and exactly this member equals the XOR of all
    /// members, so leaving it out makes the rest XOR to zero: RAID6's Q.
    Q(usize),
    /// The XOR is non-zero and several members equal it (RAID6 with a
    /// single non-zero data block of exponent 0, where P = Q = D).
    QAmbiguous,
    /// No parity relation holds.
    Inconsistent,
}

/// One informative sector.
#[derive(Debug, Clone, Copy)]
pub struct SectorObs {
    /// Index of the sample window.
    pub window: u32,
    /// Sector index inside the window.
    pub index: u32,
    /// Member byte offset of the sector.
    pub offset: u64,
    /// The parity test result.
    pub kind: SectorKind,
    /// True when every member holds the same bytes.
    pub all_equal: bool,
}

/// Counts over the samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SignalSummary {
    /// Sectors examined (per member).
    pub sectors_examined: u64,
    /// Informative sectors (at least two members non-zero).
    pub informative_sectors: u64,
    /// Informative sectors whose XOR over all members is zero.
    pub xor_zero_sectors: u64,
    /// Informative sectors where exactly one member is the XOR of all (Q).
    pub q_located_sectors: u64,
    /// Informative sectors where several members equal the XOR.
    pub q_ambiguous_sectors: u64,
    /// Informative sectors where all members are equal.
    pub all_equal_sectors: u64,
    /// `pair_equal[a][b]`: informative sectors where members a and b are
    /// equal and non-zero.
    pub pair_equal: Vec<Vec<u64>>,
    /// `pair_either[a][b]`: informative sectors where member a or b is
    /// non-zero (the denominator of a mirror test for that pair).
    pub pair_either: Vec<Vec<u64>>,
    /// Member offset of the first informative sector, if any.
    pub first_informative_offset: Option<u64>,
}

impl SignalSummary {
    /// `count / informative_sectors` (0 when nothing is informative).
    pub fn rate(&self, count: u64) -> f64 {
        if self.informative_sectors == 0 {
            0.0
        } else {
            count as f64 / self.informative_sectors as f64
        }
    }
}

/// The signals of every sector of the samples.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// Informative sectors, by increasing offset.
    pub obs: Vec<SectorObs>,
    /// The totals.
    pub summary: SignalSummary,
}

/// Computes the signals of `samples` for `n` members.
pub fn compute(samples: &Samples, n: usize) -> Signals {
    let mut s = Signals {
        obs: Vec::new(),
        summary: SignalSummary {
            pair_equal: vec![vec![0; n]; n],
            pair_either: vec![vec![0; n]; n],
            ..SignalSummary::default()
        },
    };
    let mut x = [0u8; SECTOR];
    for (wi, w) in samples.windows.iter().enumerate() {
        for i in 0..w.sectors() {
            s.summary.sectors_examined += 1;
            let nz: Vec<bool> = (0..n).map(|m| !is_zero(w.sector(m, i))).collect();
            let nonzero = nz.iter().filter(|&&z| z).count();
            if nonzero < 2 {
                continue;
            }
            // md or DDF metadata left on the members (the bitmap header
            // `mdadm --zero-superblock` leaves, the same on every member,
            // XORs to zero) is no array data.
            if (0..n).any(|m| nz[m] && is_metadata(w.sector(m, i))) {
                continue;
            }
            let mut acc = [0u64; SECTOR / 8];
            for m in 0..n {
                for (a, v) in acc.iter_mut().zip(words(w.sector(m, i))) {
                    *a ^= v;
                }
            }
            for (dst, v) in x.chunks_exact_mut(8).zip(acc) {
                dst.copy_from_slice(&v.to_le_bytes());
            }
            let kind = if is_zero(&x) {
                SectorKind::XorZero
            } else {
                let eq: Vec<usize> = (0..n).filter(|&m| w.sector(m, i) == &x[..]).collect();
                match eq.as_slice() {
                    [] => SectorKind::Inconsistent,
                    [q] => SectorKind::Q(*q),
                    _ => SectorKind::QAmbiguous,
                }
            };
            let all_equal = (1..n).all(|m| w.sector(m, i) == w.sector(0, i));
            let sm = &mut s.summary;
            sm.informative_sectors += 1;
            match kind {
                SectorKind::XorZero => sm.xor_zero_sectors += 1,
                SectorKind::Q(_) => sm.q_located_sectors += 1,
                SectorKind::QAmbiguous => sm.q_ambiguous_sectors += 1,
                SectorKind::Inconsistent => {}
            }
            sm.all_equal_sectors += u64::from(all_equal);
            for a in 0..n {
                for b in a + 1..n {
                    if nz[a] || nz[b] {
                        sm.pair_either[a][b] += 1;
                        sm.pair_either[b][a] += 1;
                    }
                    let sa = w.sector(a, i);
                    if nz[a] && sa == w.sector(b, i) {
                        sm.pair_equal[a][b] += 1;
                        sm.pair_equal[b][a] += 1;
                    }
                }
            }
            let offset = w.offset + (i * SECTOR) as u64;
            sm.first_informative_offset.get_or_insert(offset);
            // Window and sector counts are bounded by the sampling budget.
            s.obs.push(SectorObs {
                window: wi as u32,
                index: i as u32,
                offset,
                kind,
                all_equal,
            });
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleWindow;

    fn window(members: Vec<Vec<u8>>) -> Samples {
        Samples {
            windows: vec![SampleWindow {
                offset: 4096,
                data: members,
            }],
            bytes_read_per_member: 512,
            common_bytes: 8192,
        }
    }

    #[test]
    fn raid6_q_member_is_located_and_raid5_parity_is_zero() {
        let d0: Vec<u8> = (0..512u32).map(|i| (i * 7 + 1) as u8).collect();
        let d1: Vec<u8> = (0..512u32).map(|i| (i * 13 + 5) as u8).collect();
        let p: Vec<u8> = d0.iter().zip(&d1).map(|(a, b)| a ^ b).collect();
        let q: Vec<u8> = d0
            .iter()
            .zip(&d1)
            .map(|(a, b)| a ^ platter_raid::gf::mul(2, *b))
            .collect();
        let s = compute(
            &window(vec![q.clone(), d0.clone(), p.clone(), d1.clone()]),
            4,
        );
        assert_eq!(s.obs.len(), 1);
        assert_eq!(s.obs[0].kind, SectorKind::Q(0));
        assert_eq!(s.summary.first_informative_offset, Some(4096));
        let s = compute(&window(vec![d0.clone(), p, d1]), 3);
        assert_eq!(s.obs[0].kind, SectorKind::XorZero);
        assert_eq!(s.summary.xor_zero_sectors, 1);
    }

    #[test]
    fn one_non_zero_member_is_not_informative() {
        let d0 = vec![9u8; 512];
        let s = compute(&window(vec![vec![0; 512], d0, vec![0; 512]]), 3);
        assert_eq!(s.summary.sectors_examined, 1);
        assert_eq!(s.summary.informative_sectors, 0);
        assert!(s.obs.is_empty());
    }

    #[test]
    fn md_metadata_left_on_the_members_is_not_informative() {
        // The write-intent bitmap header `mdadm --zero-superblock` leaves:
        // the same on every member, so it XORs to zero like parity.
        let mut bitmap = vec![0u8; 512];
        bitmap[..4].copy_from_slice(b"bitm");
        bitmap[4] = 4;
        bitmap[16..32].copy_from_slice(&[0xa5; 16]);
        let s = compute(&window(vec![bitmap.clone(); 4]), 4);
        assert_eq!(s.summary.informative_sectors, 0);
        assert_eq!(s.summary.first_informative_offset, None);
        // An md superblock on one member beside data on the others.
        let mut sb = vec![7u8; 512];
        sb[..4].copy_from_slice(&0xa92b_4efc_u32.to_le_bytes());
        let s = compute(&window(vec![sb, vec![3; 512], vec![4; 512]]), 3);
        assert!(s.obs.is_empty());
    }

    #[test]
    fn mirrors_count_as_equal_pairs() {
        let d: Vec<u8> = (0..512u32).map(|i| i as u8 | 1).collect();
        let s = compute(&window(vec![d.clone(), d.clone()]), 2);
        assert!(s.obs[0].all_equal);
        assert_eq!(s.summary.pair_equal[0][1], 1);
    }
}
