use super::select::{Candidate, Ctx, majority, select, survivable, unfilled_slots};
use super::*;
use crate::geometry::{Layout, ParityLayout, Raid10Layout};

fn base(level: Level, layout: Layout, n: usize) -> Geometry {
    let mut g = Geometry::new(level, layout, 4096, 0);
    g.slots = unfilled_slots(n, 64 * 4096);
    g
}

fn raid10(word: u32, n: usize) -> Geometry {
    base(
        Level::Raid10,
        Layout::Raid10(Raid10Layout::from_md_word(word).unwrap()),
        n,
    )
}

#[test]
fn raid10_survives_only_while_every_chunk_keeps_a_copy() {
    // near=2 over 4 devices: mirrors are (0,1) and (2,3).
    let g = raid10(0x102, 4);
    assert!(survivable(&g, &[0, 2]));
    assert!(survivable(&g, &[1, 3]));
    assert!(!survivable(&g, &[0, 1]));
    assert!(!survivable(&g, &[2, 3]));
    // near=2 over 3 devices: every pair of devices shares some chunk.
    let g = raid10(0x102, 3);
    assert!(survivable(&g, &[1]));
    assert!(!survivable(&g, &[0, 2]));
    // far=2 over 4: the far copy of device d's chunks is on d+1.
    let g = raid10(0x201, 4);
    assert!(survivable(&g, &[0, 2]));
    assert!(!survivable(&g, &[0, 1]));
}

#[test]
fn parity_levels_survive_their_parity_count() {
    let r5 = base(Level::Raid5, Layout::Parity(ParityLayout::LeftSymmetric), 4);
    assert!(survivable(&r5, &[3]));
    assert!(!survivable(&r5, &[0, 3]));
    let r6 = base(Level::Raid6, Layout::Parity(ParityLayout::LeftSymmetric), 5);
    assert!(survivable(&r6, &[0, 4]));
    assert!(!survivable(&r6, &[0, 1, 4]));
    let r0 = base(Level::Raid0, Layout::Raid0(Default::default()), 2);
    assert!(!survivable(&r0, &[1]));
    let r1 = base(Level::Raid1, Layout::None, 3);
    assert!(survivable(&r1, &[0, 2]));
    assert!(!survivable(&r1, &[0, 1, 2]));
}

#[test]
fn majority_needs_a_strict_winner() {
    let names = ["a", "b", "c"];
    assert_eq!(majority(&names, &["x", "y", "x"]).unwrap(), "x");
    let e = majority(&names[..2], &["x", "y"]).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("x: a") && text.contains("y: b"), "{text}");
}

fn cand(image: usize, slot: usize, events: u64, stale: bool) -> Candidate {
    Candidate {
        image,
        slot,
        data_offset: 0,
        size: 64 * 4096,
        events: Some(events),
        sequence: None,
        freshness: events,
        lagging: stale.then(|| {
            (
                ExclusionReason::Stale {
                    counter: "events",
                    value: events,
                    freshest: 42,
                    updated: String::new(),
                    freshest_updated: String::new(),
                },
                format!("stale: events {events} < 42"),
            )
        }),
    }
}

#[test]
fn stale_members_are_kept_only_where_needed_freshest_first() {
    let g = base(Level::Raid5, Layout::Parity(ParityLayout::LeftSymmetric), 4);
    let names = ["m0", "m1", "m2", "m3", "m2-old"];
    let ctx = Ctx {
        array: "t",
        names: &names,
        base: &g,
    };
    // Slot 3 missing and slot 2 held only by stale members: leaving both
    // out would lose two roles, so the fresher stale one (events 37) is
    // kept and the older one left out.
    let (mut ex, mut f) = (Vec::new(), Vec::new());
    let by_slot = select(
        &ctx,
        vec![
            cand(0, 0, 42, false),
            cand(1, 1, 42, false),
            cand(4, 2, 30, true),
            cand(2, 2, 37, true),
        ],
        &mut ex,
        &mut f,
    )
    .unwrap();
    let kept = by_slot[2].as_ref().unwrap();
    assert_eq!((kept.cand.image, kept.kept_stale), (2, true));
    assert!(by_slot[3].is_none());
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].name, "m2-old");
    assert!(f.iter().any(|x| x.code == plan_codes::STALE_KEPT));

    // With slot 3 present, both stale members are left out.
    let (mut ex, mut f) = (Vec::new(), Vec::new());
    let by_slot = select(
        &ctx,
        vec![
            cand(0, 0, 42, false),
            cand(1, 1, 42, false),
            cand(3, 3, 42, false),
            cand(2, 2, 37, true),
        ],
        &mut ex,
        &mut f,
    )
    .unwrap();
    assert!(by_slot[2].is_none());
    assert_eq!(ex.len(), 1);
    assert!(ex[0].message.starts_with("m2: stale: events 37 < 42"));
}

#[test]
fn duplicate_fresh_roles_and_too_many_missing_are_errors() {
    let g = base(Level::Raid5, Layout::Parity(ParityLayout::LeftSymmetric), 4);
    let names = ["m0", "m1", "m0-copy"];
    let ctx = Ctx {
        array: "t",
        names: &names,
        base: &g,
    };
    let e = select(
        &ctx,
        vec![cand(0, 0, 42, false), cand(2, 0, 42, false)],
        &mut Vec::new(),
        &mut Vec::new(),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("m0 and m0-copy both claim role 0"), "{text}");
    let e = select(
        &ctx,
        vec![cand(0, 0, 42, false), cand(1, 1, 42, false)],
        &mut Vec::new(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, crate::Error::Assemble(AssembleError::TooManyMissing { missing, .. }) if missing == &[2, 3]),
        "{e}"
    );
}
