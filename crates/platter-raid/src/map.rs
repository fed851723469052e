//! Layout maps: which member holds which chunk, row by row, as a text
//! table, an SVG picture or JSON (through serde).
//!
//! Rows are member chunk rows: row r covers bytes `[r·chunk, (r+1)·chunk)`
//! after each member's data offset. A cell says what that member holds
//! there: data chunk `Dk` (array bytes `[k·chunk, (k+1)·chunk)`), the P or
//! Q parity of the row, or nothing (RAID0 zones past a small member).
//! RAID1, RAID10 and linear arrays show every copy of each chunk.
//!
//! ```
//! use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout};
//! use platter_raid::map::LayoutMap;
//!
//! let g = Geometry::new(Level::Raid5, Layout::Parity(ParityLayout::LeftSymmetric), 65536, 4);
//! let map = LayoutMap::build(&g, None, 4).unwrap();
//! let labels: Vec<Vec<String>> = map.rows.iter()
//!     .map(|r| r.cells.iter().map(|c| c.label()).collect())
//!     .collect();
//! assert_eq!(labels[0], ["D0", "D1", "D2", "P"]);
//! assert_eq!(labels[1], ["D4", "D5", "P", "D3"]);
//! let text = map.to_text();
//! assert!(text.contains("\n  2        0x20000       0x60000  D8      P       D6      D7\n"), "{text}");
//! assert!(map.to_svg().starts_with("<svg"));
//! ```

use std::fmt::Write as _;

use serde::Serialize;

use crate::error::Result;
use crate::geometry::{Geometry, Level, Slot};

/// The most rows a map shows.
pub const MAX_MAP_ROWS: u64 = 4096;

/// The row unit of RAID1 maps (RAID1 has no chunks): 64 KiB.
const RAID1_UNIT: u64 = 64 << 10;

/// What one member holds in one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Cell {
    /// Array data chunk `chunk` (copy `copy` of it, for mirrors).
    Data {
        /// The array chunk number.
        chunk: u64,
        /// Which copy (0 for striped levels; md's copy order for RAID1/10).
        copy: usize,
        /// RAID6: the chunk's exponent in the Q syndrome.
        #[serde(skip_serializing_if = "Option::is_none")]
        q_exponent: Option<u8>,
    },
    /// The row's P (XOR) parity.
    P,
    /// The row's Q (RAID6) syndrome.
    Q,
    /// Nothing of the array (a RAID0 zone the member is not part of).
    Unused,
}

impl Cell {
    /// The text of the cell: `D12`, `P`, `Q`, or `-`.
    pub fn label(&self) -> String {
        match self {
            Cell::Data { chunk, .. } => format!("D{chunk}"),
            Cell::P => "P".into(),
            Cell::Q => "Q".into(),
            Cell::Unused => "-".into(),
        }
    }
}

/// One member row of a map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapRow {
    /// The row number.
    pub row: u64,
    /// Where the row starts on every member, after the data offset.
    pub member_offset: u64,
    /// Array offset of the row's first data chunk, for levels where the
    /// row's data is contiguous in the array (RAID0/1/4/5/6).
    pub array_offset: Option<u64>,
    /// What each slot holds, by slot.
    pub cells: Vec<Cell>,
}

/// The first rows of a layout. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayoutMap {
    /// The geometry, described.
    pub geometry: String,
    /// The level.
    pub level: Level,
    /// The layout.
    pub layout: String,
    /// Bytes per row on each member (the chunk; 64 KiB for RAID1).
    pub row_bytes: u64,
    /// Members (slots).
    pub members: usize,
    /// Usable bytes of each slot used to draw the map.
    pub slot_sizes: Vec<u64>,
    /// The rows.
    pub rows: Vec<MapRow>,
}

