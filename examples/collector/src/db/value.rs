//! What crosses the engine boundary: statement arguments in, row values out, in the few types the collector
//! stores (integers, text, the odd average), so the SQL code reads the same whichever engine runs it.

use super::DbError;

/// One statement argument.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<u32> for Arg<'_> {
    fn from(v: u32) -> Self {
        Arg::Int(i64::from(v))
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Int(i64::from(v))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

/// `&i64` and friends, as the call sites hold them.
macro_rules! by_copy {
    ($($t:ty),*) => {$(
        impl From<&$t> for Arg<'_> {
            fn from(v: &$t) -> Self {
                (*v).into()
            }
        }
    )*};
}
by_copy!(i64, u32, bool);

impl<'a, T: Into<Arg<'a>>> From<Option<T>> for Arg<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Arg::Null, Arg::Text)
    }
}

impl<'a> From<&'a Option<i64>> for Arg<'a> {
    fn from(v: &'a Option<i64>) -> Self {
        v.map_or(Arg::Null, Arg::Int)
    }
}

/// The arguments of one statement: `args![a, b]`, each converted with `Arg::from`.
macro_rules! args {
    () => { [] as [$crate::db::Arg<'_>; 0] };
    ($($a:expr),+ $(,)?) => { [$($crate::db::Arg::from($a)),+] };
}
pub(crate) use args;

/// One value read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// One row read back, its values in the order of the select list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    /// The value of column `i` as `T`; a type mismatch is a [`DbError::Conversion`], never a panic.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        let value = self.0.get(i).ok_or_else(|| DbError::Conversion(format!("no column {i}")))?;
        T::from_value(value).ok_or_else(|| DbError::Conversion(format!("column {i}: unexpected {value:?}")))
    }
}

/// A Rust type a column converts to.
pub(crate) trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for u64 {
    /// Counts: never negative in the collector's tables; clamped rather than failed if one ever is.
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i.max(0) as u64)
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i != 0)
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Real(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}
