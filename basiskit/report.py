"""``basiskit report [DIR]``: one Markdown file and one self-contained HTML page over all runs in DIR.

Per recipe: the newest run in full (config, figures, claims, plots) and a line for each earlier run.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import yaml

from ._validation import UsageError


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c).replace("|", "\\|") for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "| " + " | ".join("-" * w for w in widths) + " |"] + [line(r) for r in cells[1:]])


def collect_runs(root: Path) -> dict[str, list[dict[str, Any]]]:
    """recipe -> runs (newest first); each run is metrics.json plus its folder and config."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(root.glob("*/*/metrics.json")):
        m = json.loads(path.read_text())
        m["dir"] = path.parent
        cfg = path.parent / "config.yaml"
        m["config_record"] = yaml.safe_load(cfg.read_text()) if cfg.is_file() else {}
        runs.setdefault(m["recipe"], []).append(m)
    for v in runs.values():
        v.sort(key=lambda m: m["dir"].name, reverse=True)
    return dict(sorted(runs.items()))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) > 8:
        return f"[{len(v)} values]"
    return str(v)


def paper_figure(claim: dict[str, Any]) -> str:
    """The paper's own figure of a checked claim with its setting ("0.0108 (Table 1, Darcy s=85)"), or "-"."""
    if claim.get("paper") is None:
        return "-"
    setting = claim.get("paper_setting") or ""
    return f"{claim['paper']:.4g}" + (f" ({setting})" if setting else "")


_CLAIM_COLUMNS = ["claim", "ours", "target", "result", "paper"]


def _claims_rows(m: dict[str, Any]) -> list[list[str]]:
    return [[c["claim"], "missing" if c["value"] is None else f"{c['value']:.4g}",
             "?" if c["target"] is None else f"{c['op']} {c['target']:.4g}", "met" if c["met"] else "NOT met",
             paper_figure(c)]
            for c in m.get("claims", [])]


def _where(m: dict[str, Any]) -> str:
    """"Ran on CPU with N threads: W s wall, C s CPU." for a run that recorded its machine."""
    where = m["machine"]
    cpu = "" if m.get("cpu_seconds") is None else f", {m['cpu_seconds']:.0f} s CPU"
    return f"Ran on {where.get('cpu', '?')} with {where.get('threads', '?')} threads: {m['seconds']:.0f} s wall{cpu}."


def _status(m: dict[str, Any]) -> str:
    if m.get("status") != "ok":
        return m.get("status", "?")
    claims = m.get("claims", [])
    return f"{sum(c['met'] for c in claims)}/{len(claims)} claims met"


def build_markdown(root: Path, runs: dict[str, list[dict[str, Any]]]) -> str:
    out = ["# basiskit report", "", f"Runs under `{root}`.", "",
           markdown_table(["recipe", "newest run", "size", "status", "time"],
                          [[r, ms[0]["dir"].name, "quick" if ms[0]["quick"] else "full", _status(ms[0]),
                            f"{ms[0]['seconds']:.0f}s"] for r, ms in runs.items()]), ""]
    for recipe, ms in runs.items():
        m = ms[0]
        out += [f"## {recipe}", "", f"*{m['paper']}* — {m['summary']}", "",
                f"Run `{m['dir'].name}` ({'quick' if m['quick'] else 'full'} size, seed {m['seed']}): {_status(m)}.", ""]
        if m.get("machine"):
            out += [_where(m), ""]
        if m.get("error"):
            out += [f"Error: `{m['error']}`", ""]
        if m.get("claims"):
            out += [markdown_table(_CLAIM_COLUMNS, _claims_rows(m)), ""]
        figures = [[k, _fmt(v)] for k, v in m.get("metrics", {}).items()]
        if figures:
            out += ["Figures:", "", markdown_table(["metric", "value"], figures), ""]
        config = m["config_record"].get("config", {})
        if config:
            out += ["Config: " + ", ".join(f"`{k}={_fmt(v)}`" for k, v in config.items()), ""]
        for plot in m.get("plots", []):
            rel = (m["dir"] / plot).relative_to(root)
            out += [f"![{plot}]({rel.as_posix()})", ""]
        if len(ms) > 1:
            out += ["Earlier runs: " + "; ".join(f"`{x['dir'].name}` {_status(x)}" for x in ms[1:]), ""]
    return "\n".join(out)


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def build_html(root: Path, runs: dict[str, list[dict[str, Any]]]) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>basiskit report</title><style>",
             "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}",
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "font-size:90%}th{background:#f3f3f3}.met{color:#070}.not{color:#b00}img{max-width:100%}",
             "</style></head><body><h1>basiskit report</h1>",
             _html_table(["recipe", "newest run", "size", "status", "time"],
                         [[r, ms[0]["dir"].name, "quick" if ms[0]["quick"] else "full", _status(ms[0]),
                           f"{ms[0]['seconds']:.0f}s"] for r, ms in runs.items()])]
    for recipe, ms in runs.items():
        m = ms[0]
        parts.append(f"<h2 id='{html.escape(recipe)}'>{html.escape(recipe)}</h2><p><i>{html.escape(m['paper'])}</i>"
                     f" — {html.escape(m['summary'])}</p><p>Run {html.escape(m['dir'].name)}: "
                     f"{html.escape(_status(m))}</p>")
        if m.get("machine"):
            parts.append(f"<p><small>{html.escape(_where(m))}</small></p>")
        if m.get("error"):
            parts.append(f"<p class='not'>Error: {html.escape(m['error'])}</p>")
        if m.get("claims"):
            parts.append(_html_table(_CLAIM_COLUMNS, _claims_rows(m)))
        figures = [[k, _fmt(v)] for k, v in m.get("metrics", {}).items()]
        if figures:
            parts.append(_html_table(["metric", "value"], figures))
        config = m["config_record"].get("config", {})
        if config:
            parts.append("<p><small>" + html.escape(", ".join(f"{k}={_fmt(v)}" for k, v in config.items()))
                         + "</small></p>")
        for plot in m.get("plots", []):
            data = base64.b64encode((m["dir"] / plot).read_bytes()).decode()
            parts.append(f"<figure><img alt='{html.escape(plot)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(plot)}</figcaption></figure>")
    parts.append("</body></html>")
    return "".join(parts).replace("<td>met</td>", "<td class='met'>met</td>").replace(
        "<td>NOT met</td>", "<td class='not'>NOT met</td>")


def write_report(root: str | Path = "runs") -> tuple[Path, Path]:
    """Write ``root/report.md`` and ``root/report.html``; ``UsageError`` (a ValueError) if ``root`` holds no
    finished run."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"report: folder {str(root)!r} does not exist; run a recipe first (basiskit run ...)")
    runs = collect_runs(root)
    if not runs:
        raise UsageError(f"report: no finished runs (*/*/metrics.json) under {str(root)!r}")
    md, page = root / "report.md", root / "report.html"
    md.write_text(build_markdown(root, runs))
    page.write_text(build_html(root, runs))
    return md, page
