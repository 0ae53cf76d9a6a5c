//! VERP (variable envelope return path) encoding of listmonk/rebound ids.
//!
//! The sender puts the subscriber's (and optionally the campaign's) uuid in
//! the envelope sender, so a bounce comes back to an address that names them
//! even when the remote MTA strips every header of the original message.
//!
//! The template is the `bounce.verp.address` setting, e.g.
//! `bounces+{subscriber_uuid}.{campaign_uuid}@site.com`. Two placeholders are
//! recognised: `{subscriber_uuid}` and `{campaign_uuid}`. Without a campaign
//! (a test or transactional send), [`encode`] drops `{campaign_uuid}`
//! together with the one separator character (`.`, `-`, `_`, `=` or `+`)
//! just before it.
//!
//! ## Forms
//!
//! * [`encode`]: uuids in lower-case hyphenated form (36 characters each).
//!   Readable, but two of them plus a prefix exceed the 64-octet local-part
//!   limit of RFC 5321 §4.5.3.1.1, which some MTAs enforce.
//! * [`encode_compact`]: each uuid as 26 characters of lower-case RFC 4648
//!   base32 without padding (the 128 bits, then two zero bits). Two ids plus
//!   `bounces+` and a separator take 61 octets. Only `a-z2-7` are used, so
//!   case-folding MTAs and `recipient_delimiter=+` do not damage it.
//!
//! * [`encode_signed`]: the subscriber's compact id followed by a 16-character
//!   tag, HMAC-SHA256 of the id under the server's secret, truncated to 80
//!   bits. A bounce to such an address proves that rebound sent that
//!   subscriber a message: nobody without the secret can make one. Two ids
//!   and a tag do not fit the 64-octet local part, so the campaign is left
//!   out (with its separator); a signed bounce's campaign comes from the
//!   returned X-Listmonk-Campaign header when the remote MTA returns it.
//!   `bounces+` and the token take 50 octets.
//!
//! [`decode`] accepts every form (and 32-digit hex), always returning the
//! uuids themselves, so the sender may switch forms without breaking
//! attribution of bounces still in flight. Only [`verify_signed`], given the
//! secret, says whether a signed token is genuine; it compares tags in
//! constant time.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub const SUBSCRIBER_PLACEHOLDER: &str = "{subscriber_uuid}";
pub const CAMPAIGN_PLACEHOLDER: &str = "{campaign_uuid}";

/// Ids recovered from a VERP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VerpIds {
    pub subscriber_uuid: Uuid,
    pub campaign_uuid: Option<Uuid>,
}

/// Fill the template with hyphenated lower-case uuids.
pub fn encode(template: &str, subscriber_uuid: Uuid, campaign_uuid: Option<Uuid>) -> String {
    fill(
        template,
        &subscriber_uuid.hyphenated().to_string(),
        campaign_uuid.map(|c| c.hyphenated().to_string()),
    )
}

/// Fill the template with 26-character base32 uuids (see the module docs).
pub fn encode_compact(template: &str, subscriber_uuid: Uuid, campaign_uuid: Option<Uuid>) -> String {
    fill(template, &base32(subscriber_uuid), campaign_uuid.map(base32))
}

/// Fill the template with the subscriber's signed token (see the module
/// docs); `{campaign_uuid}` is dropped with its separator.
pub fn encode_signed(template: &str, secret: &[u8], subscriber_uuid: Uuid) -> String {
    let mut token = base32(subscriber_uuid);
    token.push_str(&base32_tag(&tag(secret, subscriber_uuid)));
    fill(template, &token, None)
}

/// The subscriber whose genuine signed token `address` carries (decoded
/// with `template`, or after a `+` without one), if it carries one.
pub fn verify_signed(template: Option<&str>, secret: &[u8], address: &str) -> Option<Uuid> {
    if secret.is_empty() {
        return None;
    }
    let (subscriber, given) = match template {
        Some(t) => decode_parts(t, address).and_then(|(ids, tag)| Some((ids.subscriber_uuid, tag?))),
        None => None,
    }
    .or_else(|| {
        let (ids, tag) = plus_parts(address)?;
        Some((ids.subscriber_uuid, tag?))
    })?;
    let expected = tag(secret, subscriber);
    bool::from(expected.ct_eq(&given)).then_some(subscriber)
}

