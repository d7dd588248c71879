//! Booking references: short, unambiguous and easy to read out on the phone.

use serde::Serialize;

/// Crockford's base32 alphabet: no I, L, O or U, so nothing is mistaken for 1, 0 or V.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A booking reference such as `CCL-7K3M-9Q2X`: a clinic prefix and 40 random bits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Reference(String);

impl Reference {
    /// The clinic's prefix.
    pub const PREFIX: &'static str = "CCL";

    /// A fresh random reference from the operating system's generator.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)?;
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(b & 31)] as char)
            .collect();
        let (a, b) = chars.split_at(4);
        Ok(Self(format!(
            "{}-{}-{}",
            Self::PREFIX,
            a.iter().collect::<String>(),
            b.iter().collect::<String>()
        )))
    }

    /// Parses a reference as a person might type it: any case, with or without
    /// hyphens, reading `I`/`L` as 1 and `O` as 0.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let body = compact
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| format!("A reference starts with {}.", Self::PREFIX))?;
        let body: String = body
            .chars()
            .map(|c| match c {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            })
            .collect();
        if body.len() != 8 || !body.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err("A reference has eight letters and digits after the prefix.".into());
        }
        Ok(Self(format!(
            "{}-{}-{}",
            Self::PREFIX,
            &body[..4],
            &body[4..]
        )))
    }

    /// The canonical form, `CCL-XXXX-XXXX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_have_the_canonical_shape() {
        for _ in 0..100 {
            let r = Reference::generate().unwrap();
            assert_eq!(r.as_str().len(), 13);
            assert_eq!(Reference::parse(r.as_str()).unwrap(), r);
        }
    }

    #[test]
    fn parsing_forgives_case_hyphens_and_lookalikes() {
        let r = Reference::parse("ccl 7k3m-9q2x").unwrap();
        assert_eq!(r.as_str(), "CCL-7K3M-9Q2X");
        assert_eq!(r.to_string(), "CCL-7K3M-9Q2X");
        assert_eq!(
            Reference::parse("CCL-IOL0-0000").unwrap().as_str(),
            "CCL-1010-0000"
        );
        assert!(Reference::parse("CCL-7K3M-9Q2").is_err());
        assert!(Reference::parse("XYZ-7K3M-9Q2X").is_err());
        assert!(Reference::parse("CCL-7K3M-9Q2U").is_err());
    }
}
