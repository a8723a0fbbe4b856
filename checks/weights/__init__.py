"""The weight-file scan: reads bytes, never unpickles, imports or runs what it reads."""
