//! Fuzzes the DDF parser. The member is: block 0 empty, the input's
//! metadata area from block 1 on, and the input's first 512 bytes (after a
//! mode byte) as the anchor in the last block. Mode bit 0 picks 4096-byte
//! blocks, bit 1 points the anchor's primary header at block 1 (and drops
//! the secondary), bit 2 recomputes the CRCs of the anchor, the primary
//! header and every section it lists, so mutated fields get past the CRC
//! checks into validation. Bit 3 starts from a valid skeleton (header,
//! controller, disk and VD records, a RAID5 configuration, disk data) and
//! XORs the input onto it, so the fuzzer explores the deep paths at once.
//!
//! Invariants checked beyond "no panic": every list is bounded by the
//! 4 MiB section limit, configuration members never exceed their record's
//! counts, start offsets are exact multiples of the block size, and the
//! anomaly list is bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use platter_core::MemSource;
use platter_raid::metadata::{DDF_SIGNATURE, DdfMetadata, probe_ddf};

/// CRC-32 register from 0 without inversions: mdadm's variant, one of the
/// two the parser accepts (kept bit by bit: inputs are small).
fn crc_mdadm(data: &[u8]) -> u32 {
    let mut c = 0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    c
}

fn seal(b: &mut [u8]) {
    if b.len() >= 8 {
        b[4..8].fill(0xff);
        let c = crc_mdadm(b);
        b[4..8].copy_from_slice(&c.to_be_bytes());
    }
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes(b[o..o + 4].try_into().unwrap())
}

