//! NTFS: boot sector and MFT (FILE) records.
//!
//! Layouts: the NTFS boot sector (BPB at 0x0B, total sectors at 0x28, $MFT
//! and $MFTMirr LCNs at 0x30/0x38, clusters per MFT record at 0x40, serial
//! at 0x48) and the MFT record header of NTFS 3.1 (update sequence array
//! offset/count at 4/6, attribute offset 0x14, flags 0x16, bytes in use
//! 0x18, bytes allocated 0x1C, record number 0x2C), as documented in the
//! Linux kernel's `fs/ntfs3/ntfs.h` and libyal's libfsntfs format notes.

use super::read::Reader;
use super::validate::Validation;
use super::{AnchorKind, Ctx, le16, le32, le64, space_key};

/// Stride of the update sequence (fixup) array.
const USA_STRIDE: usize = 512;
/// Record numbers are checked for at most this many MFT records.
pub const MAX_RECORDS_CHECKED: u64 = 8192;
/// Most runs read from the $MFT runlist.
const MAX_RUNS: usize = 256;

/// A parsed, sane NTFS boot sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtfsBoot {
    /// Bytes per sector.
    pub bytes_per_sector: u64,
    /// Bytes per cluster.
    pub cluster_bytes: u64,
    /// Sectors in the volume (the backup boot sector sits just past them).
    pub total_sectors: u64,
    /// LCN of $MFT.
    pub mft_lcn: u64,
    /// LCN of $MFTMirr.
    pub mftmirr_lcn: u64,
    /// Bytes per MFT record.
    pub record_bytes: u64,
    /// Volume serial number.
    pub serial: u64,
}

/// Parses and checks an NTFS boot sector (512 bytes at least).
pub fn parse_boot(s: &[u8]) -> Option<NtfsBoot> {
    if s.len() < 512 || &s[3..11] != b"NTFS    " || s[510] != 0x55 || s[511] != 0xAA {
        return None;
    }
    let bps = u64::from(le16(s, 0x0B));
    if !matches!(bps, 512 | 1024 | 2048 | 4096) {
        return None;
    }
    let spc_raw = s[0x0D];
    let spc: u64 = match spc_raw {
        1..=0x80 if spc_raw.is_power_of_two() => u64::from(spc_raw),
        0xF4..=0xFF => 1u64 << (256 - u32::from(spc_raw)),
        _ => return None,
    };
    let cluster_bytes = bps.checked_mul(spc)?;
    let total_sectors = le64(s, 0x28);
    let total_clusters = total_sectors / spc;
    let mft_lcn = le64(s, 0x30);
    let mftmirr_lcn = le64(s, 0x38);
    if total_sectors == 0 || mft_lcn >= total_clusters || mftmirr_lcn >= total_clusters {
        return None;
    }
    let cpr = s[0x40] as i8;
    let record_bytes = if cpr > 0 {
        cluster_bytes.checked_mul(cpr as u64)?
    } else if (-16..=-9).contains(&cpr) {
        1u64 << (-i32::from(cpr))
    } else {
        return None;
    };
    if !(512..=65536).contains(&record_bytes) {
        return None;
    }
    Some(NtfsBoot {
        bytes_per_sector: bps,
        cluster_bytes,
        total_sectors,
        mft_lcn,
        mftmirr_lcn,
        record_bytes,
        serial: le64(s, 0x48),
    })
}

pub(crate) fn scan_boot(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(boot) = ctx.get(pos, 512).and_then(parse_boot) else {
        return;
    };
    let key = space_key("ntfs", &boot.serial.to_le_bytes());
    ctx.push(pos, AnchorKind::NtfsBoot, key, 0);
    if let Some(end) = boot.total_sectors.checked_mul(boot.bytes_per_sector) {
        ctx.push(pos, AnchorKind::NtfsBootBackup, key, end);
    }
}

/// The address-space key of MFT records of `record_bytes` bytes.
pub fn mft_key(record_bytes: u64) -> u64 {
    space_key("ntfs-mft", &record_bytes.to_le_bytes())
}

