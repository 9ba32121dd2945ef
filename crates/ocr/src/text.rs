//! Lines of words with their confidences, whatever produced them (text layer or OCR), so the
//! field extractor can say how sure it is of each value it reads.

use crate::Source;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// 0..=100.
    pub confidence: u8,
    pub source: Source,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    pub words: Vec<Word>,
    text: String,
    /// Byte range of each word in `text`.
    spans: Vec<(usize, usize)>,
}

impl Line {
    pub fn push(&mut self, w: Word) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        let start = self.text.len();
        self.text.push_str(&w.text);
        self.spans.push((start, self.text.len()));
        self.words.push(w);
    }

    /// Builds a line from plain text (a PDF text layer), every word fully trusted.
    pub fn from_text(text: &str, source: Source, confidence: u8) -> Line {
        let mut line = Line::default();
        for w in text.split_whitespace() {
            line.push(Word {
                text: w.to_owned(),
                confidence,
                source,
            });
        }
        line
    }

    /// The words joined by single spaces.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The lowest confidence of the words overlapping a byte range of `text()`.
    pub fn confidence_of(&self, start: usize, end: usize) -> u8 {
        self.spans
            .iter()
            .zip(&self.words)
            .filter(|((s, e), _)| *s < end && *e > start)
            .map(|(_, w)| w.confidence)
            .min()
            .unwrap_or(0)
    }

    pub fn source(&self) -> Source {
        self.words.first().map(|w| w.source).unwrap_or(Source::Ocr)
    }
}

/// Joins lines into the raw text kept with the draft.
pub fn raw_text(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(l.text());
        out.push('\n');
    }
    out
}
