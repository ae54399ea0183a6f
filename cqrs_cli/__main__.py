from cqrs_cli.cli import main

main()
