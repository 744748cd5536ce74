"""Regenerate docs/events.md from the catalogue data: `python -m scripts.gen_events_doc`."""

from __future__ import annotations

from pathlib import Path

from blackboxai.analytics.consent.catalogue import load_catalogue, render_markdown

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "docs" / "events.md"
    target.write_text(render_markdown(load_catalogue()), encoding="utf-8")
    print(f"wrote {target}")
