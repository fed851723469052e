//! Doubts about a found answer that another reading fits as well: a
//! member that reads as parity under a RAID0 answer.

use platter_raid::geometry::Level;

use crate::{Candidate, Verdict, naturalness, report, sample, signals};

/// A RAID0 answer with a member that reads as parity may be a RAID4/5
/// with a member missing and its parity always on that member, which fits
/// the same structures (where the rest of a row is zero, parity equals the
/// one data chunk, so reading it as data is right there): not a confident
/// answer. Parity shows in two ways: XORed with another member it repeats
/// like file data, itself not; or it holds copies of the other
/// members' sectors at the same offsets, and no other pair of members
/// shares any.
pub(crate) fn parity_member(
    samples: &sample::Samples,
    signals: &signals::SignalSummary,
    anchors: &[crate::structures::Anchor],
    verdict: &mut Verdict,
    candidates: &[Candidate],
) {
    let Some(top) = candidates.first() else {
        return;
    };
    if *verdict != Verdict::Found {
        return;
    }
    if top.level != Level::Raid0 {
        return;
    }
    let images: Vec<usize> = top.order.iter().flatten().copied().collect();
    // A member that holds structures where another member holds other
    // data is data itself: parity there would be the XOR of two data
    // chunks, which no structure survives.
    let refuted = |p: usize| structures_beside_data(samples, anchors, p, &images) >= MIN_REFUTING;
    let natural = naturalness::parity_suspect(samples, &images)
        .filter(|s| !refuted(s.parity))
        .map(|s| {
            format!(
                "member {} reads as parity: XORed with member {} it repeats like file data in {} of {} compared blocks, itself not",
                s.parity, s.other, s.votes, s.blocks
            )
        });
    let why = natural.or_else(|| {
        let (p, copies, partners) = copy_hub(signals, &images).filter(|h| !refuted(h.0))?;
        Some(format!(
            "member {p} holds {copies} sectors equal to those of {partners} other members at the same offsets, as parity does where the rest of its row is zero, and no other pair of members shares one"
        ))
    });
    let Some(why) = why else {
        return;
    };
    *verdict = Verdict::Ambiguous {
        reason: format!(
            "{} fits the structures, but {why}; a RAID4/5 with a member missing and parity always there fits as well; supply --hint or the missing member",
            report::describe(top)
        ),
    };
}

/// Structures beside other data that clear a member of reading as parity.
const MIN_REFUTING: usize = 4;

/// How many self-locating structures `member` holds at sectors where
/// another of `images` holds other non-zero bytes.
fn structures_beside_data(
    samples: &sample::Samples,
    anchors: &[crate::structures::Anchor],
    member: usize,
    images: &[usize],
) -> usize {
    let ss = sample::SECTOR as u64;
    anchors
        .iter()
        .filter(|a| a.member == member)
        .filter(|a| {
            let Some(w) = samples.windows.iter().find(|w| {
                a.member_offset >= w.offset
                    && a.member_offset < w.offset + (w.sectors() as u64) * ss
            }) else {
                return false;
            };
            let i = ((a.member_offset - w.offset) / ss) as usize;
            let mine = w.sector(member, i);
            images.iter().any(|&x| {
                x != member && {
                    let other = w.sector(x, i);
                    other != mine && other.iter().any(|&b| b != 0)
                }
            })
        })
        .count()
}

/// Sectors equal between members at the same offset a member needs (all
/// its pairs together) to read as parity.
const HUB_MIN_COPIES: u64 = 8;

