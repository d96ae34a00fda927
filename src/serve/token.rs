//! The per-server secret that every API request must carry.
//!
//! [`Token::generate`] reads 16 bytes from the operating system's random source (`/dev/urandom`)
//! and returns them as 32 hexadecimal characters; the server prints them in its start URL, so only
//! whoever can read the terminal (or was handed the URL) can drive the server. [`Token::matches`]
//! compares in constant time, so response timing does not reveal how many leading characters of a
//! guess were right. A token is never derived from the clock or the process id.

use std::fmt;
use std::io::Read;

/// Bytes of randomness in a token (128 bits).
const TOKEN_BYTES: usize = 16;

/// The name of the header the page sends the token in.
pub const TOKEN_HEADER: &str = "x-brainsurgery-token";

/// The query parameter that carries the token where a header cannot be set (`EventSource`).
pub const TOKEN_QUERY: &str = "token";

#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A fresh random token; fails only when the random source cannot be read.
    pub fn generate() -> std::io::Result<Token> {
        let mut bytes = [0u8; TOKEN_BYTES];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(Token::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Token {
        Token(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this token, compared without an early exit.
    pub fn matches(&self, candidate: &str) -> bool {
        let expected = self.0.as_bytes();
        let given = candidate.as_bytes();
        if expected.len() != given.len() {
            return false;
        }
        let difference = expected
            .iter()
            .zip(given)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b));
        difference == 0
    }
}

/// Debug output hides the secret, so a logged state never leaks it.
impl fmt::Debug for Token {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Token(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_hex_and_differ() {
        let first = Token::generate().expect("random source");
        let second = Token::generate().expect("random source");
        assert_eq!(first.as_str().len(), 2 * TOKEN_BYTES);
        assert!(first.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(first, second);
    }

    #[test]
    fn matches_only_the_exact_token() {
        let token = Token::from_bytes(&[0xab; TOKEN_BYTES]);
        assert!(token.matches(token.as_str()));
        assert!(!token.matches(""));
        assert!(!token.matches(&token.as_str()[1..]));
        let mut wrong = token.as_str().to_string();
        wrong.replace_range(31..32, "c");
        assert!(!token.matches(&wrong));
        assert!(!format!("{token:?}").contains("ab"));
    }
}
