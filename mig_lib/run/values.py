"""How command-line parameter values are read: papermill's rules, and YAML without YAML 1.1's surprises.

``-p NAME VALUE`` follows papermill's ``-p``: ``True``, ``False`` and ``None`` are those values,
text that Python's ``int()`` reads is an integer (``010`` is 10, ``1_000`` is 1000), text that
``float()`` reads is a number (``1e6``, ``0.5``), and anything else is a string (``yes`` stays the
string ``'yes'``, which the chapter's validation then rejects with a message). One addition: a value
that starts with ``[`` or ``{`` is a list or a mapping, read as YAML under the rules below.

YAML (``-y``, ``-f``, the lists of ``-g``) is read with the YAML 1.2 core schema, not PyYAML's
YAML 1.1 default: only ``true``/``false`` (any case) are booleans, so ``yes``, ``no``, ``on`` and
``off`` stay strings; ``010`` is 10, not octal 8; ``1e6`` is the number 1000000.0, not a string;
``null`` and ``~`` are None.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from mig_lib.core.validation import ParameterError


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's scalar rules."""


Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers
          if tag not in {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                         "tag:yaml.org,2002:null"}]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CORE = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+.0123456789")),
]
for _tag, _pattern, _first in _CORE:
    Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_float(loader, node):
    text = loader.construct_scalar(node).lower()
    return float(text.replace(".inf", "inf").replace(".nan", "nan"))


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
Yaml12Loader.add_constructor("tag:yaml.org,2002:bool",
                             lambda loader, node: loader.construct_scalar(node).lower() == "true")


def load_yaml(text: str, what: str) -> Any:
    """Read YAML 1.2 core text; ``what`` names it in the error message."""
    try:
        return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        first = str(error).splitlines()[0]
        raise ParameterError(f"{what} = {text!r} is not allowed: it is not valid YAML ({first})") from None


def parse_value(name: str, text: str) -> Any:
    """The value of ``-p NAME TEXT`` (papermill's ``-p`` rules; lists and mappings as YAML)."""
    if text.lstrip().startswith(("[", "{")):
        return load_yaml(text, f"parameter {name!r}")
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_grid_values(name: str, text: str) -> list:
    """The values of ``-g NAME TEXT``: a YAML list, e.g. ``"[0.5, 1, 2]"``."""
    values = load_yaml(text, f"grid parameter {name!r}")
    if not isinstance(values, list) or not values:
        raise ParameterError(f"grid parameter {name!r} = {text!r} is not allowed: expected a non-empty YAML list, "
                             "e.g. \"[0.5, 1, 2]\"")
    return values
