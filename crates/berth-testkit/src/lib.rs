//! Test-only helpers (being written).
