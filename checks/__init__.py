"""Pure checks: files in, findings out; nothing here talks to a platform, a queue or the web."""
