use super::*;
use crate::error::Error;
use crate::source::{ExtentKind, MemSource, Source, read_filled};
use proptest::prelude::*;

use BlockStatus::{BadSector, Finished, NonScraped, NonTried, NonTrimmed};

/// The example of REFERENCE.md ("ddrescue mapfile").
const REFERENCE: &str = "\
# Mapfile. Created by GNU ddrescue version 1.27
# Command line: ddrescue /dev/sdb disk.img disk.map
# Start time:   2026-11-24 18:34:51
# Current time: 2026-11-24 18:34:51
# Finished
# current_pos  current_status  current_pass
0x004E2C00     +               1
#      pos        size  status
0x00000000  0x004E2000  +
0x004E2000  0x00001000  -
0x004E3000  0x004E1200  +
";

fn blk(pos: u64, size: u64, status: BlockStatus) -> MapBlock {
    MapBlock { pos, size, status }
}

fn parse(text: &str) -> Mapfile {
    Mapfile::parse(text, "t.map").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The line and reason of a parse error.
fn parse_err(text: &str) -> (usize, String) {
    match Mapfile::parse(text, "t.map") {
        Err(Error::Mapfile { name, line, reason }) => {
            assert_eq!(name, "t.map");
            (line, reason)
        }
        other => panic!("expected a mapfile error for {text:?}, got {other:?}"),
    }
}

/// The lines from the status-line comment on: what ddrescue writes besides
/// its header comments.
fn body(text: &str) -> String {
    let at = text.find("# current_pos").expect("status comment");
    text[at..].to_string()
}

#[test]
fn parses_the_reference_example_exactly() {
    let m = parse(REFERENCE);
    assert_eq!(m.current_pos, 0x4E2C00);
    assert_eq!(m.current_status, PassStatus::Finished);
    assert_eq!(m.current_pass, Some(1));
    assert_eq!(
        m.command_line.as_deref(),
        Some("ddrescue /dev/sdb disk.img disk.map")
    );
    assert_eq!(
        m.blocks(),
        [
            blk(0, 0x4E2000, Finished),
            blk(0x4E2000, 0x1000, BadSector),
            blk(0x4E3000, 0x4E1200, Finished),
        ]
    );
    assert_eq!(m.size(), 0x9C4200);
    assert_eq!(m.bytes_with(BadSector), 0x1000);
    assert_eq!(m.bytes_with(Finished), 0x9C4200 - 0x1000);
    assert_eq!(m.status_at(0x4E2FFF), Some(BadSector));
    assert_eq!(m.status_at(0x4E3000), Some(Finished));
    assert_eq!(m.status_at(0x9C4200), None);
    // Our text reproduces ddrescue's status and block lines byte for byte.
    let text = m.to_text();
    assert_eq!(body(&text), body(REFERENCE));
    assert!(text.contains("\n# Command line: ddrescue /dev/sdb disk.img disk.map\n"));
    assert!(text.contains("\n# Finished\n"));
    assert_eq!(parse(&text), m);
}

#[test]
fn numbers_are_c_literals() {
    // Decimal, hex (either case), octal, signs, and glibc's reading of
    // "0x" without digits (0) and "08" (octal 0, then 8).
    // "+48 0x 1 -" reads pos 48, size "0x" (0), then status '1'.
    let (line, reason) = parse_err("0 +\n0 010 ?\n8 0x10 *\n0X18 24 /\n+48 0x 1 -\n");
    assert_eq!(line, 5);
    assert!(reason.contains("status '1'"), "{reason}");
    let m = parse("-0 +\n-0 010 ?\n8 0x10 *\n0X18 24 /\n+48 0xa -\n");
    assert_eq!(m.current_pos, 0);
    assert_eq!(
        m.blocks(),
        [
            blk(0, 8, NonTried),
            blk(8, 16, NonTrimmed),
            blk(24, 24, NonScraped),
            blk(48, 10, BadSector),
        ]
    );
    let m = parse("0 ?\n08 ?\n");
    assert_eq!(m.blocks(), [blk(0, 8, NonTried)]);
    // Fields may touch; anything after the status is ignored.
    let m = parse("0x10+7\n0 0x10+garbage\n");
    assert_eq!(m.current_pass, Some(7));
    assert_eq!(m.blocks(), [blk(0, 16, Finished)]);
}

#[test]
fn the_pass_is_optional_and_decimal() {
    let m = parse("0x20 *\n0 0x40 ?\n");
    assert_eq!(m.current_pass, None);
    let text = m.to_text();
    assert!(text.contains("\n0x00000020     *\n"), "{text}");
    assert_eq!(parse(&text), m);
    // Not a number: the pass is absent, as for ddrescue.
    assert_eq!(parse("0 - x\n").current_pass, None);
    // "%d" reads "010" as 10 and "0x10" as 0, which is refused.
    assert_eq!(parse("0 - 010\n").current_pass, Some(10));
    assert_eq!(parse_err("0 - 0x10\n").0, 1);
    assert_eq!(parse_err("0 - -1\n").0, 1);
    assert_eq!(
        parse("0 F 2147483647\n").current_pass,
        Some(i32::MAX as u32)
    );
    assert!(parse_err("0 G 2147483648\n").1.contains("too large"));
}

#[test]
fn comments_whitespace_and_line_endings() {
    let text = "\r\n# c1\n\n   # indented comment\n\t0x10 /  3 # trailing\r\n\n# between\n0 8 + #x\n8 8 ?#not a comment\r\n\x0b\x0c16 4 -";
    let m = parse(text);
    assert_eq!(m.current_pos, 0x10);
    assert_eq!(m.current_status, PassStatus::Scraping);
    assert_eq!(m.current_pass, Some(3));
    assert_eq!(
        m.blocks(),
        [
            blk(0, 8, Finished),
            blk(8, 8, NonTried),
            blk(16, 4, BadSector)
        ]
    );
    // A '#' right after a field is not a comment, so the next line is a
    // block line, and its error is reported on its own line.
    assert_eq!(parse_err("0 +\n0 8 + #ok\n# c\n\n8 8 x\n").0, 5);
    // A comment cut in the middle of a record leaves too few fields.
    assert_eq!(parse_err("0 +\n0 # 8 +\n").0, 2);
}

#[test]
fn command_line_comes_from_the_header() {
    let m = parse("# Command line: ddrescue -d /dev/sda a.img a.map\r\n0 ?\n");
    assert_eq!(
        m.command_line.as_deref(),
        Some("ddrescue -d /dev/sda a.img a.map")
    );
    // Only before the status line, and only at the start of a line.
    assert_eq!(parse("0 ?\n# Command line: x\n").command_line, None);
    assert_eq!(parse("  # Command line: x\n0 ?\n").command_line, None);
    // Not UTF-8: decoded lossily, and still a valid map.
    let m =
        Mapfile::parse_bytes(b"# Command line: ddrescue d\xefsk.img\n0 +\n0 1 +\n", "b").unwrap();
    assert_eq!(m.command_line.as_deref(), Some("ddrescue d\u{fffd}sk.img"));
    assert_eq!(parse(&m.to_text()), m);
    // Newlines in a command line set by a caller cannot break the format.
    let mut m = Mapfile::new(4);
    m.command_line = Some("a\nb\rc".into());
    assert_eq!(parse(&m.to_text()).command_line.as_deref(), Some("a b c"));
    // A carriage return inside the comment reads as the space we would write
    // (found by fuzzing: the round trip changed the map).
    let m = parse("# Command line: a\rb\r\r\n0 +\n");
    assert_eq!(m.command_line.as_deref(), Some("a b "));
    assert_eq!(parse(&m.to_text()), m);
}

#[test]
fn empty_maps() {
    for text in ["", "\n\n", "# only a comment\n", "# c\n0 +\n0 0 ?\n"] {
        let m = parse(text);
        assert!(m.blocks().is_empty(), "{text:?}");
        assert_eq!(m.size(), 0);
        assert_eq!(parse(&m.to_text()), m);
    }
    // ddrescue writes this block line for an empty domain.
    let text = Mapfile::new(0).to_text();
    assert!(text.ends_with("#      pos        size  status\n0x00000000  0x00000000  ?\n"));
    // An empty block at 0 may precede the real ones and is dropped.
    assert_eq!(parse("0 +\n0 0 ?\n0 8 +\n").blocks(), [blk(0, 8, Finished)]);
}

#[test]
fn adjacent_equal_blocks_are_merged() {
    let m = parse("0 ?\n0 1 ?\n1 1 ?\n2 1 +\n3 1 +\n4 1 ?\n");
    assert_eq!(
        m.blocks(),
        [
            blk(0, 2, NonTried),
            blk(2, 2, Finished),
            blk(4, 1, NonTried)
        ]
    );
}

#[test]
fn first_block_may_start_after_zero() {
    let m = parse("0 +\n0x200 0x100 +\n0x300 0x100 -\n");
    assert_eq!(m.start(), 0x200);
    assert_eq!(m.size(), 0x400);
    assert_eq!(m.status_at(0x1FF), None);
    assert_eq!(m.status_at(0x200), Some(Finished));
    assert_eq!(parse(&m.to_text()), m);
}

#[test]
fn malformed_maps_report_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("garbage\n", 1, "status line"),
        ("# c\n\n0x10\n", 3, "status line"),
        ("0 x 1\n", 1, "current_status"),
        ("0 + 0\n", 1, "at least 1"),
        ("-1 +\n", 1, "negative"),
        ("0 +\n0 10\n", 2, "block line"),
        ("0 +\n0 10 x\n", 2, "status"),
        ("0 +\n0 10 F\n", 2, "status"),
        ("0 +\n0 10 +\n10 0 ?\n", 3, "empty block"),
        ("0 +\n0 -10 +\n", 2, "negative"),
        ("0 +\n-5 10 +\n", 2, "negative"),
        ("0 +\n0 10 +\n11 10 ?\n", 3, "not contiguous"),
        ("0 +\n0 10 +\n5 10 ?\n", 3, "not contiguous"),
        ("0 +\n10 10 +\n0 10 ?\n", 3, "not contiguous"),
        ("0 +\n0 10 +\n\n# c\n\n10 1\n", 6, "block line"),
        // The last line without a newline still counts.
        ("0 +\n0 10 +\n10 1 :", 3, "status"),
        // ddrescue keeps 127 bytes of a record: the status is cut off.
        (
            &format!("0 +\n0{} 10 +\n", " ".repeat(130)),
            2,
            "block line",
        ),
        // sscanf stops at a NUL byte.
        ("0 +\n0 10\0 +\n", 2, "block line"),
    ];
    for (text, line, reason) in cases {
        let (l, r) = parse_err(text);
        assert_eq!(l, *line, "{text:?}: {r}");
        assert!(r.contains(reason), "{text:?}: {r} lacks {reason:?}");
    }
}

