//! Reading a GNU ddrescue image through its mapfile.
//!
//! ddrescue writes the bytes it rescued into the image and leaves zeros (or
//! holes) everywhere else; only the mapfile tells the two apart. Opened
//! through [`Registry::open_rescued`](crate::Registry::open_rescued), the
//! image's base source is wrapped in a
//! [`MapfileSource`](platter_core::mapfile::MapfileSource) *before* format
//! detection, so only areas marked finished (`+`) read as data and every
//! other area reads as unreadable, through any decoder stacked on top.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use platter_core::mapfile::{BlockStatus, Mapfile, MapfileSource};
use platter_core::size::human_size;
use platter_core::{Extent, ExtentKind, SharedSource, Source};

use crate::error::{Error, Result};
use crate::probe::ProbeContext;

/// The ddrescue mapfile an image was opened through.
///
/// Cloning is cheap: the map is shared, not copied.
#[derive(Debug, Clone)]
pub struct RescueMap {
    path: PathBuf,
    source: Arc<MapfileSource<SharedSource>>,
}

/// How many bytes, and in how many blocks ("areas", as `ddrescuelog -t`
/// counts them), the mapfile gives one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatusTotal {
    /// The status.
    pub status: BlockStatus,
    /// Bytes of the blocks with this status.
    pub bytes: u64,
    /// Number of blocks with this status.
    pub areas: u64,
}

impl RescueMap {
    /// Reads `image` (the undecoded base of a ddrescue image) through `map`,
    /// read from `path`.
    ///
    /// Fails with [`Error::MapfileBeyondImage`] when a finished block lies
    /// past the end of the image (the wrong mapfile, or a truncated image).
    pub fn new(path: &Path, image: SharedSource, map: Mapfile) -> Result<Self> {
        let image_name = image.name().to_string();
        let source = MapfileSource::new(image, map).map_err(|e| match e {
            platter_core::Error::OutOfBounds {
                offset, len, size, ..
            } => Error::MapfileBeyondImage {
                mapfile: path.to_path_buf(),
                image: PathBuf::from(&image_name),
                pos: offset,
                size: len,
                image_len: size,
            },
            other => Error::Core(other),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            source: Arc::new(source),
        })
    }

    /// The mapfile's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed mapfile.
    pub fn map(&self) -> &Mapfile {
        self.source.map()
    }

    /// Length of the image file (or split set) itself, in bytes.
    pub fn image_len(&self) -> u64 {
        self.source.inner().len()
    }

    /// The image seen through the map: finished areas are data, the rest is
    /// unreadable. Its length is the larger of the image and the map domain.
    pub fn source(&self) -> SharedSource {
        self.source.clone()
    }

    /// Bytes and areas of each status, in ddrescue's order (non-tried,
    /// non-trimmed, non-scraped, bad-sector, rescued).
    pub fn totals(&self) -> Vec<StatusTotal> {
        BlockStatus::ALL
            .iter()
            .map(|&status| {
                let blocks = self.map().blocks().iter().filter(|b| b.status == status);
                StatusTotal {
                    status,
                    bytes: blocks.clone().map(|b| b.size).sum(),
                    areas: blocks.count() as u64,
                }
            })
            .collect()
    }

    /// Bytes marked rescued (`+`).
    pub fn rescued_bytes(&self) -> u64 {
        self.map().bytes_with(BlockStatus::Finished)
    }

    /// The ranges of the image that read as unreadable, in image offsets,
    /// sorted and merged: every non-finished block, plus whatever the map
    /// does not cover (before its first block, after its last).
    pub fn unreadable(&self) -> Result<Vec<Extent>> {
        let src = &self.source;
        Ok(src
            .extents(0, src.len())?
            .into_iter()
            .filter(|e| e.kind == ExtentKind::Unreadable)
            .collect())
    }

    /// The notes `info` shows about the map: a one-line summary, then any
    /// mismatch between the image length and the map's domain.
    fn notes(&self) -> Result<Vec<String>> {
        let unreadable = self.unreadable()?;
        let bad: u64 = unreadable.iter().map(|e| e.len).sum();
        let mut notes = vec![format!(
            "mapfile {}: {} rescued, {} unreadable area{} ({} not rescued); \
             only areas marked finished ('+') are read, the rest reads as unreadable",
            self.path.display(),
            human_size(self.rescued_bytes()),
            unreadable.len(),
            if unreadable.len() == 1 { "" } else { "s" },
            human_size(bad),
        )];
        let (start, end, image) = (self.map().start(), self.map().size(), self.image_len());
        if end > image {
            notes.push(format!(
                "the image is {image} bytes but the mapfile's domain ends at {end} ({end:#x}): \
                 the size is taken from the mapfile and the missing tail reads as unreadable"
            ));
        } else if end < image || start > 0 {
            notes.push(format!(
                "the mapfile covers only {start:#x}..{end:#x} of the {image}-byte image: \
                 bytes outside it have no status and read as unreadable"
            ));
        }
        Ok(notes)
    }
}

impl ProbeContext {
    /// This context with its base read through the ddrescue mapfile `map`
    /// (read from `path`): head and tail are read again, so format detection
    /// sees the image as the map describes it.
    pub fn through_mapfile(self, path: &Path, map: Mapfile) -> Result<Self> {
        let rescue = RescueMap::new(path, self.base().clone(), map)?;
        let mut ctx = ProbeContext::new(
            self.path(),
            rescue.source(),
            self.base_format(),
            self.segments().to_vec(),
            self.device().cloned(),
            *self.options(),
        )?;
        ctx.set_rescue(rescue);
        Ok(ctx)
    }
}

