"""The yardstick for 1e: a bare argparse CLI with blackboxai's root options, doing nothing else.

Run as a script (`python bench/bare_cli.py --exit`), it parses and exits 0. It imports nothing of
ours, so that it stays bare; `cli_startup.py` checks, before measuring, that it declares exactly
the options of blackboxai's registry plus the command-line-only ones.
"""

import argparse
import sys

VALUE_OPTIONS = [
    "--analytics-log",
    "--analytics-posthog-host",
    "--analytics-posthog-project-api-key",
    "--analytics-mixpanel-token",
    "--analytics-mixpanel-host",
    "--analytics-otlp-endpoint",
    "--analytics-otlp-protocol",
    "--analytics-otlp-headers",
    "--model",
    "--edit-format",
    "--openai-api-base",
    "--openai-api-key",
]


def build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blackboxai")
    parser.add_argument("--analytics", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--analytics-disable", action="store_true")
    parser.add_argument("--analytics-debug", action="store_true")
    for flag in VALUE_OPTIONS:
        parser.add_argument(flag)
    parser.add_argument("--file", action="append")
    parser.add_argument("-m", "--message")
    parser.add_argument("-c", "--config")
    parser.add_argument("--exit", action="store_true")
    parser.add_argument("--version", action="version", version="blackboxai")
    parser.add_argument("files", nargs="*")
    return parser


if __name__ == "__main__":
    build().parse_args()
    sys.exit(0)
