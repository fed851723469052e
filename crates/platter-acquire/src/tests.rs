//! End-to-end tests of the library with an in-memory source whose sectors
//! fail as configured (the CLI tests use real kernel EIO through FUSE).

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use platter_core::mapfile::{BlockStatus, Mapfile};
use platter_core::{Error as CoreError, Source};
use platter_hash::{HashAlg, hash_bytes};

use crate::*;

/// A source of `data` where the listed sectors fail; each fails `tries`
/// times before it reads (`u32::MAX`: always).
#[derive(Debug)]
struct Faulty {
    data: Vec<u8>,
    sector: u64,
    bad: Mutex<HashMap<u64, u32>>,
    reads: Mutex<u64>,
    ranges: Mutex<Vec<(u64, u64)>>,
}

impl Faulty {
    fn new(data: Vec<u8>, bad: &[(u64, u32)]) -> Self {
        Faulty {
            data,
            sector: 512,
            bad: Mutex::new(bad.iter().copied().collect()),
            reads: Mutex::new(0),
            ranges: Mutex::new(Vec::new()),
        }
    }
}

impl Source for Faulty {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn name(&self) -> &str {
        "faulty"
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        *self.reads.lock().unwrap() += buf.len() as u64;
        self.ranges.lock().unwrap().push((offset, buf.len() as u64));
        let end = (offset + buf.len() as u64).min(self.len());
        if offset >= end {
            return Ok(0);
        }
        let mut bad = self.bad.lock().unwrap();
        for s in offset / self.sector..end.div_ceil(self.sector) {
            if let Some(left) = bad.get_mut(&s) {
                if *left > 0 {
                    *left =
                        left.saturating_sub(1)
                            .max(if *left == u32::MAX { u32::MAX } else { 0 });
                    return Err(CoreError::Unreadable {
                        name: "faulty".into(),
                        offset: s * self.sector,
                        len: self.sector,
                    });
                }
            }
        }
        let n = (end - offset) as usize;
        buf[..n].copy_from_slice(&self.data[offset as usize..end as usize]);
        Ok(n)
    }
}

