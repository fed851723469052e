//! Tests of [`super`]: arrays striped in memory by an independent striper
//! (md's left-symmetric placement written out here, GF(2⁸) multiplication
//! by shift-and-add), members removed, and every true geometry compared
//! with its rival reading over the same members.

use super::*;
use crate::sample::SampleWindow;
use platter_raid::geometry::{Layout, ParityLayout, Raid0Layout};

const WINDOW: usize = 256 << 10;

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Text-like content: words from a vocabulary, a different mix per seed.
fn text(len: usize, seed: u64) -> Vec<u8> {
    let words: [&[u8]; 16] = [
        b"stripe ",
        b"member ",
        b"the ",
        b"of ",
        b"parity ",
        b"chunk ",
        b"array ",
        b"disk ",
        b"data ",
        b"block ",
        b"sector ",
        b"and ",
        b"file ",
        b"system ",
        b"inode ",
        b"record\n",
    ];
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(words[(xorshift(&mut x) % 16) as usize]);
    }
    out.truncate(len);
    out
}

/// Structured records: fixed-width lines with growing numbers and a few
/// fields, like a log or a table dump.
fn records(len: usize, seed: u64) -> Vec<u8> {
    let names = ["alpha", "beta", "gamma", "delta", "omega"];
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 64);
    let mut i = seed * 1000;
    while out.len() < len {
        let r = xorshift(&mut x);
        let line = format!(
            "id={i:08} user={:<6} size={:>7} state=ok\n",
            names[(r % 5) as usize],
            r % 100_000
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// Binary tables: 64-byte entries of little-endian fields (an index, a
/// block pointer, flags, timestamps) with zero padding, like inode tables.
fn table(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 64);
    let mut i = (seed as u32).wrapping_mul(7919);
    while out.len() < len {
        let r = xorshift(&mut x);
        let mut e = [0u8; 64];
        e[0..4].copy_from_slice(&i.to_le_bytes());
        e[4..6].copy_from_slice(&0x81a4u16.to_le_bytes());
        e[8..16].copy_from_slice(&(r % 1_000_000).to_le_bytes());
        e[16..20].copy_from_slice(&(1_700_000_000u32 + (r as u32 % 5000)).to_le_bytes());
        e[24..28].copy_from_slice(&(i.wrapping_mul(8) + 1000).to_le_bytes());
        e[32..36].copy_from_slice(&0xf30au32.to_le_bytes());
        out.extend_from_slice(&e);
        i = i.wrapping_add(1);
    }
    out.truncate(len);
    out
}

fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len).map(|_| xorshift(&mut x) as u8).collect()
}

/// A file-system-like mix: 64 KiB files of text, records, tables and
/// compressed (random) data, one kind after another.
fn mixed(len: usize, seed: u64, random_share: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    let mut k = 0u64;
    while out.len() < len {
        let r = xorshift(&mut x);
        let part = 64 << 10;
        k += 1;
        // Odd seeds: the generators use `seed | 1`.
        let s = seed * 100_000 + 2 * k + 1;
        match r % 100 {
            v if v < random_share => out.extend(random(part, s)),
            v if v % 3 == 0 => out.extend(text(part, s)),
            v if v % 3 == 1 => out.extend(records(part, s)),
            _ => out.extend(table(part, s)),
        }
    }
    out.truncate(len);
    out
}

/// 2^e·v in GF(2⁸) with the RAID6 polynomial 0x11d (shift and add).
fn gmul2e(mut v: u8, e: usize) -> u8 {
    for _ in 0..e {
        v = (v << 1) ^ if v & 0x80 != 0 { 0x1d } else { 0 };
    }
    v
}

