//! Raw socket calls.
