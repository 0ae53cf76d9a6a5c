//! A checked expression, written for SQLite. listmonk's users write
//! PostgreSQL; rebound's SQLite tables keep timestamps as ISO-8601 UTC text
//! and attribs as JSON text, so the forms whose meaning carries over are
//! rewritten:
//! - `x::int` → `CAST(x AS INTEGER)` (likewise REAL, TEXT); a cast to a date
//!   or timestamp keeps the text (it compares in time order already), and
//!   `TIMESTAMP '…'` becomes the string;
//! - `ILIKE` → `LIKE` (SQLite's LIKE ignores ASCII case);
//! - `now()` / `CURRENT_TIMESTAMP` → the current time in the stored format;
//! - `attribs ? 'key'` → `json_type(attribs, '$."key"') IS NOT NULL`.
//!
//! `->` and `->>` need nothing: SQLite (3.38+) has them with PostgreSQL's
//! meaning for a key or an index.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, FunctionArguments, ObjectNamePart, Value, visit_expressions_mut,
};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use super::check::{folded, type_name};

/// The format of `sqlite::ts`: what stored timestamps compare against.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

pub fn render(expr: &Expr) -> String {
    let mut expr = expr.clone();
    let _ = visit_expressions_mut(&mut expr, |e| {
        rewrite(e);
        ControlFlow::<()>::Continue(())
    });
    expr.to_string()
}

fn rewrite(e: &mut Expr) {
    match e {
        Expr::Cast { kind, expr, data_type, .. } => match sqlite_type(data_type) {
            Some(t) => {
                *kind = CastKind::Cast;
                *data_type = t;
            }
            None => *e = Expr::Nested(Box::new((**expr).clone())),
        },
        Expr::TypedString(t) if sqlite_type(&t.data_type).is_none() => {
            *e = Expr::Value(t.value.clone());
        }
        Expr::ILike { negated, any, expr, pattern, escape_char } => {
            *e = Expr::Like {
                negated: *negated,
                any: *any,
                expr: expr.clone(),
                pattern: pattern.clone(),
                escape_char: escape_char.clone(),
            };
        }
        Expr::Function(f) if is_clock(f) => {
            if let Some(now) = parse(NOW) {
                *e = now;
            }
        }
        Expr::BinaryOp { left, op: BinaryOperator::Question, right } => {
            if let Expr::Value(v) = right.as_ref()
                && let Value::SingleQuotedString(key) = &v.value
                && !key.contains(['"', '\\', '\''])
                && let Some(test) = parse(&format!("json_type({left}, '$.\"{key}\"') IS NOT NULL"))
            {
                *e = Expr::Nested(Box::new(test));
            }
        }
        _ => {}
    }
}

fn is_clock(f: &sqlparser::ast::Function) -> bool {
    let name = match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => folded(id),
        _ => return false,
    };
    let no_args = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(l) => l.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    no_args && (name == "now" || name == "current_timestamp")
}

/// SQLite's type for a cast, or None where the value is kept as it is
/// (dates and timestamps are ISO text in rebound's SQLite tables).
fn sqlite_type(t: &DataType) -> Option<DataType> {
    match type_name(t).as_str() {
        "int" | "integer" | "bigint" | "smallint" | "int2" | "int4" | "int8" | "boolean" | "bool" => {
            Some(DataType::Integer(None))
        }
        "numeric" | "decimal" | "real" | "float" | "float4" | "float8" | "double precision" => {
            Some(DataType::Real)
        }
        "text" | "varchar" | "character varying" | "char" | "character" | "uuid" | "json" | "jsonb" => {
            Some(DataType::Text)
        }
        _ => None,
    }
}

/// Parses SQL this module wrote; None (and the form stays as it was, to
/// fail in SQLite with its own error) when a part of it is PostgreSQL's only.
fn parse(sql: &str) -> Option<Expr> {
    Parser::new(&SQLiteDialect {}).try_with_sql(sql).and_then(|mut p| p.parse_expr()).ok()
}
