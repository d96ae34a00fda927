//! The two sources of lines: the `rustyline` line editor (a terminal) and plain stdin (a pipe).
//!
//! [`Editor`] receives the prompt and returns a line, with tab completion from
//! [`super::complete`] over the vocabulary the driver refreshes before each entry, and a history
//! file in the platform's data directory ([`history_path`]); a history file that cannot be read,
//! created or written never stops the session. [`Piped`] reads stdin line by line and shows no
//! prompt.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Helper};

use super::complete::{complete, Vocabulary};
use super::driver::{Line, LineInput};

/// The history file: `$XDG_DATA_HOME/brainsurgery/history`, else
/// `$HOME/.local/share/brainsurgery/history`; `None` when neither variable is set.
pub fn history_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|value| !value.is_empty())
                .map(|home| Path::new(&home).join(".local").join("share"))
        })?;
    Some(data.join("brainsurgery").join("history"))
}

/// Completion for the line editor.
#[derive(Default)]
pub struct ReplHelper {
    pub vocabulary: Vocabulary,
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        position: usize,
        _context: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(complete(line, position, &self.vocabulary))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}

/// Lines from a terminal, through the line editor.
pub struct Editor {
    editor: rustyline::Editor<ReplHelper, DefaultHistory>,
    history: Option<PathBuf>,
}

impl Editor {
    /// An editor with completion and the history file at `history` (read when it exists).
    pub fn new(history: Option<PathBuf>) -> rustyline::Result<Editor> {
        let config = Config::builder()
            .completion_type(CompletionType::List)
            .auto_add_history(false)
            .max_history_size(10_000)?
            .build();
        let mut editor = rustyline::Editor::with_config(config)?;
        editor.set_helper(Some(ReplHelper::default()));
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        Ok(Editor { editor, history })
    }

    /// Appends a line to the history file, creating its directory; failures are ignored, as the
    /// history is a convenience.
    fn remember(&mut self, line: &str) {
        if line.trim().is_empty() || self.editor.add_history_entry(line).is_err() {
            return;
        }
        if let Some(path) = &self.history {
            if let Some(directory) = path.parent() {
                let _ = std::fs::create_dir_all(directory);
            }
            let _ = self.editor.save_history(path);
        }
    }
}

impl LineInput for Editor {
    fn read_line(&mut self, prompt: &str) -> Line {
        match self.editor.readline(prompt) {
            Ok(line) => {
                self.remember(&line);
                Line::Text(line)
            }
            Err(ReadlineError::Interrupted) => Line::Interrupted,
            Err(_) => Line::End,
        }
    }

    fn refresh(&mut self, vocabulary: &Vocabulary) {
        if let Some(helper) = self.editor.helper_mut() {
            if helper.vocabulary != *vocabulary {
                helper.vocabulary = vocabulary.clone();
            }
        }
    }
}

/// Lines from a pipe or file: no prompt, no editing.
pub struct Piped<R> {
    reader: R,
}

impl<R: BufRead> Piped<R> {
    pub fn new(reader: R) -> Piped<R> {
        Piped { reader }
    }
}

impl<R: BufRead> LineInput for Piped<R> {
    fn read_line(&mut self, _prompt: &str) -> Line {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => Line::End,
            Ok(_) => {
                let trimmed = line.trim_end_matches(['\n', '\r']).len();
                line.truncate(trimmed);
                Line::Text(line)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piped_lines_lose_their_line_breaks_and_end_at_eof() {
        let mut input = Piped::new("a = b\r\n\nc\n".as_bytes());
        assert_eq!(input.read_line(""), Line::Text("a = b".into()));
        assert_eq!(input.read_line(""), Line::Text(String::new()));
        assert_eq!(input.read_line(""), Line::Text("c".into()));
        assert_eq!(input.read_line(""), Line::End);
    }
}