/// Checks an NTFS 3.1 FILE record header and its fixups; returns the
/// record number. `rec` must hold the whole record.
pub fn check_record(rec: &[u8]) -> Option<u32> {
    if rec.len() < 1024 || &rec[0..4] != b"FILE" {
        return None;
    }
    let alloc = le32(rec, 0x1C) as usize;
    if !matches!(alloc, 1024 | 2048 | 4096) || rec.len() < alloc {
        return None;
    }
    let usa_ofs = le16(rec, 4) as usize;
    let usa_count = le16(rec, 6) as usize;
    let attrs = le16(rec, 0x14) as usize;
    let in_use = le32(rec, 0x18) as usize;
    // NTFS 3.1 keeps the USA at 0x30, after the record number at 0x2C.
    if usa_ofs != 0x30 || usa_count != alloc / USA_STRIDE + 1 {
        return None;
    }
    if attrs < usa_ofs + 2 * usa_count || attrs % 8 != 0 || attrs >= in_use || in_use > alloc {
        return None;
    }
    if !fixups_match(rec, alloc) {
        return None;
    }
    let number = le32(rec, 0x2C);
    let flags = le16(rec, 0x16);
    if number == 0 && flags & 1 == 0 {
        // Only $MFT itself is record 0, and it is always in use.
        return None;
    }
    Some(number)
}

/// True when every sector of the record ends with the update sequence
/// number.
fn fixups_match(rec: &[u8], alloc: usize) -> bool {
    let usn = &rec[0x30..0x32];
    (0..alloc / USA_STRIDE).all(|i| &rec[i * USA_STRIDE + 510..i * USA_STRIDE + 512] == usn)
}

/// Restores the sector tails of a record from its update sequence array.
fn apply_fixups(rec: &mut [u8]) {
    let alloc = rec.len();
    for i in 0..alloc / USA_STRIDE {
        let src = 0x32 + 2 * i;
        if src + 2 > rec.len() {
            return;
        }
        let (a, b) = (rec[src], rec[src + 1]);
        rec[i * USA_STRIDE + 510] = a;
        rec[i * USA_STRIDE + 511] = b;
    }
}

pub(crate) fn scan_record(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(first) = ctx.get(pos, 0x20) else {
        return;
    };
    let alloc = le32(first, 0x1C) as usize;
    if !matches!(alloc, 1024 | 2048 | 4096) {
        return;
    }
    let Some(number) = ctx.get(pos, alloc).and_then(check_record) else {
        return;
    };
    let alloc = alloc as u64;
    ctx.push(
        pos,
        AnchorKind::NtfsMftRecord,
        mft_key(alloc),
        u64::from(number) * alloc,
    );
}

/// Decodes the runlist of the unnamed non-resident `$DATA` attribute of a
/// (fixed-up) MFT record: `(lcn, clusters)` runs and the data size.
fn data_runs(rec: &[u8]) -> Option<(Vec<(u64, u64)>, u64)> {
    nonresident_runs(rec, 0x80, 0)
}

/// The attribute of type `ty` whose name is `name_len` UTF-16 units long,
/// non-resident: its runs and real size.
fn nonresident_runs(rec: &[u8], ty_want: u32, name_len: u8) -> Option<(Vec<(u64, u64)>, u64)> {
    let mut at = le16(rec, 0x14) as usize;
    while at + 0x40 <= rec.len() {
        let ty = le32(rec, at);
        let len = le32(rec, at + 4) as usize;
        if ty == 0xFFFF_FFFF || len < 0x18 || at + len > rec.len() {
            return None;
        }
        if ty == ty_want && rec[at + 8] == 1 && rec[at + 9] == name_len {
            let real = le64(rec, at + 0x30);
            let mp = at + le16(rec, at + 0x20) as usize;
            return Some((decode_runs(rec.get(mp..at + len)?)?, real));
        }
        at += len;
    }
    None
}

fn decode_runs(mut p: &[u8]) -> Option<Vec<(u64, u64)>> {
    let mut runs = Vec::new();
    let mut lcn: i64 = 0;
    while let Some(&h) = p.first() {
        if h == 0 || runs.len() >= MAX_RUNS {
            break;
        }
        let (ls, os) = (usize::from(h & 0xF), usize::from(h >> 4));
        if ls == 0 || ls > 8 || os > 8 || p.len() < 1 + ls + os {
            return None;
        }
        let mut len = 0u64;
        for i in 0..ls {
            len |= u64::from(p[1 + i]) << (8 * i);
        }
        if os == 0 {
            // A sparse run: the MFT has none; stop here.
            return Some(runs);
        }
        let mut off = 0i64;
        for i in 0..os {
            off |= i64::from(p[1 + ls + i]) << (8 * i);
        }
        if os < 8 && p[ls + os] & 0x80 != 0 {
            off -= 1i64 << (8 * os);
        }
        lcn = lcn.checked_add(off)?;
        runs.push((u64::try_from(lcn).ok()?, len));
        p = &p[1 + ls + os..];
    }
    Some(runs)
}

