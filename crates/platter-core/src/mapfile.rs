//! GNU ddrescue mapfile: reading and writing (to be written).
