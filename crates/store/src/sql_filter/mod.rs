//! listmonk's `query` parameter: an SQL expression over subscribers
//! (`subscribers.email = 'x'`, `subscribers.attribs->>'city' = 'x'`) that
//! listmonk splices into the WHERE of its subscriber query.
//!
//! listmonk trusts the expression to any user allowed to run it: it runs it
//! in a READ ONLY transaction and lets it read the tables listmonk names.
//! rebound keeps its users, their password hashes and the UI's sessions in
//! the same database, and runs as whatever role the operator gave it (often
//! the database owner, in tests a superuser, for whom `pg_read_file()` works
//! inside a READ ONLY transaction). So rebound does not pass the text on: it
//! parses it as exactly one expression, refuses anything outside a short
//! allow-list (tables, functions, operators, casts, literals; see
//! [`check`]), and runs its own rendering of what it parsed, so nothing the
//! parser did not see (a comment, a second statement) reaches the database.
//! The backends still run it read-only and with a time limit.

mod check;
mod sqlite;

use std::fmt;

use sqlparser::ast::Expr;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// The tables an expression may read. `bounces` only for callers who may
/// read bounces (the caller decides).
pub const SUBSCRIBER_TABLES: [&str; 3] = ["subscribers", "lists", "subscriber_lists"];
pub const BOUNCES_TABLE: &str = "bounces";

/// Longer expressions are refused before parsing: a subscriber filter is a
/// line or two, and the parser builds long operator chains as deep trees.
pub const MAX_LEN: usize = 8192;

/// Why an expression was refused; the message names the part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

/// An expression that passed the allow-list. Only [`SqlFilter::parse`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFilter {
    expr: Expr,
}

impl SqlFilter {
    /// Parses `text` (PostgreSQL syntax, as listmonk's users write it) as one
    /// expression that reads only `tables`. One trailing `;` is dropped, as
    /// listmonk does.
    pub fn parse(text: &str, tables: &[&str]) -> Result<SqlFilter, FilterError> {
        if text.len() > MAX_LEN {
            return Err(FilterError(format!("query is longer than {MAX_LEN} bytes")));
        }
        let text = text.trim();
        let text = text.strip_suffix(';').unwrap_or(text);
        let dialect = PostgreSqlDialect {};
        let tokens = Tokenizer::new(&dialect, text).tokenize().map_err(|e| syntax(&e.to_string()))?;
        if tokens.iter().any(|t| {
            matches!(
                t,
                Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_))
            )
        }) {
            return Err(FilterError("comments (-- or /* */) are not allowed in query".into()));
        }
        if tokens.iter().all(|t| matches!(t, Token::Whitespace(_))) {
            return Err(FilterError("query is empty".into()));
        }
        let mut parser = Parser::new(&dialect).with_tokens(tokens);
        let expr = parser.parse_expr().map_err(|e| syntax(&e.to_string()))?;
        let rest = parser.peek_token();
        if rest.token != Token::EOF {
            return Err(FilterError(format!(
                "query must be one SQL expression; found {} after it",
                quote(&rest.token.to_string())
            )));
        }
        check::Checker::new(tables).expr(&expr, 0)?;
        Ok(SqlFilter { expr })
    }

    /// The expression for PostgreSQL.
    pub fn postgres(&self) -> String {
        self.expr.to_string()
    }

    /// The expression for SQLite: PostgreSQL's casts, ILIKE, now() and `?`
    /// written the way SQLite has them; what SQLite lacks (regular
    /// expressions, `@>`, intervals) stays and fails there with its error.
    pub fn sqlite(&self) -> String {
        sqlite::render(&self.expr)
    }
}

fn syntax(e: &str) -> FilterError {
    let e = e.strip_prefix("sql parser error: ").unwrap_or(e);
    FilterError(format!("query is not a valid SQL expression: {e}"))
}

/// `part`, shortened for a message.
pub(crate) fn quote(part: &str) -> String {
    const MAX: usize = 80;
    if part.chars().count() <= MAX {
        format!("`{part}`")
    } else {
        format!("`{}…`", part.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests;
