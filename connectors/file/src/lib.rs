//! satu-connector-file
