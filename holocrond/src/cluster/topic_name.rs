//! Topic name rules, as Kafka's `Topic.validate`: 1–249 characters of
//! `[a-zA-Z0-9._-]`, not `.` or `..`; names that differ only by `.` vs `_`
//! collide (their metric names would be the same).

/// Longest allowed topic name.
pub const MAX_LEN: usize = 249;

/// Why a topic name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicNameError {
    /// Empty name.
    #[error("topic name is empty")]
    Empty,
    /// `.` or `..`.
    #[error("topic name cannot be \".\" or \"..\"")]
    Dots,
    /// Too long.
    #[error("topic name is {0} characters long, the limit is 249")]
    TooLong(usize),
    /// A character outside `[a-zA-Z0-9._-]`.
    #[error(
        "topic name {0:?} contains a character other than ASCII alphanumerics, '.', '_' and '-'"
    )]
    BadCharacter(String),
}

/// Checks a topic name.
pub fn validate(name: &str) -> Result<(), TopicNameError> {
    if name.is_empty() {
        return Err(TopicNameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(TopicNameError::Dots);
    }
    if name.len() > MAX_LEN {
        return Err(TopicNameError::TooLong(name.len()));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err(TopicNameError::BadCharacter(name.to_owned()));
    }
    Ok(())
}

/// The form under which two names collide (`.` and `_` are the same).
pub fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

/// Whether the name is internal (starts with `__`), hidden from plain listings.
pub fn is_internal(name: &str) -> bool {
    name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kafka_names() {
        assert!(validate("orders").is_ok());
        assert!(validate("a.b_c-D9").is_ok());
        assert!(validate(&"x".repeat(249)).is_ok());
    }

    #[test]
    fn refuses_what_kafka_refuses() {
        assert_eq!(validate(""), Err(TopicNameError::Empty));
        assert_eq!(validate(".."), Err(TopicNameError::Dots));
        assert_eq!(
            validate(&"x".repeat(250)),
            Err(TopicNameError::TooLong(250))
        );
        assert!(matches!(
            validate("a b"),
            Err(TopicNameError::BadCharacter(_))
        ));
        assert!(matches!(
            validate("a/b"),
            Err(TopicNameError::BadCharacter(_))
        ));
        assert!(matches!(
            validate("é"),
            Err(TopicNameError::BadCharacter(_))
        ));
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
    }
}