/// Reads the mapfile at `path` (errors name the path and the line) and
/// wraps `ctx`'s base in it; returns the new context and the notes to add.
pub(crate) fn apply_mapfile(ctx: ProbeContext, path: &Path) -> Result<(ProbeContext, Vec<String>)> {
    let map = Mapfile::read(path)?;
    let ctx = ctx.through_mapfile(path, map)?;
    let notes = match ctx.rescue() {
        Some(r) => r.notes()?,
        None => Vec::new(),
    };
    Ok((ctx, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platter_core::MemSource;
    use platter_core::sys::OpenOptions;

    fn image(len: usize) -> SharedSource {
        Arc::new(MemSource::new("disk.img", vec![0x5a; len]))
    }

    #[test]
    fn totals_and_unreadable_ranges() {
        let mut map = Mapfile::new(8192);
        map.set_status(0, 8192, BlockStatus::Finished);
        map.set_status(1024, 512, BlockStatus::BadSector);
        map.set_status(2048, 1024, BlockStatus::NonScraped);
        map.set_status(3072, 512, BlockStatus::BadSector);
        map.set_status(7680, 512, BlockStatus::NonTried);
        let r = RescueMap::new(Path::new("disk.map"), image(8192), map).unwrap();
        let t = r.totals();
        assert_eq!(t[0].status, BlockStatus::NonTried);
        assert_eq!((t[0].bytes, t[0].areas), (512, 1));
        assert_eq!((t[2].bytes, t[2].areas), (1024, 1));
        assert_eq!((t[3].bytes, t[3].areas), (1024, 2));
        assert_eq!(r.rescued_bytes(), 8192 - 512 - 1024 - 1024);
        let u: Vec<(u64, u64)> = r
            .unreadable()
            .unwrap()
            .iter()
            .map(|e| (e.offset, e.len))
            .collect();
        // Adjacent non-scraped and bad blocks form one unreadable range.
        assert_eq!(u, vec![(1024, 512), (2048, 1536), (7680, 512)]);
        let notes = r.notes().unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("disk.map") && notes[0].contains("3 unreadable areas"));
    }

    #[test]
    fn finished_block_past_the_image_is_refused_naming_both() {
        let mut map = Mapfile::new(8192);
        map.set_status(0, 8192, BlockStatus::Finished);
        let err = RescueMap::new(Path::new("big.map"), image(4096), map).unwrap_err();
        assert!(matches!(err, Error::MapfileBeyondImage { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("big.map") && msg.contains("disk.img"), "{msg}");
        assert!(msg.contains("4096"), "{msg}");
    }

    #[test]
    fn domain_and_image_length_mismatches_are_noted() {
        // ddrescue leaves the image short when the tail was never read.
        let mut map = Mapfile::new(8192);
        map.set_status(0, 4096, BlockStatus::Finished);
        let r = RescueMap::new(Path::new("m"), image(4096), map).unwrap();
        assert_eq!(r.source().len(), 8192);
        assert_eq!(r.image_len(), 4096);
        let notes = r.notes().unwrap();
        assert!(
            notes[1].contains("size is taken from the mapfile"),
            "{notes:?}"
        );

        // A map shorter than the image: the rest has no status.
        let mut map = Mapfile::new(2048);
        map.set_status(0, 2048, BlockStatus::Finished);
        let r = RescueMap::new(Path::new("m"), image(4096), map).unwrap();
        let u = r.unreadable().unwrap();
        assert_eq!((u[0].offset, u[0].len), (2048, 2048));
        assert!(r.notes().unwrap()[1].contains("covers only"));
    }

    #[test]
    fn bad_mapfiles_name_their_path_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        std::fs::write(&img, vec![0u8; 4096]).unwrap();
        let opts = OpenOptions::default();

        let map = dir.path().join("broken.map");
        std::fs::write(&map, "# comment\n0x0 +\n0x0 0x800 +\n0x800 0x800 X\n").unwrap();
        let err = crate::open_rescued(&img, &map, &opts).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("broken.map") && msg.contains("line 4"),
            "{msg}"
        );

        let missing = dir.path().join("missing.map");
        let msg = crate::open_rescued(&img, &missing, &opts)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("missing.map"), "{msg}");

        let big = dir.path().join("big.map");
        std::fs::write(&big, "0 +\n0 0x2000 +\n").unwrap();
        let err = crate::open_rescued(&img, &big, &opts).unwrap_err();
        assert!(matches!(err, Error::MapfileBeyondImage { .. }), "{err}");
    }

    #[test]
    fn detection_sees_the_mapped_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        let mut bytes = b"vhdxfile".to_vec();
        bytes.resize(8192, 1);
        std::fs::write(&img, &bytes).unwrap();
        let ctx = crate::base_context(&img, &OpenOptions::default()).unwrap();
        assert!(ctx.starts_with(b"vhdxfile"));

        // The first sector was never rescued: detection must not trust it.
        let mut map = Mapfile::new(8192);
        map.set_status(512, 8192 - 512, BlockStatus::Finished);
        let ctx = ctx.through_mapfile(Path::new("disk.map"), map).unwrap();
        assert!(!ctx.starts_with(b"vhdxfile"));
        assert_eq!(ctx.unreadable().len(), 1);
        assert_eq!(ctx.rescue().unwrap().path(), Path::new("disk.map"));
        let opened = crate::Registry::builtin().open_context(&ctx).unwrap();
        assert_eq!(opened.detected, None);
        assert!(opened.rescue.is_some());
        let mut buf = [0u8; 16];
        assert!(opened.source.read_exact_at(&mut buf, 0).is_err());
        opened.source.read_exact_at(&mut buf, 512).unwrap();
        assert_eq!(buf, [1u8; 16]);
    }
}
