//! RAID1/10: the copies of each block compared, the odd one out named.

use super::{Buffers, MemberRange, UnitOutcome, Verdict, WINDOW_BYTES, read_masked};
use crate::array::RaidArray;
use crate::error::Result;

/// Compares the copies of array bytes `[pos, pos + len)` (one RAID10
/// chunk, or one RAID1 block), window by window.
pub(super) fn check_copies(
    array: &RaidArray,
    pos: u64,
    len: u64,
    bufs: &mut Buffers,
) -> Result<UnitOutcome> {
    let m = array.mapping();
    let copies: Vec<_> = m
        .copies(pos)
        .into_iter()
        .filter(|c| array.member(c.slot).is_some())
        .collect();
    if copies.len() < 2 {
        return Ok(UnitOutcome {
            skipped: true,
            ..UnitOutcome::default()
        });
    }
    let n = copies.len();
    let window = len.min(WINDOW_BYTES) as usize;
    if bufs.members.len() < n {
        bufs.members.resize_with(n, Vec::new);
    }
    for b in &mut bufs.members[..n] {
        if b.len() < window {
            b.resize(window, 0);
        }
    }
    // One mask per copy, side by side in `mask`.
    if bufs.mask.len() < window * n {
        bufs.mask.resize(window * n, 0);
    }
    let all_slots = || -> Vec<usize> {
        let mut v: Vec<usize> = copies.iter().map(|c| c.slot).collect();
        v.sort_unstable();
        v
    };
    let mut unreadable = 0u64;
    let mut verdict: Option<Verdict> = None;
    let mut w0 = 0u64;
    while w0 < len {
        let wl = (len - w0).min(window as u64) as usize;
        for (i, c) in copies.iter().enumerate() {
            let mask = &mut bufs.mask[i * wl..(i + 1) * wl];
            mask.fill(0);
            unreadable += read_masked(
                array,
                c.slot,
                c.member_offset + w0,
                &mut bufs.members[i][..wl],
                mask,
            )?;
        }
        let v = copies_verdict(&bufs.members[..n], &bufs.mask[..n * wl], wl, &|i| {
            copies[i].slot
        });
        verdict = match (verdict, v) {
            (a, None) => a,
            (None, b) => b,
            (Some(a), Some(b)) if a == b => Some(a),
            _ => Some(Verdict::CopiesDiffer { slots: all_slots() }),
        };
        w0 += wl as u64;
    }
    let members = if verdict.is_some() {
        copies
            .iter()
            .map(|c| MemberRange {
                slot: c.slot,
                image: array.geometry().slots[c.slot].image,
                offset: c.member_offset,
                len,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(UnitOutcome {
        verdict,
        members,
        unreadable,
        skipped: false,
    })
}

/// Groups `wl`-byte copies (`data[i][..wl]`, unreadable bytes marked in
/// `masks[i·wl..]`) into classes of equal copies; `None` when all agree,
/// else the copies outside a strict majority, or all when there is none.
fn copies_verdict(
    data: &[Vec<u8>],
    masks: &[u8],
    wl: usize,
    slot: &dyn Fn(usize) -> usize,
) -> Option<Verdict> {
    let n = data.len();
    let same = |a: usize, b: usize| -> bool {
        let (ma, mb) = (&masks[a * wl..(a + 1) * wl], &masks[b * wl..(b + 1) * wl]);
        let (da, db) = (&data[a][..wl], &data[b][..wl]);
        if ma.iter().chain(mb).all(|&x| x == 0) {
            return da == db;
        }
        (0..wl).all(|i| ma[i] != 0 || mb[i] != 0 || da[i] == db[i])
    };
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        match classes.iter_mut().find(|c| same(c[0], i)) {
            Some(c) => c.push(i),
            None => classes.push(vec![i]),
        }
    }
    if classes.len() == 1 {
        return None;
    }
    let slots = |idx: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
        let mut v: Vec<usize> = idx.map(slot).collect();
        v.sort_unstable();
        v
    };
    Some(match classes.iter().find(|c| c.len() * 2 > n) {
        Some(major) => Verdict::CopyWrong {
            slots: slots(&mut (0..n).filter(|i| !major.contains(i))),
        },
        None => Verdict::CopiesDiffer {
            slots: slots(&mut (0..n)),
        },
    })
}