impl LayoutMap {
    /// Maps the first `rows` rows (at most [`MAX_MAP_ROWS`]) of `geometry`.
    /// `slot_sizes` gives each slot's usable size (RAID0 zones need unequal
    /// sizes); by default every slot holds exactly `rows` rows. Member
    /// order, offsets and missing members do not change the picture and are
    /// ignored.
    pub fn build(geometry: &Geometry, slot_sizes: Option<&[u64]>, rows: u64) -> Result<LayoutMap> {
        geometry.validate()?;
        let n = geometry.slots.len();
        let rows = rows.clamp(1, MAX_MAP_ROWS);
        let unit = match geometry.level {
            Level::Raid1 if geometry.chunk_bytes < 512 => RAID1_UNIT,
            _ => geometry.chunk_bytes,
        };
        let mut g = geometry.clone();
        g.array_size = None;
        g.slots = (0..n)
            .map(|i| Slot {
                image: Some(i),
                data_offset: 0,
                size: None,
            })
            .collect();
        let default = rows.saturating_mul(unit);
        let sizes: Vec<Option<u64>> = (0..n)
            .map(|i| {
                Some(
                    slot_sizes
                        .and_then(|s| s.get(i).copied())
                        .unwrap_or(default),
                )
            })
            .collect();
        let mapping = g.mapping(&sizes)?;
        let mut out = Vec::new();
        match (geometry.level, geometry.layout) {
            (Level::Raid0 | Level::Raid4 | Level::Raid5 | Level::Raid6, _) => {
                let mut next_chunk = 0u64;
                for r in 0..rows {
                    let Some(rl) = mapping.row(r) else { break };
                    let mut cells = vec![Cell::Unused; n];
                    for (d, &slot) in rl.data_slots.iter().enumerate() {
                        cells[slot] = Cell::Data {
                            chunk: next_chunk + d as u64,
                            copy: 0,
                            q_exponent: rl.q_exponents.get(d).copied(),
                        };
                    }
                    if let Some(p) = rl.p {
                        cells[p] = Cell::P;
                    }
                    if let Some(q) = rl.q {
                        cells[q] = Cell::Q;
                    }
                    out.push(MapRow {
                        row: r,
                        member_offset: rl.offset_in_member,
                        array_offset: Some(next_chunk * unit),
                        cells,
                    });
                    next_chunk += rl.data_slots.len() as u64;
                }
            }
            (Level::Raid1, _) => {
                let end = mapping.slot_sizes().first().copied().unwrap_or(0) / unit;
                for r in 0..rows.min(end) {
                    out.push(MapRow {
                        row: r,
                        member_offset: r * unit,
                        array_offset: Some(r * unit),
                        cells: (0..n)
                            .map(|copy| Cell::Data {
                                chunk: r,
                                copy,
                                q_exponent: None,
                            })
                            .collect(),
                    });
                }
            }
            (Level::Linear, _) => {
                let sizes = mapping.slot_sizes();
                let end = sizes.iter().copied().max().unwrap_or(0) / unit;
                let mut first_chunk = Vec::with_capacity(n);
                let mut acc = 0u64;
                for &s in sizes {
                    first_chunk.push(acc);
                    acc = acc.saturating_add(s / unit);
                }
                for r in 0..rows.min(end) {
                    out.push(MapRow {
                        row: r,
                        member_offset: r * unit,
                        array_offset: None,
                        cells: (0..n)
                            .map(|s| {
                                if r < sizes[s] / unit {
                                    Cell::Data {
                                        chunk: first_chunk[s] + r,
                                        copy: 0,
                                        q_exponent: None,
                                    }
                                } else {
                                    Cell::Unused
                                }
                            })
                            .collect(),
                    });
                }
            }
            _ => {
                // RAID10: place every copy of every chunk. The first copy of
                // chunk k sits on member row k·near/n, which never goes
                // down, and the others lie further on: stop past the rows.
                let end = mapping.slot_sizes().first().copied().unwrap_or(0) / unit;
                let shown = rows.min(end);
                let mut grid = vec![vec![Cell::Unused; n]; shown as usize];
                let chunks = mapping.array_size() / unit;
                for k in 0..chunks {
                    let copies = mapping.copies(k * unit);
                    if copies
                        .first()
                        .is_none_or(|c| c.member_offset / unit >= shown)
                    {
                        break;
                    }
                    for (copy, loc) in copies.iter().enumerate() {
                        let r = loc.member_offset / unit;
                        if r < shown {
                            grid[r as usize][loc.slot] = Cell::Data {
                                chunk: k,
                                copy,
                                q_exponent: None,
                            };
                        }
                    }
                }
                for (r, cells) in grid.into_iter().enumerate() {
                    let r = r as u64;
                    out.push(MapRow {
                        row: r,
                        member_offset: r * unit,
                        array_offset: None,
                        cells,
                    });
                }
            }
        }
        Ok(LayoutMap {
            geometry: geometry.describe(),
            level: geometry.level,
            layout: geometry.layout.to_string(),
            row_bytes: unit,
            members: n,
            slot_sizes: mapping.slot_sizes().to_vec(),
            rows: out,
        })
    }

