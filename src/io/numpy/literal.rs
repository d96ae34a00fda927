//! A reader for the small subset of Python literals that `.npy` headers use.
//!
//! [`parse_dict`] receives the header text and returns the entries of its `{'key': value, …}`
//! dict in order, where a value is a quoted string, `True`/`False`, or a tuple of non-negative
//! integers (a shape; Python 2's `3L` is accepted). A list value (a structured dtype) is returned
//! as [`Literal::Other`] for the caller to refuse; anything else, or text after the dict, is an
//! error naming what was expected.

/// A header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    String(String),
    Bool(bool),
    Tuple(Vec<u64>),
    /// Anything else (a list, as structured dtypes have); parsed only to be refused.
    Other,
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: char) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("the header dict is malformed (expected `{token}`)"))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_space();
        let quote = self
            .rest
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or("the header dict is malformed (expected a string)")?;
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or("the header dict has an unterminated string")?;
        if body[..end].contains('\\') {
            return Err("escapes in header strings are not supported".into());
        }
        self.rest = &body[end + 1..];
        Ok(body[..end].to_string())
    }

    fn integer(&mut self) -> Result<u64, String> {
        self.skip_space();
        let digits = self.rest.len()
            - self
                .rest
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let number = self.rest[..digits]
            .parse::<u64>()
            .map_err(|_| "a shape must hold non-negative integers".to_string())?;
        // Python 2 wrote long integers with an `L` suffix.
        self.rest = self.rest[digits..]
            .strip_prefix('L')
            .unwrap_or(&self.rest[digits..]);
        Ok(number)
    }

    fn value(&mut self) -> Result<Literal, String> {
        self.skip_space();
        if self.rest.starts_with(['\'', '"']) {
            return self.string().map(Literal::String);
        }
        for (word, flag) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(Literal::Bool(flag));
            }
        }
        if self.eat('(') {
            let mut dimensions = Vec::new();
            while !self.eat(')') {
                dimensions.push(self.integer()?);
                if !self.eat(',') {
                    self.expect(')')?;
                    break;
                }
            }
            return Ok(Literal::Tuple(dimensions));
        }
        if self.rest.starts_with('[') {
            return Ok(Literal::Other);
        }
        Err("the header dict has a value of an unsupported kind".into())
    }
}

/// The entries of a `{'key': value, …}` literal, which must be all the text holds.
pub fn parse_dict(text: &str) -> Result<Vec<(String, Literal)>, String> {
    let mut cursor = Cursor { rest: text };
    cursor.expect('{')?;
    let mut entries = Vec::new();
    while !cursor.eat('}') {
        let key = cursor.string()?;
        cursor.expect(':')?;
        let value = cursor.value()?;
        if value == Literal::Other {
            // A list value cannot be skipped reliably; refuse it where it is found.
            entries.push((key, value));
            return Ok(entries);
        }
        entries.push((key, value));
        if !cursor.eat(',') {
            cursor.expect('}')?;
            break;
        }
    }
    cursor.skip_space();
    if !cursor.rest.is_empty() {
        return Err("the header has text after its dict".into());
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dicts_of_strings_flags_and_shapes_parse() {
        let entries =
            parse_dict(r#"{ "descr" : '<f4' , 'fortran_order':True,'shape':( 3 , ) }  "#).unwrap();
        assert_eq!(
            entries,
            [
                ("descr".to_string(), Literal::String("<f4".into())),
                ("fortran_order".to_string(), Literal::Bool(true)),
                ("shape".to_string(), Literal::Tuple(vec![3])),
            ]
        );
        assert_eq!(
            parse_dict("{'shape': ()}").unwrap(),
            [("shape".to_string(), Literal::Tuple(vec![]))]
        );
    }

    #[test]
    fn malformed_dicts_are_errors() {
        assert!(parse_dict("{'a': 1}").is_err());
        assert!(parse_dict("{'a': 'x'} extra").is_err());
        assert!(parse_dict("{'a': 'x\\'y'}").is_err());
        assert!(parse_dict("{'a': (1, 2").is_err());
        assert!(parse_dict("'a'").is_err());
        assert!(parse_dict("").is_err());
    }
}
