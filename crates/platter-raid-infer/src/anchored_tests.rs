use super::*;
use crate::structures::{ARRAY_KEY, AnchorKind};

fn anchor(member: usize, member_offset: u64, kind: AnchorKind, fs_offset: u64) -> Anchor {
    Anchor {
        member,
        member_offset,
        kind,
        fs_key: if matches!(kind, AnchorKind::Mbr | AnchorKind::GptHeader) {
            ARRAY_KEY
        } else {
            7
        },
        fs_offset,
    }
}

/// Seed 1 case 168 of the accuracy harness: an ext4 superblock alone on
/// one member, 17 KiB + 1 KiB in, names the array's start; a partition
/// table names it instead of the file systems inside its partitions
/// (seed 1 case 133: a FAT at a member's 256 KiB is not an array start).
#[test]
fn the_array_starts_at_its_partition_table_or_else_its_file_system() {
    let ext = [
        anchor(2, 18432, AnchorKind::ExtSuperblock, 1024),
        anchor(0, 1 << 20, AnchorKind::ExtInode, 4 << 20),
    ];
    assert_eq!(array_starts(&ext), vec![17408]);
    let partitioned = [
        anchor(1, 0, AnchorKind::Mbr, 0),
        anchor(3, 256 << 10, AnchorKind::FatBoot, 0),
    ];
    assert_eq!(starts(&partitioned), vec![0, 256 << 10]);
    assert_eq!(array_starts(&partitioned), vec![0]);
}