fn data(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|i| {
            if (i / 65536) % 3 == 2 {
                return 0;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An `Opened` for a real placeholder file whose source is replaced.
fn opened(dir: &Path, src: Arc<dyn Source>) -> platter_open::Opened {
    let p = dir.join("source.placeholder");
    fs::write(&p, b"x").unwrap();
    let mut o = platter_open::open(&p, &Default::default()).unwrap();
    o.source = src;
    o
}

fn opts(dir: &Path) -> AcquireOptions {
    AcquireOptions {
        block_size: 64 << 10,
        mapfile: Some(dir.join("out.map")),
        ..AcquireOptions::default()
    }
}

fn run(o: &platter_open::Opened, out: &Path, opts: &AcquireOptions) -> Result<AcquireReport> {
    acquire(
        o,
        OutputTarget::Path(out.to_path_buf()),
        opts,
        &NoProgress,
        &AtomicBool::new(false),
    )
}

fn expected_image(d: &[u8], bad_sectors: &[u64], fill: &FillPattern) -> Vec<u8> {
    let mut e = d.to_vec();
    for &s in bad_sectors {
        let a = (s * 512) as usize;
        let b = (a + 512).min(e.len());
        fill.fill(&mut e[a..b], a as u64);
    }
    e
}

fn hex(alg: HashAlg, d: &[u8]) -> String {
    hash_bytes(&[alg], d).remove(0).hex
}

fn check_digests(r: &AcquireReport, img: &[u8]) {
    for d in &r.digests.image {
        let alg: HashAlg = d.alg.parse().unwrap();
        assert_eq!(d.hex, hex(alg, img), "{}", d.alg);
    }
    for g in &r.digests.good_ranges {
        let s = g.offset as usize;
        let md5 = g.digests.iter().find(|d| d.alg == "md5").unwrap();
        assert_eq!(md5.hex, hex(HashAlg::Md5, &img[s..s + g.len as usize]));
    }
}

fn bad_lines(map: &Mapfile) -> Vec<(u64, u64)> {
    map.ranges_with(|s| s == BlockStatus::BadSector).collect()
}

#[test]
fn error_free_run_hashes_in_one_pass_without_reading_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(1_000_000 + 300);
    let o = opened(dir.path(), Arc::new(Faulty::new(d.clone(), &[])));
    let out = dir.path().join("out.img");
    let mut op = opts(dir.path());
    op.hash_window = Some(300_000);
    let r = run(&o, &out, &op).unwrap();
    assert_eq!(fs::read(&out).unwrap(), d);
    assert!(!r.hashed_from_output);
    assert_eq!(r.passes.len(), 1, "{:?}", r.passes);
    check_digests(&r, &d);
    assert_eq!(r.digests.windows.len(), 4);
    assert_eq!(r.digests.windows[3].len, 100_300);
    let map = Mapfile::read(&dir.path().join("out.map")).unwrap();
    assert_eq!(map.bytes_with(BlockStatus::Finished), d.len() as u64);
}

#[test]
fn bad_sectors_are_exactly_filled_and_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(2_000_000);
    let last = (d.len() as u64 - 1) / 512;
    let mut bad: Vec<u64> = vec![0, 7, 300, last];
    bad.extend(1000..1300); // a bad area of 300 sectors
    let spec: Vec<(u64, u32)> = bad.iter().map(|&s| (s, u32::MAX)).collect();
    for reverse in [false, true] {
        let sub = dir.path().join(format!("r{reverse}"));
        fs::create_dir(&sub).unwrap();
        let o = opened(&sub, Arc::new(Faulty::new(d.clone(), &spec)));
        let out = sub.join("out.img");
        let mut op = opts(&sub);
        op.reverse = reverse;
        op.fill = FillPattern::parse("text:BAD!").unwrap();
        let r = run(&o, &out, &op).unwrap();
        let want = expected_image(&d, &bad, &op.fill);
        assert_eq!(fs::read(&out).unwrap(), want, "reverse {reverse}");
        assert!(r.hashed_from_output);
        check_digests(&r, &want);
        assert_eq!(r.bad_sectors, bad.len() as u64);
        let map = Mapfile::read(&sub.join("out.map")).unwrap();
        let want_bad = vec![
            (0, 512),
            (7 * 512, 512),
            (300 * 512, 512),
            (1000 * 512, 300 * 512),
            (last * 512, 128),
        ];
        assert_eq!(bad_lines(&map), want_bad);
        assert_eq!(map.size(), d.len() as u64);
        assert_eq!(r.digests.good_ranges.len(), 4);
        let names: Vec<&str> = r.passes.iter().map(|p| p.name.as_str()).collect();
        assert!(
            names.contains(&"trim") && names.contains(&"scrape"),
            "{names:?}"
        );
    }
}

#[test]
fn retries_recover_flaky_sectors_and_no_readable_sector_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(300_000);
    // Sector 10 reads on the 3rd try, sector 20 on the 2nd; 30 never.
    let o = opened(
        dir.path(),
        Arc::new(Faulty::new(d.clone(), &[(10, 2), (20, 1), (30, u32::MAX)])),
    );
    let out = dir.path().join("out.img");
    let mut op = opts(dir.path());
    op.retries = 2;
    let r = run(&o, &out, &op).unwrap();
    assert_eq!(fs::read(&out).unwrap(), expected_image(&d, &[30], &op.fill));
    assert_eq!(
        r.bad_ranges,
        vec![ByteRange {
            offset: 30 * 512,
            len: 512
        }]
    );
}

