"""The command line (src/blackboxai: cli, argv, startup, commands, analytics_cli, host, choice,
question), through the real CLI."""