/// Reseals the sections the header at `h` (block 1) lists, when they lie
/// inside the image (at most 1 MiB each).
fn seal_sections(img: &mut [u8], bs: usize) {
    let h = bs;
    let hdr = img[h..h + 512].to_vec();
    let rec_blocks = usize::from(u16::from_be_bytes([hdr[134], hdr[135]]));
    for i in 0..5 {
        let off = be32(&hdr, 192 + 8 * i) as usize;
        let len = be32(&hdr, 196 + 8 * i) as usize;
        let start = (1 + off).saturating_mul(bs);
        let bytes = len.saturating_mul(bs);
        if bytes == 0 || bytes > 1 << 20 || start.saturating_add(bytes) > img.len() {
            continue;
        }
        if i == 3 && rec_blocks > 0 {
            // Configuration records, each sealed on its own.
            let rec = rec_blocks * bs;
            let mut at = start;
            while at + rec <= start + bytes {
                seal(&mut img[at..at + rec]);
                at += rec;
            }
        } else if i == 0 || i == 4 {
            seal(&mut img[start..start + 512]);
        } else {
            seal(&mut img[start..start + bytes]);
        }
    }
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

/// Blocks of the skeleton's metadata area: header, controller, physical
/// disks (2), virtual disks (2), configuration (2), disk data.
const SKELETON_BLOCKS: usize = 9;

/// A valid DDF metadata area (header at its block 0, which is member
/// block 1) and the matching anchor.
fn skeleton(bs: usize) -> (Vec<u8>, Vec<u8>) {
    let mut a = vec![0xffu8; SKELETON_BLOCKS * bs];
    let rec_blocks: u16 = if bs == 512 { 2 } else { 1 };
    let h = &mut a[..512];
    put(h, 0, &DDF_SIGNATURE.to_be_bytes());
    put(h, 8, b"FUZZ-DDF-HEADER-GUID-000");
    put(h, 32, b"01.02.00");
    put(h, 40, &1u32.to_be_bytes());
    put(h, 96, &1u64.to_be_bytes());
    h[112] = 1;
    for (i, v) in [15u16, 15, 1, rec_blocks, 16].iter().enumerate() {
        put(h, 128 + 2 * i, &v.to_be_bytes());
    }
    let sections: [(u32, u32); 8] = [
        (1, 1),
        (2, 2),
        (4, 2),
        (6, u32::from(rec_blocks)),
        (8, 1),
        (u32::MAX, 0),
        (u32::MAX, 0),
        (u32::MAX, 0),
    ];
    for (i, (o, l)) in sections.iter().enumerate() {
        put(h, 192 + 8 * i, &o.to_be_bytes());
        put(h, 196 + 8 * i, &l.to_be_bytes());
    }
    let mut anchor = h.to_vec();
    anchor[112] = 0;
    put(&mut a, bs, &0xAD11_1111u32.to_be_bytes());
    let pd = 2 * bs;
    put(&mut a, pd, &0x2222_2222u32.to_be_bytes());
    put(&mut a, pd + 8, &[0, 2, 0, 15]);
    for i in 0..2 {
        let e = pd + 64 * (i + 1);
        put(&mut a, e, &[b'P'; 24]);
        put(&mut a, e + 24, &(i as u32 + 1).to_be_bytes());
        put(&mut a, e + 28, &[0, 2, 0, 1]);
        put(&mut a, e + 32, &4096u64.to_be_bytes());
    }
    let vd = 4 * bs;
    put(&mut a, vd, &0xDDDD_DDDDu32.to_be_bytes());
    put(&mut a, vd + 8, &[0, 1, 0, 15]);
    put(&mut a, vd + 64, &[b'V'; 24]);
    put(&mut a, vd + 64 + 24, &[0; 10]);
    let c = 6 * bs;
    put(&mut a, c, &0xEEEE_EEEEu32.to_be_bytes());
    put(&mut a, c + 8, &[b'V'; 24]);
    put(&mut a, c + 64, &[0, 2, 7, 5, 3, 1, 0, 0xff]);
    put(&mut a, c + 72, &2048u64.to_be_bytes());
    put(&mut a, c + 80, &2048u64.to_be_bytes());
    put(&mut a, c + 512, &[0, 0, 0, 1, 0, 0, 0, 2]);
    put(&mut a, c + 512 + 64, &[0; 16]);
    let d = 8 * bs;
    put(&mut a, d, &0x3333_3333u32.to_be_bytes());
    put(&mut a, d + 8, &[b'P'; 24]);
    put(&mut a, d + 32, &1u32.to_be_bytes());
    (a, anchor)
}

fn check(d: &DdfMetadata) {
    assert!(d.physical_disks.len() <= (4 << 20) / 64);
    assert!(d.virtual_disks.len() <= (4 << 20) / 64);
    assert!(d.configs.len() <= 1024);
    assert!(d.anomalies.len() <= 40 * 16 + 2);
    for c in &d.configs {
        assert!(c.members.len() <= usize::from(c.primary_elements));
        assert!(c.members.len() <= usize::from(d.max_primary_elements));
        for m in &c.members {
            if let Some(b) = m.start_bytes {
                assert_eq!(b, m.start_lba * u64::from(c.block_size));
            }
        }
        if let Some(s) = c.strip_bytes {
            assert!(s > 0 && s <= 1 << 30);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bs = if mode & 1 == 1 { 4096 } else { 512 };
    let (anchor_in, area) = rest.split_at(rest.len().min(512));
    let (mut meta, mut anchor) = if mode & 8 != 0 {
        skeleton(bs)
    } else {
        (Vec::new(), vec![0u8; 512])
    };
    if meta.len() < area.len() {
        meta.resize(area.len().min(2048 * bs), 0);
    }
    for (m, x) in meta.iter_mut().zip(area) {
        *m ^= x;
    }
    for (m, x) in anchor.iter_mut().zip(anchor_in) {
        *m ^= x;
    }
    let area_blocks = meta.len().div_ceil(bs);
    let total = bs * (2 + area_blocks);
    let mut img = vec![0u8; total];
    img[bs..bs + meta.len()].copy_from_slice(&meta);
    let a = total - bs;
    img[a..a + 512].copy_from_slice(&anchor);
    img[a..a + 4].copy_from_slice(&DDF_SIGNATURE.to_be_bytes());
    if mode & 2 != 0 {
        img[a + 96..a + 104].copy_from_slice(&1u64.to_be_bytes());
        img[a + 104..a + 112].copy_from_slice(&u64::MAX.to_be_bytes());
        img[a + 112] = 0;
        if area_blocks > 0 {
            // The primary must match the anchor from byte 96 on, but type 1.
            let (head, tail) = img.split_at_mut(a);
            head[bs..bs + 4].copy_from_slice(&DDF_SIGNATURE.to_be_bytes());
            head[bs + 8..bs + 40].copy_from_slice(&tail[8..40]);
            head[bs + 96..bs + 512].copy_from_slice(&tail[96..512]);
            head[bs + 112] = 1;
        }
    }
    if mode & 4 != 0 {
        seal(&mut img[a..a + 512]);
        if area_blocks > 0 {
            seal(&mut img[bs..bs + 512]);
            seal_sections(&mut img, bs);
        }
    }
    let member = MemSource::new("fuzz.img", img);
    match probe_ddf(&member) {
        Ok(Some(d)) => check(&d),
        Ok(None) => {}
        // In-memory reads cannot fail; only a refused variant may.
        Err(e) => assert!(matches!(e, platter_raid::Error::Metadata { .. }), "{e}"),
    }
});
