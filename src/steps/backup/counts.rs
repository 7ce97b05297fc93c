//! Per-table row counts: what a restore must reproduce.
//!
//! Every ordinary and partitioned table outside the system schemas is counted with
//! `count(*)`, with `row_security` off so that a policy can never make a count smaller than
//! the table (where a policy would apply to the connecting role, PostgreSQL refuses the
//! count instead, as it refuses `pg_dump`). Tables are named `schema.table`.

use std::collections::BTreeMap;

use sqlx::PgConnection;

/// Row counts by `schema.table`.
pub(crate) type RowCounts = BTreeMap<String, i64>;

/// Counts the rows of every user table, on `conn` as it is (inside the caller's transaction
/// and snapshot, if any).
pub(crate) async fn row_counts(conn: &mut PgConnection) -> Result<RowCounts, sqlx::Error> {
    sqlx::query("SET row_security = off").execute(&mut *conn).await?;
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = RowCounts::new();
    for (schema, table) in tables {
        let sql = format!("SELECT count(*) FROM {}.{}", quote(&schema), quote(&table));
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *conn).await?;
        counts.insert(format!("{schema}.{table}"), n);
    }
    Ok(counts)
}

/// The tables whose counts differ, as "`t`: 5 in the backup, 3 restored" (a table missing
/// on one side counts as absent).
pub(crate) fn differences(expected: &RowCounts, actual: &RowCounts, here: &str) -> Vec<String> {
    let mut names: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| expected.get(*name) != actual.get(*name))
        .map(|name| {
            let show = |n: Option<&i64>| n.map_or("absent".to_string(), |n| n.to_string());
            format!(
                "`{name}`: {} in the backup, {} {here}",
                show(expected.get(name)),
                show(actual.get(name))
            )
        })
        .collect()
}

/// The total of the counts.
pub(crate) fn total(counts: &RowCounts) -> i64 {
    counts.values().sum()
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::{RowCounts, differences};

    #[test]
    fn differences_name_each_table_and_both_counts() {
        let a: RowCounts = [("public.a".to_string(), 5), ("public.b".to_string(), 1)].into();
        let b: RowCounts = [("public.a".to_string(), 3), ("public.c".to_string(), 0)].into();
        assert_eq!(
            differences(&a, &b, "restored"),
            vec![
                "`public.a`: 5 in the backup, 3 restored",
                "`public.b`: 1 in the backup, absent restored",
                "`public.c`: absent in the backup, 0 restored"
            ]
        );
        assert!(differences(&a, &a, "restored").is_empty());
    }
}
