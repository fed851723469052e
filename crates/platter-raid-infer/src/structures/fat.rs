//! FAT12/16/32: boot sector (BPB), FAT copies, FSInfo and directories.
//!
//! Layout and the cluster-count rule for the FAT type follow Microsoft's
//! "FAT32 File System Specification" (FAT: General Overview of On-Disk
//! Format, v1.03), sections 3 (BPB), 4 (FAT type), 5 (FSInfo) and 6
//! (directory entries).

use super::read::{MAX_READ, Reader};
use super::validate::Validation;
use super::{AnchorKind, Ctx, le16, le32, space_key};

/// Directory entries examined at most in the root directory.
const MAX_ROOT_ENTRIES: usize = 1024;
/// Subdirectories whose `.`/`..` entries are checked at most.
const MAX_SUBDIRS: usize = 64;

/// The FAT variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatType {
    /// 12-bit entries.
    Fat12,
    /// 16-bit entries.
    Fat16,
    /// 28-bit entries in 32-bit words.
    Fat32,
}

/// A parsed, sane FAT boot sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FatBoot {
    /// The FAT variant (from the cluster count).
    pub fat_type: FatType,
    /// Bytes per sector.
    pub bytes_per_sector: u64,
    /// Sectors per cluster.
    pub sectors_per_cluster: u64,
    /// Reserved sectors (the first FAT follows them).
    pub reserved_sectors: u64,
    /// Number of FATs.
    pub fats: u64,
    /// Sectors per FAT.
    pub fat_sectors: u64,
    /// Fixed root-directory entries (FAT12/16).
    pub root_entries: u64,
    /// Sectors in the volume.
    pub total_sectors: u64,
    /// First sector of the data region (cluster 2).
    pub first_data_sector: u64,
    /// Clusters in the data region.
    pub clusters: u64,
    /// Media descriptor.
    pub media: u8,
    /// Root directory cluster (FAT32).
    pub root_cluster: u64,
    /// FSInfo sector (FAT32).
    pub fsinfo_sector: u64,
    /// Backup boot sector (FAT32).
    pub backup_sector: u64,
    /// Volume serial number (0 without an extended BPB).
    pub volume_id: u32,
}

/// Parses and checks a FAT boot sector (at least 512 bytes).
pub fn parse_boot(s: &[u8]) -> Option<FatBoot> {
    if s.len() < 512 || s[510] != 0x55 || s[511] != 0xAA {
        return None;
    }
    if !((s[0] == 0xEB && s[2] == 0x90) || s[0] == 0xE9) || &s[3..11] == b"NTFS    " {
        return None;
    }
    let bps = u64::from(le16(s, 0x0B));
    let spc = s[0x0D];
    let reserved = u64::from(le16(s, 0x0E));
    let fats = u64::from(s[0x10]);
    let root_entries = u64::from(le16(s, 0x11));
    let media = s[0x15];
    if !matches!(bps, 512 | 1024 | 2048 | 4096)
        || !spc.is_power_of_two()
        || reserved == 0
        || !(1..=2).contains(&fats)
        || !(media == 0xF0 || media >= 0xF8)
    {
        return None;
    }
    let total = match le16(s, 0x13) {
        0 => u64::from(le32(s, 0x20)),
        t => u64::from(t),
    };
    let (fat_sectors, fat32_layout) = match le16(s, 0x16) {
        0 => (u64::from(le32(s, 0x24)), true),
        f => (u64::from(f), false),
    };
    if fat_sectors == 0 || (fat32_layout && root_entries != 0) {
        return None;
    }
    let root_sectors = (root_entries * 32).div_ceil(bps);
    let first_data = reserved + fats * fat_sectors + root_sectors;
    if total <= first_data {
        return None;
    }
    let clusters = (total - first_data) / u64::from(spc);
    let fat_type = match clusters {
        0 => return None,
        1..4085 => FatType::Fat12,
        4085..65525 => FatType::Fat16,
        _ => FatType::Fat32,
    };
    if (fat_type == FatType::Fat32) != fat32_layout {
        return None;
    }
    let bits = match fat_type {
        FatType::Fat12 => 12,
        FatType::Fat16 => 16,
        FatType::Fat32 => 32,
    };
    if fat_sectors * bps * 8 / bits < clusters + 2 {
        return None;
    }
    let (sig, id_at) = if fat32_layout {
        (0x42, 0x43)
    } else {
        (0x26, 0x27)
    };
    let volume_id = if matches!(s[sig], 0x28 | 0x29) {
        le32(s, id_at)
    } else {
        0
    };
    let (root_cluster, fsinfo, backup) = if fat32_layout {
        let rc = u64::from(le32(s, 0x2C));
        if rc < 2 || rc >= clusters + 2 {
            return None;
        }
        (rc, u64::from(le16(s, 0x30)), u64::from(le16(s, 0x32)))
    } else {
        (0, 0, 0)
    };
    Some(FatBoot {
        fat_type,
        bytes_per_sector: bps,
        sectors_per_cluster: u64::from(spc),
        reserved_sectors: reserved,
        fats,
        fat_sectors,
        root_entries,
        total_sectors: total,
        first_data_sector: first_data,
        clusters,
        media,
        root_cluster,
        fsinfo_sector: fsinfo,
        backup_sector: backup,
        volume_id,
    })
}

