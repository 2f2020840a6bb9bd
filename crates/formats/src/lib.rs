//! Formats shared by Satu's sources. Today: JSON payloads, as REST APIs and CKAN portals send
//! them, read into batches of raw strings with exact numbers.

pub mod json;
