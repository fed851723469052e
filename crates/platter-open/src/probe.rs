//! The plug-in interface of the registry: [`FormatProbe`], what a probe sees
//! ([`ProbeContext`]) and what it answers ([`Confidence`], [`Format`]).

use std::path::{Path, PathBuf};

use platter_core::sys::{DeviceInfo, OpenOptions};
use platter_core::{Extent, SharedSource, Source, read_filled};

use crate::error::Result;
use crate::registry::Opened;
use crate::rescue::RescueMap;

/// How many bytes of the start and of the end of a source a probe sees.
pub const PROBE_WINDOW_BYTES: usize = 64 * 1024;

/// A format, as reported to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Format {
    /// Short, stable, lower-case name used in JSON and on the command line
    /// (`"raw"`, `"split-raw"`, `"vhdx"`, `"e01"`, …).
    pub name: &'static str,
    /// A human description (`"Hyper-V virtual disk (VHDX)"`).
    pub description: &'static str,
}

impl Format {
    /// A plain raw image or block device: the bytes as they are.
    pub const RAW: Format = Format {
        name: "raw",
        description: "raw image, the bytes as they are",
    };
    /// A raw image split into numbered segments, read back to back.
    pub const SPLIT_RAW: Format = Format {
        name: "split-raw",
        description: "split raw image, segments read back to back",
    };
}

/// How sure a probe is that a source is in its format. When several probes
/// answer, the highest confidence wins; ties go to the probe registered first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// A heuristic match (text that looks right, a plausible layout).
    Weak,
    /// The format's magic bytes are where they belong.
    Likely,
    /// Magic bytes plus a structural check (a checksum, a consistent size).
    Certain,
}

/// One image format the registry can detect and open.
///
/// Implementations look only at [`ProbeContext`] (never at the file name) in
/// [`probe`](FormatProbe::probe), which must be cheap, must not fail and must
/// not read more than the context already holds. [`open`](FormatProbe::open)
/// does the real work and may read the whole base source or sibling files
/// (E01 segments, VMDK extents) next to [`ProbeContext::path`].
pub trait FormatProbe: Send + Sync {
    /// The stable short name of the format (`"vhdx"`); registering another
    /// probe with the same name replaces this one.
    fn name(&self) -> &'static str;

    /// Says whether the source looks like this format, and how surely.
    fn probe(&self, ctx: &ProbeContext) -> Option<Confidence>;

    /// Opens the source as this format.
    fn open(&self, ctx: &ProbeContext) -> Result<Opened>;
}

/// What a probe sees: the path, the base source (the OS file or device, or
/// the concatenated split set) and bounded copies of its first and last
/// [`PROBE_WINDOW_BYTES`] bytes.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    path: PathBuf,
    base: SharedSource,
    format: Format,
    segments: Vec<PathBuf>,
    device: Option<DeviceInfo>,
    options: OpenOptions,
    head: Vec<u8>,
    tail: Vec<u8>,
    tail_offset: u64,
    unreadable: Vec<Extent>,
    rescue: Option<RescueMap>,
}

impl ProbeContext {
    /// Builds a context over `base`, reading its head and tail. Unreadable
    /// sectors there are read as zeros and remembered (see
    /// [`unreadable`](Self::unreadable)) so a bad sector at offset 0 does not
    /// prevent opening the rest.
    ///
    /// `format` is what the base is without decoding (`raw` or `split-raw`).
    pub fn new(
        path: &Path,
        base: SharedSource,
        format: Format,
        segments: Vec<PathBuf>,
        device: Option<DeviceInfo>,
        options: OpenOptions,
    ) -> Result<Self> {
        let len = base.len();
        let granularity = base.sector_size().logical;
        let window = PROBE_WINDOW_BYTES as u64;
        let head_len = len.min(window);
        let tail_offset = len - head_len;
        let mut unreadable = Vec::new();
        let head = read_window(&*base, 0, head_len, granularity, &mut unreadable)?;
        let tail = if tail_offset == 0 {
            head.clone()
        } else {
            read_window(&*base, tail_offset, head_len, granularity, &mut unreadable)?
        };
        Ok(Self {
            path: path.to_path_buf(),
            base,
            format,
            segments,
            device,
            options,
            head,
            tail,
            tail_offset,
            unreadable,
            rescue: None,
        })
    }