/// Validates the NTFS volume whose boot sector is at array byte `start`.
pub(crate) fn validate(r: &mut Reader<'_>, start: u64, boot: &NtfsBoot, v: &mut Validation) {
    v.found.push(format!(
        "NTFS at {start} (serial {:016x}, {} sectors)",
        boot.serial, boot.total_sectors
    ));
    let rb = boot.record_bytes as usize;
    let Some(mft) = boot
        .mft_lcn
        .checked_mul(boot.cluster_bytes)
        .and_then(|o| o.checked_add(start))
    else {
        v.check(false);
        return;
    };
    let Some(mut rec0) = r.read(mft, rb) else {
        r.fail(v);
        return;
    };
    let ok0 = check_record(&rec0) == Some(0);
    v.check(ok0);
    if !ok0 {
        v.notes
            .push(format!("NTFS at {start}: no $MFT record 0 at {mft}"));
        return;
    }
    apply_fixups(&mut rec0);
    let mut good = 0u64;
    let mut bad = 0u64;
    let mut index = 0u64;
    let mut dirs: Vec<(u64, u64)> = Vec::new();
    if let Some((runs, size)) = data_runs(&rec0) {
        let total = (size / boot.record_bytes).min(MAX_RECORDS_CHECKED);
        'runs: for (lcn, clusters) in runs {
            let Some(run_off) = lcn
                .checked_mul(boot.cluster_bytes)
                .and_then(|o| o.checked_add(start))
            else {
                break;
            };
            let run_records = clusters.saturating_mul(boot.cluster_bytes) / boot.record_bytes;
            let mut i = 0u64;
            while i < run_records && index < total {
                let n = (run_records - i).min(total - index).min(64);
                let Some(buf) = r.read(
                    run_off.saturating_add(i * boot.record_bytes),
                    n as usize * rb,
                ) else {
                    break 'runs;
                };
                for (k, rec) in buf.chunks_exact(rb).enumerate() {
                    let want = index + k as u64;
                    if &rec[0..4] == b"FILE" && le32(rec, 0x2C) == 0 && le16(rec, 0x16) & 1 == 0 {
                        // Reserved records (16..23) never in use say 0:
                        // they locate nothing.
                    } else if &rec[0..4] == b"FILE" {
                        let ok = check_record(rec).map(u64::from) == Some(want);
                        v.check(ok);
                        if ok {
                            good += 1
                        } else {
                            bad += 1
                        }
                        if ok && le16(rec, 0x16) & 3 == 3 && dirs.len() < DIRS_CHECKED {
                            let mut fixed = rec.to_vec();
                            apply_fixups(&mut fixed);
                            dirs.extend(first_index_block(&fixed));
                        }
                    } else if rec.iter().any(|&b| b != 0) && &rec[0..4] != b"BAAD" {
                        v.check(false);
                        bad += 1;
                    }
                }
                i += n;
                index += n;
            }
        }
    } else {
        v.check(false);
        v.notes
            .push(format!("NTFS at {start}: $MFT has no readable runlist"));
    }
    let (idx_ok, idx_bad) = check_index_blocks(r, start, boot, &dirs, v);
    v.notes.push(format!(
        "NTFS at {start}: {good} MFT records where their numbers say, {bad} not; \
         {idx_ok} directory index blocks right, {idx_bad} wrong"
    ));
    check_upcase(r, start, boot, mft, v);
    // $MFTMirr holds copies of the first records.
    if let Some(mirr) = boot
        .mftmirr_lcn
        .checked_mul(boot.cluster_bytes)
        .and_then(|o| o.checked_add(start))
        && let (Some(a), Some(b)) = (r.read(mft, 4 * rb), r.read(mirr, 4 * rb))
    {
        for (x, y) in a.chunks_exact(rb).zip(b.chunks_exact(rb)) {
            v.check(x == y);
        }
    }
    // The backup boot sector sits just past the volume's sectors.
    if let Some(bk) = boot
        .total_sectors
        .checked_mul(boot.bytes_per_sector)
        .and_then(|o| o.checked_add(start))
        && bk + 512 <= r.len()
        && let (Some(a), Some(b)) = (r.read(start, 512), r.read(bk, 512))
    {
        v.check(a == b);
    }
}

