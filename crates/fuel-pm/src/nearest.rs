//! "Did you mean …?": the valid spelling nearest to a mistyped one.

/// The candidate within a small edit distance of `typed` (a transposition
/// counts as one edit, so `verison` finds `version`).
pub(crate) fn nearest<'a>(typed: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        // Only near lengths can be near words; this also keeps a huge key cheap.
        .filter(|c| typed.len().abs_diff(c.len()) <= 2)
        .map(|c| (distance(typed, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: the one before the previous is needed for transpositions.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn a_transposed_or_missing_letter_finds_the_key() {
        let keys = ["name", "version", "after"];
        assert_eq!(nearest("verison", &keys), Some("version"));
        assert_eq!(nearest("nmae", &keys), Some("name"));
        assert_eq!(nearest("afterr", &keys), Some("after"));
    }

    #[test]
    fn an_unrelated_word_finds_nothing() {
        assert_eq!(nearest("provider", &["name", "version", "after"]), None);
        assert_eq!(nearest("x", &["exec", "systemd"]), None);
    }
}
