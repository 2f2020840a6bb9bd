use serde::{Deserialize, Serialize};

/// Where every row read by a run ended. A run balances when
/// `read == inserted + updated + unchanged + rejected + filtered + duplicates`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    /// Rows the source produced.
    pub read: u64,
    /// Loaded as new warehouse rows.
    pub inserted: u64,
    /// Loaded as a revision of an existing row (the old one is closed, kept as history).
    pub updated: u64,
    /// Already in the warehouse with the same value: nothing written.
    pub unchanged: u64,
    /// Sent to quarantine with a rule and a reason.
    pub rejected: u64,
    /// Dropped by a rule the pipeline declares (`skip`), e.g. total rows.
    pub filtered: u64,
    /// Identical to a row seen earlier in the same run.
    pub duplicates: u64,
    /// Rows that vanished from the source and were soft-deleted (delete detection). Not rows
    /// read, so not part of the balance.
    #[serde(default)]
    pub deleted: u64,
}

/// The counts of a run do not add up: some rows went nowhere, or somewhere twice.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "row accounting does not balance: read {read} ≠ loaded {loaded} + rejected {rejected} + \
     filtered {filtered} + duplicates {duplicates}"
)]
pub struct AccountingError {
    /// Rows read.
    pub read: u64,
    /// inserted + updated + unchanged.
    pub loaded: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows filtered.
    pub filtered: u64,
    /// Rows counted as duplicates.
    pub duplicates: u64,
}

impl RowCounts {
    /// Rows that reached the warehouse (new, revised or confirmed unchanged).
    pub fn loaded(&self) -> u64 {
        self.inserted + self.updated + self.unchanged
    }

    /// Adds another set of counts (e.g. one batch's) to these.
    pub fn add(&mut self, other: &RowCounts) {
        self.read += other.read;
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
        self.filtered += other.filtered;
        self.duplicates += other.duplicates;
        self.deleted += other.deleted;
    }

    /// Checks the invariant; a run whose counts do not balance must fail.
    pub fn verify(&self) -> Result<(), AccountingError> {
        let accounted = self.loaded() + self.rejected + self.filtered + self.duplicates;
        if accounted == self.read {
            Ok(())
        } else {
            Err(AccountingError {
                read: self.read,
                loaded: self.loaded(),
                rejected: self.rejected,
                filtered: self.filtered,
                duplicates: self.duplicates,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_counts_verify() {
        let c = RowCounts {
            read: 10,
            inserted: 4,
            updated: 1,
            unchanged: 1,
            rejected: 2,
            filtered: 1,
            duplicates: 1,
            deleted: 3,
        };
        assert_eq!(c.verify(), Ok(()), "deleted rows were not read: they are outside the balance");
    }

    #[test]
    fn a_lost_row_fails_verification() {
        let c = RowCounts { read: 10, inserted: 8, rejected: 1, ..Default::default() };
        let err = c.verify().expect_err("one row is unaccounted for");
        assert_eq!(err.loaded, 8);
        assert!(err.to_string().contains("read 10"));
    }

    #[test]
    fn add_sums_every_field() {
        let mut a = RowCounts { read: 1, inserted: 1, ..Default::default() };
        a.add(&RowCounts { read: 2, rejected: 1, duplicates: 1, ..Default::default() });
        assert_eq!(a, RowCounts { read: 3, inserted: 1, rejected: 1, duplicates: 1, ..Default::default() });
    }
}
