//! Hashed, ddrescue-style acquisition (skeleton; being built).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
