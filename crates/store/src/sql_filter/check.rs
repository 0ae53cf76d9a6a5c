//! The allow-list. Every node of the parsed expression must be one of the
//! forms below; anything else (another table, a function not listed, a
//! placeholder, a window, a CTE, a set operation, a row lock) is refused
//! with a message naming it. Refusing by default means a new sqlparser node
//! or a PostgreSQL function nobody thought of is refused too.
//!
//! What is allowed, and why it is enough for a subscriber filter:
//! - columns, bare or qualified by an allowed table or an alias a subquery
//!   declared over one;
//! - numbers, 'single-quoted' strings, TRUE/FALSE/NULL, and typed literals
//!   (`DATE '2024-01-01'`, `INTERVAL '7 days'`) of the types in [`TYPES`];
//! - comparison, boolean, arithmetic, `||`, LIKE/ILIKE, regular-expression
//!   matches, the JSON operators (-> ->> #> #>> @> <@ ? ?| ?&), IS [NOT]
//!   NULL/TRUE/FALSE/DISTINCT FROM, BETWEEN, IN (list or subquery), EXISTS,
//!   CASE, casts to [`TYPES`], EXTRACT, SUBSTRING, TRIM;
//! - the functions in [`FUNCTIONS`] (string, number, date and JSON helpers,
//!   and the five aggregates for subqueries);
//! - subqueries that are one plain SELECT over allowed tables (joins, WHERE,
//!   GROUP BY, HAVING, DISTINCT), without ORDER BY, LIMIT, WITH or locks.

use std::collections::HashSet;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, Ident, InTarget, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, Query, Select,
    SelectFlavor, SelectItem, SetExpr, TableFactor, TableWithJoins, UnaryOperator, Value,
};

use super::{FilterError, quote};

/// Deeper expressions are refused (and never walked further): no real
/// filter nests this far, and it bounds the recursion here.
const MAX_DEPTH: usize = 64;

/// None of them writes, sleeps, reads files or settings, or makes a value
/// much longer than its input (no replace, repeat or lpad: nested, they
/// build a gigabyte string from a short expression).
pub const FUNCTIONS: &[&str] = &[
    // strings
    "lower",
    "upper",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "length",
    "char_length",
    "substr",
    "concat",
    "strpos",
    "left",
    "right",
    "split_part",
    // null handling
    "coalesce",
    "nullif",
    // numbers
    "abs",
    "round",
    "floor",
    "ceil",
    "greatest",
    "least",
    // dates
    "now",
    "current_timestamp",
    "current_date",
    "date_trunc",
    "date_part",
    "age",
    "to_char",
    // JSON (PostgreSQL's and SQLite's names)
    "json_array_length",
    "jsonb_array_length",
    "json_typeof",
    "jsonb_typeof",
    "json_extract_path_text",
    "jsonb_extract_path_text",
    "json_extract",
    "json_type",
    // aggregates, for subqueries
    "count",
    "sum",
    "min",
    "max",
    "avg",
];

/// Cast and typed-literal targets, by name without length or precision.
pub const TYPES: &[&str] = &[
    "int",
    "integer",
    "bigint",
    "smallint",
    "int2",
    "int4",
    "int8",
    "numeric",
    "decimal",
    "real",
    "float",
    "float4",
    "float8",
    "double precision",
    "text",
    "varchar",
    "character varying",
    "char",
    "character",
    "boolean",
    "bool",
    "date",
    "timestamp",
    "timestamptz",
    "timestamp with time zone",
    "timestamp without time zone",
    "interval",
    "json",
    "jsonb",
    "uuid",
];

/// Names PostgreSQL reads as functions although they are written like
/// columns; only the clock ones are allowed (`current_user` and its kin
/// tell about the server, not about subscribers).
const SQL_VALUE_FUNCTIONS: &[&str] = &[
    "current_user",
    "session_user",
    "user",
    "current_role",
    "current_catalog",
    "current_schema",
    "system_user",
];