#[test]
fn huge_numbers_are_refused() {
    let max = MAX_POS;
    // Ending exactly at i64::MAX is fine (ddrescue writes such "full" maps).
    let m = parse(&format!("0 ?\n0 {max:#x} ?\n"));
    assert_eq!(m.size(), max);
    let m = parse(&format!("0 ?\n0 {:#x} +\n{:#x} 1 ?\n", max - 1, max - 1));
    assert_eq!(m.size(), max);
    let cases = [
        format!("0 +\n1 {max:#x} ?\n"),
        format!("0 +\n{max:#x} 1 ?\n"),
        "0 +\n0 0x8000000000000000 ?\n".to_string(),
        "0 +\n0 0xFFFFFFFFFFFFFFFF ?\n".to_string(),
        "0 +\n0 99999999999999999999999 ?\n".to_string(),
        "0 +\n0xFFFFFFFFFFFFFFFF 0xFFFFFFFFFFFFFFFF ?\n".to_string(),
    ];
    for text in &cases {
        assert_eq!(parse_err(text).0, 2, "{text}");
    }
    assert_eq!(parse_err("0x8000000000000000 +\n").0, 1);
}

#[test]
fn block_count_is_capped() {
    let mut text = String::from("0 +\n");
    for i in 0..10u64 {
        let st = if i % 2 == 0 { '+' } else { '-' };
        text.push_str(&format!("{i} 1 {st}\n"));
    }
    assert_eq!(
        Mapfile::parse_limited(text.as_bytes(), "t", 10)
            .unwrap()
            .blocks()
            .len(),
        10
    );
    match Mapfile::parse_limited(format!("{text}10 1 ?\n").as_bytes(), "t", 10) {
        Err(Error::Mapfile {
            line: 12, reason, ..
        }) => assert!(reason.contains("more than 10")),
        other => panic!("{other:?}"),
    }
    // Merging does not count as a new block.
    assert!(Mapfile::parse_limited(format!("{text}10 1 -\n").as_bytes(), "t", 10).is_ok());
}

