"""Record the events catalogue as released: `python -m scripts.release_catalogue`.

Run it when a release ships a new catalogue version. tests/catalogue_released.json is the
record of what users may have agreed to: a test fails if a released entry's version changes,
or if a new entry claims a version that was already released.
"""

from __future__ import annotations

import json
from pathlib import Path

from blackboxai.analytics.consent.catalogue import catalogue_items, catalogue_version

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "tests" / "catalogue_released.json"
    items = {name: item.since for name, item in sorted(catalogue_items().items())}
    body = {"version": catalogue_version(), "items": items}
    target.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}: version {body['version']}, {len(items)} entries")