/// An independent striper: RAID0 (`parity` 0), or md left-symmetric
/// RAID5 (`parity` 1: P on disk n−1−(r mod n), data from the disk after
/// it) or RAID6 (`parity` 2: Q after P, data after Q, Q exponent = data
/// index).
fn stripe(data: &[u8], n: usize, parity: usize, chunk: usize) -> Vec<Vec<u8>> {
    let k = n - parity;
    let rows = data.len() / (chunk * k);
    let mut disks = vec![vec![0u8; rows * chunk]; n];
    for r in 0..rows {
        let pd = n - 1 - r % n;
        for d in 0..k {
            let src = &data[(r * k + d) * chunk..][..chunk];
            let disk = match parity {
                0 => d,
                _ => (pd + parity + d) % n,
            };
            disks[disk][r * chunk..][..chunk].copy_from_slice(src);
            if parity >= 1 {
                for (i, &v) in src.iter().enumerate() {
                    disks[pd][r * chunk + i] ^= v;
                }
            }
            if parity == 2 {
                let qd = (pd + 1) % n;
                for (i, &v) in src.iter().enumerate() {
                    disks[qd][r * chunk + i] ^= gmul2e(v, d);
                }
            }
        }
    }
    disks
}

/// Samples as the sampler makes them: 256 KiB windows at the same member
/// offsets, every `every`-th window, all-zero windows dropped.
fn samples_every(images: &[Vec<u8>], every: usize) -> Samples {
    let len = images[0].len();
    let windows = (0..len.div_ceil(WINDOW))
        .step_by(every)
        .map(|i| {
            let at = i * WINDOW;
            let end = (at + WINDOW).min(len);
            SampleWindow {
                offset: at as u64,
                data: images.iter().map(|m| m[at..end].to_vec()).collect(),
            }
        })
        .filter(|w| w.data.iter().any(|d| !is_zero(d)))
        .collect();
    Samples {
        windows,
        bytes_read_per_member: 0,
        common_bytes: len as u64,
    }
}

fn samples(images: &[Vec<u8>]) -> Samples {
    samples_every(images, 1)
}

fn sizes(images: &[Vec<u8>]) -> Vec<u64> {
    images.iter().map(|m| m.len() as u64).collect()
}

fn raid0(chunk: usize, order: &[Option<usize>]) -> Geometry {
    Geometry::new(
        Level::Raid0,
        Layout::Raid0(Raid0Layout::Original),
        chunk as u64,
        order.len(),
    )
    .with_order(order)
}

fn parity(level: Level, layout: ParityLayout, chunk: usize, order: &[Option<usize>]) -> Geometry {
    Geometry::new(level, Layout::Parity(layout), chunk as u64, order.len()).with_order(order)
}

fn ls(level: Level, chunk: usize, order: &[Option<usize>]) -> Geometry {
    parity(level, ParityLayout::LeftSymmetric, chunk, order)
}

/// Removes the disks in `lost` (ascending): the images left, and the
/// order that puts them back in their slots.
fn degrade(disks: Vec<Vec<u8>>, lost: &[usize]) -> (Vec<Vec<u8>>, Vec<Option<usize>>) {
    let mut order = Vec::new();
    let mut images = Vec::new();
    for (d, disk) in disks.into_iter().enumerate() {
        if lost.contains(&d) {
            order.push(None);
        } else {
            order.push(Some(images.len()));
            images.push(disk);
        }
    }
    (images, order)
}

fn all(n: usize) -> Vec<Option<usize>> {
    (0..n).map(Some).collect()
}

/// `order` with a missing slot inserted at `at`.
fn with_gap(n: usize, at: usize) -> Vec<Option<usize>> {
    let mut o = all(n);
    o.insert(at, None);
    o
}

fn measure(s: &Samples, g: &Geometry, sz: &[u64]) -> Plausibility {
    plausibility(s, g, sz).unwrap_or_else(|| panic!("no verdict for {}", g.describe()))
}

