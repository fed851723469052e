//! Self-locating on-disk structures (being built): anchors found in member
//! samples, and file-system validation of assembled candidates.
