//! satu-reference