/// The truth is clearly preferred over the rival, each way round.
#[track_caller]
fn truth_wins(s: &Samples, sz: &[u64], truth: &Geometry, rival: &Geometry) {
    let t = measure(s, truth, sz);
    let r = measure(s, rival, sz);
    let (it, ir) = (t.implausibility(), r.implausibility());
    assert!(
        it <= 0.15 && ir >= 0.3,
        "truth {} {it:.3} vs rival {} {ir:.3}\n{t:?}\n{r:?}",
        truth.describe(),
        rival.describe()
    );
    assert_eq!(prefer(Some(&t), Some(&r)), Some(Preference::First));
    assert_eq!(prefer(Some(&r), Some(&t)), Some(Preference::Second));
}

#[test]
fn true_raid0_beats_every_degraded_raid5_reading() {
    let chunk = 64 << 10;
    for (name, content) in [
        ("text", text(6 << 20, 1)),
        ("records", records(6 << 20, 2)),
        ("mixed", mixed(6 << 20, 3, 30)),
    ] {
        let images = stripe(&content, 3, 0, chunk);
        let (s, sz) = (samples(&images), sizes(&images));
        let truth = raid0(chunk, &all(3));
        for gap in 0..4 {
            for layout in [ParityLayout::LeftSymmetric, ParityLayout::RightAsymmetric] {
                let rival = parity(Level::Raid5, layout, chunk, &with_gap(3, gap));
                eprintln!("{name}: missing slot {gap}, {layout:?}");
                truth_wins(&s, &sz, &truth, &rival);
            }
        }
    }
}

#[test]
fn true_degraded_raid5_beats_its_raid0_reading() {
    let chunk = 32 << 10;
    for (name, content) in [
        ("text", text(6 << 20, 21)),
        ("mixed", mixed(6 << 20, 22, 30)),
    ] {
        for lost in 0..4 {
            let (images, order) = degrade(stripe(&content, 4, 1, chunk), &[lost]);
            let (s, sz) = (samples(&images), sizes(&images));
            eprintln!("{name}: disk {lost} lost");
            let truth = ls(Level::Raid5, chunk, &order);
            truth_wins(&s, &sz, &truth, &raid0(chunk, &all(3)));
            // Any other RAID0 order is no better.
            truth_wins(&s, &sz, &truth, &raid0(chunk, &[Some(2), Some(0), Some(1)]));
        }
    }
}

