//! Parity placement tables taken from the RAID engine (`platter-raid`), so
//! inference and assembly agree on every layout by construction.

use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout, RowLayout};

/// The rows of one layout over one rotation period.
#[derive(Debug, Clone)]
pub struct PlacementTable {
    rows: Vec<RowLayout>,
}

impl PlacementTable {
    /// The table of `layout` at `level` (Raid4, Raid5 or Raid6) for `n`
    /// members, or `None` when the engine rejects the combination.
    pub fn new(level: Level, layout: ParityLayout, n: usize) -> Option<PlacementTable> {
        // Every layout rotates modulo n or n−1, so n·(n−1) rows repeat.
        let period = n.checked_mul(n.checked_sub(1)?)?.max(1);
        let g = Geometry::new(level, Layout::Parity(layout), 4096, n);
        let sizes = vec![Some(4096 * period as u64); n];
        let m = g.mapping(&sizes).ok()?;
        let rows = (0..period as u64)
            .map(|r| m.row(r))
            .collect::<Option<Vec<_>>>()?;
        Some(PlacementTable { rows })
    }

    /// The layout of row `row` (slots, not images).
    pub fn row(&self, row: u64) -> &RowLayout {
        // `rows` is non-empty and the remainder is below its length.
        &self.rows[(row % self.rows.len() as u64) as usize]
    }
}

/// Chunk sizes tried: 4 KiB … 1 MiB, powers of two.
pub const CHUNKS: [u64; 9] = [
    4 << 10,
    8 << 10,
    16 << 10,
    32 << 10,
    64 << 10,
    128 << 10,
    256 << 10,
    512 << 10,
    1 << 20,
];

/// Every permutation of `0..n` that keeps `fixed[slot] = Some(image)`.
pub fn permutations(n: usize, fixed: &[Option<usize>]) -> Vec<Vec<usize>> {
    fn go(
        slot: usize,
        fixed: &[Option<usize>],
        used: &mut [bool],
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if slot == fixed.len() {
            out.push(cur.clone());
            return;
        }
        let choices: Vec<usize> = match fixed[slot] {
            Some(img) => vec![img],
            None => (0..fixed.len())
                .filter(|&i| !fixed.contains(&Some(i)))
                .collect(),
        };
        for img in choices {
            if used[img] {
                continue;
            }
            used[img] = true;
            cur.push(img);
            go(slot + 1, fixed, used, cur, out);
            cur.pop();
            used[img] = false;
        }
    }
    let mut out = Vec::new();
    if fixed.len() != n || fixed.iter().flatten().any(|&i| i >= n) {
        return out;
    }
    go(0, fixed, &mut vec![false; n], &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_respect_fixed_slots() {
        assert_eq!(permutations(3, &[None, None, None]).len(), 6);
        let p = permutations(4, &[None, Some(2), None, None]);
        assert_eq!(p.len(), 6);
        assert!(p.iter().all(|o| o[1] == 2));
        // Two slots claiming one image: nothing.
        assert!(permutations(3, &[Some(0), Some(0), None]).is_empty());
    }

    #[test]
    fn tables_cover_every_layout() {
        for l in ParityLayout::ALL {
            let t = PlacementTable::new(Level::Raid6, l, 5).expect("raid6 table");
            assert!(t.row(7).q.is_some());
        }
        for l in ParityLayout::RAID5 {
            assert!(PlacementTable::new(Level::Raid5, l, 4).is_some());
        }
    }
}
