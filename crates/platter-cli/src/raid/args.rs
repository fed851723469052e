//! Arguments of `platter raid …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::args::{BlockSize, HashList, parse_block_size, parse_fill_byte, parse_hash_list};

/// `platter raid …`.
#[derive(Debug, Subcommand)]
pub enum RaidCommand {
    /// Assemble an array from its members and write it to a file (or only
    /// write a recipe with --recipe-out).
    ///
    /// Without geometry options the members' own md superblocks or DDF
    /// records say how: members may be given in any order, stale members
    /// and members of other arrays are left out (the report says why), and
    /// missing ones are rebuilt while the redundancy allows. With --level
    /// (and --layout, --chunk, --order, --offset…) the metadata is ignored
    /// completely. A single recipe file written by --recipe-out also works.
    Assemble(AssembleArgs),
    /// Show the md superblock or DDF metadata of each member, and what
    /// disagrees between them: stale members, members of another array,
    /// duplicate or missing roles, bad checksums. Findings are information:
    /// the exit status is 0 unless a member cannot be read.
    Examine(ExamineArgs),
    /// Infer the geometry from the members alone, with no metadata: level,
    /// chunk size, member order, parity layout, data offset, missing
    /// members. Prints ranked candidates with their evidence, and says
    /// plainly when the evidence cannot decide.
    Detect(DetectArgs),
    /// Print the first rows of a layout: which member holds D0, D1…, P and Q.
    Map(MapArgs),
    /// Check the parity (P and Q) or the copies of every row, without
    /// writing anything. Exit status 4 when inconsistent rows are found.
    Scrub(ScrubArgs),
}

/// The geometry of an array given on the command line, shared by
/// `assemble` and `scrub`.
#[derive(Debug, Clone, Default, Args)]
pub struct GeometryArgs {
    /// RAID level: 0, 1, 4, 5, 6, 10 or linear (also raid5, mirror, jbod…).
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<String>,
    /// Layout: left-symmetric (default for 5/6), left-asymmetric,
    /// right-symmetric, right-asymmetric, parity-first, parity-last,
    /// ddf-zero-restart, ddf-N-restart, ddf-N-continue, the -6 variants;
    /// n2, f2, o2 for RAID10; original or alternate for RAID0; md numbers.
    #[arg(long, value_name = "LAYOUT")]
    pub layout: Option<String>,
    /// Chunk (strip) size: 64K, 512K, 128s…
    #[arg(long, value_name = "SIZE")]
    pub chunk: Option<String>,
    /// The member in each slot (md role), comma-separated: MEMBER argument
    /// indexes from 0, or `missing`. Default: the arguments in order.
    #[arg(long, value_name = "LIST")]
    pub order: Option<String>,
    /// Where the data starts on the members: one size for all, or one per
    /// slot, comma-separated (2048s,2048s,4096s).
    #[arg(long, value_name = "SIZES")]
    pub offset: Option<String>,
    /// Usable bytes of each member from its offset (md's component size):
    /// one size for all, or one per slot. Default: the rest of each member.
    #[arg(long, value_name = "SIZES")]
    pub member_size: Option<String>,
    /// The array size, when it is smaller than the members hold.
    #[arg(long, value_name = "SIZE")]
    pub size: Option<String>,
    /// Delayed parity (HP Smart Array): D rows per parity group, and F rows
    /// in the first group (default D).
    #[arg(long, value_name = "D[,F]")]
    pub delayed: Option<String>,
    /// A GNU ddrescue mapfile of the member in SLOT: areas it does not mark
    /// rescued are rebuilt from parity or a mirror. Repeatable.
    /// (With metadata, SLOT is the member's role as the plan shows it.)
    #[arg(long, value_name = "SLOT=MAPFILE")]
    pub member_mapfile: Vec<String>,
    /// DDF: the virtual disk to assemble, by name or GUID, when the
    /// container holds several (assembly from metadata only).
    #[arg(long, value_name = "NAME|GUID")]
    pub virtual_disk: Option<String>,
}

impl GeometryArgs {
    /// True when any geometry option was given.
    pub fn any(&self) -> bool {
        self.level.is_some()
            || self.layout.is_some()
            || self.chunk.is_some()
            || self.order.is_some()
            || self.offset.is_some()
            || self.member_size.is_some()
            || self.size.is_some()
            || self.delayed.is_some()
            || !self.member_mapfile.is_empty()
            || self.virtual_disk.is_some()
    }

