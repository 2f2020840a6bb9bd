//! satu-transform
