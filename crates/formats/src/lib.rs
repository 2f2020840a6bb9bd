//! Formats shared by Satu's sources: JSON payloads (REST APIs, CKAN portals) and spreadsheets,
//! read into records of raw strings, numbers exact where the format allows.

pub mod avro;
pub mod json;
pub mod sheet;
