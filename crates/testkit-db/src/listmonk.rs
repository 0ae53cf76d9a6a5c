//! listmonk v6.2.0's reference files, when the workspace has them beside it
//! (`<repo>/../shared/listmonk/v6.2.0/`): the default settings rows of its
//! schema.sql, as a listmonk database holds them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

/// A file of listmonk v6.2.0's own (schema.sql, queries/bounces.sql, ...),
/// from the external fixtures beside the checkout (`../shared/listmonk/v6.2.0`).
/// When they are absent this prints a NOTE and returns None, so a clone on
/// its own still passes; with `REBOUND_REQUIRE_SHARED=1` (set by `.ci/run`)
/// their absence fails the test.
pub fn file(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/listmonk/v6.2.0").join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("REBOUND_REQUIRE_SHARED").as_deref() != Ok("1"),
        "REBOUND_REQUIRE_SHARED=1 but listmonk's {name} is not at {}",
        path.display()
    );
    eprintln!(
        "NOTE: listmonk's {name} is not at {} (the external fixtures beside the checkout); \
         this test checks nothing without it (REBOUND_REQUIRE_SHARED=1 makes its absence fail)",
        path.display()
    );
    None
}

/// The rows of schema.sql's `INSERT INTO settings (key, value) VALUES ...`,
/// each value parsed as the JSON listmonk stores. `None` (with a NOTE) when
/// the file is absent, see [`file`].
pub fn default_settings() -> Option<BTreeMap<String, Value>> {
    let path = file("schema.sql")?;
    let sql = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(settings_rows(&sql).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

impl crate::TestDb {
    /// A fresh PostgreSQL database made exactly as `listmonk --install` makes
    /// it: listmonk v6.2.0's own schema.sql, run as is. None (with a NOTE)
    /// when the file is absent, see [`file`].
    pub async fn listmonk() -> Option<crate::TestDb> {
        let schema = std::fs::read_to_string(file("schema.sql")?).expect("read listmonk's schema.sql");
        let db = crate::TestDb::new(crate::Backend::Postgres).await;
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.expect("connect");
        sqlx::raw_sql(&schema).execute(&mut conn).await.expect("run listmonk's schema.sql");
        Some(db)
    }
}

/// Panics unless every row of `listmonk` is in `stored`, field for field:
/// the same keys with the same values, recursively (lists entry by entry).
/// `stored` may have more: rebound's own keys, and its own fields in an
/// entry (a mailbox's `uuid`, `folder`, ...).
pub fn assert_kept(listmonk: &BTreeMap<String, Value>, stored: &BTreeMap<String, Value>) {
    for (key, want) in listmonk {
        match stored.get(key) {
            Some(got) => assert_value_kept(key, want, got),
            None => panic!("{key}: dropped"),
        }
    }
}

fn assert_value_kept(path: &str, want: &Value, got: &Value) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let gv = g.get(k).unwrap_or_else(|| panic!("{path}.{k}: dropped"));
                assert_value_kept(&format!("{path}.{k}"), wv, gv);
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{path}: {} entries, not {}", g.len(), w.len());
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                assert_value_kept(&format!("{path}[{i}]"), wv, gv);
            }
        }
        _ => assert_eq!(want, got, "{path} changed"),
    }
}

/// Parses the settings INSERT of a listmonk schema.sql.
pub fn settings_rows(sql: &str) -> Result<BTreeMap<String, Value>, String> {
    const START: &str = "INSERT INTO settings (key, value) VALUES";
    let at = sql.find(START).ok_or("no settings INSERT")?;
    let mut rest = &sql[at + START.len()..];
    let mut rows = BTreeMap::new();
    loop {
        rest = rest.trim_start();
        rest = rest.strip_prefix('(').ok_or_else(|| format!("expected a row at {:?}", head(rest)))?;
        let (key, after) = sql_string(rest.trim_start())?;
        let after = after.trim_start().strip_prefix(',').ok_or("expected , between key and value")?;
        let (value, after) = sql_string(after.trim_start())?;
        let json = serde_json::from_str(&value).map_err(|e| format!("{key}: {e}"))?;
        rows.insert(key, json);
        let after = after.trim_start().strip_prefix(')').ok_or("expected ) after a row")?.trim_start();
        if after.starts_with(';') {
            return Ok(rows);
        }
        rest = after.strip_prefix(',').ok_or_else(|| format!("expected , or ; at {:?}", head(after)))?;
    }
}

/// A single-quoted SQL literal ('' is a quote) and what follows it.
fn sql_string(s: &str) -> Result<(String, &str), String> {
    let mut body = s.strip_prefix('\'').ok_or_else(|| format!("expected a string at {:?}", head(s)))?;
    let mut out = String::new();
    loop {
        let end = body.find('\'').ok_or("unterminated string")?;
        out.push_str(&body[..end]);
        body = &body[end + 1..];
        match body.strip_prefix('\'') {
            Some(more) => {
                out.push('\'');
                body = more;
            }
            None => return Ok((out, body)),
        }
    }
}

fn head(s: &str) -> &str {
    &s[..s.len().min(40)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_spanning_lines_and_quotes() {
        let sql = "x;\nINSERT INTO settings (key, value) VALUES\n    ('app.name', '\"it''s\"'),\n    ('smtp',\n        '[{\"a\": 1},\n {\"b\": 2}]');\n-- next";
        let rows = settings_rows(sql).unwrap();
        assert_eq!(rows["app.name"], "it's");
        assert_eq!(rows["smtp"][1]["b"], 2);
        assert!(settings_rows("INSERT INTO settings (key, value) VALUES ('a', 'nope');").is_err());
    }
}
