//! mcp-code-index: an MCP server that indexes source code into per-user vector
//! collections and reports finished jobs through webhooks.

pub mod code;
pub mod config;
pub mod embed;
pub mod index;
pub mod jobs;
pub mod mcp;
pub mod store;
pub mod time_fmt;
pub mod webhook;
