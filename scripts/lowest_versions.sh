#!/usr/bin/env bash
# The lowest versions pyproject.toml allows for every direct dependency (the rest newest), in a
# fresh venv, then the tests that exercise each of them. A failure means a floor lies: raise it
# and say why beside it.   Usage: bash scripts/lowest_versions.sh [PYTHON]   (needs uv on PATH;
# runs from the repository root whatever the working directory)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
venv=$(mktemp -d "${TMPDIR:-/tmp}/blackboxai-lowest.XXXXXX")
trap 'rm -rf "$venv"' EXIT

uv venv -q --python "$python" "$venv"
py=$venv/bin/python
[[ -d $venv/Scripts ]] && py=$venv/Scripts/python.exe  # Windows
uv pip install -q --python "$py" --resolution lowest-direct -e '.[test]'
echo "lowest versions: $(uv pip list --python "$py" 2>/dev/null | grep -iE \
    '^(click|filelock|httpx|mixpanel|platformdirs|posthog|pyyaml|requests|rich|typer) ' |
    tr -s ' ' | paste -sd ',' -)"

# typer (and its click), rich: test_cli, test_usage, test_argv, test_report; httpx: test_host,
# test_llm; pyyaml: test_settings; platformdirs: test_state, test_paths and test_policy (our
# XDG rules agree with it); typer and click again: cli/test_policy (--help); filelock:
# test_portable (our locks with fcntl hidden); requests, posthog, mixpanel: test_ingestion (each
# adapter through its SDK) and test_delivery (the real uploader); opentelemetry-exporter-otlp-
# proto-http, trustme (test extra): test_otlp_collector; opentelemetry-proto (and its protobuf),
# requests to a team collector: test_otlp_encoding, test_otlp.
"$py" -m pytest -q -p no:cacheprovider -n 2 \
    tests/cli/test_cli.py tests/cli/test_usage.py tests/cli/test_argv.py tests/cli/test_host.py \
    tests/cli/test_question.py tests/cli/test_policy.py tests/session/test_llm.py \
    tests/config/test_settings.py tests/test_policy.py tests/analytics/test_paths.py \
    tests/analytics/consent/test_state.py tests/analytics/queue/test_spool.py \
    tests/analytics/views/test_report.py tests/test_portable.py \
    tests/analytics/delivery/test_ingestion.py tests/analytics/delivery/test_delivery.py \
    tests/analytics/delivery/test_otlp_collector.py tests/analytics/delivery/test_otlp_encoding.py \
    tests/analytics/delivery/test_otlp.py