#[test]
fn set_status_splits_and_merges() {
    let mut m = Mapfile::new(100);
    m.set_status(10, 20, Finished);
    assert_eq!(
        m.blocks(),
        [
            blk(0, 10, NonTried),
            blk(10, 20, Finished),
            blk(30, 70, NonTried)
        ]
    );
    m.set_status(30, 10, Finished);
    assert_eq!(
        m.blocks(),
        [
            blk(0, 10, NonTried),
            blk(10, 30, Finished),
            blk(40, 60, NonTried)
        ]
    );
    m.set_status(15, 5, BadSector);
    m.set_status(0, 100, Finished);
    assert_eq!(m.blocks(), [blk(0, 100, Finished)]);
    // Growing the domain: the gap is non-tried.
    m.set_status(120, 10, BadSector);
    assert_eq!(
        m.blocks(),
        [
            blk(0, 100, Finished),
            blk(100, 20, NonTried),
            blk(120, 10, BadSector)
        ]
    );
    m.set_status(5, 0, BadSector);
    assert_eq!(m.blocks().len(), 3);
    // Clipped at the largest position.
    let mut m = Mapfile::new(0);
    m.set_status(MAX_POS - 1, u64::MAX, Finished);
    assert_eq!(m.size(), MAX_POS);
    assert_eq!(
        m.blocks(),
        [blk(0, MAX_POS - 1, NonTried), blk(MAX_POS - 1, 1, Finished)]
    );
    assert_eq!(parse(&m.to_text()), m);
}