/// The address space of the FAT volume described by `b` (its serial and
/// size): [`AnchorKind::FatBoot`] and the anchors of
/// [`fat_anchor`](super::fat_anchor) share it.
pub(crate) fn volume_key(b: &FatBoot) -> u64 {
    let mut id = [0u8; 12];
    id[..4].copy_from_slice(&b.volume_id.to_le_bytes());
    id[4..].copy_from_slice(&b.total_sectors.to_le_bytes());
    space_key("fat", &id)
}

/// The volume label of the boot sector `s` whose parsed form is `b`, when
/// the extended BPB has one (signature 0x29) other than `NO NAME`.
pub(crate) fn boot_label(s: &[u8], b: &FatBoot) -> Option<[u8; 11]> {
    let (sig, at) = if b.fat_type == FatType::Fat32 {
        (0x42, 0x47)
    } else {
        (0x26, 0x2B)
    };
    let label: [u8; 11] = s.get(at..at + 11)?.try_into().ok()?;
    let usable = *s.get(sig)? == 0x29
        && &label != b"NO NAME    "
        && label[0] > b' '
        && label[0] != 0xE5
        && label.iter().all(|&c| c >= b' ');
    usable.then_some(label)
}

/// Recognises a FAT boot sector at `pos`; returns true when it is one
/// (so the caller does not read it as an MBR).
pub(crate) fn scan_boot(ctx: &mut Ctx<'_>, pos: usize) -> bool {
    let Some(sector) = ctx.get(pos, 512) else {
        return false;
    };
    let Some(b) = parse_boot(sector) else {
        return false;
    };
    let key = volume_key(&b);
    // The FAT32 backup boot sector is a copy: it is the backup when the
    // same bytes sit `backup_sector` sectors before it.
    let mut fs_offset = 0;
    if b.fat_type == FatType::Fat32 && (1..b.reserved_sectors).contains(&b.backup_sector) {
        let back = (b.backup_sector * b.bytes_per_sector) as usize;
        if pos >= back && ctx.get(pos - back, 512) == Some(sector) {
            fs_offset = back as u64;
        }
    }
    ctx.push(pos, AnchorKind::FatBoot, key, fs_offset);
    true
}

fn fat_entry(t: FatType, fat: &[u8], c: u64) -> Option<u64> {
    let c = usize::try_from(c).ok()?;
    match t {
        FatType::Fat12 => {
            let at = c + c / 2;
            let w = u64::from(le16(fat.get(at..at + 2)?, 0));
            Some(if c % 2 == 1 { w >> 4 } else { w & 0xFFF })
        }
        FatType::Fat16 => Some(u64::from(le16(fat.get(2 * c..2 * c + 2)?, 0))),
        FatType::Fat32 => Some(u64::from(le32(fat.get(4 * c..4 * c + 4)?, 0)) & 0x0FFF_FFFF),
    }
}

