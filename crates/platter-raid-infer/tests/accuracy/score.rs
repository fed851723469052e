//! One case end to end: stripe the content into member files, run
//! inference, and judge the answer by the bytes the candidate assembles.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use platter_core::{FileSource, SharedSource, Source};
use platter_raid::array::RaidArray;
use platter_raid::geometry::{
    DelayedParity, Geometry, Layout, Level, ParityLayout, Raid0Layout, Raid10Layout,
};
use platter_raid_infer::{Options, Verdict, infer};

use super::cases::Case;
use super::content;
use super::striper::{MdLevel, Sink, stripe};

/// How inference did on one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Verdict `Found` and the top candidate reads back the content.
    Exact,
    /// Verdict `Ambiguous`, and one of the candidates reads it back.
    AmbiguousListed,
    /// Verdict `Ambiguous`, and no candidate reads it back.
    AmbiguousWrong,
    /// Verdict `Found`, and the top candidate does NOT read it back.
    WrongConfident,
    /// Any other verdict, no candidates, or an error.
    NoAnswer,
    /// Inference panicked.
    Panic,
    /// Inference gave no answer within `PLATTER_ACCURACY_TIMEOUT` seconds.
    Hang,
}

/// How long one inference may take: `PLATTER_ACCURACY_TIMEOUT` seconds,
/// default 600.
fn infer_timeout() -> Duration {
    let secs = std::env::var("PLATTER_ACCURACY_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// The judgement.
    pub outcome: Outcome,
    /// Whether the top candidate reads back the content, whatever the verdict.
    pub top1_exact: bool,
    /// Whether platter-raid, given the true geometry, reads back the
    /// content (a check of harness and engine agreeing).
    pub truth_reads_back: bool,
    /// Verdict and top candidate, for the details list.
    pub answer: String,
    /// Seconds inference took.
    pub infer_secs: f64,
}

/// Writes member data areas into files at each slot's data offset; slots
/// without a file are skipped.
struct FileSink {
    files: Vec<Option<File>>,
    offsets: Vec<u64>,
}

impl Sink for FileSink {
    fn put(&mut self, slot: usize, at: u64, data: &[u8]) -> io::Result<()> {
        match &self.files[slot] {
            Some(f) => f.write_all_at(data, self.offsets[slot] + at),
            None => Ok(()),
        }
    }
}

/// Reads the content file at array offsets, zeros past its end.
fn reader(path: &Path) -> impl FnMut(u64, &mut [u8]) -> io::Result<()> {
    let f = File::open(path).expect("open content");
    let len = f.metadata().expect("content metadata").len();
    move |at, buf| {
        buf.fill(0);
        if at < len {
            let n = ((len - at) as usize).min(buf.len());
            f.read_exact_at(&mut buf[..n], at)?;
        }
        Ok(())
    }
}

/// The engine's geometry for the truth, over the images as given.
pub fn truth_geometry(case: &Case) -> Geometry {
    let s = &case.spec;
    let (level, layout) = match s.level {
        MdLevel::Raid0 => (Level::Raid0, Layout::Raid0(Raid0Layout::Original)),
        MdLevel::Raid1 => (Level::Raid1, Layout::None),
        MdLevel::Linear => (Level::Linear, Layout::None),
        MdLevel::Raid4 => (
            Level::Raid4,
            Layout::Parity(if s.algo == 4 {
                ParityLayout::ParityFirst
            } else {
                ParityLayout::ParityLast
            }),
        ),
        MdLevel::Raid5 | MdLevel::Raid6 => (
            if s.level == MdLevel::Raid5 {
                Level::Raid5
            } else {
                Level::Raid6
            },
            Layout::Parity(ParityLayout::from_md_number(s.algo).expect("md algorithm")),
        ),
        MdLevel::Raid10 => (
            Level::Raid10,
            Layout::Raid10(Raid10Layout {
                near: s.r10.0 as u8,
                far: s.r10.1 as u8,
                offset: s.r10.2,
                far_sets: false,
            }),
        ),
    };
    let chunk = if s.level == MdLevel::Linear {
        512
    } else {
        s.chunk
    };
    let mut g = Geometry::new(level, layout, chunk, s.n);
    for (slot, sl) in g.slots.iter_mut().enumerate() {
        sl.image = case.images.iter().position(|&x| x == slot);
        if case.stale == Some(slot) {
            sl.image = None;
        }
        sl.data_offset = case.offsets[slot];
        sl.size = Some(if s.level == MdLevel::Linear {
            s.linear_sizes[slot]
        } else {
            s.member_bytes
        });
    }
    g.delayed_parity = s.delay.map(|(d, f)| DelayedParity {
        rows_per_group: d as u32,
        first_group_rows: f as u32,
    });
    g
}

/// Each slot as `image@offset` (`-` when missing), for the details list.
pub fn slots_text(g: &Geometry) -> String {
    let v: Vec<String> = g
        .slots
        .iter()
        .map(|s| match s.image {
            Some(i) if s.data_offset == 0 => format!("{i}"),
            Some(i) => format!("{i}@{}", s.data_offset),
            None => "-".to_string(),
        })
        .collect();
    format!("[{}]", v.join(" "))
}

/// Whether `g` over `members` reads back the content's first bytes.
fn reads_back(g: &Geometry, members: &[SharedSource], content: &Path) -> bool {
    let Ok(array) = RaidArray::new(g.clone(), members.iter().cloned().map(Some).collect()) else {
        return false;
    };
    let mut f = File::open(content).expect("open content");
    let len = f.metadata().unwrap().len();
    if array.len() < len {
        return false;
    }
    let mut want = vec![0u8; 1 << 20];
    let mut got = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < len {
        let n = ((len - at) as usize).min(want.len());
        f.read_exact(&mut want[..n]).expect("read content");
        if array.read_exact_at(&mut got[..n], at).is_err() || got[..n] != want[..n] {
            return false;
        }
        at += n as u64;
    }
    true
}

/// Runs one case in `work` (a fresh directory); an error when its content
/// cannot be built.
pub fn run(case: &Case, work: &Path) -> Result<CaseResult, String> {
    let spec = &case.spec;
    let (a, b) = content::get(&case.content, case.stale.is_some())?;
    let current = b.as_deref().unwrap_or(&a).to_path_buf();
    let paths: Vec<PathBuf> = (0..spec.n)
        .map(|slot| {
            let name = match case.images.iter().position(|&x| x == slot) {
                Some(i) => case.names[i].clone(),
                None => format!("missing-slot-{slot}.img"),
            };
            work.join(name)
        })
        .collect();
    let make = |skip: &dyn Fn(usize) -> bool| -> FileSink {
        FileSink {
            files: (0..spec.n)
                .map(|slot| {
                    if skip(slot) {
                        return None;
                    }
                    let f = File::options()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(&paths[slot])
                        .expect("create member");
                    let size = if spec.level == MdLevel::Linear {
                        spec.linear_sizes[slot]
                    } else {
                        spec.member_bytes
                    };
                    f.set_len(case.offsets[slot] + size).expect("size member");
                    Some(f)
                })
                .collect(),
            offsets: case.offsets.clone(),
        }
    };
    // The current state on every slot but the missing ones (and the stale
    // one), then the earlier state on the stale slot.
    let skip_now = |s: usize| case.missing.contains(&s) || case.stale == Some(s);
    let mut sink = make(&skip_now);
    stripe(spec, &mut reader(&current), &mut sink).expect("stripe");
    drop(sink);
    if let Some(stale) = case.stale {
        let mut sink = make(&|s| s != stale);
        stripe(spec, &mut reader(&a), &mut sink).expect("stripe the earlier state");
    }

    let members: Vec<SharedSource> = case
        .images
        .iter()
        .map(|&slot| Arc::new(FileSource::open(&paths[slot]).expect("open member")) as SharedSource)
        .collect();
    if std::env::var_os("PLATTER_ACCURACY_ORDER").is_some() {
        for &slot in &case.images {
            eprintln!("member {}", paths[slot].display());
        }
    }
    let t = Instant::now();
    // On its own thread, so that a panic is caught and a hang times out
    // (the thread is then abandoned).
    let (tx, rx) = std::sync::mpsc::channel();
    let for_thread = members.clone();
    std::thread::spawn(move || {
        let refs: Vec<&dyn Source> = for_thread
            .iter()
            .map(|m| m.as_ref() as &dyn Source)
            .collect();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            infer(&refs, &Options::default())
        }));
        let _ = tx.send(r);
    });
    let report = rx.recv_timeout(infer_timeout());
    let infer_secs = t.elapsed().as_secs_f64();
    let truth_reads_back = reads_back(&truth_geometry(case), &members, &current);
    let (outcome, top1_exact, answer) = match report {
        Err(_) => (
            Outcome::Hang,
            false,
            format!("HANG: no answer in {infer_secs:.0} s"),
        ),
        Ok(Err(_)) => (Outcome::Panic, false, "PANIC".to_string()),
        Ok(Ok(Err(e))) => (Outcome::NoAnswer, false, format!("error: {e}")),
        Ok(Ok(Ok(report))) => {
            let exact: Vec<bool> = report
                .candidates
                .iter()
                .map(|c| reads_back(&c.geometry, &members, &current))
                .collect();
            let top1 = exact.first().copied().unwrap_or(false);
            let verdict = match &report.verdict {
                Verdict::Found => "found".to_string(),
                Verdict::Ambiguous { .. } => "ambiguous".to_string(),
                other => format!("{other:?}")
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            let top = report.candidates.first().map_or("-".to_string(), |c| {
                format!(
                    "{} slots {} score {:.3} margin {:.3}",
                    c.geometry.describe(),
                    slots_text(&c.geometry),
                    c.score,
                    c.margin
                )
            });
            let outcome = match (&report.verdict, report.candidates.is_empty()) {
                (_, true) => Outcome::NoAnswer,
                (Verdict::Found, _) if top1 => Outcome::Exact,
                (Verdict::Found, _) => Outcome::WrongConfident,
                (Verdict::Ambiguous { .. }, _) if exact.contains(&true) => Outcome::AmbiguousListed,
                (Verdict::Ambiguous { .. }, _) => Outcome::AmbiguousWrong,
                _ => Outcome::NoAnswer,
            };
            (outcome, top1, format!("{verdict}: {top}"))
        }
    };
    Ok(CaseResult {
        case: case.clone(),
        outcome,
        top1_exact,
        truth_reads_back,
        answer,
        infer_secs,
    })
}
