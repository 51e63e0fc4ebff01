"""Griffe extension: Keras-style docstrings as mkdocstrings renders them.

The docstrings are written for `help()` and read well in a terminal, in
Keras's style. Two of its habits mean something else to Markdown and to
griffe's Google-style parser, and this extension adjusts them for the site
only (the docstrings themselves stay as they are):

- a list that follows a line of text directly (`Reference:` then
  `- [Paper](url)`): Markdown needs a blank line before it, or it runs the
  items into the paragraph;
- `Call arguments:`, a section griffe does not know: it renders it as a
  note and runs its entries together. It becomes a paragraph like griffe's
  own section titles and a list of its `name: description` entries.
"""

import re

import griffe

ITEM = re.compile(r"^(\s*)([-*+]|\d+\.)\s")
ENTRY = re.compile(r"^(\s+)(\w+): (.*)$")
FENCE = re.compile(r"^\s*(```|~~~)")


def _indent(line):
    return len(line) - len(line.lstrip())


def separate_lists(text):
    """A blank line before every list that follows a line of text."""
    lines, out, fenced = text.splitlines(), [], False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        previous = out[-1] if out else ""
        if not fenced and i and ITEM.match(line) and previous.strip():
            # Inside a list already? Walk back over the paragraph.
            j = len(out) - 1
            while j >= 0 and out[j].strip() and not ITEM.match(out[j]):
                j -= 1
            in_list = j >= 0 and out[j].strip() and ITEM.match(out[j])
            if not in_list and _indent(previous) == _indent(line):
                out.append("")
        out.append(line)
    return "\n".join(out)


def list_call_arguments(text):
    """`Call arguments:` as a paragraph and a list, as Markdown reads it."""
    lines, out, section = text.splitlines(), [], None
    for line in lines:
        if line.strip() == "Call arguments:":
            section = _indent(line)
            out += [" " * section + "**Call arguments:**", ""]
            continue
        if section is not None:
            if line.strip() and _indent(line) <= section:
                section = None
                out.append("")
            else:
                entry = ENTRY.match(line)
                if entry and _indent(line) == section + 4:
                    _, name, description = entry.groups()
                    line = f"{' ' * section}- `{name}`: {description}"
                elif line.strip():
                    line = " " * (section + 2) + line.strip()
        out.append(line)
    return "\n".join(out)


class KerasDocstrings(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            value = list_call_arguments(separate_lists(obj.docstring.value))
            obj.docstring.value = value