/// Bytes of the HMAC kept in a signed token: 80 bits. A forger must guess
/// them, one delivered bounce per guess; the mailbox sees every try.
const TAG_BYTES: usize = 10;
/// The tag in base32: 16 characters, exactly 80 bits.
const TAG_CHARS: usize = 16;
/// A signed token: the compact id, then the tag.
const SIGNED_LEN: usize = 26 + TAG_CHARS;

/// HMAC-SHA256 over a domain-separating label and the subscriber's id.
fn tag(secret: &[u8], subscriber: Uuid) -> [u8; TAG_BYTES] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"rebound-verp-v1\0");
    mac.update(subscriber.as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_BYTES];
    out.copy_from_slice(&full[..TAG_BYTES]);
    out
}

fn base32_tag(tag: &[u8; TAG_BYTES]) -> String {
    let mut v: u128 = 0;
    for b in tag {
        v = (v << 8) | u128::from(*b);
    }
    (0..TAG_CHARS).map(|i| ALPHABET[((v >> (75 - 5 * i)) & 31) as usize] as char).collect()
}

fn unbase32_tag(tok: &str) -> Option<[u8; TAG_BYTES]> {
    if tok.len() != TAG_CHARS {
        return None;
    }
    let mut v: u128 = 0;
    for c in tok.bytes() {
        v = (v << 5) | ALPHABET.iter().position(|&a| a == c.to_ascii_lowercase())? as u128;
    }
    let mut out = [0u8; TAG_BYTES];
    for (i, b) in out.iter_mut().enumerate() {
        *b = (v >> (72 - 8 * i)) as u8;
    }
    Some(out)
}

/// A signed token: the subscriber and the tag it carries.
fn parse_signed(tok: &str) -> Option<(Uuid, [u8; TAG_BYTES])> {
    if tok.len() != SIGNED_LEN || !tok.is_ascii() {
        return None;
    }
    Some((unbase32(&tok[..26])?, unbase32_tag(&tok[26..])?))
}

fn fill(template: &str, subscriber: &str, campaign: Option<String>) -> String {
    let mut t = template.replace(SUBSCRIBER_PLACEHOLDER, subscriber);
    match campaign {
        Some(c) => t = t.replace(CAMPAIGN_PLACEHOLDER, &c),
        None => {
            while let Some(i) = t.find(CAMPAIGN_PLACEHOLDER) {
                let mut start = i;
                if let Some(prev) = t[..i].chars().next_back()
                    && matches!(prev, '.' | '-' | '_' | '=' | '+')
                {
                    start -= 1;
                }
                t.replace_range(start..i + CAMPAIGN_PLACEHOLDER.len(), "");
            }
        }
    }
    t
}

/// Recover the ids from `address` using the template it was made from.
/// Literal parts of the template are compared case-insensitively (domains
/// are case-insensitive, and some MTAs lower-case local parts too).
pub fn decode(template: &str, address: &str) -> Option<VerpIds> {
    decode_parts(template, address).map(|(ids, _)| ids)
}

