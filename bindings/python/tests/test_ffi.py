"""The ctypes prototypes of _ffi.py against the declarations of include/mcp.h.

ctypes trusts what it is told: a prototype with one argument too few, an int
where the header has a double, or a string the library allocates read as
c_char_p (copied and never freed) all load fine and fail later, in a call.
This test reads the header (its declarations follow one regular style: one
`MCP_API` function per statement, function pointers only through `mcp_*_fn`
typedefs) and checks every function the binding declares, callbacks included.
"""
from __future__ import annotations

import ctypes
import re
from ctypes import POINTER, c_char_p, c_void_p

import pytest

from libmcp import _ffi

from conftest import REPO

HEADER = REPO / "include" / "mcp.h"

# C scalar types of the header and the ctypes type of the same size and sign.
SCALARS = {
    "int": ctypes.c_int, "unsigned int": ctypes.c_uint, "unsigned": ctypes.c_uint, "double": ctypes.c_double,
    "size_t": ctypes.c_size_t, "int32_t": ctypes.c_int32, "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64, "uint16_t": ctypes.c_uint16, "uint8_t": ctypes.c_uint8,
}


def _strip(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"\\\n", " ", text)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _param_type(param: str) -> str:
    """`const char *const *argv` -> `const char *const *`: the type without the parameter's name."""
    tokens = re.findall(r"[A-Za-z_]\w*|\*", param)
    if len(tokens) > 1 and tokens[-1] != "*" and tokens[-1] not in ("int", "char", "double", "void", "unsigned"):
        tokens = tokens[:-1]
    return re.sub(r"\* (?=\w)", "*", " ".join(tokens)).replace("* *", "**")


def _params(text: str) -> list[str]:
    text = text.strip()
    return [] if text in ("", "void") else [_param_type(p) for p in text.split(",")]


class Header:
    def __init__(self, text: str):
        code = _strip(text)
        self.scalars: dict[str, str] = {}   # typedef'd integers: mcp_status -> int32_t
        self.opaque: set[str] = set()       # typedef struct mcp_server mcp_server_t
        self.callbacks: dict[str, tuple[str, list[str]]] = {}
        self.functions: dict[str, tuple[str, list[str]]] = {}
        # Structs the host fills (mcp_store_methods_t): their members in order,
        # each a C type or, for a function pointer, (return type, parameters).
        self.structs: dict[str, list[tuple[str, object]]] = {}
        for body, name in re.findall(r"typedef\s+struct\s+\w+\s*\{([^}]*)\}\s*(\w+)\s*;", code):
            members = []
            for decl in (d.strip() for d in body.split(";")):
                if not decl:
                    continue
                fn = re.match(r"(.*?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)$", decl, re.S)
                if fn:
                    members.append((fn.group(2), (_param_type(fn.group(1)), _params(fn.group(3)))))
                else:
                    members.append((decl.split()[-1], _param_type(decl)))
            self.structs[name] = members
        for ret, name, params in re.findall(r"typedef\s+([^;()]+?)\s*\(\s*\*\s*(\w+)\s*\)\s*\(([^)]*)\)\s*;", code):
            self.callbacks[name] = (_param_type(ret), _params(params))
        for name in re.findall(r"typedef\s+struct\s+\w+\s+(\w+)\s*;", code):
            self.opaque.add(name)
        for base, name in re.findall(r"typedef\s+((?:unsigned\s+)?\w+)\s+(\w+)\s*;", code):
            if base != "struct":
                self.scalars[name] = base
        for ret, name, params in re.findall(r"\bMCP_API\s+(?:MCP_NODISCARD\s+)?([^;()]*?)\b(mcp_\w+)\s*\(([^)]*)\)\s*;",
                                            code):
            self.functions[name] = (_param_type(ret), _params(params))

    def allowed(self, ctype: str, where: str) -> list:
        """The ctypes types that may stand for `ctype`; `where` is "return", "argument" or "callback"."""
        base = self.scalars.get(ctype, ctype)
        if base in SCALARS:
            return [SCALARS[base]]
        if ctype == "void":
            return [None]
        if ctype == "const char *":
            # Bytes in; also a bare address where the binding reads a (length, pointer) pair itself.
            return [c_char_p, c_void_p]
        if ctype in ("const void *", "const uint8_t *"):
            # Bytes in (mcp_http_exchange_add_body, a store's keys and values),
            # as bytes or as a bare address.
            return [c_char_p, c_void_p]
        if ctype.startswith("const ") and ctype.endswith(" *") and ctype[6:-2] in self.structs:
            return [("struct", ctype[6:-2])]
        if ctype == "char *":
            # Allocated by the library: read with string_at and freed, never copied by ctypes.
            return [c_void_p]
        if ctype == "void *" or (ctype.endswith(" *") and ctype[:-2] in self.opaque):
            return [c_void_p]
        if ctype == "const char *const *":
            return [POINTER(c_char_p)]
        if ctype == "char **" or (ctype.endswith(" **") and ctype[:-3] in self.opaque):
            return [POINTER(c_void_p)]
        if ctype == "const char **":
            # A string the library lends (mcp_call_arg_string): read by address, never freed.
            return [POINTER(c_void_p)]
        if ctype.startswith("const ") and ctype.endswith(" *") and self.scalars.get(ctype[6:-2], ctype[6:-2]) in SCALARS:
            return [POINTER(SCALARS[self.scalars.get(ctype[6:-2], ctype[6:-2])])]  # an array in (lens)
        if ctype.endswith(" *") and self.scalars.get(ctype[:-2], ctype[:-2]) in SCALARS:
            return [POINTER(SCALARS[self.scalars.get(ctype[:-2], ctype[:-2])])]
        if ctype in self.callbacks:
            return [("callback", ctype)]
        raise AssertionError(f"no ctypes mapping for the C type {ctype!r} ({where}): add one to this test")


