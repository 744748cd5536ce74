"""The scrubber's rules for key=value secrets, URLs and paths
(blackboxai.analytics.record.patterns), through its public functions."""

from __future__ import annotations

import json
import re
import string
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from blackboxai.analytics.record.scrub import scrub_text, scrub_value

SECRET = "<secret>"
PATH = "<path>"
URL = "<url>"
ALNUM = string.ascii_letters + string.digits


def _text(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=lo, max_size=hi)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PASSWORD=x1", f"PASSWORD={SECRET}"),
        ("db_password: s3cr3t, retrying", f"db_password: {SECRET}, retrying"),
        ('{"api_key": "abcd"}', f'{{"api_key": "{SECRET}"}}'),
        ("apikey=abc&page=2", f"apikey={SECRET}&page=2"),
        ("?access_token=xyz123", f"?access_token={SECRET}"),
        ("Auth: Basic dXNlcjpwYXNz", f"Auth: Basic {SECRET}"),
        ("client_secret='xyz'", f"client_secret='{SECRET}'"),
        ("AWS_SECRET_ACCESS_KEY = wJalrXUt", f"AWS_SECRET_ACCESS_KEY = {SECRET}"),
        ("pwd=hunter2", f"pwd={SECRET}"),
        ("token:abc", f"token:{SECRET}"),
        # HTTP headers: the scheme stays, the credentials go (Digest's username too).
        (
            "Authorization: Basic YW5uOmh1bnRlcjI= rejected",
            f"Authorization: Basic {SECRET} rejected",
        ),
        ("Proxy-Authorization: basic YW5uOmh1bnRlcjI=", f"Proxy-Authorization: basic {SECRET}"),
        (
            'Authorization: Digest username="ann", realm="acme", response="6629fae4" sent',
            f"Authorization: Digest {SECRET} sent",
        ),
        ("authorization: ya29.a0AfH6SMBx", f"authorization: {SECRET}"),
        ("X-Api-Key: 0123abcd", f"X-Api-Key: {SECRET}"),
        ('{"Authorization": "Bearer abc def"}', f'{{"Authorization": "Bearer {SECRET}"}}'),
        # A quoted value goes up to its closing quote, spaces and all.
        ('password="hunter 2 with spaces" rejected', f'password="{SECRET}" rejected'),
        ("pwd='it is mine', retrying", f"pwd='{SECRET}', retrying"),
        ('password="never closed', f'password="{SECRET}'),
        ("api key = hunter2", f"api key = {SECRET}"),
    ],
)
def test_a_secret_given_by_name_loses_its_value(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Basic YW5uOmh1bnRlcjI=", f"Basic {SECRET}"),
        ("sent basic dXNlcjpwYXNz twice", f"sent basic {SECRET} twice"),
        ('sent Digest username="ann", nonce="n0"', f"sent Digest {SECRET}"),
        ("HTTP Basic Authentication failed", "HTTP Basic Authentication failed"),
        ("basic functionality, digest mismatch", "basic functionality, digest mismatch"),
    ],
)
def test_credentials_after_an_http_auth_scheme_go(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
    assert scrub_value([text]) == json.dumps([expected], separators=(",", ":"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://app:pw@db.internal:5432/payroll", URL),
        ("https://tok3n@github.com/acme/private.git", URL),
        ("https://a:b@c@host/", URL),
        ("see https://api.openai.com/v1 now", f"see {URL} now"),
        ("http://localhost:8080/", URL),
        ("https://intranet.acme-corp.example", URL),
        ("file:///home/ann/notes.txt", URL),
        ("https://h.example/v1?api_key=abcd1234efgh5678#frag", URL),
        ('["x\\nhttps://u:p@h"]', f'["x\\n{URL}"]'),
        ("status=401 from https://h.example, retrying", f"status=401 from {URL}, retrying"),
    ],
)
def test_a_url_goes_whole_host_and_all(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "\\\\fileserver\\share\\hr",
        "C:\\Program Files\\Python311\\python.exe",
        "c:/users/dave",
        "/usr/bin/python3",
        "/x.py",
        "../../etc/passwd",
        "./build",
        "docs\\q3\\notes.txt",
        "~/proj/main.py",
        "$HOME/.ssh/id_rsa",
        "${HOME}/acme/notes",
        "%APPDATA%\\acme\\config",
    ],
)
def test_paths_become_a_path_marker(text: str) -> None:
    assert scrub_text(f"at {text} then", home="/home/me") == f"at {PATH} then"


def test_a_quoted_path_goes_whole_even_with_spaces() -> None:
    text = "open('/srv/acme payroll/q3 salaries.xlsx') failed"
    assert scrub_text(text) == f"open('{PATH}') failed"


