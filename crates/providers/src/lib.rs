//! Provider webhook adapters (work in progress).
