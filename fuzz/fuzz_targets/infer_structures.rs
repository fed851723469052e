//! Fuzzes the self-locating structure scanner and candidate validation of
//! RAID inference. The first input byte picks the member index and the
//! buffer's member offset (in sectors); the rest is the member buffer,
//! then also the assembled array given to `validate`.
//!
//! Invariants checked beyond "no panic": every anchor names the member it
//! was scanned for and lies inside the scanned buffer, sectors aligned;
//! validation reads at most its budget, passes at most the checks it ran
//! and keeps its reports bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use platter_core::MemSource;
use platter_raid_infer::structures::{scan, validate};

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let member = usize::from(head & 0x0F);
    let member_offset = u64::from(head >> 4) * 512 * 1021;
    let mut anchors = Vec::new();
    scan(member, member_offset, rest, &mut anchors);
    let end = member_offset + (rest.len() / 512 * 512) as u64;
    assert!(anchors.len() <= rest.len() / 512 * 4);
    for a in &anchors {
        assert_eq!(a.member, member);
        assert!(
            a.member_offset >= member_offset && a.member_offset < end,
            "{a:?}"
        );
        assert_eq!((a.member_offset - member_offset) % 512, 0);
        assert!(!a.kind.name().is_empty());
    }
    let v = validate(&MemSource::new("fuzz.img", rest.to_vec()), 1 << 20);
    assert!(v.passed <= v.checks);
    assert!(v.found.len() <= 64 && v.notes.len() <= 64, "{v:?}");
    if let Some(r) = v.rate() {
        assert!((0.0..=1.0).contains(&r));
    }
});
