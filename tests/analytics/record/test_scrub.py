"""Behaviour of the analytics privacy scrubber (blackboxai.analytics.record.scrub)."""

from __future__ import annotations

import json
import math
import re
import string
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from blackboxai.analytics.record.frames import exception_properties
from blackboxai.analytics.record.model_names import known_models, redact_model
from blackboxai.analytics.record.scrub import MAX_STRING, scrub_properties, scrub_text, scrub_value
from blackboxai.analytics.record.system import system_properties
from blackboxai.session.edits import FAILURE_REASONS
from tests.support import REPO

SECRET = "<secret>"
EMAIL = "<email>"
PATH = "<path>"
MORE = "…"

SECRETS = {
    "openai": "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4",
    "openai-project": "sk-proj-Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa98765",
    "anthropic": "sk-ant-api03-Qm7Rk2Lp9Xw4Vn8Ty3Ue6Hs1Jd5Gf0Ac_Zb-Yx1234AA",
    "github-pat-classic": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "github-oauth": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "github-user": "ghu_16C7e42F292c6912E7710c838347Ae178B4a",
    "github-server": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "github-refresh": "ghr_16C7e42F292c6912E7710c838347Ae178B4a",
    "github-fine-grained": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
    "aws-access-key": "AKIAIOSFODNN7EXAMPLE",
    "aws-session-key": "ASIAY34FZKBOKMUTVV7A",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "slack": "xoxb-2401352-99807651-Rtq7PzWmX3",
    "google": "AIzaSyD4fGx7-Hk2Lm9Np0Qr3St6Uv8Wx1Yz2Ab",
    "long-hex": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "long-base64": "dGhpcyBpcyBhIHZlcnkgc2VjcmV0IHRva2VuIDEyMzQ1Ng+/xYz==",
    "hugging-face": "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "gitlab": "glpat-Ab3dEf6hIj9kLm2nOp5q",
    "pypi-short": "pypi-AgEIcHlwaS5vcmcCJ",
    "stripe-live": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "stripe-restricted": "rk_test_51H8abcdEFGHijkl",
}


def leaked(body: str, out: str, window: int = 8) -> bool:
    """True if ``body`` or any ``window``-char piece of it appears in ``out``."""
    if len(body) <= window:
        return body in out
    return any(body[i : i + window] in out for i in range(len(body) - window + 1))


