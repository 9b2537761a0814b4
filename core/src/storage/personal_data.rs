//! The personal-data registry: every table that can hold data about the shopper says here what a purpose
//! withdrawal, a deletion request and an export do to it. Withdrawal and deletion run from this list, so a new
//! table (coupons, redemptions, sightings, visits) is reached by joining it; a test fails when a table exists
//! that is in neither list below.

use rusqlite::{params, Connection};

/// What withdrawing consent for a purpose does to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnWithdrawal {
    /// Rows of the withdrawn purpose are deleted (the purpose is in this column).
    DeletePurpose { column: &'static str },
    /// Rows are kept, and these columns of every row are cleared, when `purpose` is withdrawn (what the row says
    /// apart from them still has a job: an offer's cap holds after location is withdrawn and granted again).
    ClearColumns { purpose: &'static str, columns: &'static [&'static str], why: &'static str },
    /// Not collected under a purpose; kept, and why.
    Keep { why: &'static str },
}

/// What a deletion request does to a table on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnDeletion {
    Wipe,
    /// Kept, and why (the deletion request itself covers it on the backend).
    Keep {
        why: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PersonalTable {
    pub table: &'static str,
    pub on_withdrawal: OnWithdrawal,
    pub on_deletion: OnDeletion,
    /// The member of `export_data()` that shows the table's contents.
    pub export: &'static str,
}

pub(crate) const PERSONAL_TABLES: &[PersonalTable] = &[
    PersonalTable {
        table: "events",
        on_withdrawal: OnWithdrawal::DeletePurpose { column: "purpose" },
        on_deletion: OnDeletion::Wipe,
        export: "events",
    },
    PersonalTable {
        table: "dead_letters",
        on_withdrawal: OnWithdrawal::DeletePurpose { column: "purpose" },
        on_deletion: OnDeletion::Wipe,
        export: "deadLetters",
    },
    PersonalTable {
        table: "contexts",
        on_withdrawal: OnWithdrawal::Keep { why: "identity of the events kept; pruned with them" },
        on_deletion: OnDeletion::Wipe,
        export: "anonymousId",
    },
    PersonalTable {
        table: "known_anonymous_ids",
        on_withdrawal: OnWithdrawal::Keep { why: "names the install in a later deletion request" },
        on_deletion: OnDeletion::Wipe,
        export: "rightsRequests",
    },
    PersonalTable {
        table: "consent_log",
        on_withdrawal: OnWithdrawal::Keep { why: "the withdrawal itself is recorded here" },
        on_deletion: OnDeletion::Keep { why: "the business's proof of what the shopper decided" },
        export: "consent",
    },
    PersonalTable {
        table: "rights_requests",
        on_withdrawal: OnWithdrawal::Keep { why: "the shopper's own requests" },
        on_deletion: OnDeletion::Keep { why: "the request must reach the backend" },
        export: "rightsRequests",
    },
    PersonalTable {
        table: "wallet_coupons",
        on_withdrawal: OnWithdrawal::Keep { why: "a service the shopper asked for, not collected under a purpose" },
        on_deletion: OnDeletion::Wipe,
        export: "wallet",
    },
    PersonalTable {
        table: "wallet_outbox",
        on_withdrawal: OnWithdrawal::Keep { why: "the shopper's own clips and redemptions" },
        on_deletion: OnDeletion::Wipe,
        export: "wallet",
    },
    PersonalTable {
        table: "wallet_device",
        on_withdrawal: OnWithdrawal::Keep { why: "the device key redemptions are attributed to" },
        on_deletion: OnDeletion::Wipe,
        export: "wallet",
    },
    PersonalTable {
        table: "proximity_visits",
        on_withdrawal: OnWithdrawal::DeletePurpose { column: "purpose" },
        on_deletion: OnDeletion::Wipe,
        export: "proximity",
    },
    PersonalTable {
        table: "proximity_offers",
        on_withdrawal: OnWithdrawal::ClearColumns {
            purpose: "location",
            columns: &["zone", "visit_id"],
            why: "frequency caps and the daily cap must survive a withdrawal and a new grant",
        },
        on_deletion: OnDeletion::Wipe,
        export: "proximity",
    },
    PersonalTable {
        table: "proximity_pickups",
        on_withdrawal: OnWithdrawal::ClearColumns {
            purpose: "location",
            columns: &["visit_id"],
            why: "the orders the shopper asked us to watch for; the arrival's visit goes with location",
        },
        on_deletion: OnDeletion::Wipe,
        export: "proximity",
    },
    PersonalTable {
        table: "audience_tally",
        on_withdrawal: OnWithdrawal::DeletePurpose { column: "purpose" },
        on_deletion: OnDeletion::Wipe,
        export: "proximity",
    },
];

/// Tables that hold no data about the shopper, and why (checked against the schema by the test below).
#[cfg(test)]
const NOT_PERSONAL: &[(&str, &str)] = &[
    ("counters", "aggregate counts"),
    ("meta", "settings: policy, ETag, lane state; the identity keys are wiped by a deletion with `contexts`"),
];

/// Deletes the rows of `purposes` from every table collected under a purpose; returns the queued events among
/// them (what `status()` counts as purged).
pub(crate) fn withdraw(tx: &Connection, purposes: &[String]) -> rusqlite::Result<u64> {
    let mut queued = 0;
    for entry in PERSONAL_TABLES {
        if let OnWithdrawal::ClearColumns { purpose, columns, .. } = entry.on_withdrawal {
            if purposes.iter().any(|p| p == purpose) {
                let set: Vec<String> = columns.iter().map(|c| format!("{c} = NULL")).collect();
                tx.execute(&format!("UPDATE {} SET {}", entry.table, set.join(", ")), [])?;
            }
        }
        if let OnWithdrawal::DeletePurpose { column } = entry.on_withdrawal {
            let mut delete = tx.prepare_cached(&format!("DELETE FROM {} WHERE {column} = ?1", entry.table))?;
            for purpose in purposes {
                let deleted = delete.execute(params![purpose])? as u64;
                if entry.table == "events" {
                    queued += deleted;
                }
            }
        }
    }
    Ok(queued)
}

/// Every purpose a withdrawal could reach: those rows of purpose-collected tables carry, and those whose
/// withdrawal clears columns. A withdrawal is judged against this list, so data held only outside the queue (a
/// visit, an audience count, a dead letter) is reached too.
pub(crate) fn held_purposes(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut purposes: Vec<String> = Vec::new();
    for entry in PERSONAL_TABLES {
        match entry.on_withdrawal {
            OnWithdrawal::DeletePurpose { column } => {
                let mut stmt = conn.prepare_cached(&format!("SELECT DISTINCT {column} FROM {}", entry.table))?;
                for purpose in stmt.query_map([], |r| r.get::<_, String>(0))? {
                    purposes.push(purpose?);
                }
            }
            OnWithdrawal::ClearColumns { purpose, .. } => purposes.push(purpose.to_string()),
            OnWithdrawal::Keep { .. } => {}
        }
    }
    purposes.sort_unstable();
    purposes.dedup();
    Ok(purposes)
}

/// Empties every table a deletion request wipes.
pub(crate) fn wipe(tx: &Connection) -> rusqlite::Result<()> {
    for entry in PERSONAL_TABLES.iter().filter(|e| e.on_deletion == OnDeletion::Wipe) {
        tx.execute(&format!("DELETE FROM {}", entry.table), [])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_registered_as_personal_data_or_said_not_to_be() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::Storage::open(dir.path()).unwrap();
        let inner = storage.lock();
        let mut stmt = inner
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .unwrap();
        let tables: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert!(tables.len() >= 8, "{tables:?}");
        for table in &tables {
            let personal = PERSONAL_TABLES.iter().any(|e| e.table == table);
            let not_personal = NOT_PERSONAL.iter().any(|(name, _)| name == table);
            assert!(
                personal ^ not_personal,
                "table `{table}` must join storage::personal_data::PERSONAL_TABLES (what withdrawal, deletion and \
                 export do to it) or, holding nothing about the shopper, NOT_PERSONAL"
            );
        }
        for entry in PERSONAL_TABLES {
            assert!(tables.iter().any(|t| t == entry.table), "registered table `{}` does not exist", entry.table);
            if let OnWithdrawal::DeletePurpose { column } = entry.on_withdrawal {
                let sql = format!("SELECT {column} FROM {} LIMIT 0", entry.table);
                assert!(inner.conn.prepare(&sql).is_ok(), "{}.{column} does not exist", entry.table);
            }
            if let OnWithdrawal::ClearColumns { columns, .. } = entry.on_withdrawal {
                for column in columns {
                    let sql = format!("SELECT {column} FROM {} LIMIT 0", entry.table);
                    assert!(inner.conn.prepare(&sql).is_ok(), "{}.{column} does not exist", entry.table);
                }
            }
        }
    }
}