    /// The path given by the user (the first segment for a split set).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The undecoded bytes: the OS source, or the concatenated split set.
    pub fn base(&self) -> &SharedSource {
        &self.base
    }

    /// What the base is without decoding: [`Format::RAW`] or [`Format::SPLIT_RAW`].
    pub fn base_format(&self) -> Format {
        self.format
    }

    /// Every file the base is read from, in order.
    pub fn segments(&self) -> &[PathBuf] {
        &self.segments
    }

    /// Block-device details when the path is a block device.
    pub fn device(&self) -> Option<&DeviceInfo> {
        self.device.as_ref()
    }

    /// The options the base was opened with (for opening sibling files alike).
    pub fn options(&self) -> &OpenOptions {
        &self.options
    }

    /// Length of the base in bytes.
    pub fn len(&self) -> u64 {
        self.base.len()
    }

    /// True when the base is empty.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }

    /// The first `min(len, PROBE_WINDOW_BYTES)` bytes.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The last `min(len, PROBE_WINDOW_BYTES)` bytes.
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// Offset of [`tail`](Self::tail)`[0]` in the base.
    pub fn tail_offset(&self) -> u64 {
        self.tail_offset
    }

    /// Ranges of the head or tail that could not be read (filled with zeros).
    pub fn unreadable(&self) -> &[Extent] {
        &self.unreadable
    }

    /// The ddrescue mapfile the base is read through, when one was given
    /// (see [`through_mapfile`](Self::through_mapfile)).
    pub fn rescue(&self) -> Option<&RescueMap> {
        self.rescue.as_ref()
    }

    pub(crate) fn set_rescue(&mut self, rescue: RescueMap) {
        self.rescue = Some(rescue);
    }

    /// `len` bytes at absolute `offset` when they lie inside the head or
    /// the tail, else `None`.
    pub fn bytes_at(&self, offset: u64, len: usize) -> Option<&[u8]> {
        slice_at(&self.head, 0, offset, len)
            .or_else(|| slice_at(&self.tail, self.tail_offset, offset, len))
    }

    /// True when the base starts with `magic`.
    pub fn starts_with(&self, magic: &[u8]) -> bool {
        self.head.starts_with(magic)
    }

    /// An [`Opened`] for `source` in `format`, carrying this context's path,
    /// segments and device, with `format` also recorded as detected.
    pub fn opened(&self, source: SharedSource, format: Format) -> Opened {
        Opened {
            path: self.path.clone(),
            source,
            format,
            detected: Some(format),
            notes: Vec::new(),
            segments: self.segments.clone(),
            device: self.device.clone(),
            rescue: self.rescue.clone(),
            metadata: Default::default(),
        }
    }

    /// The base opened as undecoded bytes, with no detected format.
    pub fn opened_raw(&self) -> Opened {
        Opened {
            detected: None,
            ..self.opened(self.base.clone(), self.format)
        }
    }
}

/// `len` bytes at absolute `offset` of a buffer that starts at `start`.
fn slice_at(buf: &[u8], start: u64, offset: u64, len: usize) -> Option<&[u8]> {
    let rel = usize::try_from(offset.checked_sub(start)?).ok()?;
    buf.get(rel..rel.checked_add(len)?)
}

