//! satu-runtime