/// Validates the FAT file system whose boot sector is at array byte `start`.
pub(crate) fn validate(r: &mut Reader<'_>, start: u64, b: &FatBoot, v: &mut Validation) {
    v.found.push(format!(
        "{:?} at {start} (volume id {:08x}, {} clusters)",
        b.fat_type, b.volume_id, b.clusters
    ));
    let bps = b.bytes_per_sector;
    let sec = |s: u64| s.checked_mul(bps).and_then(|o| o.checked_add(start));
    let fat_bytes = (b.fat_sectors * bps).min(MAX_READ as u64) as usize;
    let Some(fat0) = sec(b.reserved_sectors).and_then(|o| r.read(o, fat_bytes)) else {
        r.fail(v);
        return;
    };
    v.check(fat0[0] == b.media);
    // FAT copies agree block by block (blocks zero in both say nothing).
    for i in 1..b.fats {
        let Some(fat_i) =
            sec(b.reserved_sectors + i * b.fat_sectors).and_then(|o| r.read(o, fat_bytes))
        else {
            break;
        };
        for (x, y) in fat0.chunks(4096).zip(fat_i.chunks(4096)) {
            if x.iter().chain(y).any(|&c| c != 0) {
                v.check(x == y);
            }
        }
    }
    if b.fat_type == FatType::Fat32 {
        if let Some(fi) = sec(b.fsinfo_sector).and_then(|o| r.read(o, 512)) {
            v.check(
                &fi[0..4] == b"RRaA" && &fi[484..488] == b"rrAa" && fi[510..512] == [0x55, 0xAA],
            );
        }
        if b.backup_sector != 0
            && let (Some(p), Some(q)) = (
                r.read(start, 512),
                sec(b.backup_sector).and_then(|o| r.read(o, 512)),
            )
        {
            v.check(p == q);
        }
    }
    let cluster_bytes = b.sectors_per_cluster * bps;
    let cluster_at = |c: u64| {
        c.checked_sub(2)?
            .checked_mul(b.sectors_per_cluster)?
            .checked_add(b.first_data_sector)
            .and_then(sec)
    };
    let root = if b.fat_type == FatType::Fat32 {
        cluster_at(b.root_cluster).and_then(|o| r.read(o, cluster_bytes as usize))
    } else {
        sec(b.reserved_sectors + b.fats * b.fat_sectors)
            .and_then(|o| r.read(o, (b.root_entries * 32).min(MAX_READ as u64) as usize))
    };
    let Some(root) = root else {
        r.fail(v);
        return;
    };
    let mut subdirs = Vec::new();
    let mut entries = 0u64;
    for e in root.chunks_exact(32).take(MAX_ROOT_ENTRIES) {
        if e[0] == 0 {
            break;
        }
        let attr = e[11];
        if e[0] == 0xE5 || attr & 0x3F == 0x0F {
            continue;
        }
        let cluster = u64::from(le16(e, 26)) | u64::from(le16(e, 20)) << 16;
        let name_ok = e[..11].iter().enumerate().all(|(i, &c)| {
            (c >= 0x20 || (i == 0 && c == 0x05)) && !b"\"*+,./:;<=>?[\\]|".contains(&c)
        });
        let sane = attr & 0xC0 == 0 && name_ok && cluster < b.clusters + 2;
        v.check(sane);
        entries += 1;
        if !sane || attr & 0x08 != 0 || cluster < 2 {
            continue;
        }
        // The first cluster of every file and directory is in use.
        v.check(fat_entry(b.fat_type, &fat0, cluster).is_some_and(|n| n >= 2));
        if attr & 0x10 != 0 && subdirs.len() < MAX_SUBDIRS {
            subdirs.push(cluster);
        }
    }
    for c in subdirs {
        let Some(d) = cluster_at(c).and_then(|o| r.read(o, 64)) else {
            continue;
        };
        let dc = |e: &[u8]| u64::from(le16(e, 26)) | u64::from(le16(e, 20)) << 16;
        let ok = &d[0..11] == b".          "
            && dc(&d[0..32]) == c
            && &d[32..43] == b"..         "
            && d[11] & 0x10 != 0;
        v.check(ok);
    }
    v.notes
        .push(format!("FAT at {start}: {entries} root entries checked"));
}
