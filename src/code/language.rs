//! Source language detection from file names and shebang lines, and the tree-sitter grammar for each language.

use std::path::Path;

use serde::Serialize;

/// A language the indexer detects. `Text` has no grammar and is chunked by line windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Rust,
    Go,
    Java,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
    Bash,
    Text,
}

/// Extensions of text files that are indexed without a grammar.
const TEXT_EXTENSIONS: &[&str] = &[
    "md",
    "markdown",
    "rst",
    "txt",
    "adoc",
    "org",
    "toml",
    "yaml",
    "yml",
    "json",
    "jsonc",
    "json5",
    "xml",
    "ini",
    "cfg",
    "conf",
    "properties",
    "env",
    "csv",
    "tsv",
    "sql",
    "graphql",
    "gql",
    "proto",
    "html",
    "htm",
    "css",
    "scss",
    "sass",
    "less",
    "vue",
    "svelte",
    "kt",
    "kts",
    "swift",
    "scala",
    "sc",
    "lua",
    "pl",
    "pm",
    "r",
    "jl",
    "dart",
    "ex",
    "exs",
    "erl",
    "hrl",
    "hs",
    "ml",
    "mli",
    "fs",
    "fsx",
    "clj",
    "cljs",
    "elm",
    "zig",
    "nim",
    "v",
    "sv",
    "vhd",
    "m",
    "mm",
    "groovy",
    "gradle",
    "cmake",
    "mk",
    "tf",
    "hcl",
    "nix",
    "ps1",
    "psm1",
    "bat",
    "cmd",
    "fish",
    "zsh",
    "tex",
    "bib",
    "asm",
    "s",
];

/// File names without a usable extension that are indexed, with their language.
const KNOWN_FILE_NAMES: &[(&str, Language)] = &[
    ("Makefile", Language::Text),
    ("GNUmakefile", Language::Text),
    ("Dockerfile", Language::Text),
    ("Containerfile", Language::Text),
    ("Jenkinsfile", Language::Text),
    ("Vagrantfile", Language::Ruby),
    ("Gemfile", Language::Ruby),
    ("Rakefile", Language::Ruby),
    ("README", Language::Text),
    ("LICENSE", Language::Text),
    ("CHANGELOG", Language::Text),
    (".bashrc", Language::Bash),
    (".bash_profile", Language::Bash),
    (".profile", Language::Bash),
];

/// Lock files and other machine-written files that are never indexed, matched by whole name.
const EXCLUDED_FILE_NAMES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "Gemfile.lock",
    "composer.lock",
    "go.sum",
    "flake.lock",
    "packages.lock.json",
];

/// Name endings of minified bundles and source maps, which are never indexed.
const EXCLUDED_SUFFIXES: &[&str] = &[".min.js", ".min.css", ".map"];

impl Language {
    /// Every language, in declaration order.
    pub const ALL: [Language; 14] = [
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Rust,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
        Language::Bash,
        Language::Text,
    ];

