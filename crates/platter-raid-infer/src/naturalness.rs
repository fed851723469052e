//! Which of two readings of a block is file data: data repeats itself
//! (words, instruction patterns, tables, padding), while the XOR of two
//! unrelated blocks rarely does. A member whose XOR with another member
//! is consistently more repetitive than the member itself holds parity,
//! not data: the array is then not the RAID0 the structures suggest but a
//! RAID4/5 with a member missing, whose metadata rows happened to have
//! the other data chunks zero.

use crate::sample::Samples;

/// Block size the repeat rate is measured on.
const BLOCK: usize = 4096;
/// Bytes per pattern looked up.
const GRAM: usize = 4;
/// A block counts when either reading repeats at least this much.
const MIN_REPEAT: f64 = 0.15;
/// The XOR must repeat this much more than the member to vote.
const MARGIN: f64 = 0.15;
/// Counted blocks per pair at most (bounds the work).
const MAX_BLOCKS: usize = 128;
/// Counted blocks needed before a pair is judged.
const MIN_BLOCKS: usize = 24;
/// Share of counted blocks that must vote for the member being parity.
const SUSPECT_SHARE: f64 = 0.6;

/// Share of positions whose `GRAM`-byte pattern occurred earlier in the
/// block (a cheap stand-in for compressibility).
pub fn repeat_rate(b: &[u8]) -> f64 {
    if b.len() < GRAM + 1 {
        return 0.0;
    }
    let mut seen = vec![0u64; 1 << 12];
    let mut hits = 0usize;
    for w in b.windows(GRAM) {
        let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let h = v.wrapping_mul(0x9E37_79B1) >> 20;
        let slot = &mut seen[h as usize];
        // One pattern per hash slot: the low 32 bits hold it, bit 32 says
        // the slot is used.
        let tagged = u64::from(v) | (1 << 32);
        if *slot == tagged {
            hits += 1;
        } else {
            *slot = tagged;
        }
    }
    hits as f64 / (b.len() - GRAM + 1) as f64
}

/// Evidence that member `parity` holds parity: its XOR with member
/// `other` reads as data in `votes` of `blocks` compared blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParitySuspect {
    /// The member that looks like parity.
    pub parity: usize,
    /// The member it was XORed with.
    pub other: usize,
    /// Blocks where the XOR repeats clearly more than the member.
    pub votes: usize,
    /// Blocks compared (either reading repetitive).
    pub blocks: usize,
}

/// The member (of `members`) that looks most like parity, if one clearly
/// does.
pub fn parity_suspect(samples: &Samples, members: &[usize]) -> Option<ParitySuspect> {
    let mut best: Option<ParitySuspect> = None;
    let mut xored = vec![0u8; BLOCK];
    for &a in members {
        for &b in members {
            if a == b {
                continue;
            }
            let (mut votes, mut blocks) = (0usize, 0usize);
            'windows: for w in &samples.windows {
                let (Some(da), Some(db)) = (w.data.get(a), w.data.get(b)) else {
                    continue;
                };
                for (x, y) in da.chunks_exact(BLOCK).zip(db.chunks_exact(BLOCK)) {
                    if x == y || crate::bytes::is_zero(x) || crate::bytes::is_zero(y) {
                        continue;
                    }
                    for ((o, p), q) in xored.iter_mut().zip(x).zip(y) {
                        *o = p ^ q;
                    }
                    let (ra, rx) = (repeat_rate(x), repeat_rate(&xored));
                    if ra.max(rx) < MIN_REPEAT {
                        continue;
                    }
                    blocks += 1;
                    if rx >= ra + MARGIN {
                        votes += 1;
                    }
                    if blocks >= MAX_BLOCKS {
                        break 'windows;
                    }
                }
            }
            if blocks < MIN_BLOCKS || (votes as f64) < SUSPECT_SHARE * blocks as f64 {
                continue;
            }
            let s = ParitySuspect {
                parity: a,
                other: b,
                votes,
                blocks,
            };
            let share = |s: &ParitySuspect| s.votes as f64 / s.blocks as f64;
            if best.as_ref().is_none_or(|x| share(&s) > share(x)) {
                best = Some(s);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seed: u64, len: usize) -> Vec<u8> {
        let words = [
            "the ", "array ", "member ", "parity ", "chunk ", "of ", "and ", "disk ", "data ",
            "stripe ", "is ", "a ",
        ];
        let mut x = seed | 1;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(words[(x % words.len() as u64) as usize].as_bytes());
        }
        out.truncate(len);
        out
    }

    #[test]
    fn text_repeats_and_its_xor_with_other_text_does_not() {
        let a = text(1, BLOCK);
        let b = text(2, BLOCK);
        let x: Vec<u8> = a.iter().zip(&b).map(|(p, q)| p ^ q).collect();
        assert!(repeat_rate(&a) > 0.5, "{}", repeat_rate(&a));
        assert!(repeat_rate(&x) < repeat_rate(&a) - MARGIN);
        let mut r = 7u64;
        let random: Vec<u8> = (0..BLOCK)
            .map(|_| {
                r ^= r << 13;
                r ^= r >> 7;
                r ^= r << 17;
                r as u8
            })
            .collect();
        assert!(repeat_rate(&random) < 0.01);
    }

    fn samples(members: Vec<Vec<u8>>) -> Samples {
        Samples {
            windows: vec![crate::sample::SampleWindow {
                offset: 0,
                data: members,
            }],
            bytes_read_per_member: 0,
            common_bytes: 0,
        }
    }

    /// Two text members (a RAID0) are not suspected; a member holding
    /// their XOR (the parity of a RAID4 missing one of them) is, against
    /// the data member it pairs with.
    #[test]
    fn the_parity_of_a_missing_member_is_told_from_data() {
        let blocks = 64;
        let d0 = text(11, BLOCK * blocks);
        let d1 = text(12, BLOCK * blocks);
        let p: Vec<u8> = d0.iter().zip(&d1).map(|(a, b)| a ^ b).collect();
        assert_eq!(
            parity_suspect(&samples(vec![d0.clone(), d1.clone()]), &[0, 1]),
            None
        );
        let s = parity_suspect(&samples(vec![p, d1]), &[0, 1]).expect("parity found");
        assert_eq!((s.parity, s.other), (0, 1));
        assert!(s.votes * 10 >= s.blocks * 9, "{s:?}");
    }
}