pub struct Checker<'a> {
    tables: &'a [&'a str],
    /// Aliases declared by the subqueries being walked, innermost last.
    aliases: Vec<HashSet<String>>,
}

/// A name as the database sees it: unquoted names fold to lower case.
pub(super) fn folded(id: &Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

fn refuse(what: &str, part: &impl ToString) -> FilterError {
    FilterError(format!("{what} {} is not allowed in query", quote(&part.to_string())))
}

impl<'a> Checker<'a> {
    pub fn new(tables: &'a [&'a str]) -> Self {
        Checker { tables, aliases: Vec::new() }
    }

    fn known_qualifier(&self, name: &str) -> bool {
        self.tables.contains(&name) || self.aliases.iter().any(|scope| scope.contains(name))
    }

    pub fn expr(&mut self, e: &Expr, depth: usize) -> Result<(), FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError(format!("query nests deeper than {MAX_DEPTH} levels")));
        }
        let d = depth + 1;
        match e {
            Expr::Identifier(id) => {
                if id.quote_style.is_none() && SQL_VALUE_FUNCTIONS.contains(&folded(id).as_str()) {
                    return Err(refuse("the function", id));
                }
                Ok(())
            }
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [table, _column] if self.known_qualifier(&folded(table)) => Ok(()),
                [table, _column] => Err(self.table_refused(&folded(table), e)),
                _ => Err(refuse("the name", e)),
            },
            Expr::Value(v) => match &v.value {
                Value::Number(..) | Value::SingleQuotedString(_) | Value::Boolean(_) | Value::Null => Ok(()),
                Value::Placeholder(_) => Err(refuse("the placeholder", e)),
                _ => Err(refuse("the literal (use 'single quotes')", e)),
            },
            Expr::TypedString(t) => {
                check_type(&t.data_type)?;
                match &t.value.value {
                    Value::SingleQuotedString(_) if !t.uses_odbc_syntax => Ok(()),
                    _ => Err(refuse("the literal", e)),
                }
            }
            Expr::Interval(i) => self.expr(&i.value, d),
            Expr::BinaryOp { left, op, right } => {
                if !binary_allowed(op) {
                    return Err(refuse("the operator", op));
                }
                self.expr(left, d)?;
                self.expr(right, d)
            }
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus => self.expr(expr, d),
                _ => Err(refuse("the operator", op)),
            },
            Expr::Nested(inner)
            | Expr::IsNull(inner)
            | Expr::IsNotNull(inner)
            | Expr::IsTrue(inner)
            | Expr::IsNotTrue(inner)
            | Expr::IsFalse(inner)
            | Expr::IsNotFalse(inner)
            | Expr::IsUnknown(inner)
            | Expr::IsNotUnknown(inner) => self.expr(inner, d),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                self.expr(a, d)?;
                self.expr(b, d)
            }
            Expr::Between { expr, low, high, .. } => {
                self.expr(expr, d)?;
                self.expr(low, d)?;
                self.expr(high, d)
            }
            Expr::Like { any: false, expr, pattern, escape_char, .. }
            | Expr::ILike { any: false, expr, pattern, escape_char, .. } => {
                self.expr(expr, d)?;
                self.expr(pattern, d)?;
                escape_char.as_deref().map_or(Ok(()), |c| self.expr(c, d))
            }
            Expr::In { expr, target, global: false, .. } => {
                self.expr(expr, d)?;
                match target {
                    InTarget::List(items) => items.iter().try_for_each(|i| self.expr(i, d)),
                    InTarget::Subquery(q) => self.query(q, d),
                    _ => Err(refuse("the IN form", e)),
                }
            }
            Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => {
                let subquery: &Query = subquery;
                self.query(subquery, d)
            }
            Expr::Cast { kind: CastKind::Cast | CastKind::DoubleColon, expr, data_type, format: None } => {
                check_type(data_type)?;
                self.expr(expr, d)
            }
            Expr::Extract { expr, .. } => self.expr(expr, d),
            Expr::Substring { expr, substring_from, substring_for, .. } => {
                self.expr(expr, d)?;
                substring_from.as_deref().map_or(Ok(()), |x| self.expr(x, d))?;
                substring_for.as_deref().map_or(Ok(()), |x| self.expr(x, d))
            }
            Expr::Trim { expr, trim_what, trim_characters, .. } => {
                self.expr(expr, d)?;
                trim_what.as_deref().map_or(Ok(()), |x| self.expr(x, d))?;
                trim_characters.iter().flatten().try_for_each(|x| self.expr(x, d))
            }
            Expr::Case { operand, conditions, else_result, .. } => {
                operand.as_deref().map_or(Ok(()), |x| self.expr(x, d))?;
                for c in conditions {
                    self.expr(&c.condition, d)?;
                    self.expr(&c.result, d)?;
                }
                else_result.as_deref().map_or(Ok(()), |x| self.expr(x, d))
            }
            Expr::Function(f) => self.function(f, e, d),
            _ => Err(refuse("the expression", e)),
        }
    }

    fn table_refused(&self, name: &str, part: &impl ToString) -> FilterError {
        FilterError(format!(
            "table {name:?} is not allowed in query ({}): it may read only {}",
            quote(&part.to_string()),
            self.tables.join(", ")
        ))
    }

    fn function(&mut self, f: &Function, e: &Expr, d: usize) -> Result<(), FilterError> {
        let name = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(id)] => folded(id),
            _ => return Err(refuse("the function", &f.name)),
        };
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(FilterError(format!(
                "the function {name}() is not allowed in query; allowed: {}",
                FUNCTIONS.join(", ")
            )));
        }
        let plain = !f.uses_odbc_syntax
            && matches!(f.parameters, FunctionArguments::None)
            && f.within_group.is_empty()
            && f.filter.is_none()
            && f.null_treatment.is_none()
            && f.over.is_none();
        if !plain {
            return Err(refuse("the function call", e));
        }
        match &f.args {
            FunctionArguments::None => Ok(()),
            FunctionArguments::List(list) if list.clauses.is_empty() => {
                for arg in &list.args {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => self.expr(x, d)?,
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) if name == "count" => {}
                        _ => return Err(refuse("the function argument", arg)),
                    }
                }
                Ok(())
            }
            _ => Err(refuse("the function call", e)),
        }
    }

    fn query(&mut self, q: &Query, d: usize) -> Result<(), FilterError> {
        let plain = q.with.is_none()
            && q.order_by.is_none()
            && q.limit_clause.is_none()
            && q.fetch.is_none()
            && q.locks.is_empty()
            && q.for_clause.is_none()
            && q.settings.is_none()
            && q.format_clause.is_none()
            && q.pipe_operators.is_empty();
        match q.body.as_ref() {
            SetExpr::Select(s) if plain => {
                self.aliases.push(HashSet::new());
                let checked = self.select(s, d);
                self.aliases.pop();
                checked
            }
            _ => Err(FilterError(format!(
                "the subquery {} is not allowed in query: only a plain SELECT … FROM … WHERE … \
                 (with joins, GROUP BY, HAVING) is",
                quote(&q.to_string())
            ))),
        }
    }

    fn select(&mut self, s: &Select, d: usize) -> Result<(), FilterError> {
        let plain = s.optimizer_hints.is_empty()
            && s.select_modifiers.is_none()
            && s.top.is_none()
            && s.exclude.is_none()
            && s.into.is_none()
            && s.lateral_views.is_empty()
            && s.prewhere.is_none()
            && s.connect_by.is_empty()
            && s.cluster_by.is_empty()
            && s.distribute_by.is_empty()
            && s.sort_by.is_empty()
            && s.named_window.is_empty()
            && s.qualify.is_none()
            && s.value_table_mode.is_none()
            && matches!(s.flavor, SelectFlavor::Standard)
            && !matches!(s.distinct, Some(sqlparser::ast::Distinct::On(_)))
            && !s.from.is_empty();
        if !plain {
            return Err(FilterError(format!(
                "the subquery {} is not allowed in query: only a plain SELECT … FROM … WHERE … is",
                quote(&s.to_string())
            )));
        }
        // FROM first: it declares the aliases the rest may use.
        for t in &s.from {
            self.from(t, d)?;
        }
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. } => self.expr(x, d)?,
                _ => return Err(refuse("the select item", item)),
            }
        }
        if let Some(w) = &s.selection {
            self.expr(w, d)?;
        }
        match &s.group_by {
            GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => {
                exprs.iter().try_for_each(|x| self.expr(x, d))?
            }
            g => return Err(refuse("the grouping", g)),
        }
        if let Some(h) = &s.having {
            self.expr(h, d)?;
        }
        Ok(())
    }

    fn from(&mut self, t: &TableWithJoins, d: usize) -> Result<(), FilterError> {
        self.table(&t.relation)?;
        for j in &t.joins {
            self.table(&j.relation)?;
            let constraint = match &j.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c) => c,
                _ => return Err(refuse("the join", j)),
            };
            match constraint {
                JoinConstraint::On(x) => self.expr(x, d)?,
                JoinConstraint::None | JoinConstraint::Using(_) | JoinConstraint::Natural => {}
                JoinConstraint::UsingAlias(..) => return Err(refuse("the join", j)),
            }
        }
        Ok(())
    }

    fn table(&mut self, t: &TableFactor) -> Result<(), FilterError> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            with_hints,
            version: None,
            with_ordinality: false,
            partitions,
            json_path: None,
            sample: None,
            index_directives,
            inheritance: None,
        } = t
        else {
            return Err(refuse("the FROM item", t));
        };
        if !(with_hints.is_empty() && partitions.is_empty() && index_directives.is_empty()) {
            return Err(refuse("the FROM item", t));
        }
        let table = table_name(name).ok_or_else(|| refuse("the table name", name))?;
        if !self.tables.contains(&table.as_str()) {
            return Err(self.table_refused(&table, t));
        }
        if let Some(alias) = alias {
            if !alias.columns.is_empty() {
                return Err(refuse("the alias", alias));
            }
            if let Some(scope) = self.aliases.last_mut() {
                scope.insert(folded(&alias.name));
            }
        }
        Ok(())
    }
}

/// A one-part table name (no schema: `public.users` is as refused as `users`).
fn table_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Some(folded(id)),
        _ => None,
    }
}

/// The type's name without length, precision or array brackets' absence.
pub(super) fn type_name(t: &DataType) -> String {
    let s = t.to_string().to_lowercase();
    s.split('(').next().unwrap_or_default().trim().to_string()
}

fn check_type(t: &DataType) -> Result<(), FilterError> {
    if TYPES.contains(&type_name(t).as_str()) {
        Ok(())
    } else {
        Err(FilterError(format!(
            "the type {} is not allowed in query; allowed: {}",
            quote(&t.to_string()),
            TYPES.join(", ")
        )))
    }
}

fn binary_allowed(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(
        op,
        Plus | Minus
            | Multiply
            | Divide
            | Modulo
            | StringConcat
            | Gt
            | Lt
            | GtEq
            | LtEq
            | Eq
            | NotEq
            | And
            | Or
            | PGRegexMatch
            | PGRegexIMatch
            | PGRegexNotMatch
            | PGRegexNotIMatch
            | Arrow
            | LongArrow
            | HashArrow
            | HashLongArrow
            | AtArrow
            | ArrowAt
            | Question
            | QuestionAnd
            | QuestionPipe
    )
}
