//! Tables that sort, without a script: a sortable column's header links to the same page sorted by it (following
//! the link again reverses it), and says which way it is sorted (`aria-sort`) for screen readers.

use std::cmp::Ordering;

/// `?sort=column&dir=asc|desc`.
#[derive(serde::Deserialize, Default)]
pub(super) struct SortQuery {
    sort: Option<String>,
    dir: Option<String>,
}

/// One column of a table: its key in the query (`None`: not sortable) and its label.
pub(super) struct Column {
    pub key: Option<&'static str>,
    pub label: &'static str,
}

pub(super) const fn sortable(key: &'static str, label: &'static str) -> Column {
    Column { key: Some(key), label }
}

pub(super) const fn fixed(label: &'static str) -> Column {
    Column { key: None, label }
}

/// A header cell as the template draws it.
pub(super) struct Header {
    pub label: &'static str,
    pub href: Option<String>,
    /// `ascending`, `descending` or `none`.
    pub aria: &'static str,
}

pub(super) struct Sorting {
    key: &'static str,
    descending: bool,
}

impl Sorting {
    /// The order the query asks for when it names a sortable column, else `default`.
    pub(super) fn from_query(query: &SortQuery, columns: &[Column], default: (&'static str, bool)) -> Sorting {
        let key = columns.iter().filter_map(|c| c.key).find(|k| query.sort.as_deref() == Some(*k));
        match key {
            Some(key) => Sorting { key, descending: query.dir.as_deref() == Some("desc") },
            None => Sorting { key: default.0, descending: default.1 },
        }
    }

    pub(super) fn headers(&self, path: &str, columns: &[Column]) -> Vec<Header> {
        columns
            .iter()
            .map(|column| match column.key {
                None => Header { label: column.label, href: None, aria: "none" },
                Some(key) => {
                    let current = key == self.key;
                    let next = if current && !self.descending { "desc" } else { "asc" };
                    let aria = match (current, self.descending) {
                        (false, _) => "none",
                        (true, false) => "ascending",
                        (true, true) => "descending",
                    };
                    Header { label: column.label, href: Some(format!("{path}?sort={key}&dir={next}")), aria }
                }
            })
            .collect()
    }

    /// Sorts `rows` by the chosen column; `compare` orders two rows by a column key, ascending.
    pub(super) fn apply<T>(&self, rows: &mut [T], compare: impl Fn(&str, &T, &T) -> Ordering) {
        rows.sort_by(|a, b| {
            let order = compare(self.key, a, b);
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 3] = [sortable("name", "Name"), sortable("count", "Count"), fixed("Notes")];

    #[test]
    fn a_header_link_sorts_by_its_column_and_again_the_other_way() {
        let query = SortQuery { sort: Some("count".into()), dir: Some("asc".into()) };
        let sorting = Sorting::from_query(&query, &COLUMNS, ("name", false));
        let headers = sorting.headers("/console/x", &COLUMNS);
        assert_eq!(headers[1].href.as_deref(), Some("/console/x?sort=count&dir=desc"));
        assert_eq!((headers[1].aria, headers[0].aria), ("ascending", "none"));
        assert_eq!(headers[0].href.as_deref(), Some("/console/x?sort=name&dir=asc"));
        assert!(headers[2].href.is_none(), "a fixed column has no link");
        let mut rows = vec![("b", 2), ("a", 3), ("c", 1)];
        sorting.apply(&mut rows, |key, x, y| if key == "count" { x.1.cmp(&y.1) } else { x.0.cmp(y.0) });
        assert_eq!(rows, [("c", 1), ("b", 2), ("a", 3)]);
    }

    #[test]
    fn an_unknown_column_falls_back_to_the_default_order() {
        let query = SortQuery { sort: Some("'; DROP TABLE".into()), dir: Some("desc".into()) };
        let sorting = Sorting::from_query(&query, &COLUMNS, ("name", true));
        assert_eq!((sorting.key, sorting.descending), ("name", true));
    }
}
