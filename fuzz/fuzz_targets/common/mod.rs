//! Shared by the partition-table fuzz targets (`mbr`, `gpt`): the
//! invariants every parsed [`PartitionTable`] must hold.

use platter_core::{SharedSource, Source};
use platter_parts::{MAX_LOGICAL_PARTITIONS, PartitionTable, codes};

/// Checks `t`, parsed from `disk`, beyond "no panic": the partition count is
/// bounded, every partition either fits the disk (and opens as a window of
/// its length) or is flagged `partition_past_end`, and the anomaly list is
/// bounded.
pub fn check_table(disk: &SharedSource, t: &PartitionTable) {
    let max_parts = (platter_parts::MAX_GPT_ENTRY_ARRAY_BYTES / 128) as usize
        + 4
        + MAX_LOGICAL_PARTITIONS as usize;
    assert!(t.partitions.len() <= max_parts);
    // Fewer than 64 codes, at most 32 of each, plus one summary.
    assert!(t.anomalies.len() <= 64 * 32 + 1);
    for p in &t.partitions {
        assert!(p.sectors > 0);
        let end = p.start_bytes.checked_add(p.len_bytes).expect("no overflow");
        if end <= disk.len() {
            let w = p
                .open(disk.clone())
                .expect("a partition inside the disk opens");
            assert_eq!(w.len(), p.len_bytes);
        } else {
            assert!(p.open(disk.clone()).is_err());
            let needle = format!("partition {} ", p.index);
            assert!(
                t.anomalies
                    .iter()
                    .any(|a| a.code == codes::PARTITION_PAST_END && a.message.contains(&needle)),
                "partition {} lies past the end without an anomaly",
                p.index
            );
        }
    }
}
