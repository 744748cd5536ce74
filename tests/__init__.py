"""The test suite, and the doubles bench/ and scripts/ share with it.

Importable from the repository root as `tests` (pytest's `pythonpath = ["."]` in pyproject.toml;
`python -m bench.run` and `python -m scripts.X` put the working directory first). Shared:
`tests.loopback` (PostHog and Mixpanel on 127.0.0.1, with `tests.ingestion_rules`),
`tests.fake_openai` (the model endpoint) and `tests.support` (sinks, spooled records, uploaders).
Nothing here is in the wheel: the package is src/blackboxai alone.
"""
