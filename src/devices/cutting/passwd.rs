//! Mosquitto password files (`mosquitto_passwd`), read and checked without I/O, so the embedded
//! broker and Mosquitto can share one file. A line is `user:$7$ITERATIONS$SALT$HASH` (PBKDF2-
//! HMAC-SHA512, Mosquitto 2's default) or `user:$6$SALT$HASH` (SHA-512 of password and salt,
//! Mosquitto 1.x), salt and hash in base64. Blank lines and `#` comments are skipped.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha512};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// The most PBKDF2 iterations a line may ask for (a checked login costs them each time).
const MAX_ITERATIONS: u32 = 1_000_000;

#[derive(Debug, Clone)]
enum Hash {
    Pbkdf2 {
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Sha512 {
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

/// The users of a password file.
#[derive(Debug, Clone, Default)]
pub struct Passwords {
    users: HashMap<String, Hash>,
}

impl Passwords {
    /// Parses a file's text; an error names the line and what is wrong with it (never the hash).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, rest) = line.split_once(':').ok_or_else(|| {
                format!("line {n}: expected user:$7$... (a mosquitto_passwd line)")
            })?;
            if user.is_empty() {
                return Err(format!("line {n}: empty user name"));
            }
            let hash = parse_hash(rest).map_err(|e| format!("line {n} (user {user}): {e}"))?;
            if users.insert(user.to_string(), hash).is_some() {
                return Err(format!("line {n}: user {user} is listed twice"));
            }
        }
        Ok(Self { users })
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn has_user(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// Does `password` match `user`'s entry? An unknown user costs the same as a known one.
    pub fn check(&self, user: &str, password: &str) -> bool {
        match self.users.get(user) {
            Some(h) => verify(h, password.as_bytes()),
            None => {
                let dummy = Hash::Pbkdf2 {
                    iterations: 101,
                    salt: vec![0; 12],
                    hash: vec![0; 64],
                };
                let _ = verify(&dummy, password.as_bytes());
                false
            }
        }
    }
}

fn parse_hash(s: &str) -> Result<Hash, String> {
    let parts: Vec<&str> = s.split('$').collect();
    let b64 = |what: &str, v: &str| {
        B64.decode(v)
            .map_err(|_| format!("the {what} is not base64"))
    };
    match parts.as_slice() {
        ["", "7", iterations, salt, hash] => {
            let iterations: u32 = iterations
                .parse()
                .map_err(|_| "the iteration count is not a number".to_string())?;
            if !(1..=MAX_ITERATIONS).contains(&iterations) {
                return Err(format!("the iteration count must be 1 to {MAX_ITERATIONS}"));
            }
            Ok(Hash::Pbkdf2 {
                iterations,
                salt: b64("salt", salt)?,
                hash: check_len(b64("hash", hash)?)?,
            })
        }
        ["", "6", salt, hash] => Ok(Hash::Sha512 {
            salt: b64("salt", salt)?,
            hash: check_len(b64("hash", hash)?)?,
        }),
        _ => Err("not a hashed mosquitto_passwd entry ($7$ or $6$); a plain-text password file is refused (hash it with mosquitto_passwd -U)".into()),
    }
}

fn check_len(h: Vec<u8>) -> Result<Vec<u8>, String> {
    if h.len() == 64 {
        Ok(h)
    } else {
        Err("the hash is not 64 bytes (SHA-512)".into())
    }
}

fn verify(h: &Hash, password: &[u8]) -> bool {
    let (want, got) = match h {
        Hash::Pbkdf2 {
            iterations,
            salt,
            hash,
        } => {
            let mut out = [0u8; 64];
            pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut out);
            (hash, out.to_vec())
        }
        Hash::Sha512 { salt, hash } => {
            let mut d = Sha512::new();
            d.update(password);
            d.update(salt);
            (hash, d.finalize().to_vec())
        }
    };
    want.ct_eq(&got).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with `mosquitto_passwd -c -b pw cut-1 secret1` (Mosquitto 2.0).
    const FILE: &str = "# stations\n\ncut-1:$7$101$YaR5lsVdk0MGohaM$eif+DNxpenjcCvRDx/Ia9lamQAoSAB8UqqMqHT48wvGgRMWKRo1qqT9eve+OcaRh7gj0bG6XzoNPiPHVYjYUSw==\n";

    #[test]
    fn a_mosquitto_passwd_file_checks_its_passwords() {
        let p = Passwords::parse(FILE).unwrap();
        assert_eq!(p.len(), 1);
        assert!(p.check("cut-1", "secret1"));
        assert!(!p.check("cut-1", "secret2"));
        assert!(!p.check("cut-1", ""));
        assert!(!p.check("cut-2", "secret1"));
    }

    #[test]
    fn the_old_sha512_format_is_read_too() {
        let salt = b"0123456789ab";
        let mut d = Sha512::new();
        d.update(b"pw");
        d.update(salt);
        let line = format!("old:$6${}${}", B64.encode(salt), B64.encode(d.finalize()));
        let p = Passwords::parse(&line).unwrap();
        assert!(p.check("old", "pw"));
        assert!(!p.check("old", "pw2"));
    }

    #[test]
    fn a_bad_file_is_refused_with_its_line() {
        for (text, want) in [
            ("cut-1:secret", "line 1 (user cut-1): not a hashed"),
            ("\nnocolon", "line 2: expected user"),
            (":$7$101$AA==$AA==", "line 1: empty user name"),
            ("a:$7$x$AA==$AA==", "iteration count is not a number"),
            ("a:$7$0$AA==$AA==", "iteration count must be"),
            ("a:$7$101$!!$AA==", "salt is not base64"),
            ("a:$7$101$AA==$AA==", "not 64 bytes"),
        ] {
            let e = Passwords::parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let twice = format!("{}\n{}", FILE.trim(), FILE.trim());
        assert!(Passwords::parse(&twice)
            .unwrap_err()
            .contains("listed twice"));
    }
}
