//! Fuzzes the ddrescue mapfile parser: raw bytes, and their lossy UTF-8
//! reading. Whenever a map parses, its invariants must hold and writing it
//! out and parsing it again must give the same map, whose text is stable.
#![no_main]

use platter_core::mapfile::{MAX_POS, Mapfile};

fn check(map: &Mapfile) {
    if let Err(e) = map.check_invariants() {
        panic!("invariant broken: {e}: {map:?}");
    }
    let blocks = map.blocks();
    for w in blocks.windows(2) {
        assert_eq!(w[0].end(), w[1].pos, "blocks not contiguous");
        assert_ne!(w[0].status, w[1].status, "blocks not merged");
    }
    for b in blocks {
        assert!(b.size > 0);
        assert!(b.pos.checked_add(b.size).is_some_and(|e| e <= MAX_POS));
    }
    assert!(map.size() <= MAX_POS);
    assert!(map.current_pos <= MAX_POS);
    assert!(
        map.current_pass
            .is_none_or(|p| p >= 1 && p <= i32::MAX as u32)
    );
    let text = map.to_text();
    let again = Mapfile::parse(&text, "again").expect("our own text must parse");
    assert_eq!(&again, map, "round trip changed the map");
    assert_eq!(again.to_text(), text, "text not stable");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(map) = Mapfile::parse_bytes(data, "fuzz") {
        check(&map);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(map) = Mapfile::parse(&text, "fuzz") {
        check(&map);
    }
});
