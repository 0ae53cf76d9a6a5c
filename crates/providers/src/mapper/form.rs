//! `application/x-www-form-urlencoded` bodies and query strings.

/// The form's (name, value) pairs, decoded, in order.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `name` in the query string.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `%XX` decoded (a `+` stays a `+`: header values are not forms).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pairs as one JSON object of strings (the first value of a repeated name wins).
pub(crate) fn pairs_object(pairs: Vec<(String, String)>) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.entry(k).or_insert(serde_json::Value::String(v));
    }
    serde_json::Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("ts%3D1%3Bs%3Dab%2B%2F%3D"), "ts=1;s=ab+/=");
        assert_eq!(percent_decode("a+b%"), "a+b%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(query_param(Some("a=1&key=s%20x"), "key").as_deref(), Some("s x"));
        assert_eq!(form_pairs(b"b=2&a=1+1"), vec![("b".into(), "2".into()), ("a".into(), "1 1".into())]);
    }
}
