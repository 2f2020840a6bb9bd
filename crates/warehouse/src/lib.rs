//! satu-warehouse