/// Reads `[offset, offset+len)` of `src` (at most [`PROBE_WINDOW_BYTES`]),
/// zero-filling unreadable units and recording them in `bad`.
fn read_window(
    src: &dyn Source,
    offset: u64,
    len: u64,
    granularity: u32,
    bad: &mut Vec<Extent>,
) -> Result<Vec<u8>> {
    let len = usize::try_from(len)
        .unwrap_or(PROBE_WINDOW_BYTES)
        .min(PROBE_WINDOW_BYTES);
    let mut buf = vec![0u8; len];
    let (covered, unreadable) = read_filled(src, &mut buf, offset, 0, granularity)?;
    buf.truncate(covered);
    bad.extend(unreadable);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use platter_core::{ExtentKind, MemSource, Result as CoreResult};

    use super::*;
    use crate::registry::Registry;

    /// A memory source whose first sector is unreadable, like a disk with a
    /// bad sector 0.
    #[derive(Debug)]
    struct BadFirstSector(MemSource);

    impl Source for BadFirstSector {
        fn len(&self) -> u64 {
            self.0.len()
        }
        fn name(&self) -> &str {
            self.0.name()
        }
        fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
            if offset < 512 && !buf.is_empty() {
                return Err(platter_core::Error::Unreadable {
                    name: self.name().into(),
                    offset,
                    len: 512 - offset,
                });
            }
            self.0.read_at(buf, offset)
        }
        fn extents(&self, offset: u64, len: u64) -> CoreResult<Vec<Extent>> {
            let mut map = Vec::new();
            let (start, end) = platter_core::clip(self.len(), offset, len);
            for (a, b, kind) in [
                (0, 512, ExtentKind::Unreadable),
                (512, u64::MAX, ExtentKind::Data),
            ] {
                let (a, b) = (a.max(start), b.min(end));
                if b > a {
                    map.push(Extent {
                        offset: a,
                        len: b - a,
                        kind,
                    });
                }
            }
            Ok(map)
        }
    }

    fn context(bytes: Vec<u8>) -> ProbeContext {
        let src: SharedSource = Arc::new(BadFirstSector(MemSource::new("bad", bytes)));
        ProbeContext::new(
            Path::new("bad"),
            src,
            Format::RAW,
            vec![PathBuf::from("bad")],
            None,
            OpenOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn bad_first_sector_still_opens_and_says_so() {
        let mut bytes = vec![7u8; 200_000];
        bytes[..8].copy_from_slice(b"vhdxfile");
        let ctx = context(bytes);
        assert_eq!(ctx.unreadable().len(), 1);
        assert_eq!(
            (ctx.unreadable()[0].offset, ctx.unreadable()[0].len),
            (0, 512)
        );
        assert_eq!(
            &ctx.head()[..8],
            &[0u8; 8],
            "unreadable bytes read as zeros"
        );
        assert_eq!(ctx.head()[512], 7);
        let opened = Registry::builtin().open_context(&ctx).unwrap();
        assert_eq!(opened.detected, None);
        assert!(
            opened
                .notes
                .iter()
                .any(|n| n.contains("512 bytes") && n.contains("could not be read")),
            "{:?}",
            opened.notes
        );
    }

    #[test]
    fn head_and_tail_are_bounded_and_placed() {
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let ctx = context(bytes.clone());
        assert_eq!(ctx.head().len(), PROBE_WINDOW_BYTES);
        assert_eq!(ctx.tail().len(), PROBE_WINDOW_BYTES);
        assert_eq!(ctx.tail_offset(), 300_000 - PROBE_WINDOW_BYTES as u64);
        assert_eq!(ctx.tail(), &bytes[300_000 - PROBE_WINDOW_BYTES..]);
        assert_eq!(ctx.bytes_at(299_990, 10), Some(&bytes[299_990..]));
        assert_eq!(ctx.bytes_at(1000, 4), Some(&bytes[1000..1004]));
        assert_eq!(ctx.bytes_at(100_000, 4), None, "between head and tail");
        assert_eq!(ctx.bytes_at(299_999, 2), None, "past the end");
        assert_eq!(ctx.bytes_at(u64::MAX, 2), None);
    }
}
