//! Macros every layer may use (declared first in `lib.rs`, so they are in
//! scope in every module below it).

/// A Markdown link to a man7.org page, e.g. `man!("bind", 2)`.
macro_rules! man {
    ($name:literal, $section:literal) => {
        concat!(
            "[`",
            $name,
            "(",
            $section,
            ")`](https://man7.org/linux/man-pages/man",
            $section,
            "/",
            $name,
            ".",
            $section,
            ".html)"
        )
    };
}
