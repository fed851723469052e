//! ddrescue images read through their mapfile (`--mapfile`): the mapfile
//! section of `platter info`, and the mapfile of an extracted output
//! (`parts extract --bad-map`).

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use platter_core::mapfile::{BlockStatus, Mapfile};
use platter_core::size::human_size;
use platter_core::{Extent, SharedSource};
use platter_open::{Opened, RescueMap, StatusTotal};
use serde::Serialize;

/// How many unreadable ranges the human report lists; `--json` lists all.
pub const HUMAN_RANGE_LIMIT: usize = 20;

/// The `mapfile` object of `platter info --json`. Field names are stable.
#[derive(Debug, Serialize)]
pub struct MapfileReport {
    /// The mapfile, as given.
    path: String,
    /// Length of the image file itself.
    image_bytes: u64,
    /// First byte the map has a status for.
    domain_start: u64,
    /// One past the last byte the map has a status for.
    domain_end: u64,
    /// Bytes marked finished (`+`).
    rescued_bytes: u64,
    /// Bytes of the map that are not finished, whatever their status.
    non_rescued_bytes: u64,
    /// Bytes and areas of every status, in ddrescue's order.
    statuses: Vec<StatusTotal>,
    /// Bytes that read as unreadable (the non-finished blocks plus anything
    /// of the image outside the map's domain).
    unreadable_bytes: u64,
    /// Those ranges, in image offsets, sorted and merged.
    unreadable: Vec<Range>,
}

/// A byte range of the image.
#[derive(Debug, Serialize)]
struct Range {
    offset: u64,
    len: u64,
}

impl MapfileReport {
    /// The report of `rescue`.
    pub fn new(rescue: &RescueMap) -> anyhow::Result<Self> {
        let map = rescue.map();
        let unreadable = rescue.unreadable()?;
        let rescued = rescue.rescued_bytes();
        Ok(MapfileReport {
            path: rescue.path().display().to_string(),
            image_bytes: rescue.image_len(),
            domain_start: map.start(),
            domain_end: map.size(),
            rescued_bytes: rescued,
            non_rescued_bytes: (map.size() - map.start()).saturating_sub(rescued),
            statuses: rescue.totals(),
            unreadable_bytes: unreadable.iter().map(|e| e.len).sum(),
            unreadable: unreadable
                .iter()
                .map(|e| Range {
                    offset: e.offset,
                    len: e.len,
                })
                .collect(),
        })
    }

