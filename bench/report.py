"""The bench's results: a markdown table and a PNG chart in bench/results/."""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def write(sections: dict[str, list[list[str]]], headers: dict[str, list[str]],
          ratios: dict[str, float], notes: list[str], results: Path = RESULTS,
          targets: dict[str, float] | None = None) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    lines = [f"# Bench {stamp}", "",
             f"Machine: {platform.machine()}, {platform.python_implementation()} "
             f"{platform.python_version()}. Ratios are to the baseline measured in the same run.",
             ""]
    for title, table in sections.items():
        lines += [f"## {title}", "", "| " + " | ".join(headers[title]) + " |",
                  "|" + "---|" * len(headers[title])]
        lines += ["| " + " | ".join(row) + " |" for row in table]
        lines.append("")
    lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    text = "\n".join(lines)
    path = results / f"{stamp}.md"
    path.write_text(text)
    (results / "latest.md").write_text(text)
    _chart(ratios, targets or {}, results / "latest.png")
    return path


def _chart(ratios: dict[str, float], targets: dict[str, float], path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the chart is optional; the table has every number
        return
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(ratios) + 1.5))
    names = list(ratios)
    # Floors and ceilings measured beside the calls in grey, the calls in blue.
    ax.barh(names, [ratios[n] for n in names],
            color=["#4C72B0" if n in targets else "#A0A0A0" for n in names])
    for row, name in enumerate(names):
        if name in targets:  # the ratio asked for: a black tick across the bar's row
            ax.plot([targets[name]] * 2, [row - 0.4, row + 0.4], color="black", linewidth=2)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("throughput / bare grpc.aio baseline (same run); black: the target")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
