"""One module per subcommand: parse, call the library, render."""
