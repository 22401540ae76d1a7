//! The two databases' schemas cannot drift apart: both are built from their own migrations
//! (SQLite's history, PostgreSQL's folded schema and what followed it) and compared table by
//! table — columns with their type class and nullability, primary keys, indexes, foreign keys,
//! CHECK constraints and triggers. Needs a PostgreSQL server: `TEST_POSTGRES_URL` (which
//! `scripts/test.sh` exports through `scripts/postgres.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use sqlx::{PgPool, Row, SqlitePool};

/// A foreign key: (columns, referenced table, referenced columns, on delete).
type ForeignKey = (Vec<String>, String, Vec<String>, String);

/// One table as both dialects can describe it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column → (type class, nullable).
    columns: BTreeMap<String, (&'static str, bool)>,
    /// The primary key's columns, in order.
    primary_key: Vec<String>,
    /// Indexes other than the primary key's: (unique, columns in order).
    indexes: BTreeSet<(bool, Vec<String>)>,
    /// Foreign keys.
    foreign_keys: BTreeSet<ForeignKey>,
    /// Columns that carry a CHECK constraint.
    checked: BTreeSet<String>,
}

/// Tables by name, and triggers as (name, table).
#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, Table>,
    triggers: BTreeSet<(String, String)>,
}

/// What a declared type stores, in the classes both dialects share.
fn type_class(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    match t.as_str() {
        "integer" | "bigint" | "int" | "int8" | "int4" | "smallint" => "integer",
        "boolean" | "bool" => "boolean",
        "text" | "character varying" | "varchar" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" | "float8" => "float",
        "jsonb" | "json" => "json",
        _ => panic!("a declared type this check does not know: {declared}"),
    }
}

/// The columns named in a CHECK clause's SQL that are columns of `columns`.
fn columns_in(check: &str, columns: &BTreeMap<String, (&'static str, bool)>) -> Vec<String> {
    let words: BTreeSet<String> = check
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_ascii_lowercase)
        .collect();
    columns
        .keys()
        .filter(|c| words.contains(c.as_str()))
        .cloned()
        .collect()
}

/// The CHECK clauses of a `CREATE TABLE` statement (SQLite keeps only the statement).
fn sqlite_checks(create: &str) -> Vec<String> {
    let upper = create.to_ascii_uppercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at;
        // The keyword alone (not `next_check_at`), followed by its parenthesis.
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let before = create[..start].chars().next_back().is_some_and(word);
        let rest = create[start + 5..].trim_start();
        if before || !rest.starts_with('(') {
            from = start + 5;
            continue;
        }
        let Some(open) = create[start..].find('(') else {
            break;
        };
        let mut depth = 0;
        let mut end = start + open;
        for (i, c) in create[start + open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(create[start + open..=end].to_owned());
        from = end + 1;
    }
    out
}

