//! Hiding secrets in URLs before they are printed or logged.

/// Query parameters whose value is hidden: a name containing one of these (any case), such as
/// `password`, `sslpassword`, `token`, `access_token`, `apikey`, `key`, `secret`.
const SECRET_PARAMS: &[&str] = &[
    "pass",
    "pwd",
    "token",
    "secret",
    "key",
    "auth",
    "credential",
    "signature",
];

/// Hides the password in a URL such as `postgres://user:secret@host/db`, and the values of
/// secret query parameters such as `?password=secret` or `&token=...`.
pub fn mask_url(url: &str) -> String {
    let (prefix, rest) = match url.split_once("://") {
        Some((scheme, rest)) => {
            // The authority ends at the path, the query or the fragment; an `@` after it is not
            // the end of a user's password.
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => authority.to_string(),
                },
                None => authority.to_string(),
            };
            (format!("{scheme}://{authority}"), tail)
        }
        None => (String::new(), url),
    };
    let Some((path, query)) = rest.split_once('?') else {
        return format!("{prefix}{rest}");
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{prefix}{path}?{}", query.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| name.contains(s))
}

#[cfg(test)]
mod tests {
    use super::mask_url;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            mask_url("postgres://app:s3cret@db:5432/k"),
            "postgres://app:***@db:5432/k"
        );
        assert_eq!(mask_url("postgres://app@db/k"), "postgres://app@db/k");
        assert_eq!(mask_url("sqlite://data/k.db"), "sqlite://data/k.db");
        assert_eq!(
            mask_url("sqlite://data/k.db?mode=rwc"),
            "sqlite://data/k.db?mode=rwc"
        );
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        assert_eq!(
            mask_url("postgres://app@db/k?password=s3cret&sslmode=require"),
            "postgres://app@db/k?password=***&sslmode=require"
        );
        assert_eq!(
            mask_url("postgres://db/k?user=app&PASSWORD=s3cret#x"),
            "postgres://db/k?user=app&PASSWORD=***#x"
        );
        assert_eq!(
            mask_url("postgres://u:pw@db/k?sslpassword=a&sslmode=verify-full"),
            "postgres://u:***@db/k?sslpassword=***&sslmode=verify-full"
        );
        assert_eq!(
            mask_url("https://api.example/x?token=t1&key=k1&apikey=k2&secret=s1&client_secret=s2&access_token=t2&locale=da"),
            "https://api.example/x?token=***&key=***&apikey=***&secret=***&client_secret=***&access_token=***&locale=da"
        );
        assert_eq!(mask_url("mqtt://broker:1883"), "mqtt://broker:1883");
    }

    #[test]
    fn an_at_sign_in_the_query_is_not_taken_for_a_password() {
        assert_eq!(
            mask_url("postgres://db:5432/k?application_name=a@b"),
            "postgres://db:5432/k?application_name=a@b"
        );
    }
}