    /// A legend of the cells, one line.
    fn legend(&self) -> String {
        let unit = human(self.row_bytes);
        let mut s = format!("Dk = array chunk k (array bytes k × {unit})");
        if self
            .rows
            .iter()
            .flat_map(|r| &r.cells)
            .any(|c| *c == Cell::P)
        {
            s.push_str(", P = XOR parity");
        }
        if self
            .rows
            .iter()
            .flat_map(|r| &r.cells)
            .any(|c| *c == Cell::Q)
        {
            s.push_str(", Q = RAID6 syndrome");
        }
        if matches!(self.level, Level::Raid1 | Level::Raid10) {
            s.push_str(", a chunk appears once per copy");
        }
        if self
            .rows
            .iter()
            .flat_map(|r| &r.cells)
            .any(|c| *c == Cell::Unused)
        {
            s.push_str(", - = not used in this row");
        }
        s
    }

    /// The map as an aligned text table with a title and a legend.
    pub fn to_text(&self) -> String {
        let mut header: Vec<String> = vec!["row".into(), "member offset".into()];
        let with_array = self.rows.iter().any(|r| r.array_offset.is_some());
        if with_array {
            header.push("array offset".into());
        }
        header.extend((0..self.members).map(|s| format!("slot {s}")));
        let fixed = if with_array { 3 } else { 2 };
        let mut lines: Vec<Vec<String>> = vec![header];
        for r in &self.rows {
            let mut line = vec![r.row.to_string(), format!("{:#x}", r.member_offset)];
            if with_array {
                line.push(r.array_offset.map_or("-".into(), |o| format!("{o:#x}")));
            }
            line.extend(r.cells.iter().map(Cell::label));
            lines.push(line);
        }
        let cols = lines[0].len();
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = format!(
            "{}: {} row{} of {} per member\n",
            self.geometry,
            self.rows.len(),
            if self.rows.len() == 1 { "" } else { "s" },
            human(self.row_bytes)
        );
        for l in &lines {
            let mut s = String::new();
            for (c, cell) in l.iter().enumerate() {
                if c > 0 {
                    s.push_str("  ");
                }
                let pad = widths[c] - cell.chars().count();
                if c < fixed {
                    s.extend(std::iter::repeat_n(' ', pad));
                    s.push_str(cell);
                } else {
                    s.push_str(cell);
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        }
        out.push_str(&self.legend());
        out.push('\n');
        out
    }

    /// The map as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        const CELL_W: usize = 72;
        const CELL_H: usize = 24;
        const LABEL_W: usize = 96;
        const TOP: usize = 56;
        let w = LABEL_W + CELL_W * self.members + 16;
        let h = TOP + CELL_H * self.rows.len() + 40;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
        );
        let _ = writeln!(s, "<title>{}</title>", escape(&self.geometry));
        s.push_str(
            "<style>text{font-family:monospace;font-size:12px;fill:#212529}\
             .t{font-size:14px;font-weight:bold}rect{stroke:#495057;stroke-width:1}</style>\n",
        );
        let _ = writeln!(
            s,
            r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff" stroke="none"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text class="t" x="8" y="20">{}</text>"#,
            escape(&format!(
                "{}: {} per member row",
                self.geometry,
                human(self.row_bytes)
            ))
        );
        for slot in 0..self.members {
            let x = LABEL_W + slot * CELL_W + CELL_W / 2;
            let _ = writeln!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">slot {slot}</text>"#,
                TOP - 8
            );
        }
        for (i, r) in self.rows.iter().enumerate() {
            let y = TOP + i * CELL_H;
            let _ = writeln!(
                s,
                r#"<text x="8" y="{}">row {}</text>"#,
                y + CELL_H / 2 + 4,
                r.row
            );
            for (slot, c) in r.cells.iter().enumerate() {
                let x = LABEL_W + slot * CELL_W;
                let fill = match c {
                    Cell::Data { copy: 0, .. } => "#cfe2ff",
                    Cell::Data { .. } => "#e7f5ff",
                    Cell::P => "#ffd8a8",
                    Cell::Q => "#e5dbff",
                    Cell::Unused => "#f1f3f5",
                };
                let _ = writeln!(
                    s,
                    r#"<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" fill="{fill}"/>"#
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                    x + CELL_W / 2,
                    y + CELL_H / 2 + 4,
                    escape(&c.label())
                );
            }
        }
        let _ = writeln!(
            s,
            r#"<text x="8" y="{}">{}</text>"#,
            TOP + CELL_H * self.rows.len() + 24,
            escape(&self.legend())
        );
        s.push_str("</svg>\n");
        s
    }
}

