"""`python -m supportd.cli`: the `supportd` command."""

from supportd.cli import main

main()
