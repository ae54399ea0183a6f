from cqrs_cli.cli.app import main

main()
