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
    let natural = naturalness::parity_suspect(samples, &images).map(|s| {
            format!(
                "member {} reads as parity: XORed with member {} it repeats like file data in {} of {} compared blocks, itself not",
                s.parity, s.other, s.votes, s.blocks
            )
        });
    let why = natural.or_else(|| {
        let (p, copies, partners) = copy_hub(&copy_pairs(samples, signals.pair_equal.len()), &images)?;
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

/// `pairs[a][b]`: sectors that members `a` and `b` hold alike at the same
/// offset where every other member is zero, counting only sectors of
/// varied bytes ([`crate::parity_copies::copies`]). A sector of one byte
/// repeated (NTFS's `$LogFile` is 0xFF throughout when new) is alike
/// wherever it falls and says nothing of parity: counted, it made a RAID0
/// of three over NTFS read as a RAID4 missing a member.
fn copy_pairs(samples: &sample::Samples, n: usize) -> Vec<Vec<u64>> {
    let mut pairs = vec![vec![0u64; n]; n];
    for c in crate::parity_copies::copies(samples, n) {
        pairs[c.a][c.b] += 1;
        pairs[c.b][c.a] += 1;
    }
    pairs
}

/// Sectors equal between members at the same offset a member needs (all
/// its pairs together) to read as parity.
const HUB_MIN_COPIES: u64 = 8;

/// The member of `images` that shares (nearly) every equal sector the
/// others hold at the same offsets, with at least two of them: `(member,
/// sectors, partners)`.
pub(crate) fn copy_hub(pairs: &[Vec<u64>], images: &[usize]) -> Option<(usize, u64, usize)> {
    let eq = |a: usize, b: usize| pairs.get(a).and_then(|r| r.get(b)).copied().unwrap_or(0);
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

    fn summary(pairs: &[(usize, usize, u64)], n: usize) -> Vec<Vec<u64>> {
        let mut s = vec![vec![0; n]; n];
        for &(a, b, c) in pairs {
            s[a][b] = c;
            s[b][a] = c;
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
}