/// [`decode`], with the tag of a signed token.
fn decode_parts(template: &str, address: &str) -> Option<(VerpIds, Option<[u8; TAG_BYTES]>)> {
    let address = address.trim().trim_matches(['<', '>']);
    // Split the template into literal pieces around the placeholders.
    let mut pieces: Vec<(&str, Option<bool>)> = Vec::new(); // (literal before, placeholder is subscriber?)
    let mut rest = template;
    loop {
        let s = rest.find(SUBSCRIBER_PLACEHOLDER);
        let c = rest.find(CAMPAIGN_PLACEHOLDER);
        let (at, is_sub, len) = match (s, c) {
            (Some(s), Some(c)) if s < c => (s, true, SUBSCRIBER_PLACEHOLDER.len()),
            (Some(_), Some(c)) => (c, false, CAMPAIGN_PLACEHOLDER.len()),
            (Some(s), None) => (s, true, SUBSCRIBER_PLACEHOLDER.len()),
            (None, Some(c)) => (c, false, CAMPAIGN_PLACEHOLDER.len()),
            (None, None) => break,
        };
        pieces.push((&rest[..at], Some(is_sub)));
        rest = &rest[at + len..];
    }
    pieces.push((rest, None));
    if pieces.len() < 2 {
        return None;
    }
    let mut sub = None;
    let mut camp = None;
    let mut signature = None;
    let mut pos = 0usize;
    let lower = address.to_ascii_lowercase();
    for (i, (lit, ph)) in pieces.iter().enumerate() {
        let lit_l = lit.to_ascii_lowercase();
        if !lower[pos..].starts_with(&lit_l) {
            // The campaign part may be missing together with its separator.
            let sep_dropped = lit_l.len() == 1 && i > 0 && *ph == Some(false);
            if sep_dropped {
                continue;
            }
            return None;
        }
        pos += lit_l.len();
        let Some(is_sub) = ph else {
            if pos != lower.len() {
                return None;
            }
            break;
        };
        // A signed subscriber token, then the three id forms, longest first.
        if *is_sub && let Some((u, t)) = lower.get(pos..pos + SIGNED_LEN).and_then(parse_signed) {
            pos += SIGNED_LEN;
            sub = Some(u);
            signature = Some(t);
            continue;
        }
        let mut got = None;
        for len in [36usize, 32, 26] {
            if let Some(tok) = lower.get(pos..pos + len)
                && let Some(u) = parse_id(tok)
            {
                got = Some((u, len));
                break;
            }
        }
        match got {
            Some((u, len)) => {
                pos += len;
                if *is_sub {
                    sub = Some(u);
                } else {
                    camp = Some(u);
                }
            }
            None if !is_sub => {
                // No campaign id: the template's separator before it was
                // dropped by `encode`; step back over it if we consumed it.
                let prev = lit_l.chars().next_back();
                if prev.is_some_and(|p| matches!(p, '.' | '-' | '_' | '=' | '+')) {
                    pos -= 1;
                }
            }
            None => return None,
        }
    }
    sub.map(|s| (VerpIds { subscriber_uuid: s, campaign_uuid: camp }, signature))
}

/// Template-free fallback: the ids after the first `+` of the local part
/// (the sub-address of Postfix's `recipient_delimiter = +`), separated by
/// any non-id character. The first id is the subscriber, the second the
/// campaign.
pub fn decode_plus(address: &str) -> Option<VerpIds> {
    plus_parts(address).map(|(ids, _)| ids)
}

/// [`decode_plus`], with the tag of a signed first token.
fn plus_parts(address: &str) -> Option<(VerpIds, Option<[u8; TAG_BYTES]>)> {
    let address = address.trim().trim_matches(['<', '>']);
    let at = address.rfind('@')?;
    let local = &address[..at];
    let plus = local.find('+')?;
    let tag = local[plus + 1..].to_ascii_lowercase();
    let b = tag.as_bytes();
    let signed_end = b.get(SIGNED_LEN).is_none_or(|c| !c.is_ascii_alphanumeric());
    if signed_end && let Some((subscriber_uuid, t)) = tag.get(..SIGNED_LEN).and_then(parse_signed) {
        return Some((VerpIds { subscriber_uuid, campaign_uuid: None }, Some(t)));
    }
    let ids = ids_in(&tag);
    let mut it = ids.into_iter();
    let subscriber_uuid = it.next()?;
    Some((VerpIds { subscriber_uuid, campaign_uuid: it.next() }, None))
}