#[test]
fn interrupted_then_resumed_gives_the_one_shot_image_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(1_500_000);
    let bad: Vec<(u64, u32)> = [5u64, 900, 901, 2000]
        .iter()
        .map(|&s| (s, u32::MAX))
        .collect();
    let one = dir.path().join("one");
    fs::create_dir(&one).unwrap();
    let o = opened(&one, Arc::new(Faulty::new(d.clone(), &bad)));
    let reference = run(&o, &one.join("out.img"), &opts(&one)).unwrap();

    let two = dir.path().join("two");
    fs::create_dir(&two).unwrap();
    let src = Arc::new(Faulty::new(d.clone(), &bad));
    let o = opened(&two, src.clone());
    let out = two.join("out.img");
    let mut op = opts(&two);
    op.save_interval = std::time::Duration::ZERO;
    // Stop after a few blocks with a progress hook that raises the flag.
    struct StopAfter<'a>(&'a AtomicBool, u64);
    impl Progress for StopAfter<'_> {
        fn phase(&self, _: &str, _: u64) {}
        fn advance(&self, done: u64) {
            if done >= self.1 {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        fn bad_bytes(&self, _: u64) {}
    }
    let stop = AtomicBool::new(false);
    let err = acquire(
        &o,
        OutputTarget::Path(out.clone()),
        &op,
        &StopAfter(&stop, 400_000),
        &stop,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Interrupted { .. }), "{err}");
    src.ranges.lock().unwrap().clear();
    let map = Mapfile::read(&two.join("out.map")).unwrap();
    let finished = map.bytes_with(BlockStatus::Finished);
    assert!(
        finished >= 300_000 && finished < d.len() as u64,
        "{finished}"
    );
    op.resume = true;
    let r = run(&o, &out, &op).unwrap();
    assert_eq!(
        fs::read(&out).unwrap(),
        fs::read(one.join("out.img")).unwrap()
    );
    assert_eq!(r.digests, reference.digests);
    // Finished areas were not read again.
    for &(off, len) in src.ranges.lock().unwrap().iter() {
        for (g, glen) in map.ranges_with(|s| s == BlockStatus::Finished) {
            assert!(
                off + len <= g || off >= g + glen,
                "re-read {off}+{len} inside finished {g}+{glen}"
            );
        }
    }
    // The log continues the chain across both sessions.
    let doc = read_document(&two.join("out.img.log.json")).unwrap();
    assert!(check_chain(&doc).problems.is_empty());
    assert_eq!(doc.records.iter().filter(|r| r.event == "start").count(), 2);
}

#[test]
fn split_and_sparse_outputs_hold_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(1_000_000);
    let o = opened(
        dir.path(),
        Arc::new(Faulty::new(d.clone(), &[(100, u32::MAX)])),
    );
    let base = dir.path().join("split.img");
    let mut op = opts(dir.path());
    op.split = Some(300_000);
    op.sparse = true;
    let r = run(&o, &base, &op).unwrap();
    assert_eq!(r.outputs.len(), 4);
    let mut cat = Vec::new();
    for p in &r.outputs {
        cat.extend(fs::read(p).unwrap());
    }
    assert_eq!(cat, expected_image(&d, &[100], &op.fill));
    check_digests(&r, &cat);
}

#[test]
fn refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(10_000);
    let o = opened(dir.path(), Arc::new(Faulty::new(d.clone(), &[])));
    let out = dir.path().join("out.img");
    run(&o, &out, &opts(dir.path())).unwrap();
    // Existing output without --force.
    assert!(matches!(
        run(&o, &out, &opts(dir.path())),
        Err(Error::Exists { .. })
    ));
    let mut f = opts(dir.path());
    f.force = true;
    run(&o, &out, &f).unwrap();
    // The source placeholder as output, or as mapfile.
    let src = dir.path().join("source.placeholder");
    assert!(matches!(run(&o, &src, &f), Err(Error::OutputIsSource(_))));
    let mut m = f.clone();
    m.mapfile = Some(src);
    assert!(matches!(
        run(&o, &dir.path().join("x.img"), &m),
        Err(Error::OutputIsSource(_))
    ));
    // The mapfile as the output.
    let mut m = f.clone();
    m.mapfile = Some(dir.path().join("y.img"));
    assert!(run(&o, &dir.path().join("y.img"), &m).is_err());
    // A mapfile for another size.
    let mut r = f.clone();
    r.resume = true;
    Mapfile::new(5)
        .write_atomic(&dir.path().join("out.map"))
        .unwrap();
    assert!(matches!(
        run(&o, &out, &r),
        Err(Error::MapfileMismatch { .. })
    ));
    // E01 is written in order: no resume.
    let mut e = f.clone();
    e.format = OutputFormat::E01;
    e.resume = true;
    assert!(matches!(
        run(&o, &dir.path().join("z"), &e),
        Err(Error::Options(_))
    ));
}