/// `64K`, `1M`, or bytes.
fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}M", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}K", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Escapes text for XML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Layout, ParityLayout, Raid0Layout, Raid10Layout};

    fn labels(map: &LayoutMap) -> Vec<String> {
        map.rows
            .iter()
            .map(|r| {
                r.cells
                    .iter()
                    .map(Cell::label)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn raid6_left_symmetric() {
        let g = Geometry::new(
            Level::Raid6,
            Layout::Parity(ParityLayout::LeftSymmetric),
            4096,
            5,
        );
        let m = LayoutMap::build(&g, None, 3).unwrap();
        // Kernel raid5_compute_sector, ALGORITHM_LEFT_SYMMETRIC for RAID6:
        // pd = n-1 - row % n, qd = pd + 1 (mod n), data from pd + 2.
        assert_eq!(labels(&m), ["Q D0 D1 D2 P", "D3 D4 D5 P Q", "D7 D8 P Q D6"]);
        assert_eq!(m.rows[2].array_offset, Some(6 * 4096));
        // Q exponents walk the disks from just after Q (slot 4, then 0, 1).
        assert!(matches!(
            m.rows[2].cells[4],
            Cell::Data {
                chunk: 6,
                q_exponent: Some(0),
                ..
            }
        ));
        assert!(matches!(
            m.rows[2].cells[1],
            Cell::Data {
                chunk: 8,
                q_exponent: Some(2),
                ..
            }
        ));
    }

    #[test]
    fn raid10_far_and_near() {
        let r10 = |near, far| {
            Layout::Raid10(Raid10Layout {
                near,
                far,
                offset: false,
                far_sets: false,
            })
        };
        let g = Geometry::new(Level::Raid10, r10(2, 1), 512, 3);
        let m = LayoutMap::build(&g, None, 2).unwrap();
        assert_eq!(labels(&m), ["D0 D0 D1", "D1 D2 D2"]);
        let g = Geometry::new(Level::Raid10, r10(1, 2), 512, 2);
        let m = LayoutMap::build(&g, None, 4).unwrap();
        // The far copy of each chunk sits half a member further, one member on.
        assert_eq!(labels(&m), ["D0 D1", "D2 D3", "D1 D0", "D3 D2"]);
        // Huge members: only the rows shown are computed (no hang).
        let m = LayoutMap::build(&g, Some(&[1 << 50, 1 << 50]), 2).unwrap();
        assert_eq!(labels(&m), ["D0 D1", "D2 D3"]);
        let g = Geometry::new(Level::Linear, Layout::None, 512, 3);
        let m = LayoutMap::build(&g, Some(&[1 << 50, 512, 1 << 50]), 2).unwrap();
        assert_eq!(labels(&m)[1], format!("D1 - D{}", (1u64 << 41) + 2));
    }

    #[test]
    fn raid0_zones_and_linear() {
        let g = Geometry::new(Level::Raid0, Layout::Raid0(Raid0Layout::Original), 512, 3);
        let m = LayoutMap::build(&g, Some(&[512, 1536, 1024]), 8).unwrap();
        // Zone 1 (slots 1 and 2) picks members by the array-wide chunk
        // number in the original layout: chunk 3 goes to the zone's second.
        assert_eq!(labels(&m), ["D0 D1 D2", "- D4 D3", "- D5 -"]);
        let g = Geometry::new(Level::Linear, Layout::None, 512, 2);
        let m = LayoutMap::build(&g, None, 2).unwrap();
        assert_eq!(labels(&m), ["D0 D2", "D1 D3"]);
        assert_eq!(m.rows[0].array_offset, None);
        let g = Geometry::new(Level::Raid0, Layout::Raid0(Raid0Layout::Alternate), 512, 3);
        let m = LayoutMap::build(&g, Some(&[512, 1536, 1024]), 8).unwrap();
        assert_eq!(labels(&m), ["D0 D1 D2", "- D3 D4", "- D5 -"]);
        assert!(m.to_text().contains("- = not used in this row"));
    }

    #[test]
    fn svg_is_escaped_and_closed() {
        assert_eq!(escape("a<b>&\"c"), "a&lt;b&gt;&amp;&quot;c");
        let g = Geometry::new(Level::Raid1, Layout::None, 0, 2);
        let svg = LayoutMap::build(&g, None, 2).unwrap().to_svg();
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 1 + 4);
    }
}