#[test]
fn ranges_with_joins_runs() {
    let m = parse("0 ?\n0 4 +\n4 2 -\n6 2 *\n8 4 +\n12 1 /\n");
    let bad: Vec<_> = m.ranges_with(|s| s != Finished).collect();
    assert_eq!(bad, [(4, 4), (12, 1)]);
    let good: Vec<_> = m.ranges_with(|s| s == Finished).collect();
    assert_eq!(good, [(0, 4), (8, 4)]);
    assert_eq!(m.ranges_with(|_| false).count(), 0);
    assert_eq!(m.ranges_with(|_| true).collect::<Vec<_>>(), [(0, 13)]);
}

#[test]
fn status_chars_round_trip() {
    for s in BlockStatus::ALL {
        assert_eq!(BlockStatus::from_char(s.as_char()), Some(s));
    }
    for c in "?*/-FG+".chars() {
        assert_eq!(PassStatus::from_char(c).map(PassStatus::as_char), Some(c));
    }
    assert_eq!(BlockStatus::from_char('F'), None);
    assert_eq!(PassStatus::from_char('x'), None);
}

#[test]
fn files_are_written_atomically_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.map");
    let mut m = Mapfile::new(1 << 20);
    m.set_status(0, 4096, Finished);
    m.command_line = Some("platter acquire x".into());
    m.write_atomic(&path).unwrap();
    assert_eq!(Mapfile::read(&path).unwrap(), m);
    m.set_status(4096, 512, BadSector);
    m.write_atomic(&path).unwrap();
    assert_eq!(Mapfile::read(&path).unwrap(), m);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["disk.map"], "temporary files are left behind");
    // Errors name the path.
    std::fs::write(&path, "0 +\n0 1 +\n2 1 ?\n").unwrap();
    match Mapfile::read(&path) {
        Err(e @ Error::Mapfile { line: 3, .. }) => {
            assert!(e.to_string().contains(&path.display().to_string()), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Mapfile::read(&dir.path().join("missing")),
        Err(Error::Open { .. })
    ));
    assert!(matches!(
        Mapfile::read(dir.path()),
        Err(Error::NotReadable { .. })
    ));
    // An oversized file is refused from its length, without reading it.
    let big = dir.path().join("big.map");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_MAPFILE_BYTES + 1)
        .unwrap();
    assert!(matches!(
        Mapfile::read(&big),
        Err(Error::Mapfile { line: 0, .. })
    ));
    // Writing into a missing directory fails and says where.
    let e = m
        .write_atomic(&dir.path().join("no/such/dir.map"))
        .unwrap_err();
    assert!(e.to_string().contains("no/such"), "{e}");
}