    /// The first option that only makes sense with --level, when given
    /// without it (--member-mapfile and --virtual-disk also work with
    /// metadata).
    pub fn needs_level(&self) -> Option<&'static str> {
        [
            ("--layout", self.layout.is_some()),
            ("--chunk", self.chunk.is_some()),
            ("--order", self.order.is_some()),
            ("--offset", self.offset.is_some()),
            ("--member-size", self.member_size.is_some()),
            ("--size", self.size.is_some()),
            ("--delayed", self.delayed.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

/// `platter raid detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The member images, in any order (any format platter opens).
    #[arg(required = true, value_name = "MEMBER")]
    pub members: Vec<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the winner as a recipe (only when the verdict is "found").
    #[arg(long, value_name = "FILE")]
    pub recipe_out: Option<PathBuf>,
    /// Overwrite the recipe if it exists.
    #[arg(long)]
    pub force: bool,
    /// How many candidates to show.
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub top: usize,
    /// What is already known, comma-separated KEY=VALUE: level=5,
    /// chunk=64K, layout=left-symmetric, members=4 (slots, missing ones
    /// included), offset=1M.
    #[arg(long, value_name = "HINTS")]
    pub hint: Option<String>,
}

/// `platter raid assemble`.
#[derive(Debug, Args)]
pub struct AssembleArgs {
    /// The member images (files, block devices, first segments of split
    /// sets), or `missing`; or one recipe file. Assembling from metadata,
    /// any order will do and `missing` is not needed.
    #[arg(required = true, value_name = "MEMBER")]
    pub members: Vec<PathBuf>,
    /// The geometry.
    #[command(flatten)]
    pub geometry: GeometryArgs,
    /// Infer the geometry from the members' content (`platter raid
    /// detect`), then assemble; refused unless the verdict is "found".
    #[arg(long, conflicts_with_all = ["level", "layout", "chunk", "order", "offset"])]
    pub auto: bool,
    /// With --auto: what is already known (see `raid detect --hint`).
    #[arg(long, value_name = "HINTS", requires = "auto")]
    pub hint: Option<String>,
    /// Where to write the array; `-` for standard output (the report then
    /// goes to standard error). May be omitted with --recipe-out.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Overwrite OUT and the recipe if they exist. Writing onto a member is
    /// refused anyway.
    #[arg(long)]
    pub force: bool,
    /// Also write a recipe (JSON) of the array: it opens as the array
    /// anywhere (`platter info r.json`).
    #[arg(long, value_name = "FILE")]
    pub recipe_out: Option<PathBuf>,
    /// Put each member's sha256 in the recipe (reads every member once).
    #[arg(long, requires = "recipe_out")]
    pub member_hashes: bool,
    /// Digests to compute, comma-separated: md5, sha1, sha256.
    #[arg(long, value_name = "ALGS", default_value = "md5,sha256", value_parser = parse_hash_list)]
    pub hash: HashList,
    /// Bytes per read, e.g. 1M, 4M.
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_block_size)]
    pub block_size: BlockSize,
    /// The byte written (and hashed) in place of unreadable data.
    #[arg(long, value_name = "BYTE", default_value = "0", value_parser = parse_fill_byte)]
    pub fill: u8,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `platter raid examine`.
#[derive(Debug, Args)]
pub struct ExamineArgs {
    /// The member images (files, block devices, first segments of split
    /// sets).
    #[arg(required = true, value_name = "MEMBER")]
    pub members: Vec<PathBuf>,
    /// Print the report as one JSON object, with every metadata field.
    #[arg(long)]
    pub json: bool,
}

/// `platter raid map`.
#[derive(Debug, Args)]
pub struct MapArgs {
    /// RAID level: 0, 1, 4, 5, 6, 10 or linear.
    #[arg(long, value_name = "LEVEL")]
    pub level: String,
    /// Layout (see `raid assemble --help`); the level's md default when absent.
    #[arg(long, value_name = "LAYOUT")]
    pub layout: Option<String>,
    /// Chunk size (64K, 512K…); required for striped levels.
    #[arg(long, value_name = "SIZE")]
    pub chunk: Option<String>,
    /// Number of members.
    #[arg(long, value_name = "N")]
    pub members: u64,
    /// Rows to show (1 to 4096).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub rows: u64,
    /// Usable size of each member, comma-separated (RAID0 zones show with
    /// unequal sizes). Default: exactly the rows shown.
    #[arg(long, value_name = "SIZES")]
    pub member_size: Option<String>,
    /// Delayed parity: D[,F].
    #[arg(long, value_name = "D[,F]")]
    pub delayed: Option<String>,
    /// Also draw the map as an SVG picture into FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Overwrite the SVG file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the map as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `platter raid scrub`.
#[derive(Debug, Args)]
pub struct ScrubArgs {
    /// The member images, or `missing`; or one recipe file.
    #[arg(required = true, value_name = "MEMBER")]
    pub members: Vec<PathBuf>,
    /// The geometry.
    #[command(flatten)]
    pub geometry: GeometryArgs,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}
