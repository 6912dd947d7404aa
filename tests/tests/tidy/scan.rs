//! A small Rust source scanner for the tidy checks: code with comments and literals
//! blanked out, test-only items dropped, function items and their lengths, identifiers.
//!
//! Line-based and approximate by design (no parser dependency), but it never loses
//! line numbers: every blanked character keeps its newline.

/// `source` with every comment and the inside of every string, byte-string and char
/// literal replaced by spaces (newlines kept), so braces and keywords in them do not
/// count. Lifetimes (`'a`) are code and stay.
pub(crate) fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"..", r#".."#, br#".."#: ends at a quote followed by as many hashes.
            let open = chars[i..].iter().position(|&c| c == '"').unwrap_or(0) + i;
            out.extend(std::iter::repeat_n(' ', open + 1 - i));
            i = open + 1;
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#'));
                if closes {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At `i`, a raw (byte) string literal starts: its number of hashes.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    let prev_is_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if prev_is_ident {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some(hashes)
}

/// A quote at `i` opens a char literal (`'x'`, `'\n'`, `'\u{1F600}'`), not a lifetime.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// The lines of [`code_only`] text outside `#[cfg(test)]` items, numbered from 1: the
/// item after the attribute is dropped up to its closing brace (or its `;`).
pub(crate) fn non_test_lines(code: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let trimmed = lines[n].trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            n = item_end(&lines, n + 1) + 1;
            continue;
        }
        out.push((n + 1, lines[n].to_owned()));
        n += 1;
    }
    out
}

/// The index of the line where the item starting at line `from` ends: its braces
/// balance, or it ends with `;` before any brace opens.
fn item_end(lines: &[&str], from: usize) -> usize {
    let mut depth = 0i64;
    let mut opened = false;
    for (k, line) in lines.iter().enumerate().skip(from) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                ';' if !opened => return k,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            return k;
        }
    }
    lines.len().saturating_sub(1)
}

/// A function item with a body: its name, the line of `fn`, and its length in lines
/// from that line to its closing brace.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FnItem {
    pub(crate) name: String,
    pub(crate) line: usize,
    pub(crate) lines: usize,
}

/// Every function with a body in `source` outside `#[cfg(test)]` items, nested ones
/// included (an outer function's length includes them).
pub(crate) fn functions(source: &str) -> Vec<FnItem> {
    let kept = non_test_lines(&code_only(source));
    // (line number, char) of the kept code, so braces match across dropped items.
    let chars: Vec<(usize, char)> = kept
        .iter()
        .flat_map(|(n, l)| l.chars().chain(std::iter::once('\n')).map(move |c| (*n, c)))
        .collect();
    let mut out = Vec::new();
    for i in 0..chars.len() {
        if !is_keyword_at(&chars, i, "fn") {
            continue;
        }
        let name: String = chars[i + 2..]
            .iter()
            .map(|&(_, c)| c)
            .skip_while(|c| c.is_whitespace())
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue; // `fn(u8) -> u8`, a function pointer type
        }
        if let Some(end) = body_end(&chars, i) {
            let (start, last) = (chars[i].0, chars[end].0);
            out.push(FnItem {
                name,
                line: start,
                lines: last - start + 1,
            });
        }
    }
    out
}

/// `word` stands at `i` as a whole identifier.
fn is_keyword_at(chars: &[(usize, char)], i: usize, word: &str) -> bool {
    let ident = |k: usize| {
        chars
            .get(k)
            .is_some_and(|&(_, c)| c.is_alphanumeric() || c == '_')
    };
    let matches = word
        .chars()
        .enumerate()
        .all(|(k, w)| chars.get(i + k).is_some_and(|&(_, c)| c == w));
    matches && (i == 0 || !ident(i - 1)) && !ident(i + word.len())
}

/// The index of the brace closing the body of the `fn` at `i`, or `None` for a
/// declaration without a body (`fn f();` in a trait or an extern block).
fn body_end(chars: &[(usize, char)], i: usize) -> Option<usize> {
    let mut k = i;
    let mut nesting = 0i64; // (), [] and <> of the signature
    while k < chars.len() {
        match chars[k].1 {
            '(' | '[' => nesting += 1,
            ')' | ']' => nesting -= 1,
            ';' if nesting == 0 => return None,
            '{' if nesting == 0 => break,
            _ => {}
        }
        k += 1;
    }
    let mut depth = 0i64;
    while k < chars.len() {
        match chars[k].1 {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// The identifiers of a line of code, in order.
pub(crate) fn identifiers(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_alphabetic() || c == '_'))
}