fn image_source() -> MapfileSource<MemSource> {
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let map = parse("0 +\n0 1024 +\n1024 512 -\n1536 512 +\n2048 1024 ?\n3072 1024 +\n");
    MapfileSource::new(MemSource::new("img", data), map).unwrap()
}

#[test]
fn mapfile_source_reads_only_finished_bytes() {
    let src = image_source();
    assert_eq!(src.len(), 4096);
    let mut buf = vec![0u8; 1024];
    src.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(buf[1000], (1000 % 251) as u8);
    match src.read_at(&mut buf, 1000) {
        Err(Error::Unreadable {
            offset: 1024,
            len: 512,
            name,
        }) => assert_eq!(name, "img"),
        other => panic!("{other:?}"),
    }
    let mut small = [0u8; 100];
    assert!(src.read_exact_at(&mut small, 1536).is_ok());
    assert!(matches!(
        src.read_at(&mut small, 2000),
        Err(Error::Unreadable {
            offset: 2048,
            len: 52,
            ..
        })
    ));
    let ext = src.extents(0, 4096).unwrap();
    let kinds: Vec<_> = ext.iter().map(|e| (e.offset, e.len, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            (0, 1024, ExtentKind::Data),
            (1024, 512, ExtentKind::Unreadable),
            (1536, 512, ExtentKind::Data),
            (2048, 1024, ExtentKind::Unreadable),
            (3072, 1024, ExtentKind::Data),
        ]
    );
    // read_filled fills exactly the non-finished bytes.
    let mut all = vec![0u8; 4096];
    let (n, bad) = read_filled(&src, &mut all, 0, 0xEE, 512).unwrap();
    assert_eq!(n, 4096);
    assert_eq!(bad.iter().map(|e| e.len).sum::<u64>(), 1536);
    assert!(all[1024..1536].iter().all(|&b| b == 0xEE));
    assert_eq!(all[3072], (3072 % 251) as u8);
}

#[test]
fn mapfile_source_domain_and_image_lengths() {
    // The map covers more than the image: the tail is not finished, so it
    // is simply unreadable.
    let map = parse("0 +\n0 512 +\n512 1536 ?\n");
    let src = MapfileSource::new(MemSource::new("img", vec![1; 1024]), map).unwrap();
    assert_eq!(src.len(), 2048);
    let ext = src.extents(0, u64::MAX).unwrap();
    assert_eq!(ext.len(), 2);
    assert_eq!(
        (ext[1].offset, ext[1].len, ext[1].kind),
        (512, 1536, ExtentKind::Unreadable)
    );
    // Finished data past the end of the image is missing: refused.
    let map = parse("0 +\n0 2048 +\n");
    assert!(matches!(
        MapfileSource::new(MemSource::new("img", vec![1; 1024]), map),
        Err(Error::OutOfBounds { .. })
    ));
    // Bytes outside the blocks (before the first, after the last) have no
    // status and are unreadable.
    let map = parse("0 +\n512 512 +\n");
    let src = MapfileSource::new(MemSource::new("img", vec![1; 2048]), map).unwrap();
    let ext = src.extents(0, 2048).unwrap();
    let kinds: Vec<_> = ext.iter().map(|e| (e.offset, e.len, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            (0, 512, ExtentKind::Unreadable),
            (512, 512, ExtentKind::Data),
            (1024, 1024, ExtentKind::Unreadable),
        ]
    );
    let mut buf = [0u8; 8];
    assert!(src.read_at(&mut buf, 0).is_err());
    assert_eq!(src.read_at(&mut buf, 2044).ok(), None);
    assert_eq!(src.read_at(&mut buf, 2048).unwrap(), 0);
}

fn status_strategy() -> impl Strategy<Value = BlockStatus> {
    prop::sample::select(BlockStatus::ALL.to_vec())
}