#[test]
fn verify_against_log_detects_a_changed_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(700_000);
    let o = opened(
        dir.path(),
        Arc::new(Faulty::new(d.clone(), &[(50, u32::MAX)])),
    );
    let out = dir.path().join("out.img");
    let mut op = opts(dir.path());
    op.hash_window = Some(200_000);
    op.verify = true;
    let r = run(&o, &out, &op).unwrap();
    assert_eq!(r.verify.as_ref().unwrap().mismatches, vec![]);
    let doc = read_document(&dir.path().join("out.img.log.json")).unwrap();
    let img = platter_open::open(&out, &Default::default()).unwrap();
    let v = verify_against_log(&*img.source, &doc, "log", &|_| {}).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.good_ranges.len(), 2);
    let mut bytes = fs::read(&out).unwrap();
    bytes[450_000] ^= 1;
    fs::write(&out, &bytes).unwrap();
    let img = platter_open::open(&out, &Default::default()).unwrap();
    let v = verify_against_log(&*img.source, &doc, "log", &|_| {}).unwrap();
    assert!(!v.ok);
    let bad_windows: Vec<u64> = v
        .windows
        .iter()
        .filter(|w| !w.ok)
        .map(|w| w.offset)
        .collect();
    assert_eq!(bad_windows, [400_000]);
    assert_eq!(v.good_ranges.iter().filter(|g| !g.ok).count(), 1);
}

#[test]
fn stream_output_rescues_inline() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(500_000);
    let o = opened(
        dir.path(),
        Arc::new(Faulty::new(d.clone(), &[(3, u32::MAX), (4, 1)])),
    );
    let path = dir.path().join("stream.bin");
    let file = fs::File::create(&path).unwrap();
    let mut op = opts(dir.path());
    op.log_base = Some(dir.path().join("stream"));
    op.retries = 1;
    let r = acquire(
        &o,
        OutputTarget::Stream(file),
        &op,
        &NoProgress,
        &AtomicBool::new(false),
    )
    .unwrap();
    let want = expected_image(&d, &[3], &op.fill);
    assert_eq!(fs::read(&path).unwrap(), want);
    check_digests(&r, &want);
    assert_eq!(r.digests.good_ranges.len(), 2);
    assert!(dir.path().join("stream.log.json").exists());
    let map = Mapfile::read(&dir.path().join("out.map")).unwrap();
    assert_eq!(bad_lines(&map), vec![(3 * 512, 512)]);
}

#[test]
fn e01_output_reads_back_as_the_image_with_its_digests() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(3 << 20);
    let bad = [9u64, 4000, 4001];
    let spec: Vec<(u64, u32)> = bad.iter().map(|&s| (s, u32::MAX)).collect();
    let o = opened(dir.path(), Arc::new(Faulty::new(d.clone(), &spec)));
    let mut op = opts(dir.path());
    op.format = OutputFormat::E01;
    op.algs = vec![HashAlg::Sha256];
    op.split = Some(1 << 20);
    op.e01_compression = E01Compression::Best;
    let r = run(&o, &dir.path().join("case.E01"), &op).unwrap();
    assert!(r.outputs.len() >= 2, "{:?}", r.outputs);
    let want = expected_image(&d, &bad, &op.fill);
    check_digests(&r, &want);
    assert_eq!(r.bad_sectors, 3);
    let img = platter_open::open(&r.outputs[0], &Default::default()).unwrap();
    assert_eq!(img.format.name, "e01");
    let mut got = vec![0u8; want.len()];
    img.source.read_exact_at(&mut got, 0).unwrap();
    assert!(got == want);
    let stored: Vec<(String, String)> = img
        .metadata
        .stored_digests
        .iter()
        .map(|s| (s.algorithm.clone(), s.hex.clone()))
        .collect();
    let v = verify_against_digests(&*img.source, &stored, &|_| {}).unwrap();
    assert!(v.ok && v.image.len() == 2, "{v:?}");
}