/// Directories whose first index block is checked, at most.
const DIRS_CHECKED: usize = 32;

/// The first index block of a directory's `$I30` allocation, from its
/// (fixed-up) MFT record: (LCN, index block bytes).
fn first_index_block(rec: &[u8]) -> Option<(u64, u64)> {
    let (runs, _) = nonresident_runs(rec, 0xA0, 4)?;
    let &(lcn, _) = runs.first()?;
    // $INDEX_ROOT (resident) gives the index block size at 8 of its value.
    let mut at = le16(rec, 0x14) as usize;
    while at + 0x18 <= rec.len() {
        let ty = le32(rec, at);
        let len = le32(rec, at + 4) as usize;
        if ty == 0xFFFF_FFFF || len < 0x18 || at + len > rec.len() {
            return None;
        }
        if ty == 0x90 && rec[at + 8] == 0 {
            let value = at + le16(rec, at + 0x14) as usize;
            let size = u64::from(le32(rec, value + 8));
            return (size.is_power_of_two() && (512..=65536).contains(&size))
                .then_some((lcn, size));
        }
        at += len;
    }
    None
}

/// Each directory's first index block (directories holding many entries
/// keep them in `INDX` blocks among the files' data, away from the MFT):
/// magic, fixups and VCN 0 where its record's runlist points. Returns
/// (right, wrong).
fn check_index_blocks(
    r: &mut Reader<'_>,
    start: u64,
    boot: &NtfsBoot,
    dirs: &[(u64, u64)],
    v: &mut Validation,
) -> (u64, u64) {
    let (mut ok_n, mut bad_n) = (0, 0);
    for &(lcn, size) in dirs {
        let Some(off) = lcn
            .checked_mul(boot.cluster_bytes)
            .and_then(|o| o.checked_add(start))
        else {
            continue;
        };
        let Some(b) = r.read(off, size as usize) else {
            r.fail(v);
            continue;
        };
        let usa = le16(&b, 4) as usize;
        let count = le16(&b, 6) as usize;
        let ok = &b[0..4] == b"INDX"
            && count == b.len() / USA_STRIDE + 1
            && usa + 2 <= b.len()
            && (0..b.len() / USA_STRIDE)
                .all(|i| b[i * USA_STRIDE + 510..i * USA_STRIDE + 512] == b[usa..usa + 2])
            && le64(&b, 0x10) == 0;
        v.check(ok);
        if ok { ok_n += 1 } else { bad_n += 1 }
    }
    (ok_n, bad_n)
}

/// `$UpCase` (record 10) maps each UTF-16 unit to its upper case: most
/// units map to themselves, so every 4 KiB of the table read through its
/// runlist must be mostly the identity.
fn check_upcase(r: &mut Reader<'_>, start: u64, boot: &NtfsBoot, mft: u64, v: &mut Validation) {
    let rb = boot.record_bytes;
    let Some(mut rec) = r.read(mft.saturating_add(10 * rb), rb as usize) else {
        return;
    };
    if check_record(&rec) != Some(10) {
        return;
    }
    apply_fixups(&mut rec);
    let Some((runs, size)) = data_runs(&rec) else {
        return;
    };
    let mut index = 0u64;
    for (lcn, clusters) in runs {
        let Some(off) = lcn
            .checked_mul(boot.cluster_bytes)
            .and_then(|o| o.checked_add(start))
        else {
            return;
        };
        let bytes = clusters
            .saturating_mul(boot.cluster_bytes)
            .min(size.saturating_sub(index * 2));
        let mut at = 0;
        while at + 4096 <= bytes && index < 65536 {
            let Some(piece) = r.read(off.saturating_add(at), 4096) else {
                return;
            };
            let same = piece
                .chunks_exact(2)
                .enumerate()
                .filter(|(i, u)| u64::from(le16(u, 0)) == index + *i as u64)
                .count();
            v.check(same >= 1024);
            at += 4096;
            index += 2048;
        }
    }
}
