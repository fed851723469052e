//! EnCase (EWF, E01) evidence images (skeleton; being built).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
