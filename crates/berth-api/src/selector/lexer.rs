//! Tokens of the label selector syntax, as upstream's `labels` lexer.

/// One token; `Identifier` carries its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token {
    Identifier(String),
    DoesNotExist,
    NotEquals,
    Equals,
    DoubleEquals,
    GreaterThan,
    LessThan,
    In,
    NotIn,
    OpenPar,
    ClosedPar,
    Comma,
    End,
}

impl Token {
    /// The text a token came from, for error messages.
    pub(super) fn literal(&self) -> &str {
        match self {
            Token::Identifier(s) => s,
            Token::DoesNotExist => "!",
            Token::NotEquals => "!=",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::OpenPar => "(",
            Token::ClosedPar => ")",
            Token::Comma => ",",
            Token::End => "",
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | '>' | '<' | '(' | ')' | ',')
}

/// Splits a selector string into tokens; `in` and `notin` come out as
/// keywords and the parser turns them back into identifiers where a value
/// is expected.
pub(super) fn tokenize(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_special(c) {
            let (token, len) = symbol(c, chars.get(i + 1).copied());
            tokens.push(token);
            i += len;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
                i += 1;
            }
            tokens.push(keyword(chars[start..i].iter().collect()));
        }
    }
    tokens.push(Token::End);
    tokens
}

fn symbol(c: char, next: Option<char>) -> (Token, usize) {
    match (c, next) {
        ('!', Some('=')) => (Token::NotEquals, 2),
        ('!', _) => (Token::DoesNotExist, 1),
        ('=', Some('=')) => (Token::DoubleEquals, 2),
        ('=', _) => (Token::Equals, 1),
        ('>', _) => (Token::GreaterThan, 1),
        ('<', _) => (Token::LessThan, 1),
        ('(', _) => (Token::OpenPar, 1),
        (')', _) => (Token::ClosedPar, 1),
        _ => (Token::Comma, 1),
    }
}

fn keyword(word: String) -> Token {
    match word.as_str() {
        "in" => Token::In,
        "notin" => Token::NotIn,
        _ => Token::Identifier(word),
    }
}
