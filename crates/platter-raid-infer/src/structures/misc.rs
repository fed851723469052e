//! Volume-manager and container headers: LVM2 labels, LUKS1/LUKS2 headers
//! and md v1.x superblocks (hints: they locate the start of their own
//! device, not of the array).
//!
//! Layouts: LVM2 `label_header`/`pv_header` (lvm2 `lib/label/label.h`,
//! `lib/format_text/layout.h`), the LUKS1 on-disk format spec 1.2.3 and
//! LUKS2 on-disk format (binary header), md `mdp_superblock_1`
//! (`include/uapi/linux/raid/md_p.h`).

use super::{AnchorKind, Ctx, be16, be64, le32, le64, space_key};

/// The md superblock magic (little-endian in v1.x).
pub(crate) const MD_MAGIC: u32 = 0xa92b_4efc;

pub(crate) fn scan_lvm2(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(s) = ctx.get(pos, 512) else { return };
    // The label sits in one of the first 4 sectors and names that sector.
    let sector = le64(s, 8);
    if &s[0..8] != b"LABELONE" || &s[24..32] != b"LVM2 001" || le32(s, 20) != 32 || sector > 3 {
        return;
    }
    let key = space_key("lvm2-pv", &s[32..64]);
    ctx.push(pos, AnchorKind::Lvm2Label, key, sector * 512);
}

fn printable(b: &[u8]) -> bool {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    end > 0 && b[..end].iter().all(|c| c.is_ascii_graphic()) && b[end..].iter().all(|&c| c == 0)
}

pub(crate) fn scan_luks(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(s) = ctx.get(pos, 512) else { return };
    let version = be16(s, 6);
    let uuid = &s[168..208];
    if s[4..6] != [0xba, 0xbe] || !printable(uuid) {
        return;
    }
    let key = space_key("luks", uuid);
    match (&s[0..4], version) {
        (b"LUKS", 1) if printable(&s[8..40]) && printable(&s[72..104]) => {
            ctx.push(pos, AnchorKind::LuksHeader, key, 0);
        }
        (b"LUKS" | b"SKUL", 2) => {
            // hdr_offset: 0 for the primary, the primary's size for the
            // secondary copy.
            let hdr_size = be64(s, 8);
            let hdr_offset = be64(s, 256);
            let size_ok = hdr_size.is_power_of_two() && (16384..=4 << 20).contains(&hdr_size);
            let primary = &s[0..4] == b"LUKS";
            if size_ok && (hdr_offset == 0) == primary && (primary || hdr_offset == hdr_size) {
                ctx.push(pos, AnchorKind::LuksHeader, key, hdr_offset);
            }
        }
        _ => {}
    }
}

/// md v1.x superblock checksum (`calc_sb_1_csum`).
fn md_csum(sb: &[u8], len: usize) -> u32 {
    let mut sum: u64 = 0;
    for (i, w) in sb[..len].chunks(4).enumerate() {
        let v = if w.len() == 4 {
            if i == 54 { 0 } else { u64::from(le32(w, 0)) }
        } else {
            u64::from(u16::from_le_bytes([w[0], w[1]]))
        };
        sum += v;
    }
    (sum as u32).wrapping_add((sum >> 32) as u32)
}

pub(crate) fn scan_md(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(s) = ctx.get(pos, 1024) else { return };
    if le32(s, 4) != 1 {
        return;
    }
    let max_dev = le32(s, 220) as usize;
    let len = 256 + 2 * max_dev;
    if max_dev > 384 || len > s.len() || md_csum(s, len) != le32(s, 216) {
        return;
    }
    // super_offset: this superblock's own sector on its device.
    let super_sector = le64(s, 144);
    let Some(off) = super_sector.checked_mul(512) else {
        return;
    };
    let key = space_key("md-device", &s[168..184]);
    ctx.push(pos, AnchorKind::MdSuperblock, key, off);
}