async fn sqlite_schema(pool: &SqlitePool) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (name, create) in tables {
        let mut table = Table::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for row in sqlx::query(&format!("PRAGMA table_info(\"{name}\")"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let column: String = row.get("name");
            let declared: String = row.get("type");
            let not_null: i64 = row.get("notnull");
            let pk_at: i64 = row.get("pk");
            if pk_at > 0 {
                pk.push((pk_at, column.clone()));
            }
            // A primary key column is never NULL (SQLite allows it only for legacy reasons, and
            // every key here is an INTEGER rowid or declared NOT NULL).
            let nullable = not_null == 0 && pk_at == 0;
            table
                .columns
                .insert(column, (type_class(&declared), nullable));
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        for index in sqlx::query(&format!("PRAGMA index_list(\"{name}\")"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let origin: String = index.get("origin");
            if origin == "pk" {
                continue;
            }
            let index_name: String = index.get("name");
            let unique: i64 = index.get("unique");
            let mut columns: Vec<(i64, String)> =
                sqlx::query(&format!("PRAGMA index_info(\"{index_name}\")"))
                    .fetch_all(pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| (r.get("seqno"), r.get("name")))
                    .collect();
            columns.sort();
            table
                .indexes
                .insert((unique == 1, columns.into_iter().map(|(_, c)| c).collect()));
        }
        let mut keys: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for fk in sqlx::query(&format!("PRAGMA foreign_key_list(\"{name}\")"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let id: i64 = fk.get("id");
            let entry = keys.entry(id).or_insert_with(|| {
                (
                    Vec::new(),
                    fk.get::<String, _>("table"),
                    Vec::new(),
                    fk.get::<String, _>("on_delete").to_ascii_uppercase(),
                )
            });
            entry.0.push(fk.get("from"));
            // A reference to the parent's primary key may leave its column unnamed.
            let to: Option<String> = fk.get("to");
            entry.2.push(to.unwrap_or_else(|| "id".into()));
        }
        table.foreign_keys = keys.into_values().collect();
        for check in sqlite_checks(&create) {
            table.checked.extend(columns_in(&check, &table.columns));
        }
        schema.tables.insert(name, table);
    }
    schema.triggers = sqlx::query_as(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    schema
}

async fn postgres_schema(pool: &PgPool) -> Schema {
    let mut schema = Schema::default();
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, column, data_type, nullable) in columns {
        schema
            .tables
            .entry(table)
            .or_default()
            .columns
            .insert(column, (type_class(&data_type), nullable == "YES"));
    }
    // Indexes (with the primary key's), their columns in order.
    let indexes: Vec<(String, bool, bool, Vec<String>)> = sqlx::query_as(
        "SELECT t.relname::text, ix.indisunique, ix.indisprimary, \
                ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) \
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                      ORDER BY k.n) \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE ns.nspname = 'public' AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, unique, primary, columns) in indexes {
        let table = schema.tables.entry(table).or_default();
        if primary {
            table.primary_key = columns;
        } else {
            table.indexes.insert((unique, columns));
        }
    }
    // (table, columns, referenced table, referenced columns, on delete)
    type Row = (String, Vec<String>, String, Vec<String>, String);
    let keys: Vec<Row> = sqlx::query_as(
        "SELECT t.relname::text, \
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) \
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                      ORDER BY k.n), \
                r.relname::text, \
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n) \
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum \
                      ORDER BY k.n), \
                CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' \
                     WHEN 'd' THEN 'SET DEFAULT' WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE c.contype = 'f' AND ns.nspname = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, from, to_table, to, on_delete) in keys {
        schema
            .tables
            .entry(table)
            .or_default()
            .foreign_keys
            .insert((from, to_table, to, on_delete));
    }
    let checks: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.relname::text, pg_get_constraintdef(c.oid) \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE c.contype = 'c' AND ns.nspname = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, check) in checks {
        let table = schema.tables.entry(table).or_default();
        let named = columns_in(&check, &table.columns);
        table.checked.extend(named);
    }
    schema.triggers = sqlx::query_as(
        "SELECT DISTINCT trigger_name::text, event_object_table::text \
         FROM information_schema.triggers WHERE trigger_schema = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    schema
}

#[tokio::test]
async fn sqlite_and_postgresql_migrations_build_the_same_schema() {
    let server = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("needs a PostgreSQL server: run `source scripts/postgres.sh` (scripts/test.sh does)")
    });
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}/schema.db", dir.path().display());
    let postgres_url = support::postgres::database_for(&server, "schema", dir.path()).await;
    // Each built by the product's own migrations.
    backend::store::connect(&sqlite_url).await.unwrap();
    backend::store::connect(&postgres_url).await.unwrap();

    let sqlite = sqlite_schema(&SqlitePool::connect(&sqlite_url).await.unwrap()).await;
    let postgres = postgres_schema(&PgPool::connect(&postgres_url).await.unwrap()).await;

    let names = |s: &Schema| s.tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&sqlite), names(&postgres), "the same tables");
    for (name, table) in &sqlite.tables {
        assert_eq!(
            Some(table),
            postgres.tables.get(name),
            "table {name}: SQLite (left) and PostgreSQL (right) differ"
        );
    }
    assert_eq!(sqlite.triggers, postgres.triggers, "the same triggers");
    // The check sees something: the tables the product cannot run without.
    for table in [
        "users",
        "sessions",
        "connections",
        "oauth_states",
        "stripe_charges",
    ] {
        assert!(sqlite.tables.contains_key(table), "{table}");
    }
}

#[test]
fn the_check_clause_reader_finds_each_clause_and_its_columns() {
    let create = "CREATE TABLE t (a TEXT CHECK (a IN ('x', 'y')), b INTEGER, next_check_at INT, \
                  c TEXT, CHECK ((b > 0) AND (length(c) < 5)))";
    let checks = sqlite_checks(create);
    assert_eq!(checks.len(), 2, "{checks:?}");
    let columns: BTreeMap<String, (&'static str, bool)> = ["a", "b", "c"]
        .into_iter()
        .map(|c| (c.to_owned(), ("text", true)))
        .collect();
    assert_eq!(columns_in(&checks[0], &columns), ["a"]);
    assert_eq!(columns_in(&checks[1], &columns), ["b", "c"]);
}