/// The member of `images` that shares (nearly) every equal sector the
/// others hold at the same offsets, with at least two of them: `(member,
/// sectors, partners)`.
pub(crate) fn copy_hub(
    s: &signals::SignalSummary,
    images: &[usize],
) -> Option<(usize, u64, usize)> {
    let eq = |a: usize, b: usize| {
        s.pair_equal
            .get(a)
            .and_then(|r| r.get(b))
            .copied()
            .unwrap_or(0)
    };
    let total: u64 = images
        .iter()
        .enumerate()
        .flat_map(|(i, &a)| images[i + 1..].iter().map(move |&b| (a, b)))
        .map(|(a, b)| eq(a, b))
        .sum();
    if total < HUB_MIN_COPIES {
        return None;
    }
    let (hub, copies) = images
        .iter()
        .map(|&p| (p, images.iter().map(|&x| eq(p, x)).sum::<u64>()))
        .max_by_key(|x| x.1)?;
    let partners = images.iter().filter(|&&x| eq(hub, x) > 0).count();
    // At most a tenth of the equal sectors between other members.
    (partners >= 2 && copies.saturating_mul(10) >= total.saturating_mul(9))
        .then_some((hub, copies, partners))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(pairs: &[(usize, usize, u64)], n: usize) -> signals::SignalSummary {
        let mut s = signals::SignalSummary {
            pair_equal: vec![vec![0; n]; n],
            ..Default::default()
        };
        for &(a, b, c) in pairs {
            s.pair_equal[a][b] = c;
            s.pair_equal[b][a] = c;
        }
        s
    }

    #[test]
    fn a_member_sharing_every_copy_with_several_others_is_a_hub() {
        // Seed 2 case 65 built afresh: member 0 shares 9, 5 and 16
        // sectors with the three others, which share none.
        let s = summary(&[(0, 1, 9), (0, 2, 5), (0, 3, 16)], 4);
        assert_eq!(copy_hub(&s, &[0, 1, 2, 3]), Some((0, 30, 3)));
        // Too few copies.
        let s = summary(&[(0, 1, 3), (0, 2, 2)], 4);
        assert_eq!(copy_hub(&s, &[0, 1, 2, 3]), None);
        // One partner only: a mirror-like pair, not parity.
        let s = summary(&[(0, 1, 40)], 4);
        assert_eq!(copy_hub(&s, &[0, 1, 2, 3]), None);
        // Copies spread over the pairs (rotating parity, repeated
        // content): no hub.
        let s = summary(&[(0, 1, 10), (1, 2, 10), (2, 3, 10), (0, 3, 10)], 4);
        assert_eq!(copy_hub(&s, &[0, 1, 2, 3]), None);
        // Only the images the answer seats count.
        let s = summary(&[(0, 1, 9), (0, 2, 5), (0, 3, 16)], 4);
        assert_eq!(copy_hub(&s, &[1, 2, 3]), None);
    }

    fn window(members: &[Vec<u8>]) -> sample::Samples {
        sample::Samples {
            windows: vec![sample::SampleWindow {
                offset: 0,
                data: members.to_vec(),
            }],
            bytes_read_per_member: members[0].len() as u64,
            common_bytes: members[0].len() as u64,
        }
    }

    fn raid0(n: usize) -> Candidate {
        use platter_raid::geometry::{Geometry, Layout};
        let order: Vec<Option<usize>> = (0..n).map(Some).collect();
        Candidate {
            level: Level::Raid0,
            layout: None,
            chunk_bytes: 65536,
            order: order.clone(),
            data_offset_bytes: 0,
            score: 1.0,
            margin: 0.0,
            evidence: report::Evidence::default(),
            geometry: Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), 65536, n)
                .with_order(&order),
        }
    }

    fn anchor(member: usize, sector: u64) -> crate::structures::Anchor {
        crate::structures::Anchor {
            member,
            member_offset: sector * sample::SECTOR as u64,
            kind: crate::structures::AnchorKind::ExtSuperblock,
            fs_key: 1,
            fs_offset: 0,
        }
    }

    #[test]
    fn a_copy_hub_that_holds_structures_beside_other_data_is_data() {
        // Member 0 shares copies with 1 and 2 (a hub), and holds four
        // structures at sectors where member 1 holds other data.
        let ss = sample::SECTOR;
        let mut m: Vec<Vec<u8>> = (0..3u8)
            .map(|i| {
                (0..8 * ss)
                    .map(|b| (b as u8).wrapping_mul(7) ^ (i * 50 + 1))
                    .collect()
            })
            .collect();
        let s = summary(&[(0, 1, 9), (0, 2, 5)], 3);
        let hub = |samples: &sample::Samples, anchors: &[crate::structures::Anchor]| {
            let mut v = Verdict::Found;
            parity_member(samples, &s, anchors, &mut v, &[raid0(3)]);
            v == Verdict::Found
        };
        let beside: Vec<_> = (0..4).map(|i| anchor(0, i)).collect();
        assert!(hub(&window(&m), &beside), "structures beside data clear it");
        assert!(!hub(&window(&m), &beside[..3]), "three are not enough");
        // Where the other members are zero or equal, a structure on a
        // parity member is a copy and clears nothing.
        for x in [1, 2] {
            m[x][..4 * ss].fill(0);
        }
        let first = m[0][..ss].to_vec();
        m[1][..ss].copy_from_slice(&first);
        assert!(!hub(&window(&m), &beside));
        assert_eq!(
            structures_beside_data(&window(&m), &beside, 0, &[0, 1, 2]),
            0
        );
    }
}
