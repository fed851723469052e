//! Continuity of flowing text across a sector boundary. Text (logs,
//! source, documents) does not keep bytes at the same place from sector to
//! sector, but it flows: the characters that open a sector follow the ones
//! that close the sector before it the way the text's own character
//! trigrams say. A character model learned from the sampled text scores a
//! junction; the right successor scores higher than an unrelated one.

use crate::sample::{SECTOR, Samples};

/// Hash buckets of the trigram table.
const BUCKETS: usize = 1 << 20;
/// Text bytes learned from at most.
const MAX_TRAIN_BYTES: usize = 4 << 20;
/// Sectors of text needed before the model is used.
const MIN_TRAIN_SECTORS: usize = 64;
/// Characters scored on each side of a junction.
const SPAN: usize = 3;

/// True for bytes of text: printable ASCII, tab, newline, carriage return
/// and UTF-8 continuation/lead bytes.
fn texty(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\r' | 0x20..=0x7e | 0x80..=0xf4)
}

/// True when a sector is text throughout (no zero padding, no binary).
pub fn is_text(s: &[u8]) -> bool {
    s.iter().all(|&c| texty(c))
}

/// A character trigram model of the sampled text.
#[derive(Debug)]
pub struct TextModel {
    tri: Vec<u16>,
    ctx: Vec<u32>,
    uni: [u32; 256],
    total: u64,
}

fn bucket(x: u8, y: u8, c: u8) -> usize {
    let h = (u32::from(x) << 16 | u32::from(y) << 8 | u32::from(c)).wrapping_mul(0x9E37_79B1);
    (h >> 12) as usize % BUCKETS
}

impl TextModel {
    /// Learns from the text sectors of `samples`; `None` when they hold
    /// too little text.
    pub fn learn(samples: &Samples) -> Option<TextModel> {
        let mut m = TextModel {
            tri: vec![0; BUCKETS],
            ctx: vec![0; 1 << 16],
            uni: [0; 256],
            total: 0,
        };
        let (mut sectors, mut bytes) = (0usize, 0usize);
        'outer: for w in &samples.windows {
            for d in &w.data {
                for s in d.chunks_exact(SECTOR) {
                    if !is_text(s) {
                        continue;
                    }
                    for t in s.windows(3) {
                        let b = bucket(t[0], t[1], t[2]);
                        m.tri[b] = m.tri[b].saturating_add(1);
                        let c = usize::from(t[0]) << 8 | usize::from(t[1]);
                        m.ctx[c] = m.ctx[c].saturating_add(1);
                    }
                    for &c in s {
                        m.uni[usize::from(c)] += 1;
                    }
                    m.total += s.len() as u64;
                    sectors += 1;
                    bytes += s.len();
                    if bytes >= MAX_TRAIN_BYTES {
                        break 'outer;
                    }
                }
            }
        }
        (sectors >= MIN_TRAIN_SECTORS).then_some(m)
    }

    /// log P(c | x, y) − log P(c): how much better the context predicts
    /// `c` than its frequency does.
    fn gain(&self, x: u8, y: u8, c: u8) -> f64 {
        let tri = f64::from(self.tri[bucket(x, y, c)]) + 0.1;
        let ctx = f64::from(self.ctx[usize::from(x) << 8 | usize::from(y)]) + 25.6;
        let uni = (f64::from(self.uni[usize::from(c)]) + 1.0) / (self.total as f64 + 256.0);
        (tri / ctx).ln() - uni.ln()
    }

    /// How well `b` continues `a` (0…1): the mean gain of the first
    /// characters of `b` given the end of `a`, through a logistic. `None`
    /// unless both are text.
    pub fn junction(&self, a: &[u8], b: &[u8]) -> Option<f32> {
        if a.len() < 2 || b.len() < SPAN || !is_text(a) || !is_text(b) {
            return None;
        }
        let mut s = [0u8; SPAN + 2];
        s[..2].copy_from_slice(&a[a.len() - 2..]);
        s[2..].copy_from_slice(&b[..SPAN]);
        let g: f64 = s
            .windows(3)
            .map(|t| self.gain(t[0], t[1], t[2]))
            .sum::<f64>()
            / SPAN as f64;
        Some((1.0 / (1.0 + (-g).exp())) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleWindow;

    fn prose(len: usize) -> Vec<u8> {
        let words = [
            "the",
            "array",
            "member",
            "holds",
            "parity",
            "and",
            "data",
            "chunks",
            "of",
            "every",
            "row",
            "while",
            "controller",
            "writes",
            "sectors",
            "to",
            "disk",
            "recovery",
        ];
        let mut out = Vec::with_capacity(len + 16);
        let mut x = 7u32;
        while out.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            out.extend_from_slice(words[(x >> 16) as usize % words.len()].as_bytes());
            out.push(if (x >> 8) % 11 == 0 { b'\n' } else { b' ' });
        }
        out.truncate(len);
        out
    }

    #[test]
    fn the_true_successor_flows_better() {
        let text = prose(1 << 20);
        let samples = Samples {
            windows: vec![SampleWindow {
                offset: 0,
                data: vec![text.clone()],
            }],
            bytes_read_per_member: 1 << 20,
            common_bytes: 1 << 20,
        };
        let m = TextModel::learn(&samples).unwrap();
        let sectors: Vec<&[u8]> = text.chunks_exact(SECTOR).collect();
        let (mut right, mut wrong) = (0f64, 0f64);
        let pairs = 500;
        for i in 0..pairs {
            let a = sectors[i * 3];
            right += f64::from(m.junction(a, sectors[i * 3 + 1]).unwrap());
            wrong += f64::from(
                m.junction(a, sectors[(i * 7 + 400) % sectors.len()])
                    .unwrap(),
            );
        }
        assert!(
            right / pairs as f64 > wrong / pairs as f64 + 0.1,
            "{right} {wrong}"
        );
        // Binary and zero sectors are not text.
        assert_eq!(m.junction(&[0u8; 512], sectors[1]), None);
        assert!(
            TextModel::learn(&Samples {
                windows: vec![SampleWindow {
                    offset: 0,
                    data: vec![vec![0u8; 1 << 16]],
                }],
                bytes_read_per_member: 0,
                common_bytes: 1 << 16,
            })
            .is_none()
        );
    }
}
