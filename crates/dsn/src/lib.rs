//! Bounce-message parsing (work in progress).
