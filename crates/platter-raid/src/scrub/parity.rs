//! RAID4/5/6 rows: P (and Q) recomputed from the data and compared, with
//! the raid6check locator naming the culprit.

use super::{Buffers, MemberRange, UnitOutcome, Verdict, WINDOW_BYTES, read_masked};
use crate::array::RaidArray;
use crate::error::Result;
use crate::geometry::RowLayout;
use crate::gf::raid6::{self, Syndrome};

/// The member ranges of a parity row.
fn row_members(array: &RaidArray, rl: &RowLayout) -> Vec<MemberRange> {
    let m = array.mapping();
    let mut slots: Vec<usize> = rl.slots().collect();
    slots.sort_unstable();
    slots
        .into_iter()
        .map(|slot| MemberRange {
            slot,
            image: array.geometry().slots[slot].image,
            offset: m.member_offset(slot, rl.offset_in_member),
            len: rl.chunk_bytes,
        })
        .collect()
}

pub(super) fn check_row(array: &RaidArray, row: u64, bufs: &mut Buffers) -> Result<UnitOutcome> {
    let m = array.mapping();
    let Some(rl) = m.row(row) else {
        return Ok(UnitOutcome {
            skipped: true,
            ..UnitOutcome::default()
        });
    };
    if rl.slots().any(|s| array.member(s).is_none()) {
        return Ok(UnitOutcome {
            skipped: true,
            ..UnitOutcome::default()
        });
    }
    let chunk = rl.chunk_bytes;
    let slots: Vec<usize> = rl.slots().collect();
    let nd = rl.data_slots.len();
    let window = chunk.min(WINDOW_BYTES) as usize;
    if bufs.members.len() < slots.len() {
        bufs.members.resize_with(slots.len(), Vec::new);
    }
    for b in bufs
        .members
        .iter_mut()
        .chain([&mut bufs.p, &mut bufs.q, &mut bufs.mask])
    {
        if b.len() < window {
            b.resize(window, 0);
        }
    }
    let mut unreadable = 0u64;
    let mut syndrome = Syndrome::Consistent;
    let mut w0 = 0u64;
    while w0 < chunk {
        let wl = (chunk - w0).min(window as u64) as usize;
        let mask = &mut bufs.mask[..wl];
        mask.fill(0);
        for (i, &slot) in slots.iter().enumerate() {
            let off = m.member_offset(slot, rl.offset_in_member + w0);
            unreadable += read_masked(array, slot, off, &mut bufs.members[i][..wl], mask)?;
        }
        let data: Vec<&[u8]> = bufs.members[..nd].iter().map(|b| &b[..wl]).collect();
        let stored_p = &bufs.members[nd][..wl];
        let (dp, dq) = (&mut bufs.p[..wl], &mut bufs.q[..wl]);
        match rl.q {
            Some(_) => {
                raid6::gen_pq(&data, &rl.q_exponents, dp, dq);
                crate::gf::xor_into(dq, &bufs.members[nd + 1][..wl]);
            }
            None => raid6::gen_p(&data, dp),
        }
        crate::gf::xor_into(dp, stored_p);
        for (i, &bad) in mask.iter().enumerate() {
            if bad != 0 {
                dp[i] = 0;
                if rl.q.is_some() {
                    dq[i] = 0;
                }
            }
        }
        let s = if rl.q.is_some() {
            raid6::locate_block(dp, dq)
        } else if dp.iter().any(|&b| b != 0) {
            Syndrome::PWrong
        } else {
            Syndrome::Consistent
        };
        syndrome = match (syndrome, s) {
            (a, Syndrome::Consistent) => a,
            (Syndrome::Consistent, b) => b,
            (a, b) if a == b => a,
            _ => Syndrome::Multiple,
        };
        w0 += wl as u64;
    }
    let verdict = match (syndrome, rl.q) {
        (Syndrome::Consistent, _) => None,
        (_, None) => Some(Verdict::ParityMismatch),
        (Syndrome::PWrong, _) => Some(Verdict::PWrong {
            slot: rl.p.unwrap_or(0),
        }),
        (Syndrome::QWrong, Some(q)) => Some(Verdict::QWrong { slot: q }),
        (Syndrome::Data { exponent }, _) => {
            Some(match rl.q_exponents.iter().position(|&e| e == exponent) {
                Some(d) => Verdict::DataWrong {
                    slot: rl.data_slots[d],
                },
                None => Verdict::Multiple,
            })
        }
        _ => Some(Verdict::Multiple),
    };
    let members = if verdict.is_some() {
        row_members(array, &rl)
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