def test_a_path_after_a_json_escape_is_still_found() -> None:
    assert scrub_value(["line\n/srv/acme/x"]) == f'["line\\n{PATH}"]'
    out = scrub_value(["tab\tsrc/acme/y.py", "\n../acme/z", "0\nnotes/q3.2024.docx\n"])
    assert out == f'["tab\\t{PATH}","\\n{PATH}","0\\n{PATH}\\n"]'


# --- paths, URLs and exceptions (hypothesis) ---------------------------------------------------

MARKERS = "<path> <secret> <email> ~ unknown/REDACTED openai/REDACTED"
_name = _text(ALNUM + "_-", 4, 10)
_dir = st.lists(_name, min_size=1, max_size=2).map(" ".join)  # directories may hold a space
_file = st.tuples(_name, st.sampled_from(["", ".py", ".xlsx", ".tar.gz"])).map("".join)


def _joined(sep: str, dirs: list[str], last: str) -> str:
    return sep.join([*dirs, last])


PATHS = st.one_of(
    st.builds(lambda d, f: "/" + _joined("/", d, f), st.lists(_dir, min_size=1, max_size=3), _file),
    st.builds(
        lambda c, d, f: f"{c}:\\" + _joined("\\", d, f),
        st.sampled_from("CDcz"),
        st.lists(_dir, max_size=3),
        _file,
    ),
    st.builds(
        lambda d, f: "\\\\" + _joined("\\", d, f), st.lists(_name, min_size=1, max_size=3), _file
    ),
    st.builds(
        lambda d, f: _joined("/", d, f + ".docx"), st.lists(_name, min_size=1, max_size=3), _name
    ),
)


def _words(path: str) -> list[str]:
    return [w for w in re.split(r"[\\/: .]+", path) if len(w) >= 4]


@settings(max_examples=300, deadline=None)
@given(path=PATHS, before=st.text(), after=st.text(), quote=st.sampled_from(["", "'", '"']))
def test_generated_paths_never_survive(path: str, before: str, after: str, quote: str) -> None:
    words = _words(path)
    context = before + after + json.dumps([before, after]) + MARKERS  # "\x00" dumps as "\u0000"
    assume(not any(w in context for w in words))
    for out in (
        scrub_text(f"{before} {quote}{path}{quote} {after}", home="/nonexistent/me"),
        str(scrub_value([before, path, after], home="/nonexistent/me")),
    ):
        assert not any(w in out for w in words), (path, out)


@settings(max_examples=200, deadline=None)
@given(
    scheme=st.sampled_from(["https", "http", "postgres", "redis", "git+ssh"]),
    user=_name,
    password=_text(ALNUM + "!$%*+-._~", 4, 20),
    host=st.sampled_from(["10.0.0.5:8080", "db.internal", "api.example.com", "[::1]:5432"]),
    path=st.sampled_from(["", "/", "/v1", "/acme/repo.git", "?x=1"]),
    before=st.text(),
    after=st.text(),
)
def test_generated_url_credentials_never_survive(
    scheme: str, user: str, password: str, host: str, path: str, before: str, after: str
) -> None:
    assume(len(password) >= 4 and password.strip(".") and not password.isdigit())
    assume(not any(s in before + after + MARKERS + host for s in (user, password)))
    url = f"{scheme}://{user}:{password}@{host}{path}"
    for out in (scrub_text(f"{before} {url} {after}"), str(scrub_value({"u": [url]}))):
        assert user not in out and password not in out, (url, out)


@pytest.mark.parametrize(
    "text",
    [
        "/" + "a b " * 3000,
        "'/" * 3000,
        "a/" * 3000,
        "/" * 6000,
        "C:\\" * 2000,
        "\\\\a" * 2000,
        "x:" * 3000,
        "a=b " * 1500,
        "password=" * 800,
        "http://" * 800,
        "https://u:" + "@" * 5000,
        ("/x" + " y" * 50 + "'") * 60,
        "." * 5000 + "/",
        "./" * 3000,
        "é/" * 3000,
        "Authorization: Digest " + 'a="b", ' * 600,
        "password='" * 400,
        'password="' + "a " * 1500,
        "basic " * 700,
        "Basic aB" * 500,
        "a@b." * 1000,
        "$a/" * 1300,
        "${a}/" * 800,
        "%a%\\" * 1000,
    ],
)
def test_path_and_url_rules_stay_linear_on_hostile_input(text: str) -> None:
    for scrub in (scrub_text, scrub_value):
        start = time.perf_counter()
        scrub(text)
        scrub([text])
        assert time.perf_counter() - start < 0.25
