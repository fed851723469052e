//! Integration tests of the `platter` binary, run against the committed
//! fixtures and against images made in the test with sfdisk, with
//! independent tools (sfdisk, dd, md5sum, sha256sum, split, losetup, ddrescue, ddrescuelog)
//! as oracles.

mod util;

mod acquire;
mod acquire_faultfs;
mod acquire_faults;
mod acquire_stop;
mod bad_input;
mod device;
mod e01;
mod extract;
mod formats;
mod golden;
mod info;
mod mapfile;
mod mapfile_extract;
mod raid_assemble;
mod raid_detect;
mod raid_metadata;
mod raid_metadata_ddf;
mod raid_recipe;
mod raid_scrub_map;
mod raid_util;
mod split;
mod vdisk;
