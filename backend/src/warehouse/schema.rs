//! A connection's warehouse schema name (SPEC §6.3): `[a-z_][a-z0-9_]{0,62}`, unique, by default
//! `stripe_` and the account's name made into that form.

/// The longest name (PostgreSQL's identifiers are at most 63 bytes).
pub const MAX_LEN: usize = 63;

/// Whether `name` is a schema name: `[a-z_][a-z0-9_]{0,62}`, and not one PostgreSQL keeps for
/// itself (`pg_…`, `information_schema`, `public`).
pub fn is_valid(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    first_ok
        && name.len() <= MAX_LEN
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with("pg_")
        && name != "information_schema"
        && name != "public"
}

/// `stripe_` and `account_name` lowercased, each run of other characters one `_`, accents dropped
/// to their letter where they are Latin ones, cut to the longest name.
pub fn default_name(account_name: &str) -> String {
    let mut out = String::from("stripe_");
    let mut gap = false;
    for c in account_name.chars().flat_map(char::to_lowercase) {
        let c = unaccent(c);
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if gap && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c);
            gap = false;
        } else {
            gap = true;
        }
    }
    let mut name = out.trim_end_matches('_').to_owned();
    if name == "stripe" {
        name.push_str("_account");
    }
    name.truncate(MAX_LEN);
    name
}

/// The first of `base`, `base_2`, `base_3`, … that `taken` says is free (cut so the suffix fits).
pub fn first_free(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2u32..)
        .map(|n| {
            let suffix = format!("_{n}");
            let mut head = base.to_owned();
            head.truncate(MAX_LEN - suffix.len());
            head + &suffix
        })
        .find(|name| !taken(name))
        .unwrap_or_else(|| base.to_owned())
}

/// A Latin letter with an accent, as its base letter.
fn unaccent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_name_becomes_a_schema_name() {
        assert_eq!(default_name("Acme Corp"), "stripe_acme_corp");
        assert_eq!(
            default_name("Caffè Città, S.r.l."),
            "stripe_caffe_citta_s_r_l"
        );
        assert_eq!(default_name("  --  "), "stripe_account");
        assert_eq!(default_name("東京"), "stripe_account");
        assert_eq!(default_name("42 Widgets!"), "stripe_42_widgets");
        let long = default_name(&"x".repeat(200));
        assert_eq!(long.len(), MAX_LEN);
        for name in [default_name("Acme Corp"), default_name("  --  "), long] {
            assert!(is_valid(&name), "{name}");
        }
    }

    #[test]
    fn only_lowercase_identifiers_pass_and_postgresqls_own_do_not() {
        assert!(is_valid("stripe_acme"));
        assert!(is_valid("_x1"));
        assert!(!is_valid(""));
        assert!(!is_valid("1abc"));
        assert!(!is_valid("Stripe"));
        assert!(!is_valid("a-b"));
        assert!(!is_valid("a b"));
        assert!(!is_valid(&"a".repeat(64)));
        assert!(is_valid(&"a".repeat(63)));
        assert!(!is_valid("pg_catalog"));
        assert!(!is_valid("public"));
        assert!(!is_valid("information_schema"));
    }

    #[test]
    fn a_taken_name_gets_the_first_free_suffix_and_stays_short_enough() {
        let taken = ["stripe_acme", "stripe_acme_2"];
        assert_eq!(
            first_free("stripe_acme", |n| taken.contains(&n)),
            "stripe_acme_3"
        );
        assert_eq!(first_free("stripe_new", |_| false), "stripe_new");
        let long = "s".repeat(63);
        let free = first_free(&long, |n| n == long);
        assert_eq!(free.len(), 63);
        assert!(free.ends_with("_2"));
    }
}
