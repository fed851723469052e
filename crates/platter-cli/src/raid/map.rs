//! `platter raid map`: the first rows of a layout, as text, JSON or SVG.

use std::io::{self, Write};

use anyhow::{Context, bail};
use platter_core::size::parse_size;
use platter_raid::geometry::{Geometry, Layout, Level};
use platter_raid::map::LayoutMap;

use super::args::MapArgs;
use super::parse_delayed;
use crate::args::exit;
use crate::info::print_json;

/// `platter raid map`.
pub fn map(a: &MapArgs) -> anyhow::Result<u8> {
    let level: Level = a
        .level
        .parse()
        .with_context(|| format!("--level {}", a.level))?;
    Geometry::check_member_count(level, a.members).context("--members")?;
    let n = a.members as usize;
    let layout = match &a.layout {
        Some(l) => {
            Layout::parse_for(level, l).with_context(|| format!("--layout {l} for {level}"))?
        }
        None => Layout::default_for(level),
    };
    let chunk = match (&a.chunk, level) {
        (Some(c), _) => parse_size(c, 512).with_context(|| format!("--chunk {c}"))?,
        (None, Level::Raid1 | Level::Linear) => 0,
        (None, _) => bail!("--chunk is required for {level} (mdadm's default is 512K)"),
    };
    let chunk = match (level, chunk) {
        (Level::Linear, 0) => 64 << 10,
        (_, c) => c,
    };
    let mut g = Geometry::new(level, layout, chunk, n);
    g.delayed_parity = a.delayed.as_deref().map(parse_delayed).transpose()?;
    let sizes = match &a.member_size {
        Some(text) => {
            let v = text
                .split(',')
                .map(|s| parse_size(s, 512).with_context(|| format!("--member-size {text}")))
                .collect::<anyhow::Result<Vec<u64>>>()?;
            match v.len() {
                1 => Some(vec![v[0]; n]),
                len if len == n => Some(v),
                len => bail!("--member-size {text}: {len} values for {n} members"),
            }
        }
        None => None,
    };
    let map = LayoutMap::build(&g, sizes.as_deref(), a.rows).context("invalid geometry")?;
    if let Some(svg) = &a.svg {
        crate::output::write_plain_file(svg, &map.to_svg(), a.force, "--svg")?;
    }
    let mut out = io::stdout().lock();
    if a.json {
        print_json(&mut out, &map)?;
    } else {
        out.write_all(map.to_text().as_bytes())?;
        if let Some(svg) = &a.svg {
            writeln!(out, "SVG written to {}", svg.display())?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}