# --- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/srv/app Bearer AbC/dEf+GhI= tail", "<path> Bearer <secret> tail"),
        ("see /srv/app Bearer 0/=0000000", "see <path> Bearer <secret>"),
        ("/srv/app Basic dXNlcjpw/YXNz tail", "<path> Basic <secret> tail"),
        ("/srv/app digest username=ann/x, realm=y", "<path> digest <secret>"),
        ("/home/ann smith/notes.txt and C:\\Program Files\\x.exe", "<path> and <path>"),
    ],
)
def test_a_credential_after_a_path_is_not_taken_into_the_path(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_each_secret_kind_is_replaced_in_realistic_text(secret: str) -> None:
    text = f'request failed (status=401) using credential {secret}; retrying with "fallback"'
    out = scrub_text(text)
    assert secret not in out
    assert not leaked(secret[4:], out)
    assert out == f'request failed (status=401) using credential {SECRET}; retrying with "fallback"'


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_secret_glued_to_an_assignment_is_replaced(secret: str) -> None:
    out = scrub_text(f"OPENAI_API_KEY={secret}\nnext line")
    assert out == f"OPENAI_API_KEY={SECRET}\nnext line"


def test_bearer_token_keeps_the_scheme_word_and_replaces_the_token() -> None:
    out = scrub_text("Authorization: Bearer abc123.DEF456-ghi_789 sent")
    assert out == f"Authorization: Bearer {SECRET} sent"
    assert scrub_text("authorization: bearer 0a1b2c3d4e") == f"authorization: bearer {SECRET}"


def test_shortest_matching_secrets_are_replaced_despite_the_fast_path() -> None:
    assert scrub_text("xoxb-1234567890") == SECRET
    assert scrub_text("Bearer abcdefgh") == f"Bearer {SECRET}"


def test_prefix_matched_key_takes_the_rest_of_its_token_with_it() -> None:
    out = scrub_text("key AKIAIOSFODNN7EXAMPLEmoreSecretStuff99 end")
    assert out == f"key {SECRET} end"


def test_secret_inside_json_after_escaped_newline_is_replaced() -> None:
    key = "sk-" + "q" * 24
    out = scrub_text(json.dumps({"log": "line one\n" + key}))
    assert key[3:] not in out
    assert SECRET in out


def test_jwt_glued_to_a_longer_token_is_replaced_whole() -> None:
    # In JSON, "\\n" puts an 'n' before the header, so the match starts before "eyJ".
    jwt = "eyJ" + "a1" * 20 + ".eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    out = scrub_value(["first\n" + jwt])
    assert isinstance(out, str) and not leaked(jwt[3:], out) and out.endswith('<secret>"]')
    # In plain text a backslash may be a Windows separator: the whole run goes, as a path.
    assert not leaked(jwt[3:], scrub_text(json.dumps(["first\n" + jwt])))


# --- emails and home paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["ann@example.com", "ann.smith+ci@mail.example.co.uk", "dev_42@corp-internal.io"]
)
def test_email_addresses_are_replaced(email: str) -> None:
    out = scrub_text(f"commit by <{email}>, cc {email}.")
    assert out == f"commit by <{EMAIL}>, cc {EMAIL}."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ann@buildhost:/srv/x", f"{EMAIL}:{PATH}"),
        ("git@github.com:acme/private-repo.git", f"{EMAIL}:{PATH}"),
        ("ssh ann@buildhost failed", f"ssh {EMAIL} failed"),
        ("as root@10.0.0.5", f"as {EMAIL}"),
    ],
)
def test_a_user_at_a_host_goes_like_an_email(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_given_home_is_replaced_as_a_path_prefix_only() -> None:
    home = "/srv/users/ann"
    text = "opened /srv/users/ann/proj/main.py, /srv/users/annabel/x and /srv/users/ann."
    out = scrub_text(text, home=home)
    assert out == "opened <path>, <path> and ~."


@pytest.mark.parametrize("home", ["/opt/me", "/opt/me/", "/opt/ann smith"])
def test_home_alone_becomes_a_tilde_and_a_path_under_it_a_path(home: str) -> None:
    root = home.rstrip("/")
    assert scrub_text(f"in {root}/x.txt and {root}.", home=home) == "in <path> and ~."


@pytest.mark.parametrize("home", ["/", "", "~"])
def test_trivial_home_is_ignored(home: str) -> None:
    assert scrub_text("cd /opt", home=home) == "cd /opt"


def test_default_home_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/opt/homes/zed smith")
    assert scrub_text("cwd=/opt/homes/zed smith") == "cwd=~"


@pytest.mark.parametrize(
    "text",
    [
        "/home/bob/.config/app.yaml",
        "/Users/carol.d/Library/Logs",
        "/Users/ann smith/x.py",
        "C:\\Users\\dave\\AppData\\Local",
        "c:/users/dave/Desktop",
        "C:\\Users\\Erin Smith\\Documents",
        "/root/.ssh/id_rsa",
    ],
)
def test_other_users_home_paths_are_replaced_whole(text: str) -> None:
    assert scrub_text(text, home="/nonexistent/me") == PATH
    assert scrub_text(json.dumps({"path": text})) == '{"path": "<path>"}'


@pytest.mark.parametrize(
    "text",
    [
        "gpt-4o-mini",
        "claude-3-5-sonnet-20241022",
        "3.11.7",
        "ok",
        "12 files changed, 3 insertions(+)",
        "3f2a9c1",  # short git hash
        "123e4567-e89b-42d3-a456-426614174000",  # canonical UUID4 (the anonymous id)
        "flask-sqlalchemy-migrations",
        "the bearer of bad news",
        "",
        "and/or, n/a, TCP/IP, 1/2/2025, 3/4 done",
        "openrouter/anthropic/claude-3.5-sonnet",
        "meta-llama/Llama-3.1-8B-Instruct",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "cd /opt",
        "ratio: 4.7x, status=401",
        "6.18.44-fc-v669",
        "5.15.153.1-microsoft-standard-WSL2",
        "session.chat:_exchange:97 < host:main:150",
        "blackboxai.session.llm.LLMError",
        "max_tokens=4096 prompt_tokens: 12",
        "HTTP Basic Authentication, basic functionality, digest mismatch",
        "cost $5/month at 50%/60% with @property",
        "react@18.2.0, python@3.11, openssl@3",  # name@version: no host name
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert scrub_text(text) == text


# --- what an adversarial review found kept verbatim ----------------------------------------------

FINE_TUNE = "ft:gpt-4o:my-org:secret"

# (key, value, expected output, fragments that must not survive)
LEAKS: dict[str, tuple[str, object, str, tuple[str, ...]]] = {
    "exception-text": (
        "reason",
        "[Errno 2] No such file or directory: '/srv/acme-payroll/salaries-2025.xlsx'",
        f"[Errno 2] No such file or directory: '{PATH}'",
        ("acme", "salaries"),
    ),
    "url-credentials": (
        "error_class",
        "https://admin:hunter2@10.0.0.5:8080/v1",
        "<url>",
        ("admin", "hunter2", "10.0.0.5"),
    ),
    "another-home": ("reason", "/root/.ssh/id_rsa", PATH, ("ssh", "id_rsa")),
    "relative": ("reason", "src/acme/customer_list.py", PATH, ("acme", "customer")),
    "windows": ("reason", "D:\\clients\\acme\\contract.docx", PATH, ("clients", "acme")),
    "macos-temp": ("reason", "/var/folders/7x/k2j3h4/T/tmpab12", PATH, ("folders", "k2j3")),
    "assignment": ("reason", "password=hunter2hunter2", f"password={SECRET}", ("hunter2",)),
    "query": (
        "reason",
        "https://api.example.com/v1?api_key=abcd1234efgh5678",
        "<url>",
        ("abcd1234", "example"),
    ),
    "home-with-a-space": ("reason", "/Users/ann smith/x.py", PATH, ("ann", "smith")),
    "Model": ("Model", FINE_TUNE, "openai/REDACTED", ("my-org", "secret")),
    "llm": ("llm", FINE_TUNE, "openai/REDACTED", ("my-org", "secret")),
    "weak_model_name": ("weak_model_name", FINE_TUNE, "openai/REDACTED", ("my-org", "secret")),
    "in-a-list": ("main_model", ["gpt-4o", FINE_TUNE], '["gpt-4o","openai/REDACTED"]', ("my-org",)),
    "in-a-dict": (
        "config",
        {"model": FINE_TUNE, "temperature": 0},
        '{"model":"openai/REDACTED","temperature":0}',
        ("my-org",),
    ),
    "in-text": ("note", f"tried {FINE_TUNE} twice", "tried openai/REDACTED twice", ("my-org",)),
    "fine-tune-capitals": ("note", "FT:gpt-4o:acme:secret", "openai/REDACTED", ("acme",)),
    "basic-auth": (
        "reason",
        "Authorization: Basic YW5uOmh1bnRlcjI= rejected",
        f"Authorization: Basic {SECRET} rejected",
        ("YW5uOmh1bnRlcjI",),
    ),
    "quoted-password": (
        "reason",
        'password="hunter 2 with spaces"',
        f'password="{SECRET}"',
        ("hunter", "spaces"),
    ),
    "scp": ("reason", "ann@buildhost:/srv/x", f"{EMAIL}:{PATH}", ("ann", "buildhost")),
    "variable-path": ("reason", "$HOME/.ssh/id_rsa", PATH, ("ssh", "id_rsa")),
}


@pytest.mark.parametrize(("key", "value", "expected", "gone"), LEAKS.values(), ids=LEAKS.keys())
def test_reproduced_leaks_are_scrubbed_by_scrub_properties(
    key: str, value: object, expected: str, gone: tuple[str, ...]
) -> None:
    out = scrub_properties({key: value}, home="/home/me")
    assert out == {key: expected}
    assert not any(fragment in expected for fragment in gone)


SAMPLE = REPO / "sample-analytics.jsonl"


def test_every_catalogued_value_in_the_sample_passes_unchanged() -> None:
    for line in SAMPLE.read_text().splitlines():
        props = json.loads(line)["properties"]
        assert scrub_properties(props) == props


def test_every_value_a_call_site_can_send_passes_unchanged() -> None:
    llm = (REPO / "src/blackboxai/session/llm.py").read_text()
    error_classes = set(re.findall(r'LLMError\(\s*"(\w+)"', llm))
    assert {"NoKey", "NoEndpoint", "ConnectError", "HTTPStatusError"} <= error_classes
    exits = ["exit_flag", "message_sent", "message_failed", "exit_command", "eof", "ctrl_c"]
    texts = [*FAILURE_REASONS, *error_classes, *exits, "terminated", "broken_pipe", "error"]
    texts += [*system_properties().values(), "whole", "diff"]
    texts += ["module:function:12 < session.chat:_exchange:97", "blackboxai.session.llm.LLMError"]
    for text in texts:
        assert scrub_properties({"reason": text}) == {"reason": text}
    for name in ("openrouter/anthropic/claude-3.5-sonnet", "gpt-4o", "claude-3-5-sonnet-20241022"):
        assert scrub_properties({"main_model": name}) == {"main_model": redact_model(name)}


# --- bounds ------------------------------------------------------------------------------------


def test_long_text_is_truncated_to_max_string() -> None:
    out = scrub_text("word " * 2000)
    assert len(out) == MAX_STRING
    assert out == ("word " * 2000)[:MAX_STRING]


def test_huge_input_is_handled_quickly_and_bounded() -> None:
    for text in ("a1" * 500_000, "g" * 1_000_000, "x@" * 500_000, "/home/" + "b" * 999_994):
        start = time.perf_counter()
        out = scrub_text(text)
        assert time.perf_counter() - start < 0.5
        assert len(out) <= MAX_STRING


def test_secret_straddling_the_final_cut_is_not_leaked_in_part() -> None:
    secret = "sk-" + "Tz4" * 16
    text = "x" * (MAX_STRING - 10) + " " + secret + " tail"
    out = scrub_text(text)
    assert len(out) <= MAX_STRING
    assert not leaked(secret, out)


def test_secret_halved_by_the_scan_limit_cannot_reach_the_output() -> None:
    # The long home path before it shrinks to "~", pulling the cut fragment into view.
    secret = "sk-" + "Qw" * 20
    prefix = "/home/" + "u" * (4 * MAX_STRING - 20) + " "
    out = scrub_text(prefix + secret + " more")
    assert not leaked(secret, out)


@pytest.mark.parametrize(
    "secret",
    ["(" * 80 + "ann.smith@acmecorp.com trailing words", "," * 80 + SECRETS["github-pat-classic"]],
)
def test_a_run_split_by_the_scan_limit_goes_whole_whatever_it_is_made_of(secret: str) -> None:
    # The long path before it shrinks to "<path>", pulling the cut into view; the fragment would
    # be "(ann.smith@acme" or ",ghp_16C7e42F", which no rule recognises.
    out = scrub_text("/srv/" + "a" * 3900 + " " + secret)
    assert out == f"{PATH} {MORE}"


# --- values and properties ---------------------------------------------------------------------


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


class _Chatty:
    def __str__(self) -> str:
        return "conn to ann@example.com with sk-" + "k" * 30


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        (42, 42),
        (-(2**53), -(2**53)),
        (2**64, "18446744073709551616"),
        (-(2**60), "-1152921504606846976"),
        (1.5, 1.5),
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        (b"\x00secret", "<bytes>"),
        (bytearray(b"abc"), "<bytes>"),
        (_Unprintable(), "<unprintable>"),
        (_Chatty(), f"conn to {EMAIL} with {SECRET}"),
        ((1, "a"), '[1,"a"]'),
        ({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
        ({3, 1, 2}, "[1,2,3]"),
    ],
)
def test_scrub_value_maps_types_to_json_safe_scalars(value: object, expected: object) -> None:
    assert scrub_value(value) == expected


def test_nested_secret_is_removed_from_stringified_container() -> None:
    key = SECRETS["github-pat-classic"]
    out = scrub_value({"cfg": {"tokens": [key, {"owner": "ann@example.com"}]}, "n": 2})
    assert isinstance(out, str)
    assert key not in out and "ann@example.com" not in out
    assert out == '{"cfg":{"tokens":["<secret>",{"owner":"<email>"}]},"n":2}'


def test_awkward_values_never_raise() -> None:
    circular: list[object] = []
    circular.append(circular)
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    for value in (circular, deep, {1: "a", "b": 2}, [_Unprintable()], 10**5000, object()):
        out = scrub_value(value)
        assert out is None or isinstance(out, str)
        json.dumps(out, allow_nan=False)


def test_scrub_properties_output_always_dumps_as_strict_json() -> None:
    props: dict[str, object] = {
        "nan": float("nan"),
        "inf": float("-inf"),
        "big": 2**80,
        "blob": b"\xff",
        "obj": _Unprintable(),
        "nested": {"x": [float("nan"), {1, 2}]},
    }
    out = scrub_properties(props)
    json.dumps(out, allow_nan=False)
    assert out["nan"] is None and out["inf"] is None and out["big"] == str(2**80)


def test_scrub_properties_redacts_model_keys_and_scrubs_the_rest() -> None:
    out = scrub_properties(
        {
            "model": "gpt-4o-mini",
            "editor_model": "ft:gpt-4o-mini:acme::abc123",
            "weak_model": None,
            "models": "acme-secret-model",
            "datamodel": "relational",
            "error": "boom at /home/ann/x.py with " + SECRETS["openai"],
            "duration_ms": 12,
        },
        home="/home/ann",
    )
    assert out == {
        "model": "gpt-4o-mini",
        "editor_model": "openai/REDACTED",
        "weak_model": None,
        "models": "unknown/REDACTED",
        "datamodel": "relational",
        "error": f"boom at {PATH} with {SECRET}",
        "duration_ms": 12,
    }


def test_scrub_properties_keys_become_scrubbed_bounded_strings() -> None:
    props: dict[object, object] = {
        7: "seven",
        ("a", 1): "tuple",
        "k" * 300: 1,
        "token_" + SECRETS["aws-access-key"]: 2,
    }
    out = scrub_properties(props)  # type: ignore[arg-type]  # keys of any type are tolerated
    assert out["7"] == "seven"
    assert out['["a",1]'] == "tuple"
    assert out["k" * 100] == 1
    assert out[f"token_{SECRET}"] == 2
    assert all(len(k) <= 100 for k in out)


def test_scrub_properties_survives_a_broken_mapping() -> None:
    class Broken(Mapping[str, object]):
        def __getitem__(self, key: str) -> object:
            raise KeyError(key)

        def __iter__(self) -> Iterator[str]:
            yield "fine"
            raise RuntimeError("iteration exploded")

        def __len__(self) -> int:
            return 2

    assert scrub_properties(Broken()) == {}


def test_scrub_properties_is_fast_for_a_typical_event() -> None:
    event = {
        "command": "chat",
        "duration_ms": 1834,
        "success": True,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "num_files": 3,
        "python_version": "3.11.7",
        "platform": "linux-x86_64",
        "error_type": None,
    }
    scrub_properties(event)
    runs = 2000
    start = time.perf_counter()
    for _ in range(runs):
        scrub_properties(event)
    per_call = (time.perf_counter() - start) / runs
    assert per_call < 200e-6  # ~10-15 µs measured; the bound only catches pathologies


def test_importing_the_module_pulls_in_only_the_standard_library() -> None:
    code = textwrap.dedent(
        """
        import sys
        before = set(sys.modules)
        import blackboxai.analytics.record.scrub
        new = set(sys.modules) - before
        bad = sorted(m for m in new if m.split(".")[0] not in sys.stdlib_module_names
                     and m.split(".")[0] != "blackboxai")
        print(bad)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# --- model names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "gpt-4o",
        "GPT-4o-Mini",
        "openai/gpt-4.1-nano",
        "anthropic/claude-3-5-sonnet-20241022",
        "claude-sonnet-4-5-20250929",
        "gpt-4o-2024-08-06",
        "gemini/gemini-2.5-pro",
        "deepseek-reasoner",
        "openrouter/anthropic/claude-opus-4-1",
        "o3-mini",
    ],
)
def test_known_public_models_are_kept_as_given(name: str) -> None:
    assert redact_model(name) == name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o-acme-internal", "openai/REDACTED"),
        ("ft:gpt-4o-mini:acme::abc123", "openai/REDACTED"),
        ("o3-acme", "openai/REDACTED"),
        ("claude-acme-7", "anthropic/REDACTED"),
        ("gemini-9-secret", "gemini/REDACTED"),
        ("deepseek-acme", "deepseek/REDACTED"),
        ("codestral-acme", "mistral/REDACTED"),
        ("llama3.1:8b-acme", "meta/REDACTED"),
        ("qwen-acme", "qwen/REDACTED"),
        ("grok-acme", "xai/REDACTED"),
        ("azure/my-company-deployment", "azure/REDACTED"),
        ("acme-corp/gpt-4o", "openai/REDACTED"),  # unknown prefix: never kept verbatim
        ("acme-corp/secret-model", "unknown/REDACTED"),
        ("totally-private", "unknown/REDACTED"),
        ("", "unknown/REDACTED"),
        ("   ", "unknown/REDACTED"),
        ("x" * 10_000, "unknown/REDACTED"),
    ],
)
def test_unknown_models_are_redacted_to_their_provider(name: str, expected: str) -> None:
    assert redact_model(name) == expected


def test_known_models_is_a_cached_realistic_list() -> None:
    models = known_models()
    assert models is known_models()
    assert {"gpt-4o", "claude-sonnet-4", "gemini-2.5-pro", "o4-mini"} <= models
    assert len(models) >= 60
    assert all(m == m.lower() for m in models)


# --- exceptions --------------------------------------------------------------------------------

_FAKE_SOURCE = textwrap.dedent(
    """
    class FakeError(Exception):
        pass

    def inner(token):
        password = "hunter2-local-value"
        raise FakeError("failed for " + token + " at /home/ann/private/notes.txt")

    def outer(token):
        return inner(token)

    def recurse(n):
        if n == 0:
            raise ValueError("bottom")
        return recurse(n - 1)

    def forward(function, argument):
        return function(argument)
    """
)


def _fake_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    code = compile(_FAKE_SOURCE, "/home/ann/src/blackboxai/fake_mod.py", "exec")
    exec(code, module.__dict__)
    return module


def _line(fragment: str) -> int:
    return next(i for i, line in enumerate(_FAKE_SOURCE.splitlines(), 1) if fragment in line)


def test_exception_properties_report_type_and_blackboxai_frames_only() -> None:
    fake = _fake_module("blackboxai.fake_mod")
    caller = _fake_module("blackboxai_other")  # a similar name, but not the package
    token = SECRETS["openai"]
    with pytest.raises(Exception) as info:
        caller.forward(fake.outer, token)
    props = exception_properties(info.value)
    assert props == {
        "type": "blackboxai.fake_mod.FakeError",
        "frames": f"fake_mod:inner:{_line('raise FakeError')}"
        f" < fake_mod:outer:{_line('return inner')}",  # innermost first: it survives any cut
    }
    dumped = json.dumps(props)
    for forbidden in (token, "/home/ann", "notes.txt", "hunter2", "password", "raise", ".py"):
        assert forbidden not in dumped


def test_exception_frames_from_other_modules_are_excluded() -> None:
    fake = _fake_module("blackboxai_other")
    with pytest.raises(Exception) as info:
        fake.outer("x")
    assert exception_properties(info.value) == {"type": "blackboxai_other.FakeError", "frames": ""}


def test_exception_frames_keep_the_innermost_whole_frames_within_255_characters() -> None:
    fake = _fake_module("blackboxai.deep")
    with pytest.raises(ValueError) as info:
        fake.recurse(30)
    text = exception_properties(info.value)["frames"]
    frames = text.split(" < ")
    assert len(text) <= 255 and 10 < len(frames) <= 20  # whole frames, as many as fit
    assert frames[0] == f"deep:recurse:{_line('raise ValueError')}"  # the one that raised
    assert all(frame.startswith("deep:recurse:") for frame in frames)


def test_exception_type_names_builtins_plainly_and_others_qualified() -> None:
    with pytest.raises(json.JSONDecodeError) as info:
        json.loads("{not json: sk-" + "z" * 30)
    assert exception_properties(info.value) == {
        "type": "json.decoder.JSONDecodeError",
        "frames": "",
    }
    assert exception_properties(KeyError("ann@example.com")) == {"type": "KeyError", "frames": ""}


# --- properties (hypothesis) -------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
B64URL = ALNUM + "_-"


def _secret(
    prefix: st.SearchStrategy[str], body: st.SearchStrategy[str]
) -> st.SearchStrategy[tuple[str, str]]:
    """(full secret, distinctive body that must not survive)."""
    return st.tuples(prefix, body).map(lambda pb: (pb[0] + pb[1], pb[1]))


def _text(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=lo, max_size=hi)


_base64 = st.tuples(
    st.sampled_from(string.ascii_letters),
    st.sampled_from(string.digits),
    _text(ALNUM + "+/", 38, 80),
).map(lambda t: t[0] + t[2] + t[1])

SECRET_STRATEGIES = st.one_of(
    _secret(st.sampled_from(["sk-", "sk-proj-", "sk-ant-api03-"]), _text(ALNUM, 20, 60)),
    _secret(st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), _text(ALNUM, 36, 36)),
    _secret(st.just("github_pat_"), _text(ALNUM + "_", 40, 82)),
    _secret(st.sampled_from(["AKIA", "ASIA"]), _text(UPPER_ALNUM, 16, 16)),
    _secret(st.just("eyJ"), st.builds("{}.{}.{}".format, *[_text(B64URL, 10, 60)] * 3)),
    _secret(st.sampled_from(["Bearer ", "bearer "]), _text(ALNUM + "._+/=-", 8, 60)),
    _secret(st.sampled_from(["xoxb-", "xoxp-", "xoxa-"]), _text(ALNUM + "-", 10, 50)),
    _secret(st.just("AIza"), _text(B64URL, 35, 35)),
    _secret(st.just(""), _text("0123456789abcdef", 32, 64)),
    _secret(st.just(""), _base64),
    st.builds(
        "{}@{}.{}".format,
        _text(ALNUM + "._+", 1, 20),
        _text(ALNUM + "-", 1, 20),
        _text(string.ascii_letters, 2, 6),
    ).map(lambda e: (e, e)),
    st.builds(  # user@host, no TLD: an scp or git remote (a host name holds a letter)
        "{}@{}{}".format,
        _text(ALNUM + "._", 1, 20),
        _text(string.ascii_letters, 1, 1),
        _text(ALNUM + "-", 0, 19),
    ).map(lambda e: (e, e)),
    st.builds(  # user@IPv4
        "{}@{}.{}.{}.{}".format, _text(ALNUM + "._", 1, 20), *[st.integers(0, 255)] * 4
    ).map(lambda e: (e, e)),
    _secret(
        st.sampled_from(["Authorization: Basic ", "Proxy-Authorization: ", "X-Api-Key: "]),
        _text(ALNUM + "+/=", 8, 40),
    ),
    _secret(st.sampled_from(["Basic ", "basic "]), _text(ALNUM + "+/", 6, 40).map("Q1{}=".format)),
    st.builds(  # quoted, spaces and all: the last word must go too
        lambda key, quote, words: (f"{key}={quote}{' '.join(words)}{quote}", words[-1]),
        st.sampled_from(["password", "api_key", "TOKEN"]),
        st.sampled_from(["'", '"']),
        st.lists(_text(string.digits, 6, 8), min_size=2, max_size=6),
    ),
)


@settings(max_examples=200, deadline=None)
@given(secret=SECRET_STRATEGIES, before=st.text(), after=st.text())
def test_generated_secrets_never_survive_scrub_text(
    secret: tuple[str, str], before: str, after: str
) -> None:
    full, body = secret
    assume(not leaked(body, before + after))
    out = scrub_text(f"{before} {full}\n{after}", home="/nonexistent/me")
    assert not leaked(body, out)


@settings(max_examples=200, deadline=None)
@given(secret=SECRET_STRATEGIES, before=st.text(), after=st.text())
def test_generated_secrets_never_survive_scrub_properties(
    secret: tuple[str, str], before: str, after: str
) -> None:
    full, body = secret
    escaped = json.dumps(before + after, ensure_ascii=False)
    assume(not leaked(body, before + after) and not leaked(body, escaped))
    out = scrub_properties(
        {
            "message": f"{before} {full} {after}",
            "context": {"lines": [f"{before}\n{full}\n{after}"], "n": 1},
            "fields": [full],
        },
        home="/nonexistent/me",
    )
    for value in out.values():
        assert isinstance(value, str)
        assert not leaked(body, value)


_segment = _text(string.ascii_lowercase, 1, 10)


@settings(max_examples=200, deadline=None)
@given(
    secret=SECRET_STRATEGIES,
    shift=st.integers(0, 80),
    glue=st.sampled_from(["", "(", ",", "=", "'", "-"]),
    glued=st.integers(0, 100),
)
# Found by this test: the path rule took "/srv/aaa… Bearer 0/" as one path with a space in it,
# and left the token's tail.
@example(secret=("Bearer 0/=0000000", "0/=0000000"), shift=14, glue="", glued=0)
def test_generated_secrets_split_by_the_scan_limit_never_survive(
    secret: tuple[str, str], shift: int, glue: str, glued: int
) -> None:
    full, body = secret
    text = "/srv/" + "a" * (3990 - shift) + " " + glue * glued + full + " tail"
    out = scrub_properties({"reason": text, "nested": [text]})
    for value in out.values():
        assert isinstance(value, str) and not leaked(body, value)


@settings(max_examples=200, deadline=None)
@given(
    home=st.lists(_segment, min_size=1, max_size=3).map(lambda s: "/" + "/".join(s)),
    rest=st.lists(_text(string.digits, 1, 6), max_size=3),
    before=st.text(),
    after=st.text(),
)
def test_generated_home_paths_never_survive(
    home: str, rest: list[str], before: str, after: str
) -> None:
    assume(len(home) > 1 and home not in before + after)
    path = "/".join([home, *rest])
    out = scrub_text(f"{before} {path} {after}", home=home)
    assert home not in out


@settings(max_examples=200, deadline=None)
@given(
    root=st.sampled_from(["/home/", "/Users/", "C:\\Users\\"]),
    name=_text(string.ascii_letters + string.digits + "_-", 2, 16),
    before=st.text(),
    after=st.text(),
)
def test_generated_other_users_homes_never_survive(
    root: str, name: str, before: str, after: str
) -> None:
    assume(root + name not in before + after)
    out = scrub_text(f"{before} {root}{name}/project {after}", home="/nonexistent/me")
    assert root + name not in out


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
        | st.tuples(children, children)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    props=st.dictionaries(
        st.text(max_size=120) | st.sampled_from(["model", "x_model"]), json_values, max_size=8
    )
)
def test_scrub_properties_always_yields_strict_bounded_json(props: dict[str, object]) -> None:
    out = scrub_properties(props)
    json.dumps(out, allow_nan=False)
    for key, value in out.items():
        assert isinstance(key, str) and len(key) <= 100
        assert value is None or isinstance(value, (str, int, float, bool))
        if isinstance(value, str):
            assert len(value) <= MAX_STRING
        if isinstance(value, float):
            assert math.isfinite(value)
        if isinstance(value, int) and not isinstance(value, bool):
            assert abs(value) <= 2**53


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=6000))
def test_scrub_text_is_always_bounded(text: str) -> None:
    assert len(scrub_text(text)) <= MAX_STRING


@settings(max_examples=200, deadline=None)
@given(name=st.text() | st.sampled_from(sorted(known_models())))
def test_redact_model_either_keeps_a_known_name_or_redacts(name: str) -> None:
    out = redact_model(name)
    if out.endswith("/REDACTED"):
        return
    assert out == name.strip()
    base = out.lower().rsplit("/", 1)[-1]
    assert any(base == m or base.startswith(m + "-") for m in known_models())


def test_a_key_after_a_control_character_in_a_container_is_still_found() -> None:
    key = "sk-" + "z" * 25
    assert key not in json.dumps(scrub_properties({"v": ["\x1b" + key], "w": ("\x07" + key,)}))


# --- a sixth adversarial review -------------------------------------------------------------------

HOME_URLS = [
    "ssh://git@gitlab.acme.com/home/ann/acme-billing.git",
    "file:///home/ann/acme",
    "vscode://file/home/ann/acme/plan.md",
    "http://127.0.0.1:8000/home/ann/acme/report",
]


@pytest.mark.parametrize("url", HOME_URLS)
def test_a_url_whose_path_holds_the_home_goes_whole(url: str) -> None:
    out = scrub_properties({"reason": f"clone {url} failed", "urls": [url]}, home="/home/ann")
    assert out == {"reason": "clone <url> failed", "urls": '["<url>"]'}
    assert scrub_text(url, home="/home/ann") == "<url>"


def test_the_home_inside_another_path_is_no_home() -> None:
    assert scrub_text("at /home/ann/x.py and /home/ann", home="/home/ann") == "at <path> and ~"
    assert scrub_text("mnt/home/ann/x.py", home="/home/ann") == PATH


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"req": {"auth": ("ann", "hunter2-Secret!")}}, '{"req":{"auth":"<secret>"}}'),
        ({"credentials": ["deploy", "s3cr3t-pass"]}, '{"credentials":"<secret>"}'),
        ({"secret": {"v": "hunter2"}}, '{"secret":"<secret>"}'),
        ({"token": 12345678, "next": "/home/bob/x"}, '{"next":"<path>","token":"<secret>"}'),
        (
            {"OPENAI_API_KEY": None, "prompt_tokens": 3},
            '{"OPENAI_API_KEY":"<secret>","prompt_tokens":3}',
        ),
    ],
)
def test_a_key_naming_a_secret_in_a_container_hides_its_value_whatever_its_type(
    value: dict[str, object], expected: str
) -> None:
    out = scrub_properties({"config": value})["config"]
    assert out == expected
    assert isinstance(out, str) and json.loads(out)
    for word in ("ann", "hunter2", "deploy", "s3cr3t", "12345678", "bob"):
        assert word not in out


def test_a_property_whose_key_names_a_secret_is_a_secret() -> None:
    props = {"api_key": "abc", "auth": ("ann", "pw"), "GITHUB_TOKEN": 5, "total_tokens": 7}
    assert scrub_properties(props) == {
        "api_key": SECRET, "auth": SECRET, "GITHUB_TOKEN": SECRET, "total_tokens": 7,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("error: \x1b[31m/home/bob/acme/billing\x1b[0m not found", "error: <path> not found"),
        ("\x1b[1;32m~/acme/billing\x1b[K done", "<path> done"),
        ("…/srv/acme/billing", "…<path>"),
        ("→/srv/acme/billing", "→<path>"),
        ("bell\x07/srv/acme/billing", "bell\x07<path>"),
        ("and/or read/write a/b", "and/or read/write a/b"),
    ],
)
def test_a_path_after_colours_or_a_symbol_still_starts_a_path(text: str, expected: str) -> None:
    assert scrub_text(text, home="/nonexistent/me") == expected
    out = scrub_properties({"lines": [text]}, home="/nonexistent/me")["lines"]
    assert isinstance(out, str) and "acme" not in out and "\\u001b" not in out


@pytest.mark.parametrize(
    "path",
    [
        "\\\\?\\D:\\Projects\\AcmeSecret\\plan",
        "\\\\?\\UNC\\fileserver\\hr\\salaries",
        "\\\\.\\pipe\\acme-secret",
        "\\\\?\\C:\\Acme Secret\\plan.docx",
    ],
)
def test_windows_extended_length_and_device_paths_go_whole(path: str) -> None:
    assert scrub_text(f"open {path} failed") == f"open {PATH} failed"
    assert scrub_text(json.dumps({"p": path})) == '{"p": "<path>"}'
    assert scrub_text(json.dumps({"p": f"x\n{path}"})) == '{"p": "x\\n<path>"}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"DB_PASS":"hunter2"}', '{"DB_PASS":"<secret>"}'),
        ("MY_PASS=hunter2 ok", "MY_PASS=<secret> ok"),
        ("x-pass: hunter2", "x-pass: <secret>"),
        ("AccountName=acme;AccountKey=abc123==;x=1", "AccountName=acme;AccountKey=<secret>;x=1"),
        ("SharedAccessKey=abc123", "SharedAccessKey=<secret>"),
        ("bypass=1 compass: north, pass: the test", "bypass=1 compass: north, pass: the test"),
    ],
)
def test_a_pass_name_ending_and_azure_keys_name_secrets(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
    assert scrub_properties({"env": {"DB_PASS": "hunter2"}}) == {"env": '{"DB_PASS":"<secret>"}'}
