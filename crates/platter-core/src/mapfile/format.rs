//! Writing a map in the exact layout of GNU ddrescue 1.27
//! (`Mapfile::write_mapfile` in ddrescue's `mapfile.cc`).

use std::fmt::Write as _;

use super::{Mapfile, PassStatus};

impl Mapfile {
    /// The map as mapfile text, laid out as ddrescue 1.27 writes it:
    ///
    /// ```text
    /// # Mapfile. Created by platter version 0.1.0
    /// # Command line: platter acquire /dev/sdb disk.img disk.map
    /// # current_pos  current_status  current_pass
    /// 0x004E2C00     +               1
    /// #      pos        size  status
    /// 0x00000000  0x004E2000  +
    /// 0x004E2000  0x00001000  -
    /// ```
    ///
    /// Numbers are `0x%08llX` (uppercase hex, at least 8 digits). The
    /// `# Command line:` comment is written when [`command_line`](Mapfile::command_line)
    /// is set (newlines replaced by spaces) and `# Finished` when the status
    /// is finished, as ddrescue does; timestamps are not written. A map
    /// without a pass number gets an old-style two-column status line. An
    /// empty map gets ddrescue's single `0x00000000  0x00000000  ?` line.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(256 + self.blocks.len() * 28);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "# Mapfile. Created by platter version {}",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(cmd) = &self.command_line {
            let _ = writeln!(out, "# Command line: {}", one_line(cmd));
        }
        if self.current_status == PassStatus::Finished {
            out.push_str("# Finished\n");
        }
        out.push_str("# current_pos  current_status  current_pass\n");
        let _ = write!(
            out,
            "0x{:08X}     {}",
            self.current_pos,
            self.current_status.as_char()
        );
        match self.current_pass {
            Some(pass) => {
                let _ = writeln!(out, "               {pass}");
            }
            None => out.push('\n'),
        }
        out.push_str("#      pos        size  status\n");
        if self.blocks.is_empty() {
            out.push_str("0x00000000  0x00000000  ?\n");
        }
        for b in &self.blocks {
            let _ = writeln!(
                out,
                "0x{:08X}  0x{:08X}  {}",
                b.pos,
                b.size,
                b.status.as_char()
            );
        }
        out
    }
}

/// `s` with line breaks (`\n`, `\r`) turned into spaces, so it fits in one
/// comment line.
pub(super) fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
