"""Regenerate sample-analytics.jsonl from real CLI sessions against a loopback model endpoint.

Run from the repository root:
`python -m scripts.gen_sample [--events 1000] [--seed 7] [--out FILE]`.
Nothing leaves the machine: sessions run with --no-analytics (the log records, nothing reports),
in a throwaway HOME, against a loopback OpenAI-compatible server (tests.fake_openai).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.fake_openai import FakeOpenAI, HTTPError, Reply

REPO = Path(__file__).resolve().parents[1]

MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet-4",
    "gpt-4.1",
    "deepseek-chat",
    "o3-mini",
    "gemini-2.5-pro",
    "ft:gpt-4o-mini:my-team::a1b2c3",
]
MODEL_WEIGHTS = [30, 20, 25, 10, 8, 4, 2, 1]
FILES = {
    "app.py": "def main():\n    print('hello')\n",
    "util.py": "def add(a, b):\n    return a + b\n",
    "README.md": "# demo\n",
}


def usage(rng: random.Random) -> dict[str, int]:
    prompt, completion = rng.randint(800, 12_000), rng.randint(40, 1_500)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def reply_for(fmt: str, name: str, rng: random.Random, content: str) -> Reply | HTTPError:
    roll = rng.random()
    if roll < 0.04:
        return HTTPError(rng.choice([429, 500, 503]), "try again later")
    if roll < 0.12 and fmt == "diff":  # a block whose SEARCH text is not in the file
        return Reply(
            f"{name}\n<<<<<<< SEARCH\nnot in the file\n=======\nx\n>>>>>>> REPLACE\n", usage(rng)
        )
    if roll < 0.2:
        return Reply("I would need more detail before changing anything.", usage(rng))
    n = rng.randint(1, 99)
    if fmt == "diff":
        last = content.splitlines()[-1]
        return Reply(
            f"{name}\n<<<<<<< SEARCH\n{last}\n=======\n{last}\n# change {n}\n>>>>>>> REPLACE\n",
            usage(rng),
        )
    return Reply(f"{name}\n```\n{content}# change {n}\n```\n", usage(rng))


def session(
    rng: random.Random, work: Path, api: FakeOpenAI, log: Path, env: dict[str, str]
) -> None:
    model = rng.choices(MODELS, MODEL_WEIGHTS)[0]
    fmt = rng.choice(["diff", "diff", "whole"])
    chat = rng.sample(sorted(FILES), rng.randint(1, 2))
    lines: list[str] = []
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        if roll < 0.6:
            name = rng.choice(chat)
            api.replies.append(reply_for(fmt, name, rng, (work / name).read_text()))
            lines.append(
                rng.choice(
                    ["add logging", "refactor this", "fix the bug", "add tests", "rename things"]
                )
            )
        else:
            lines.append(
                rng.choice(
                    [
                        "/ls",
                        "/tokens",
                        "/help",
                        "/add README.md",
                        "/drop",
                        "/model gpt-4o",
                        "/analytics",
                        "/undo",
                    ]
                )
            )
    ending = rng.random()
    if ending < 0.5:
        lines.append("/exit")
    args = [
        "--analytics-log",
        str(log),
        "--no-analytics",
        "--model",
        model,
        "--edit-format",
        fmt,
        "--openai-api-base",
        api.url,
        "--openai-api-key",
        "sk-sample-not-a-real-key",
        *chat,
    ]
    if ending > 0.9:  # a one-shot --message session
        name = chat[0]
        api.replies.append(reply_for(fmt, name, rng, (work / name).read_text()))
        args += ["--message", "tidy up"]
        lines = []
    subprocess.run(
        [sys.executable, "-m", "blackboxai", *args],
        input="\n".join(lines) + "\n",
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    api.replies.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "sample-analytics.jsonl")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        home, work, log = Path(tmp, "home"), Path(tmp, "work"), Path(tmp, "all.jsonl")
        home.mkdir()
        work.mkdir()
        for name, content in FILES.items():
            (work / name).write_text(content)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BLACKBOXAI_", "OPENAI_"))}
        env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"), DO_NOT_TRACK="1")
        env.update(XDG_CONFIG_DIRS=str(home / "site"))  # no machine policy (#21): the sample's own
        # An opted-in user, as the sample is meant to show (an id exists only after consent);
        # DO_NOT_TRACK, --no-analytics and no configured backend keep anything from leaving.
        subprocess.run(
            [sys.executable, "-m", "blackboxai", "analytics", "on"],
            env=env,
            capture_output=True,
            check=True,
            timeout=60,
        )
        with FakeOpenAI() as api:
            while not log.exists() or len(log.read_text().splitlines()) < args.events:
                session(rng, work, api, log, env)
        lines = log.read_text().splitlines()[-args.events :]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} events to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
