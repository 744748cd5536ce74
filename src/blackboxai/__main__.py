"""`python -m blackboxai` runs the same entry point as the `blackboxai` command."""

from blackboxai.cli import main

if __name__ == "__main__":
    main(prog_name="blackboxai")
