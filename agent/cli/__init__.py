"""One module per `formscout` sub-command; each defines `add_parser(subparsers)` and `run(args) -> int`."""
