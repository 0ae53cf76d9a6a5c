use super::{BOUNCES_TABLE, SUBSCRIBER_TABLES, SqlFilter};

fn ok(text: &str) -> SqlFilter {
    SqlFilter::parse(text, &SUBSCRIBER_TABLES).unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
}

fn refused(text: &str) -> String {
    match SqlFilter::parse(text, &SUBSCRIBER_TABLES) {
        Ok(f) => panic!("{text:?} accepted as {}", f.postgres()),
        Err(e) => e.0,
    }
}

#[test]
fn the_listmonk_clients_expressions_pass_unchanged() {
    for text in [
        "subscribers.email='a@example.com'",
        "subscribers.id=12",
        "subscribers.uuid='5e0b5b8a-7c4e-4d6e-9a3e-2f1b7c3d9e10'",
        "subscribers.attribs->>'city' = 'Bengaluru'",
    ] {
        let f = ok(text);
        assert_eq!(f.postgres().replace(' ', ""), text.replace(' ', ""), "{text}");
    }
}

#[test]
fn subscriber_filters_people_write_pass() {
    for text in [
        "subscribers.status = 'blocklisted' AND subscribers.created_at > NOW() - INTERVAL '7 days'",
        "LOWER(email) LIKE '%@example.com' OR name ILIKE 'ann%'",
        "(subscribers.attribs->>'age')::int > 30",
        "subscribers.attribs ? 'city' AND subscribers.attribs @> '{\"vip\": true}'",
        "subscribers.id IN (SELECT subscriber_id FROM subscriber_lists WHERE list_id IN (1, 2))",
        "EXISTS (SELECT 1 FROM subscriber_lists sl JOIN lists l ON l.id = sl.list_id \
         WHERE sl.subscriber_id = subscribers.id AND l.name = 'news')",
        "subscribers.name IS NOT NULL AND COALESCE(subscribers.attribs->>'x', '') = ''",
        "subscribers.created_at BETWEEN DATE '2024-01-01' AND '2025-01-01'::timestamp",
        "CASE WHEN subscribers.status = 'enabled' THEN TRUE ELSE FALSE END",
        "EXTRACT(YEAR FROM subscribers.created_at) = 2024",
        "subscribers.email ~* '^a' ;",
    ] {
        ok(text);
    }
}

#[test]
fn bounces_only_when_allowed() {
    let text =
        "subscribers.id IN (SELECT subscriber_id FROM bounces GROUP BY subscriber_id HAVING COUNT(*) > 2)";
    assert!(refused(text).contains("\"bounces\""), "{}", refused(text));
    let mut tables = SUBSCRIBER_TABLES.to_vec();
    tables.push(BOUNCES_TABLE);
    SqlFilter::parse(text, &tables).expect("with bounces allowed");
}

#[test]
fn other_tables_functions_and_statements_are_refused_by_name() {
    let mut wrong = vec![];
    for (text, named) in [
        ("(SELECT 1 FROM users) = 1", "\"users\""),
        ("EXISTS (SELECT 1 FROM public.subscribers)", "public.subscribers"),
        ("EXISTS (SELECT 1 FROM \"users\")", "\"users\""),
        ("users.password_hash IS NOT NULL", "\"users\""),
        ("pg_read_file('/etc/passwd') <> ''", "pg_read_file()"),
        ("length(pg_catalog.pg_read_file('/etc/passwd')) > 0", "pg_catalog.pg_read_file"),
        ("pg_sleep(10) IS NULL", "pg_sleep()"),
        ("query_to_xml('select 1', true, true, '') IS NULL", "query_to_xml()"),
        ("nextval('subscribers_id_seq') > 0", "nextval()"),
        ("replace(replace(name, 'a', 'aaaaaaaa'), 'a', 'aaaaaaaa') = ''", "replace()"),
        ("1=1; DELETE FROM subscribers", "one SQL expression"),
        ("1=1 -- all", "comments"),
        ("1=1 /* all */", "comments"),
        ("subscribers.id = $1", "placeholder"),
        ("'x'::regclass IS NOT NULL", "REGCLASS"),
        ("current_user = 'postgres'", "current_user"),
        ("EXISTS (WITH x AS (SELECT 1 FROM subscribers) SELECT 1 FROM subscribers)", "subquery"),
        ("EXISTS (SELECT 1 FROM generate_series(1, 10))", "generate_series"),
        ("EXISTS (SELECT 1 FROM subscribers FOR UPDATE)", "subquery"),
        ("EXISTS (SELECT 1 FROM subscribers UNION SELECT 1 FROM users)", "subquery"),
        ("count(*) OVER () > 1", "function call"),
        ("a.b.c = 1", "a.b.c"),
        ("$$x$$ = 'x'", "single quotes"),
        ("", "empty"),
        ("subscribers.email = ", "not a valid SQL expression"),
    ] {
        match SqlFilter::parse(text, &SUBSCRIBER_TABLES) {
            Ok(f) => wrong.push(format!("{text:?} accepted as {}", f.postgres())),
            Err(e) if !e.0.contains(named) => {
                wrong.push(format!("{text:?}: {:?} does not name {named:?}", e.0))
            }
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn long_or_deep_input_is_refused_without_overflowing() {
    let chain = format!("1{}", "+1".repeat(4000));
    assert!(refused(&chain).contains("deeper"));
    let nested = format!("{}1{}", "(".repeat(3000), ")".repeat(3000));
    refused(&nested);
    assert!(refused(&"x".repeat(super::MAX_LEN + 1)).contains("longer"));
}

#[test]
fn sqlite_gets_its_own_spelling() {
    let f = ok("(subscribers.attribs->>'age')::int > 30 AND name ILIKE 'a%' AND created_at < now() \
                AND attribs ? 'city' AND created_at > '2024-01-01'::timestamptz");
    let sql = f.sqlite();
    assert!(sql.contains("CAST((subscribers.attribs ->> 'age') AS INTEGER)"), "{sql}");
    assert!(sql.contains("name LIKE 'a%'"), "{sql}");
    assert!(sql.contains("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"), "{sql}");
    assert!(sql.contains("json_type(attribs, '$.\"city\"') IS NOT NULL"), "{sql}");
    assert!(sql.contains("created_at > ('2024-01-01')"), "{sql}");
}

#[test]
fn strings_and_quoted_names_stay_what_they_were() {
    // PostgreSQL reads a backslash in '...' as itself, and so does the parser.
    let text = "subscribers.name = 'O''Brien\\' AND \"subscribers\".\"email\" = 'x'";
    assert_eq!(ok(text).postgres(), text);
    refused("subscribers.name = 'O''Brien\\' OR 1=1'");
}
