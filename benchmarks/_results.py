"""Writing benchmark results: JSON, a Markdown table and, optionally, a plot."""

import datetime
import json
import os
import platform

import keras

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def environment():
    """What the numbers were measured on."""
    return {
        "date": datetime.date.today().isoformat(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
    }


def markdown_table(rows, columns):
    """`rows`: list of dicts; `columns`: list of (key, header, format)."""
    lines = [
        "| " + " | ".join(header for _, header, _ in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            value = row.get(key)
            cells.append("-" if value is None else format(value, fmt))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(name, payload, table, title, notes=""):
    """Writes `results/<name>.json` and `results/<name>.md`; returns paths."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    payload = {"environment": environment(), **payload}
    json_path = os.path.join(RESULTS_DIR, f"{name}.json")
    md_path = os.path.join(RESULTS_DIR, f"{name}.md")
    with open(json_path, "w") as f:
        json.dump(payload, f, indent=2)
    env = payload["environment"]
    header = (
        f"# {title}\n\nMeasured {env['date']} on {env['cpu_count']} CPU cores "
        f"({env['machine']}), Keras {env['keras']}, backend `{env['backend']}`.\n"
    )
    with open(md_path, "w") as f:
        f.write(header + ("\n" + notes.strip() + "\n" if notes else "") + "\n")
        f.write(table + "\n")
    return json_path, md_path
