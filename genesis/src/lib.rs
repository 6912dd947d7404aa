//! Genesis.