    /// Returns the stable lowercase name stored in the index ("python", "tsx", "csharp", ...).
    pub fn name(&self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::CSharp => "csharp",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::Bash => "bash",
            Language::Text => "text",
        }
    }

    /// Detects the language from the file name.
    ///
    /// Returns `Some(Language::Text)` for text formats without a grammar, such as Markdown,
    /// TOML, Kotlin or SQL. Returns `None` for files that should not be indexed: unknown
    /// extensions, lock files, minified bundles (`*.min.js`), source maps, and files without an
    /// extension that are not in a short list of known names (`Makefile`, `Gemfile`, ...).
    /// For a file without an extension, callers can try [`Language::from_shebang`] on its
    /// first line.
    pub fn from_path(path: &Path) -> Option<Language> {
        let file_name = path.file_name()?.to_str()?;
        if EXCLUDED_FILE_NAMES.contains(&file_name)
            || EXCLUDED_SUFFIXES
                .iter()
                .any(|suffix| file_name.ends_with(suffix))
        {
            return None;
        }
        if let Some((_, language)) = KNOWN_FILE_NAMES.iter().find(|(name, _)| *name == file_name) {
            return Some(*language);
        }
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::from_extension(&extension)
    }

    /// Detects the language from a lowercase file extension without the dot.
    fn from_extension(extension: &str) -> Option<Language> {
        let language = match extension {
            "py" | "pyi" | "pyw" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "rs" => Language::Rust,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            "cpp" | "cc" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" | "inl" => {
                Language::Cpp
            }
            "cs" => Language::CSharp,
            "rb" | "rake" | "gemspec" | "ru" => Language::Ruby,
            "php" | "phtml" => Language::Php,
            "sh" | "bash" => Language::Bash,
            _ if TEXT_EXTENSIONS.contains(&extension) => Language::Text,
            _ => return None,
        };
        Some(language)
    }

    /// Detects the language from a script's first line, such as `#!/usr/bin/env python3`.
    ///
    /// Recognises python, node, ruby, php, bash, sh, dash and zsh interpreters, called directly
    /// or through `env` (options to `env` such as `-S` are skipped). zsh scripts are parsed with
    /// the bash grammar.
    pub fn from_shebang(first_line: &str) -> Option<Language> {
        let command = first_line.strip_prefix("#!")?.trim();
        let mut words = command.split_whitespace();
        let mut program = words.next()?.rsplit('/').next()?;
        if program == "env" {
            program = words.find(|word| !word.starts_with('-'))?;
        }
        let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        match program {
            "python" | "pypy" => Some(Language::Python),
            "node" | "nodejs" | "deno" | "bun" => Some(Language::JavaScript),
            "ts-node" | "tsx" => Some(Language::TypeScript),
            "ruby" => Some(Language::Ruby),
            "php" => Some(Language::Php),
            "bash" | "sh" | "dash" | "zsh" | "ksh" => Some(Language::Bash),
            _ => None,
        }
    }

    /// Returns the tree-sitter grammar, or `None` for [`Language::Text`].
    pub fn grammar(&self) -> Option<tree_sitter::Language> {
        let grammar = match self {
            Language::Python => tree_sitter_python::LANGUAGE,
            Language::JavaScript => tree_sitter_javascript::LANGUAGE,
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX,
            Language::Rust => tree_sitter_rust::LANGUAGE,
            Language::Go => tree_sitter_go::LANGUAGE,
            Language::Java => tree_sitter_java::LANGUAGE,
            Language::C => tree_sitter_c::LANGUAGE,
            Language::Cpp => tree_sitter_cpp::LANGUAGE,
            Language::CSharp => tree_sitter_c_sharp::LANGUAGE,
            Language::Ruby => tree_sitter_ruby::LANGUAGE,
            Language::Php => tree_sitter_php::LANGUAGE_PHP,
            Language::Bash => tree_sitter_bash::LANGUAGE,
            Language::Text => return None,
        };
        Some(grammar.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_path_detects_extensions_and_names() {
        let cases: &[(&str, Option<Language>)] = &[
            ("src/app.py", Some(Language::Python)),
            ("stubs/os.pyi", Some(Language::Python)),
            ("web/index.js", Some(Language::JavaScript)),
            ("web/esm.mjs", Some(Language::JavaScript)),
            ("web/common.cjs", Some(Language::JavaScript)),
            ("web/view.jsx", Some(Language::JavaScript)),
            ("web/api.ts", Some(Language::TypeScript)),
            ("web/api.mts", Some(Language::TypeScript)),
            ("web/api.cts", Some(Language::TypeScript)),
            ("web/view.tsx", Some(Language::Tsx)),
            ("src/main.rs", Some(Language::Rust)),
            ("cmd/main.go", Some(Language::Go)),
            ("src/Main.java", Some(Language::Java)),
            ("lib/list.c", Some(Language::C)),
            ("include/list.h", Some(Language::C)),
            ("lib/shape.cpp", Some(Language::Cpp)),
            ("lib/shape.cc", Some(Language::Cpp)),
            ("lib/shape.cxx", Some(Language::Cpp)),
            ("include/shape.hpp", Some(Language::Cpp)),
            ("include/shape.hh", Some(Language::Cpp)),
            ("src/Program.cs", Some(Language::CSharp)),
            ("lib/task.rb", Some(Language::Ruby)),
            ("Gemfile", Some(Language::Ruby)),
            ("public/index.php", Some(Language::Php)),
            ("scripts/build.sh", Some(Language::Bash)),
            ("scripts/build.bash", Some(Language::Bash)),
            ("README.md", Some(Language::Text)),
            ("Cargo.toml", Some(Language::Text)),
            ("config/app.yaml", Some(Language::Text)),
            ("android/Main.kt", Some(Language::Text)),
            ("Makefile", Some(Language::Text)),
            ("SRC/MAIN.PY", Some(Language::Python)),
            ("Cargo.lock", None),
            ("web/package-lock.json", None),
            ("web/dist/app.min.js", None),
            ("web/dist/app.js.map", None),
            ("assets/logo.png", None),
            ("dist/release.tar.gz", None),
            ("bin/tool", None),
            ("notes.unknownext", None),
        ];
        for (path, expected) in cases {
            assert_eq!(
                Language::from_path(Path::new(path)),
                *expected,
                "path {path}"
            );
        }
    }

    #[test]
    fn from_shebang_detects_interpreters() {
        let cases: &[(&str, Option<Language>)] = &[
            ("#!/usr/bin/env python3", Some(Language::Python)),
            ("#!/usr/bin/python3.12", Some(Language::Python)),
            (
                "#!/usr/bin/env -S node --no-warnings",
                Some(Language::JavaScript),
            ),
            ("#!/bin/bash", Some(Language::Bash)),
            ("#!/bin/sh -e", Some(Language::Bash)),
            ("#! /usr/bin/env ruby", Some(Language::Ruby)),
            ("#!/usr/bin/php", Some(Language::Php)),
            ("#!/usr/bin/env perl", None),
            ("import os", None),
            ("#!", None),
        ];
        for (line, expected) in cases {
            assert_eq!(Language::from_shebang(line), *expected, "line {line:?}");
        }
    }

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut names: Vec<&str> = Language::ALL.iter().map(Language::name).collect();
        for name in &names {
            assert_eq!(*name, name.to_lowercase());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Language::ALL.len());
    }

    #[test]
    fn grammar_exists_for_every_parsed_language() {
        for language in Language::ALL {
            let grammar = language.grammar();
            assert_eq!(
                grammar.is_none(),
                language == Language::Text,
                "{language:?}"
            );
        }
    }
}
