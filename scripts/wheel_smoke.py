"""The wheel is the product: build it, install it alone in a fresh venv outside the checkout,
and use it as a user would. Exit 0 when every check passed; otherwise the first failure.

    python -m scripts.wheel_smoke      (from the repository root; needs `build` and `pexpect`;
                                        the model is a loopback stand-in, tests.fake_openai)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

from tests.fake_openai import FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parent.parent

WINDOWS = sys.platform == "win32"
DATA = (
    "blackboxai/py.typed",
    "blackboxai/analytics/consent/catalogue.json",
    "blackboxai/analytics/record/model_names.json",
)


def ok(what: str) -> None:
    print(f"ok    {what}", flush=True)


def fail(what: str, detail: object = "") -> None:
    sys.exit(f"FAIL  {what}\n{detail}".rstrip())


def run(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def build(out: Path) -> Path:
    """sdist first, then the wheel from the sdist (so the sdist is proven complete too)."""
    done = run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    wheels = sorted(out.glob("blackboxai-*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        fail("python -m build", done.stdout[-3000:] + done.stderr[-3000:])
    names = zipfile.ZipFile(wheels[0]).namelist()
    missing = [name for name in DATA if name not in names]
    if missing:
        fail("package data in the wheel", missing)
    # Only the package and its metadata: no tests, bench or scripts (packages in the checkout).
    stray = [n for n in names if not n.startswith("blackboxai/") and ".dist-info/" not in n]
    if stray or any(n.split("/")[0] in ("tests", "bench", "scripts") for n in names):
        fail("the wheel holds only the package", stray[:20])
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        fail("the licence text in the wheel", [n for n in names if ".dist-info/" in n])
    ok(f"built {wheels[0].name} from its sdist; package data and LICENSE inside")
    return wheels[0]


def install(wheel: Path, venv: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bindir = venv / ("Scripts" if WINDOWS else "bin")
    python = bindir / ("python.exe" if WINDOWS else "python")
    done = run([str(python), "-m", "pip", "install", "-q", str(wheel)])
    if done.returncode != 0:
        fail("pip install the wheel into a fresh venv", done.stderr[-3000:])
    ok("installed alone in a fresh venv")
    return bindir


def user_env(home: Path, python: Path) -> dict[str, str]:
    """A user's environment: own home and data dirs, no CI variables (the question is never
    asked in CI), no proxies (the model endpoint is on loopback)."""
    names = run(
        [
            str(python),
            "-c",
            "from blackboxai.analytics.consent.rules import CI_VARIABLES as v; print(*v)",
        ]
    )
    drop = {*names.stdout.split(), "DO_NOT_TRACK", "http_proxy", "https_proxy", "all_proxy"}
    env = {k: v for k, v in os.environ.items() if k not in drop and k.lower() not in drop}
    env = {k: v for k, v in env.items() if not k.startswith(("BLACKBOXAI_", "OPENAI_", "PYTHON"))}
    env.update(HOME=str(home), USERPROFILE=str(home), APPDATA=str(home / "AppData" / "Roaming"))
    env.update(LOCALAPPDATA=str(home / "AppData" / "Local"), XDG_DATA_HOME=str(home / "data"))
    env.update(XDG_CONFIG_DIRS=str(home / "site"))  # this machine's policy (#21) is not the test's
    return env


def check_installed(python: Path, env: dict[str, str], cwd: Path) -> None:
    code = textwrap.dedent(
        """
        import json, blackboxai
        from importlib.resources import files
        package = files("blackboxai")
        data = ["py.typed", "analytics/consent/catalogue.json", "analytics/record/model_names.json"]
        print(json.dumps({"file": blackboxai.__file__,
                          "data": [package.joinpath(d).is_file() for d in data]}))
        """
    )
    done = run([str(python), "-c", code], env=env, cwd=cwd)
    found = json.loads(done.stdout or "{}")
    if not str(found.get("file", "")).startswith(str(python.parent.parent)):
        fail("blackboxai is imported from the venv, not the checkout", done.stdout + done.stderr)
    if found.get("data") != [True, True, True]:
        fail("package data readable from the installed package", found)
    ok("imported from the venv's site-packages; its package data is there")


def check_cli(cli: Path, env: dict[str, str], cwd: Path) -> None:
    version = run([str(cli), "--version"], env=env, cwd=cwd)
    if version.returncode != 0 or not version.stdout.startswith("blackboxai "):
        fail("blackboxai --version", version)
    ok(version.stdout.strip())

    log = cwd / "events.jsonl"
    session = run([str(cli), "--exit", "--analytics-log", str(log)], env=env, cwd=cwd)
    if session.returncode != 0 or session.stderr:
        fail("blackboxai --exit", session)
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    if events[:1] != ["launched"] or events[-1:] != ["exit"]:
        fail("blackboxai --exit logs launched ... exit", events)
    ok(f"blackboxai --exit: exit 0, nothing on stderr, logged {events}")

    (cwd / "greet.py").write_text("def greet():\n    return 'hello'\n")
    reply = "greet.py\n```\ndef greet():\n    return 'hi'\n```\n"
    with FakeOpenAI([Reply(reply)]) as api:
        message = run(
            [str(cli), "--openai-api-base", api.url, "--openai-api-key", "sk-smoke",
             "--analytics-log", str(log), "--message", "say hi", "greet.py"],
            env=env, cwd=cwd,
        )  # fmt: skip
        asked = len(api.requests)
    if message.returncode != 0 or asked != 1 or "'hi'" not in (cwd / "greet.py").read_text():
        fail("blackboxai --message against a loopback endpoint", message)
    ok("blackboxai --message FILE: one request to the loopback model, the reply applied")

    for args, expect in ((["analytics", "events"], "launched"), (["analytics", "status"], "")):
        done = run([str(cli), *args], env=env, cwd=cwd)
        if done.returncode != 0 or expect not in done.stdout:
            fail(f"blackboxai {' '.join(args)}", done)
        ok(f"blackboxai {' '.join(args)}")

    report = run([str(cli), "analytics", "report", str(log)], env=env, cwd=cwd)
    if report.returncode != 0 or "launched" not in report.stdout:
        fail("blackboxai analytics report FILE", report)
    ok("blackboxai analytics report FILE")

    bare = run([str(cli), "analytics", "report"], env=env, cwd=cwd)
    lines = bare.stderr.strip().splitlines()
    if bare.returncode != 2 or len(lines) != 1 or "no log to summarise" not in lines[0]:
        fail("blackboxai analytics report, with no log: one clear line, exit 2", bare)
    ok(f"blackboxai analytics report (no log): exit 2, {lines[0]!r}")


def check_question(cli: Path, env: dict[str, str], cwd: Path) -> None:
    """The first-run question on a real terminal: its "more info" is a web address."""
    if WINDOWS:
        print("skip  the question needs a pseudo-terminal (pexpect.spawn), not on Windows")
        return
    import pexpect

    child = pexpect.spawn(str(cli), ["--exit"], env=env, cwd=str(cwd), encoding="utf-8", timeout=30)
    child.expect(r"For more info: (\S+)")
    url = child.match.group(1)
    child.expect_exact("(Y)es/(N)o")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    if not url.startswith("https://") or child.exitstatus != 0:
        fail("the opt-in question's more info is a URL", (url, child.exitstatus))
    ok(f"the opt-in question on a terminal; more info: {url}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="blackboxai-wheel-") as tmp:
        base = Path(tmp)
        wheel = build(base / "dist")
        bindir = install(wheel, base / "venv")
        python = bindir / ("python.exe" if WINDOWS else "python")
        cli = bindir / ("blackboxai.exe" if WINDOWS else "blackboxai")
        work, home = base / "work", base / "home"
        work.mkdir()
        home.mkdir()
        env = user_env(home, python)
        check_installed(python, env, work)
        check_cli(cli, env, work)
        check_question(cli, env, work)
        shutil.rmtree(base / "venv", ignore_errors=True)
    print("wheel smoke: every check passed")


if __name__ == "__main__":
    main()