/// A map-like text: a status line and block lines, mostly contiguous, with
/// number spellings and noise that ddrescue accepts or rejects.
fn maplike_text() -> impl Strategy<Value = String> {
    let num = |v: u64| {
        prop_oneof![
            Just(v.to_string()),
            Just(format!("{v:#x}")),
            Just(format!("{v:#X}")),
            Just(format!("0{v:o}")),
            Just(format!("+{v}")),
        ]
    };
    let line =
        (0u64..64, 0u64..64, status_strategy(), 0u8..16).prop_flat_map(move |(p, s, st, noise)| {
            (num(p), num(s), Just(st), Just(noise)).prop_map(|(p, s, st, noise)| {
                let c = st.as_char();
                match noise {
                    0 => format!("{p} {s} x"),
                    1 => format!("# {p} {s} {c}"),
                    2 => format!("{p}\t{s}  {c}  # note"),
                    3 => format!("{p} {s}"),
                    _ => format!("{p} {s} {c}"),
                }
            })
        });
    (
        prop::collection::vec(line, 0..12),
        0u64..100,
        prop::sample::select(vec!['?', '*', '/', '-', 'F', 'G', '+', 'x']),
    )
        .prop_map(|(lines, cp, cs)| {
            let mut t = format!("# Command line: test\n{cp:#x} {cs} 2\n");
            for l in lines {
                t.push_str(&l);
                t.push('\n');
            }
            t
        })
}

/// Per-byte model of a map over `[0, len)`, `None` where there is no block.
fn model_of(m: &Mapfile, len: u64) -> Vec<Option<BlockStatus>> {
    (0..len).map(|p| m.status_at(p)).collect()
}

proptest! {
    #[test]
    fn set_status_matches_a_per_byte_model(
        start in 0u64..16,
        init in 0u64..48,
        ops in prop::collection::vec((0u64..80, 0u64..24, status_strategy()), 0..24),
    ) {
        let mut m = if start == 0 {
            Mapfile::new(init)
        } else {
            parse(&format!("0 ?\n{start} {} ?\n", init.max(1)))
        };
        const LEN: u64 = 112;
        let mut model = model_of(&m, LEN);
        for (pos, size, st) in ops {
            m.set_status(pos, size, st);
            if size > 0 {
                // Extend the model's domain like the map's: gaps are non-tried.
                let lo = model.iter().position(Option::is_some).map_or(0, |i| i as u64).min(pos);
                let hi = model.iter().rposition(Option::is_some).map_or(0, |i| i as u64 + 1).max(pos + size);
                for p in lo..hi {
                    model[p as usize].get_or_insert(NonTried);
                }
                for p in pos..pos + size {
                    model[p as usize] = Some(st);
                }
            }
            prop_assert!(m.check_invariants().is_ok(), "{:?}", m.check_invariants());
            prop_assert_eq!(&model_of(&m, LEN), &model);
        }
        for s in BlockStatus::ALL {
            prop_assert_eq!(m.bytes_with(s), model.iter().filter(|&&x| x == Some(s)).count() as u64);
        }
        let end = model.iter().rposition(Option::is_some).map_or(0, |i| i as u64 + 1);
        prop_assert_eq!(m.size(), end);
        // ranges_with covers exactly the bytes satisfying the predicate.
        let mut covered = vec![false; LEN as usize];
        let mut last_end = None;
        for (p, s) in m.ranges_with(|s| s != Finished) {
            prop_assert!(s > 0);
            prop_assert!(last_end.is_none_or(|e| e < p), "runs must be maximal");
            last_end = Some(p + s);
            for q in p..p + s { covered[q as usize] = true; }
        }
        for p in 0..LEN as usize {
            prop_assert_eq!(covered[p], model[p].is_some_and(|s| s != Finished));
        }
        prop_assert_eq!(parse(&m.to_text()), m);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = Mapfile::parse(&text, "fuzz");
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Mapfile::parse_bytes(&data, "fuzz") {
            prop_assert!(m.check_invariants().is_ok());
            prop_assert_eq!(Mapfile::parse(&m.to_text(), "again").unwrap(), m);
        }
    }

    #[test]
    fn maplike_text_round_trips_when_it_parses(text in maplike_text()) {
        if let Ok(m) = Mapfile::parse(&text, "t") {
            prop_assert!(m.check_invariants().is_ok());
            prop_assert_eq!(m.command_line.as_deref(), Some("test"));
            let again = Mapfile::parse(&m.to_text(), "t").unwrap();
            prop_assert_eq!(&again, &m);
            prop_assert_eq!(again.to_text(), m.to_text());
        }
    }
}