def _mismatches(header: Header, what: str, c_sig: tuple[str, list[str]], restype, argtypes, where: str) -> list[str]:
    c_ret, c_args = c_sig
    out = []
    if len(argtypes) != len(c_args):
        return [f"{what}: {len(argtypes)} arguments in _ffi.py, {len(c_args)} in mcp.h ({', '.join(c_args)})"]
    slots = [("return type", c_ret, restype, "return")] + [
        (f"argument {i + 1}", c, py, where) for i, (c, py) in enumerate(zip(c_args, argtypes))]
    for label, ctype, pytype, kind in slots:
        allowed = header.allowed(ctype, kind)
        if allowed and isinstance(allowed[0], tuple) and allowed[0][0] == "struct":
            out += _struct_mismatches(header, f"{what} {label}", allowed[0][1], pytype)
        elif allowed and isinstance(allowed[0], tuple):
            name = allowed[0][1]
            cb_ret, cb_args = header.callbacks[name]
            if not (isinstance(pytype, type) and issubclass(pytype, ctypes._CFuncPtr)):
                out.append(f"{what}: {label} is {name} in mcp.h, but {_name(pytype)} in _ffi.py")
            else:
                out += _mismatches(header, f"{what} {label} ({name})", (cb_ret, cb_args), pytype._restype_,
                                   pytype._argtypes_, "callback")
        elif not any(pytype is a for a in allowed):
            out.append(f"{what}: {label} is {ctype!r} in mcp.h, so {' or '.join(map(_name, allowed))}; "
                       f"_ffi.py has {_name(pytype)}")
    return out


def _struct_mismatches(header: Header, what: str, name: str, pytype) -> list[str]:
    """A pointer to a struct of the header: a POINTER to a ctypes Structure with the same members, in order."""
    if not (isinstance(pytype, type) and issubclass(pytype, ctypes._Pointer)
            and issubclass(pytype._type_, ctypes.Structure)):
        return [f"{what}: a pointer to {name} in mcp.h, but {_name(pytype)} in _ffi.py"]
    members = header.structs[name]
    fields = pytype._type_._fields_
    if [m for m, _ in members] != [f for f, _ in fields]:
        return [f"{what}: {name} has members {[m for m, _ in members]} in mcp.h, {[f for f, _ in fields]} in _ffi.py"]
    out = []
    for (member, ctype), (_, py) in zip(members, fields):
        if isinstance(ctype, tuple):
            if not (isinstance(py, type) and issubclass(py, ctypes._CFuncPtr)):
                out.append(f"{what}: {name}.{member} is a function pointer in mcp.h, {_name(py)} in _ffi.py")
            else:
                out += _mismatches(header, f"{what} {name}.{member}", ctype, py._restype_, py._argtypes_, "callback")
        elif not any(py is a for a in header.allowed(ctype, "argument")):
            out.append(f"{what}: {name}.{member} is {ctype!r} in mcp.h, {_name(py)} in _ffi.py")
    return out


def _name(t) -> str:
    if t is None:
        return "None"
    if isinstance(t, type) and issubclass(t, ctypes._Pointer):
        return f"POINTER({_name(t._type_)})"
    return getattr(t, "__name__", repr(t))


@pytest.fixture(scope="module")
def header() -> Header:
    return Header(HEADER.read_text())


def test_the_header_parser_reads_every_declaration(header):
    """The parser sees as many functions as the header has MCP_API statements, and known shapes."""
    assert len(header.functions) == len(re.findall(r"^MCP_API\b", HEADER.read_text(), re.M))
    assert header.functions["mcp_server_add_tool_ex"] == (
        "mcp_status", ["mcp_server_t *", "const char *", "mcp_tool_fn", "void *", "mcp_free_fn", "unsigned int",
                       "char **"])
    assert header.functions["mcp_client_connect_stdio"][1][1] == "const char *const *"
    assert header.callbacks["mcp_send_fn"] == ("void", ["void *", "const char *", "size_t"])
    assert header.scalars["mcp_status"] == "int32_t" and "mcp_call_t" in header.opaque


def test_every_prototype_matches_the_header(header):
    problems = []
    for name, (restype, argtypes) in sorted(_ffi._PROTOTYPES.items()):
        if name not in header.functions:
            problems.append(f"{name}: declared in _ffi.py, not in mcp.h")
            continue
        problems += _mismatches(header, name, header.functions[name], restype, argtypes, "argument")
    assert not problems, "_ffi.py and mcp.h disagree:\n  " + "\n  ".join(problems)


def test_the_checker_catches_drift(header):
    """A wrong prototype of each kind is reported, naming the function."""
    good = _ffi._PROTOTYPES
    bad = {
        "mcp_call_progress": (ctypes.c_int32, (c_void_p, ctypes.c_int32, ctypes.c_double, c_char_p, _ffi._ERR)),
        "mcp_call_meta": (ctypes.c_int32, (c_void_p, POINTER(c_char_p), _ffi._ERR)),
        "mcp_server_free": (ctypes.c_int32, (c_void_p,)),
        "mcp_call_return": (ctypes.c_int32, (c_void_p, c_char_p)),
        "mcp_server_add_tool": (ctypes.c_int32, (c_void_p, c_char_p, ctypes.CFUNCTYPE(None, c_void_p, c_char_p),
                                                 c_void_p, _ffi.FREE_FN, _ffi._ERR)),
    }
    for name, (restype, argtypes) in bad.items():
        assert good[name] != (restype, argtypes)
        found = _mismatches(header, name, header.functions[name], restype, argtypes, "argument")
        assert found and all(p.startswith(name) for p in found), (name, found)
    assert "mcp_server_no_such" not in header.functions
