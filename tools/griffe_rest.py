"""A griffe extension for the API reference: basiskit's docstrings, written for reading in a terminal, as Markdown.

basiskit's docstrings are Google style (``Args:``) with reStructuredText inline markup. Before mkdocstrings
parses a docstring this extension

- turns each ``.. math::`` block (the formula on the directive's line and/or the indented lines after it)
  into a fenced ``latex`` code block, so the formula shows as written instead of running into the text;
- turns the roles ``:math:`x```, ``:class:`~pkg.Name```, ``:func:``, ``:meth:``, ``:mod:``, ``:data:``,
  ``:attr:`` into code spans (``~`` keeps the last dotted part, as in Sphinx);
- leaves out undocumented instance attributes (``self.weight = nn.Parameter(...)`` in ``__init__``): the
  page lists methods, properties and documented attributes;
- checks the names of ``Args:`` entries itself, because the docstrings group related arguments on one line
  (``in_channels, out_channels: ...``), which griffe's own check (turned off in mkdocs.yml) reports as unknown
  parameters: every comma-separated name must be a parameter of the function (of ``__init__`` for a class),
  else a warning names the object and the stale name, and ``mkdocs build --strict`` fails.

Loaded by mkdocs.yml as ``tools/griffe_rest.py``; ``rest_to_markdown`` and ``arg_names`` are plain functions
so the tests can pin them without MkDocs installed.
"""
from __future__ import annotations

import re
from typing import Any

_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*)$")
_ROLE = re.compile(r":(?:math|class|func|meth|mod|data|attr|obj|exc):`(?P<body>[^`]+)`")
_SECTION = re.compile(r"^(?P<indent>[ \t]*)(?:Args|Arguments|Parameters|Params):[ \t]*$")
_ENTRY = re.compile(r"^(?P<names>\*{0,2}[A-Za-z_][\w]*(?:[ \t]*,[ \t]*\*{0,2}[A-Za-z_]\w*)*)[ \t]*(?:\([^)]*\))?:(?:[ \t]|$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _role(match: re.Match[str]) -> str:
    body = match.group("body").strip()
    if body.startswith("~"):
        body = body[1:].rsplit(".", 1)[-1]
    return f"`{body}`"


def rest_to_markdown(text: str) -> str:
    """``.. math::`` blocks -> fenced ``latex`` blocks, reST roles -> code spans; everything else unchanged."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if match is None:
            out.append(_ROLE.sub(_role, lines[i]))
            i += 1
            continue
        indent, base = match.group("indent"), _indent(lines[i])
        inline = match.group("rest").strip()
        column = match.start("rest")  # where a formula on the directive's line starts
        i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        depth = min((_indent(line) for line in body if line.strip()), default=0)
        if inline:  # continuation lines keep their place relative to the formula's first line
            depth = min(depth, column)
        formula = ([inline] if inline else []) + [line[depth:].rstrip() for line in body]
        if out and out[-1].strip():
            out.append("")
        out += [f"{indent}```latex", *(f"{indent}{line}" if line else "" for line in formula), f"{indent}```"]
        if i < len(lines) and lines[i].strip():
            out.append("")
    return "\n".join(out)


def arg_names(text: str) -> list[str]:
    """Names listed in the ``Args:`` sections of a Google-style docstring; ``a, b: ...`` gives a and b,
    ``*args`` / ``**kwargs`` give ``args`` / ``kwargs``."""
    names: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        section = _SECTION.match(lines[i])
        i += 1
        if section is None:
            continue
        base = _indent(lines[i - 1])
        entry_indent = None
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            if entry_indent is None:
                entry_indent = _indent(line)
            if _indent(line) != entry_indent:
                continue
            entry = _ENTRY.match(line.strip())
            names += ([n.strip().lstrip("*") for n in entry.group("names").split(",")] if entry
                      else [line.strip()])
    return names


def _parameters(obj: Any) -> list[str] | None:
    """Parameter names of a function, or of a class's own ``__init__``; None for anything else."""
    if obj.is_function:
        return [p.name for p in obj.parameters]
    if obj.is_class and "__init__" in obj.members and obj.members["__init__"].is_function:
        return [p.name for p in obj.members["__init__"].parameters]
    return None


try:
    import griffe
except ImportError:  # the docs extra is not installed: the pure functions above still work
    griffe = None  # type: ignore[assignment]
else:
    _logger = griffe.get_logger("griffe_rest")

    class RestToMarkdown(griffe.Extension):
        """Rewrites every docstring with ``rest_to_markdown`` and checks its ``Args:`` names."""

        def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
            """Drop undocumented attributes assigned in a method (``self.x = ...``); class-body attributes,
            dataclass fields among them, stay."""
            methods = [m for m in cls.members.values() if not m.is_alias and m.is_function]
            for name, member in list(cls.members.items()):
                if member.is_alias or not member.is_attribute or member.docstring is not None:
                    continue
                if any((f.lineno or 0) <= (member.lineno or -1) <= (f.endlineno or 0) for f in methods):
                    del cls.members[name]

        def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
            if obj.docstring is None:
                return
            params = _parameters(obj)
            if params is not None:
                for name in arg_names(obj.docstring.value):
                    if name not in params:
                        _logger.warning(f"{obj.relative_filepath}:{obj.docstring.lineno}: {obj.path}: "
                                        f"'Args:' names {name!r}, which is not a parameter of the signature "
                                        f"({', '.join(params)})")
            obj.docstring.value = rest_to_markdown(obj.docstring.value)