/// The smallest case: two images, a RAID0 or a three-disk RAID5 with a
/// disk missing; and a wider one, six images.
#[test]
fn two_and_six_members_both_ways() {
    let chunk = 64 << 10;
    let content = mixed(8 << 20, 31, 20);
    let (images, order) = degrade(stripe(&content, 3, 1, chunk), &[1]);
    let (s, sz) = (samples(&images), sizes(&images));
    truth_wins(
        &s,
        &sz,
        &ls(Level::Raid5, chunk, &order),
        &raid0(chunk, &all(2)),
    );
    let images = stripe(&content, 2, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    truth_wins(
        &s,
        &sz,
        &raid0(chunk, &all(2)),
        &ls(Level::Raid5, chunk, &with_gap(2, 2)),
    );

    let content = text(24 << 20, 32);
    let (images, order) = degrade(stripe(&content, 7, 1, chunk), &[4]);
    let (s, sz) = (samples_every(&images, 3), sizes(&images));
    truth_wins(
        &s,
        &sz,
        &ls(Level::Raid5, chunk, &order),
        &raid0(chunk, &all(6)),
    );
    let images = stripe(&content, 6, 0, chunk);
    let (s, sz) = (samples_every(&images, 3), sizes(&images));
    truth_wins(
        &s,
        &sz,
        &raid0(chunk, &all(6)),
        &ls(Level::Raid5, chunk, &with_gap(6, 4)),
    );
}

#[test]
fn raid6_with_one_or_two_missing_beats_raid0_and_the_reverse() {
    let chunk = 16 << 10;
    let content = mixed(8 << 20, 41, 20);
    let disks = stripe(&content, 6, 2, chunk);
    // One missing: the rebuilt blocks read as data. Read as RAID0, P and
    // Q are both present in most rows and their XOR with the data is a
    // mixture either way, so that reading may get no verdict; it must
    // never be preferred.
    let (images, order) = degrade(disks.clone(), &[2]);
    let (s, sz) = (samples(&images), sizes(&images));
    let truth = measure(&s, &ls(Level::Raid6, chunk, &order), &sz);
    assert!(truth.implausibility() <= 0.1, "{truth:?}");
    assert!(truth.rebuilt.judged >= MIN_JUDGED, "{truth:?}");
    let rival = plausibility(&s, &raid0(chunk, &all(5)), &sz);
    assert_ne!(
        prefer(Some(&truth), rival.as_ref()),
        Some(Preference::Second),
        "{rival:?}"
    );
    for lost in [vec![0, 3], vec![4, 5]] {
        let (images, order) = degrade(disks.clone(), &lost);
        let n = images.len();
        let (s, sz) = (samples(&images), sizes(&images));
        eprintln!("raid6 lost {lost:?}");
        let truth = ls(Level::Raid6, chunk, &order);
        truth_wins(&s, &sz, &truth, &raid0(chunk, &all(n)));
    }
    // A true RAID0 of four read as a six-slot RAID6 missing two.
    let images = stripe(&content, 4, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    let mut order = all(4);
    order.insert(1, None);
    order.insert(4, None);
    truth_wins(
        &s,
        &sz,
        &raid0(chunk, &all(4)),
        &ls(Level::Raid6, chunk, &order),
    );
    truth_wins(
        &s,
        &sz,
        &raid0(chunk, &all(4)),
        &ls(Level::Raid6, chunk, &with_gap(4, 0)),
    );
}

/// A data offset (md's 1 MiB) and sampling that skips windows, like the
/// sampler on large members.
#[test]
fn data_offset_and_sparse_samples() {
    let chunk = 64 << 10;
    let off = 1 << 20;
    let content = mixed(12 << 20, 51, 25);
    let (mut images, order) = degrade(stripe(&content, 4, 1, chunk), &[3]);
    for m in &mut images {
        let mut v = random(off, 99);
        v.extend_from_slice(m);
        *m = v;
    }
    let (s, sz) = (samples_every(&images, 2), sizes(&images));
    let truth = ls(Level::Raid5, chunk, &order).with_data_offset(off as u64);
    let rival = raid0(chunk, &all(3)).with_data_offset(off as u64);
    truth_wins(&s, &sz, &truth, &rival);
}

/// Content that does not repeat, and all-zero members, give no verdict:
/// no preference either way.
#[test]
fn random_and_zero_content_say_nothing() {
    let chunk = 64 << 10;
    let images = stripe(&random(4 << 20, 61), 3, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    let a = plausibility(&s, &raid0(chunk, &all(3)), &sz);
    let b = plausibility(&s, &ls(Level::Raid5, chunk, &with_gap(3, 1)), &sz);
    assert_eq!((&a, &b), (&None, &None));
    assert_eq!(prefer(a.as_ref(), b.as_ref()), None);

    let (images, _) = degrade(stripe(&random(4 << 20, 62), 4, 1, chunk), &[0]);
    let (s, sz) = (samples(&images), sizes(&images));
    assert!(plausibility(&s, &raid0(chunk, &all(3)), &sz).is_none());

    let zeros = vec![vec![0u8; 2 << 20]; 3];
    let (s, sz) = (samples(&zeros), sizes(&zeros));
    assert!(s.windows.is_empty());
    assert!(plausibility(&s, &raid0(chunk, &all(3)), &sz).is_none());
    // Windows present but zero (the sampler drops them; a caller might not).
    let s = Samples {
        windows: vec![SampleWindow {
            offset: 0,
            data: zeros.clone(),
        }],
        bytes_read_per_member: 0,
        common_bytes: 2 << 20,
    };
    assert!(plausibility(&s, &ls(Level::Raid5, chunk, &with_gap(3, 0)), &sz).is_none());
}

/// Tables of aligned counters XOR into something more repetitive than
/// either: the test must then abstain, not pick the wrong geometry.
#[test]
fn aligned_tables_never_give_a_wrong_preference() {
    let chunk = 64 << 10;
    let content = table(6 << 20, 71);
    let images = stripe(&content, 3, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    let a = plausibility(&s, &raid0(chunk, &all(3)), &sz);
    let b = plausibility(&s, &ls(Level::Raid5, chunk, &with_gap(3, 1)), &sz);
    assert_ne!(
        prefer(a.as_ref(), b.as_ref()),
        Some(Preference::Second),
        "{a:?} {b:?}"
    );
    let (images, order) = degrade(stripe(&content, 4, 1, chunk), &[2]);
    let (s, sz) = (samples(&images), sizes(&images));
    let a = plausibility(&s, &ls(Level::Raid5, chunk, &order), &sz);
    let b = plausibility(&s, &raid0(chunk, &all(3)), &sz);
    assert_ne!(
        prefer(a.as_ref(), b.as_ref()),
        Some(Preference::Second),
        "{a:?} {b:?}"
    );
}

/// Read as RAID0, a degraded RAID5's parity blocks are the odd ones out,
/// rotating over the members; a true RAID0 of text has none.
#[test]
fn parity_read_as_data_stands_out_per_member() {
    let chunk = 32 << 10;
    let content = text(6 << 20, 81);
    let (images, _) = degrade(stripe(&content, 4, 1, chunk), &[1]);
    let (s, sz) = (samples(&images), sizes(&images));
    let p = measure(&s, &raid0(chunk, &all(3)), &sz);
    assert!(p.odd_rows * 2 >= p.block_rows, "{p:?}");
    assert!(p.odd_by_slot.iter().all(|&c| c * 5 >= p.odd_rows), "{p:?}");
    let images = stripe(&content, 3, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    let p = measure(&s, &raid0(chunk, &all(3)), &sz);
    assert_eq!(p.odd_rows, 0, "{p:?}");
    assert!(p.direct.share() > 0.95, "{p:?}");
}

/// Levels without rows, geometries that do not resolve, and more missing
/// slots than the parity covers.
#[test]
fn unsupported_geometries_give_none() {
    let chunk = 64 << 10;
    let images = stripe(&text(2 << 20, 91), 2, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    let mirror = Geometry::new(Level::Raid1, Layout::None, chunk as u64, 2);
    assert!(plausibility(&s, &mirror, &sz).is_none());
    // Image index out of range.
    assert!(plausibility(&s, &raid0(chunk, &[Some(0), Some(5)]), &sz).is_none());
    // RAID5 with two of four slots missing: nothing can be rebuilt.
    let g = ls(Level::Raid5, chunk, &[Some(0), None, Some(1), None]);
    assert!(plausibility(&s, &g, &sz).map_or(0, |p| p.rebuilt.judged) == 0);
}

/// The work is bounded whatever the sample size.
#[test]
fn block_rows_are_capped() {
    let chunk = 4 << 10;
    let images = stripe(&text(24 << 20, 101), 2, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    let p = measure(&s, &raid0(chunk, &all(2)), &sz);
    assert!(p.block_rows <= MAX_BLOCK_ROWS, "{}", p.block_rows);
    assert!(p.block_rows >= MAX_BLOCK_ROWS / 2, "{}", p.block_rows);
}

/// A candidate of geometry `g`, as the structure fit reports one.
fn cand(g: Geometry) -> crate::report::Candidate {
    crate::report::Candidate::of(g, 1.0, crate::report::Evidence::default())
}

/// A RAID6 of six missing two members whose structures left one member
/// unseated, behind a RAID0 over the four that seats it by elimination:
/// the seatings of the RAID6 fit are weighed by content and the true one
/// goes first, for validation to check (`completion::plausible`). Behind
/// a RAID0 the content supports, nothing moves.
#[test]
fn the_plausible_seating_of_a_degraded_fit_goes_first() {
    let chunk = 64 << 10;
    let content = mixed(8 << 20, 43, 10);
    let disks = stripe(&content, 6, 2, chunk);
    let (images, order) = degrade(disks, &[1, 4]);
    let (s, sz) = (samples(&images), sizes(&images));
    let truth = ls(Level::Raid6, chunk, &order);
    // The fit seated images 0, 1 and 3; image 2 is undecided.
    let open: Vec<Option<usize>> = order.iter().map(|o| o.filter(|&i| i != 2)).collect();
    let tied = vec![(cand(ls(Level::Raid6, chunk, &open)), vec![2usize])];
    let mut cands = vec![cand(raid0(chunk, &all(4)))];
    crate::completion::plausible(&mut cands, &tied, &s, &sz);
    assert_eq!(cands[0].geometry, truth, "{}", cands[0].geometry.describe());
    assert!(cands.iter().any(|c| c.level == Level::Raid0));
    // A true RAID0 stays first.
    let images = stripe(&content, 4, 0, chunk);
    let (s, sz) = (samples(&images), sizes(&images));
    let mut cands = vec![cand(raid0(chunk, &all(4)))];
    let mut open = all(4);
    open.insert(1, None);
    open.insert(4, None);
    open[0] = None;
    let tied = vec![(cand(ls(Level::Raid6, chunk, &open)), vec![0usize])];
    crate::completion::plausible(&mut cands, &tied, &s, &sz);
    assert_eq!(cands[0].level, Level::Raid0);
}

/// A RAID6 with one member missing keeps one relation on every row
/// (`raid6_degraded::geometry_agreement`): the true geometry keeps it, a
/// wrong seating of the same members does not, and a degraded RAID5 read
/// as a RAID6 with a member missing keeps it nowhere, so the structure
/// fit drops that reading (`anchored::related`).
#[test]
fn a_raid6_with_one_member_missing_must_keep_its_relation() {
    let chunk = 16 << 10;
    let content = mixed(6 << 20, 51, 10);
    let (images, order) = degrade(stripe(&content, 5, 2, chunk), &[2]);
    let (s, sz) = (samples(&images), sizes(&images));
    let sizes_of = |sz: &[u64]| sz.iter().map(|&b| Some(b)).collect::<Vec<_>>();
    let truth = ls(Level::Raid6, chunk, &order);
    let agree = crate::raid6_degraded::geometry_agreement(&s, &truth, &sizes_of(&sz), 512);
    assert!(agree.is_some_and(|r| r > 0.95), "{agree:?}");
    assert!(crate::anchored::related(&s, &truth, &sz));
    let mut swapped = order.clone();
    swapped.swap(0, 1);
    let wrong = ls(Level::Raid6, chunk, &swapped);
    let agree = crate::raid6_degraded::geometry_agreement(&s, &wrong, &sizes_of(&sz), 512);
    assert!(agree.is_some_and(|r| r < 0.5), "{agree:?}");
    assert!(!crate::anchored::related(&s, &wrong, &sz));

    // A RAID5 over six slots with one lost, read as a RAID6 over the same
    // six slots with that one missing.
    let (images, order) = degrade(stripe(&content, 6, 1, chunk), &[3]);
    let (s, sz) = (samples(&images), sizes(&images));
    let as_raid6 = ls(Level::Raid6, chunk, &order);
    let agree = crate::raid6_degraded::geometry_agreement(&s, &as_raid6, &sizes_of(&sz), 512);
    assert!(agree.is_some_and(|r| r < 0.1), "{agree:?}");
    assert!(!crate::anchored::related(&s, &as_raid6, &sz));
    // Only a RAID6 with exactly one member missing is judged.
    assert!(crate::anchored::related(
        &s,
        &ls(Level::Raid5, chunk, &order),
        &sz
    ));
    let mut two = order.clone();
    two.insert(0, None);
    let agree = crate::raid6_degraded::geometry_agreement(
        &s,
        &ls(Level::Raid6, chunk, &two),
        &sizes_of(&sz),
        512,
    );
    assert_eq!(agree, None);
}