/// Uuids in a VERP tag, hyphenated, hex or base32, in order. Works on
/// bytes: ids are ASCII, and a tag may hold anything (found by fuzzing: a
/// multi-byte character must not be sliced through).
fn ids_in(tag: &str) -> Vec<Uuid> {
    let b = tag.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < b.len() && out.len() < 2 {
        let mut hit = None;
        for len in [36usize, 32, 26] {
            let Some(tok) = b.get(pos..pos + len) else { continue };
            let end_ok = b.get(pos + len).is_none_or(|c| !c.is_ascii_alphanumeric());
            if end_ok
                && tok.is_ascii()
                && let Some(u) = std::str::from_utf8(tok).ok().and_then(parse_id)
            {
                hit = Some((u, len));
                break;
            }
        }
        match hit {
            Some((u, len)) => {
                out.push(u);
                pos += len;
            }
            None => {
                // Skip past the next separator.
                pos = b[pos..]
                    .iter()
                    .position(|c| !c.is_ascii_alphanumeric() && *c != b'-')
                    .map_or(b.len(), |i| pos + i + 1);
            }
        }
    }
    out
}

fn parse_id(tok: &str) -> Option<Uuid> {
    match tok.len() {
        36 => Uuid::try_parse(tok).ok(),
        32 if tok.bytes().all(|c| c.is_ascii_hexdigit()) => Uuid::try_parse(tok).ok(),
        26 => unbase32(tok),
        _ => None,
    }
}

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32(u: Uuid) -> String {
    let v = u.as_u128();
    // 130 bits: the uuid followed by two zero bits, in 26 groups of five.
    (0..26)
        .map(|i| {
            let shift = 123i32 - 5 * i;
            let idx = if shift >= 0 { (v >> shift) & 31 } else { (v << -shift) & 31 };
            ALPHABET[idx as usize] as char
        })
        .collect()
}

