//! Berth API server (being written).
