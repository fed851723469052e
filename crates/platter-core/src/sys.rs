//! OS-facing sources (to be written).
