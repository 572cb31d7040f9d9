//! Human output: python-fuelclient's tables (`id | name` over `---+-----`),
//! so an operator's eyes and `awk -F'|'` habits carry over.

/// A table of text cells under column headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut row: Vec<String> = cells.into_iter().map(|c| printable(&c.into())).collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines, each ending in `\n`; trailing spaces trimmed.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.headers[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("{}\n", padded.join(" | ").trim_end())
        };
        let mut out = line(&self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&format!("{}\n", rule.join("-+-")));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// Cells come from the server: control characters (a newline, a terminal
/// escape sequence) are shown escaped, never sent to the terminal.
fn printable(cell: &str) -> String {
    if !cell.chars().any(char::is_control) {
        return cell.to_string();
    }
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_as_fuelclient_printed_them() {
        let mut table = Table::new(["id", "name", "release_id"]);
        table.row(["1", "production", "2"]);
        table.row(["10", "s", "2"]);
        assert_eq!(
            table.render(),
            "id | name       | release_id\n\
             ---+------------+-----------\n\
             1  | production | 2\n\
             10 | s          | 2\n"
        );
    }

    #[test]
    fn short_rows_are_padded_and_control_characters_escaped() {
        let mut table = Table::new(["id", "message"]);
        table.row(["7"]);
        table.row(["8", "line\nnext \u{1b}[31mred"]);
        let text = table.render();
        assert!(text.contains("8  | line\\nnext \\u{1b}[31mred\n"), "{text}");
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("7  |\n") || text.contains("7\n"), "{text}");
    }
}