fn unbase32(tok: &str) -> Option<Uuid> {
    let mut v: u128 = 0;
    let bytes = tok.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        let d = ALPHABET.iter().position(|&a| a == c.to_ascii_lowercase())? as u128;
        if i < 25 {
            v = (v << 5) | d;
        } else {
            // The last group holds the final three bits and two zero bits.
            if d & 3 != 0 {
                return None;
            }
            v = (v << 3) | (d >> 2);
        }
    }
    Some(Uuid::from_u128(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "bounces+{subscriber_uuid}.{campaign_uuid}@site.com";

    fn ids() -> (Uuid, Uuid) {
        (
            Uuid::parse_str("5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10").unwrap(),
            Uuid::parse_str("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9").unwrap(),
        )
    }

    #[test]
    fn round_trip_hyphenated() {
        let (s, c) = ids();
        let a = encode(T, s, Some(c));
        assert_eq!(
            a,
            "bounces+5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10.0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9@site.com"
        );
        assert_eq!(decode(T, &a), Some(VerpIds { subscriber_uuid: s, campaign_uuid: Some(c) }));
        assert_eq!(
            decode(T, &a.to_uppercase()),
            Some(VerpIds { subscriber_uuid: s, campaign_uuid: Some(c) })
        );
        assert_eq!(decode_plus(&a), Some(VerpIds { subscriber_uuid: s, campaign_uuid: Some(c) }));
    }

    #[test]
    fn round_trip_without_campaign() {
        let (s, _) = ids();
        let a = encode(T, s, None);
        assert_eq!(a, "bounces+5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10@site.com");
        assert_eq!(decode(T, &a), Some(VerpIds { subscriber_uuid: s, campaign_uuid: None }));
        assert_eq!(decode_plus(&a), Some(VerpIds { subscriber_uuid: s, campaign_uuid: None }));
    }

    #[test]
    fn round_trip_compact() {
        let (s, c) = ids();
        let a = encode_compact(T, s, Some(c));
        let local = a.split('@').next().unwrap();
        assert!(local.len() <= 64, "{local}");
        assert_eq!(decode(T, &a), Some(VerpIds { subscriber_uuid: s, campaign_uuid: Some(c) }));
        assert_eq!(decode_plus(&a), Some(VerpIds { subscriber_uuid: s, campaign_uuid: Some(c) }));
        for u in [Uuid::nil(), Uuid::max(), s, c] {
            assert_eq!(unbase32(&base32(u)), Some(u));
        }
    }

    #[test]
    fn rejects_foreign_addresses() {
        assert_eq!(decode(T, "someone@site.com"), None);
        assert_eq!(decode(T, "bounces+nothing@site.com"), None);
        assert_eq!(decode_plus("bounce+xxxx=yyyyyy.net@zzzzzzzz.net"), None);
        assert_eq!(decode_plus("plain@example.com"), None);
    }
}

#[cfg(test)]
mod signed_tests {
    use super::*;

    const T: &str = "bounces+{subscriber_uuid}.{campaign_uuid}@site.com";
    const KEY: &[u8] = b"a server secret of some length";

    fn sub() -> Uuid {
        Uuid::parse_str("5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10").unwrap()
    }

    #[test]
    fn a_signed_address_verifies_and_fits_the_local_part() {
        let a = encode_signed(T, KEY, sub());
        let local = a.split('@').next().unwrap();
        assert_eq!(local.len(), 8 + SIGNED_LEN, "{a}");
        assert!(local.len() <= 64);
        assert_eq!(verify_signed(Some(T), KEY, &a), Some(sub()));
        // MTAs may change case, add angle brackets, or deliver without the template.
        assert_eq!(verify_signed(Some(T), KEY, &format!("<{}>", a.to_uppercase())), Some(sub()));
        assert_eq!(verify_signed(None, KEY, &a), Some(sub()));
        // The ids still decode for attribution without the secret.
        assert_eq!(decode(T, &a), Some(VerpIds { subscriber_uuid: sub(), campaign_uuid: None }));
        assert_eq!(decode_plus(&a), Some(VerpIds { subscriber_uuid: sub(), campaign_uuid: None }));
        for t in [[0u8; TAG_BYTES], [0xff; TAG_BYTES], tag(KEY, sub())] {
            assert_eq!(unbase32_tag(&base32_tag(&t)), Some(t));
        }
    }

    #[test]
    fn forged_or_unsigned_addresses_do_not_verify() {
        let a = encode_signed(T, KEY, sub());
        assert_eq!(verify_signed(Some(T), b"another secret", &a), None, "another key");
        assert_eq!(verify_signed(Some(T), b"", &a), None, "no key");
        // Another subscriber's id with this tag.
        let other = encode_signed(T, KEY, Uuid::new_v4());
        let forged = format!("{}{}", &other[..8 + 26], &a[8 + 26..]);
        assert_eq!(verify_signed(Some(T), KEY, &forged), None);
        // One character of the tag changed.
        let mut bytes = a.clone().into_bytes();
        bytes[8 + 30] = if bytes[8 + 30] == b'a' { b'b' } else { b'a' };
        assert_eq!(verify_signed(Some(T), KEY, &String::from_utf8(bytes).unwrap()), None);
        // Unsigned forms carry no tag.
        assert_eq!(verify_signed(Some(T), KEY, &encode_compact(T, sub(), None)), None);
        assert_eq!(verify_signed(Some(T), KEY, &encode(T, sub(), Some(Uuid::new_v4()))), None);
        assert_eq!(verify_signed(Some(T), KEY, "bounces@site.com"), None);
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn multibyte_tags_do_not_panic() {
        // Found by cargo-fuzz: the skip-to-next-token step sliced inside a
        // multi-byte character.
        assert_eq!(decode_plus("a+\u{e9}\u{e9}x.\u{1f600}@example.org"), None);
        assert_eq!(decode("b+{subscriber_uuid}@x.org", "b+\u{e9}\u{e9}@x.org"), None);
    }

    #[test]
    fn hyphen_separated_compact_template() {
        let s = Uuid::parse_str("5f7b2c5e-6a0e-4d43-9b8e-2d7c1f3a9e10").unwrap();
        let c = Uuid::parse_str("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9").unwrap();
        let t = "b-{subscriber_uuid}-{campaign_uuid}@bounce.example.org";
        let a = encode_compact(t, s, Some(c));
        assert_eq!(decode(t, &a), Some(VerpIds { subscriber_uuid: s, campaign_uuid: Some(c) }), "{a}");
    }
}
