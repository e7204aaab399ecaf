"""`python -m planner` runs the CLI."""
from planner.cli.main import main

main()