    /// Writes the human form: one line per status (rescued first), then the first
    /// [`HUMAN_RANGE_LIMIT`] unreadable ranges. `field` writes a label and
    /// a value aligned with the rest of the report.
    pub fn write_human(
        &self,
        w: &mut dyn Write,
        sector: u32,
        field: impl Fn(&mut dyn Write, &str, &dyn std::fmt::Display) -> io::Result<()>,
    ) -> io::Result<()> {
        field(
            w,
            "mapfile",
            &format_args!(
                "{} (ddrescue), domain {:#x}..{:#x}, image {} bytes",
                self.path, self.domain_start, self.domain_end, self.image_bytes
            ),
        )?;
        // Rescued first, then what is not, in ddrescue's order.
        let mut order: Vec<&StatusTotal> = self.statuses.iter().collect();
        order.sort_by_key(|t| t.status != BlockStatus::Finished);
        for t in order {
            let areas = if t.bytes == 0 {
                String::new()
            } else {
                format!(
                    " ({}) in {} area{}",
                    human_size(t.bytes),
                    t.areas,
                    plural(t.areas)
                )
            };
            let label = format!("  {}", t.status.name());
            field(w, &label, &format_args!("{} bytes{areas}", t.bytes))?;
        }
        let n = self.unreadable.len();
        if n == 0 {
            return field(w, "  unreadable", &"none");
        }
        let shown = n.min(HUMAN_RANGE_LIMIT);
        let more = if shown < n {
            format!(", the first {shown} listed (all with --json)")
        } else {
            String::new()
        };
        field(
            w,
            "  unreadable",
            &format_args!(
                "{} bytes in {n} range{}{more}:",
                self.unreadable_bytes,
                plural(n as u64)
            ),
        )?;
        for r in &self.unreadable[..shown] {
            writeln!(
                w,
                "    offset {:#x}, {} bytes ({})",
                r.offset,
                r.len,
                sectors(r.offset, r.len, sector)
            )?;
        }
        Ok(())
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `sectors A..B` (inclusive) covering `len` bytes at `offset`, in
/// `sector`-byte units.
pub fn sectors(offset: u64, len: u64, sector: u32) -> String {
    let ss = u64::from(sector.max(1));
    let first = offset / ss;
    let last = offset.saturating_add(len.max(1)).saturating_sub(1) / ss;
    if first == last {
        format!("sector {first}")
    } else {
        format!("sectors {first}..{last}")
    }
}

/// The ddrescue mapfile of an extracted output of `len` bytes whose
/// `unreadable` ranges (offsets in the output) were filled: those ranges are
/// not rescued, the rest is rescued (`+`).
///
/// When the output is a window at `disk_start` of an image read through a
/// mapfile, each unreadable range keeps the status that mapfile gives it
/// (non-tried stays non-tried, …); ranges the mapfile calls rescued but that
/// failed to read anyway, and all ranges of other sources, are bad sectors
/// (`-`).
pub fn output_map(
    opened: &Opened,
    disk_start: u64,
    len: u64,
    unreadable: &[Extent],
    command_line: String,
) -> Mapfile {
    let source_map = opened
        .rescue
        .as_ref()
        .filter(|r| reads_the_image(&opened.source, r))
        .map(RescueMap::map);
    let mut out = Mapfile::new(len);
    out.command_line = Some(command_line);
    out.set_status(0, len, BlockStatus::Finished);
    for e in unreadable {
        out.set_status(e.offset, e.len, BlockStatus::BadSector);
        let Some(map) = source_map else { continue };
        let (abs, abs_end) = (
            disk_start.saturating_add(e.offset),
            disk_start.saturating_add(e.end()),
        );
        // Outside the map's blocks nothing was tried.
        let covered = (abs.max(map.start()), abs_end.min(map.size()));
        if covered.0 >= covered.1 {
            out.set_status(e.offset, e.len, BlockStatus::NonTried);
            continue;
        }
        out.set_status(e.offset, covered.0 - abs, BlockStatus::NonTried);
        out.set_status(
            covered.1 - disk_start,
            abs_end - covered.1,
            BlockStatus::NonTried,
        );
        let first = map.blocks().partition_point(|b| b.end() <= covered.0);
        for b in map.blocks()[first..]
            .iter()
            .take_while(|b| b.pos < covered.1)
            .filter(|b| b.status != BlockStatus::Finished)
        {
            let (s, t) = (b.pos.max(covered.0), b.end().min(covered.1));
            out.set_status(s - disk_start, t - s, b.status);
        }
    }
    out
}

/// True when `source` is the rescue map's view of the image itself (no
/// decoder in between), so disk offsets are image offsets.
fn reads_the_image(source: &SharedSource, rescue: &RescueMap) -> bool {
    Arc::ptr_eq(source, &rescue.source())
}

/// The command line, for the `# Command line:` comment of a written map.
pub fn command_line() -> String {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Refuses to write a map over something that exists unless `force`.
pub fn check_new_map(path: &Path, force: bool) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => anyhow::bail!(
            "{} is a directory: give the path of the mapfile to write",
            path.display()
        ),
        Ok(_) if !force => anyhow::bail!(
            "{} already exists: use --force to overwrite it, or choose another --bad-map",
            path.display()
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sector_ranges() {
        assert_eq!(sectors(2100 * 512, 1536, 512), "sectors 2100..2102");
        assert_eq!(sectors(3000 * 512, 512, 512), "sector 3000");
        assert_eq!(sectors(1000, 100, 512), "sectors 1..2");
        assert_eq!(sectors(1024, 100, 512), "sector 2");
        assert_eq!(sectors(1000, 100, 0), "sectors 1000..1099");
    }
}
