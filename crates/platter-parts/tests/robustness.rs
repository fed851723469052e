//! Property tests: random bytes and random mutations of valid tables never
//! make the parser panic, and the result always satisfies the invariants
//! (bounded partition count, partitions fit the disk or are flagged, every
//! anomaly names its offset).

mod common;

use std::sync::OnceLock;

use common::*;
use platter_parts::read_partitions;
use proptest::prelude::*;

fn fixtures() -> &'static [Vec<u8>; 3] {
    static F: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    F.get_or_init(|| {
        [
            fixture_bytes("gpt-ext4-fat.img"),
            fixture_bytes("mbr-logical.img"),
            fixture_bytes("gpt-damaged-primary.img"),
        ]
    })
}

/// Byte ranges where the tables live: sector 0 and the primary GPT, the
/// backup GPT at the end, and the EBRs of mbr-logical.img.
fn table_offset(img_len: usize, region: u8, pos: usize) -> usize {
    match region % 4 {
        0 => pos % (34 * 512),
        1 => img_len - 1 - pos % (33 * 512),
        2 => [2560usize, 3099, 3599][pos % 3] * 512 + 440 + pos % 72,
        _ => pos % img_len,
    }
}

fn run(bytes: Vec<u8>) {
    let disk = mem("fuzz.img", bytes);
    let table = read_partitions(&*disk).expect("in-memory reads do not fail");
    check_invariants(&disk, &table);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..6000),
                                sig in any::<bool>(), gpt in any::<bool>()) {
        // Steer some cases past the first checks.
        if sig && bytes.len() >= 512 {
            bytes[510] = 0x55;
            bytes[511] = 0xAA;
        }
        if gpt && bytes.len() >= 1024 {
            bytes[512..520].copy_from_slice(b"EFI PART");
        }
        run(bytes);
    }

    #[test]
    fn mutated_tables_never_panic(
        which in 0usize..3,
        muts in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..24),
        fix_crcs in any::<bool>(),
        cut in proptest::option::of(0usize..(3 << 20)),
    ) {
        let mut img = fixtures()[which].clone();
        let len = img.len();
        for (region, pos, val) in muts {
            img[table_offset(len, region, pos)] = val;
        }
        if fix_crcs {
            // Let mutated header fields through the CRC checks.
            fix_gpt_crcs(&mut img, 512, 1);
            fix_gpt_crcs(&mut img, 512, len / 512 - 1);
        }
        if let Some(cut) = cut {
            img.truncate(cut);
        }
        run(img);
    }

    #[test]
    fn mutated_gpt_header_fields_never_panic(
        field in 0usize..23,
        value in any::<u64>(),
        backup in any::<bool>(),
    ) {
        // Overwrite one 4-byte-aligned header field with an arbitrary value
        // and fix the CRCs, so validation beyond the CRC is exercised.
        let mut img = fixtures()[0].clone();
        let lba = if backup { img.len() / 512 - 1 } else { 1 };
        let at = lba * 512 + 8 + field * 4;
        img[at..at + 4].copy_from_slice(&(value as u32).to_le_bytes());
        if value >> 63 == 1 && at + 8 <= lba * 512 + 92 {
            img[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        fix_gpt_crcs(&mut img, 512, lba);
        run(img);
    }
}
