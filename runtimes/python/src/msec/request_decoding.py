"""Decoding of a request body into its message by one documented rule (mirror of ``request-decoding.ts``).

The rule is docs/request-decoding.md; the cases both runtimes run are
fixtures/json-input/cases.json. :func:`msec.handler.decode_request` (called by
generated dispatch modules) wraps these functions' errors in ``SrpcError``:
-3 for JSON, -5 for binary, with messages naming the field.

* JSON: strict ProtoJSON. ``bytes`` values are base64 in the standard or
  URL-safe alphabet, padding optional, nothing else; ``null`` is "not set" for a
  field and an error in a list or map; unknown keys, a field given twice, two
  members of one oneof, duplicate keys, bare ``NaN``/``Infinity`` and nesting
  deeper than :data:`MAX_JSON_DEPTH` are errors; one leading byte-order mark is
  ignored.
* Binary: protobuf, with every known field's wire type checked (upb keeps a
  mismatched field as an unknown field) and at most :data:`MAX_MESSAGE_DEPTH`
  messages nested below the request.
* Both: proto2 ``required`` fields must be set, nested messages included.
"""
import json
import re
from itertools import accumulate
from typing import Any, Dict, List, Optional, Tuple

#: Most nested JSON arrays/objects in a request body (the body's own object is level 1).
MAX_JSON_DEPTH = 100
#: Most messages nested below the request in a binary body: protobuf's default recursion limit,
#: which upb enforces while parsing (a deeper body is a ``DecodeError``).
MAX_MESSAGE_DEPTH = 100


class RequestFieldError(ValueError):
    """A request that breaks the decoding rules; the message starts with the field's path."""


_BASE64_STANDARD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_BASE64_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_BASE64_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BLANK = re.compile(r"[ \t\r\n]*")

#: Well-known types whose JSON form is not an object of their fields.
_SPECIAL_JSON_TYPES = frozenset(
    "google.protobuf." + name
    for name in (
        "Any Duration FieldMask ListValue Struct Timestamp Value BoolValue BytesValue DoubleValue "
        "FloatValue Int32Value Int64Value StringValue UInt32Value UInt64Value"
    ).split()
)


def is_strict_base64(text: str) -> bool:
    """Whether ``text`` is base64 as ProtoJSON reads ``bytes`` (see ``isStrictBase64`` in the TS runtime).

    One alphabet (standard or URL-safe), ``=`` padding either complete or
    absent, and zero bits after the last byte, so text and bytes correspond one to one.
    """
    if not (_BASE64_STANDARD.fullmatch(text) or _BASE64_URL_SAFE.fullmatch(text)):
        return False
    data = text.rstrip("=")
    if len(data) != len(text) and len(text) % 4 != 0:
        return False
    rest = len(data) % 4
    if rest == 1:
        return False
    if rest == 0:
        return True
    last = _BASE64_DIGITS.index(data[-1].replace("-", "+").replace("_", "/"))
    return last & (0x0F if rest == 2 else 0x03) == 0


def _json_depth(text: str) -> int:
    """Deepest nesting of arrays/objects in ``text`` (strings skipped), without recursion."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def _no_duplicate_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    obj: Dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise RequestFieldError(f"duplicate key {json.dumps(key, ensure_ascii=False)}")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise RequestFieldError(f"{name} is not JSON (ProtoJSON writes it as a string)")


def json_body_text(text: str) -> str:
    """The text of a JSON call's body as methods receive it, after the body-level checks.

    One byte-order mark before the body is removed (RFC 8259 §8.1 lets a parser
    ignore it) and a blank body is ``{}``; the body must then be one JSON object
    nested at most :data:`MAX_JSON_DEPTH` levels, without duplicate keys or bare
    ``NaN``/``Infinity``. Raises :class:`RequestFieldError` (or ``json.JSONDecodeError``) otherwise.
    """
    return _load_json_body(text)[0]


def _load_json_body(text: str) -> Tuple[str, Dict[str, Any]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    if _BLANK.fullmatch(text):
        return "{}", {}
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise RequestFieldError(f"nesting deeper than {MAX_JSON_DEPTH} levels")
    value = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    if not isinstance(value, dict):
        raise RequestFieldError("the request body must be a JSON object")
    return text, value


def parse_json_request(message: Any, text: str) -> None:
    """Fills ``message`` from JSON ``text`` by the strict rule; raises ``RequestFieldError``, ``json.JSONDecodeError`` or ``json_format.ParseError``."""
    from google.protobuf import json_format

    desc = message.DESCRIPTOR
    try:
        value = _load_json_body(text)[1]
    except RequestFieldError as exc:
        raise RequestFieldError(f"{desc.full_name}: {exc}") from None
    _check_message(desc, value, desc.full_name)
    json_format.ParseDict(value, message, ignore_unknown_fields=False)
    missing = None if message.IsInitialized() else missing_required_field(message, desc.full_name)
    if missing is not None:
        raise RequestFieldError(f"{missing}: missing required field")


def parse_binary_request(message: Any, data: bytes) -> None:
    """Fills ``message`` from protobuf ``data`` and checks wire types and required fields."""
    message.ParseFromString(data)
    name = message.DESCRIPTOR.full_name
    if _has_unknown_fields(message):
        _check_wire_types(message, name)
    missing = None if message.IsInitialized() else missing_required_field(message, name)
    if missing is not None:
        raise RequestFieldError(f"{missing}: missing required field")


def _fields_by_key(desc: Any) -> Dict[str, Any]:
    cached: Optional[Dict[str, Any]] = _FIELDS_BY_KEY.get(desc)
    if cached is None:
        cached = {}
        for field in desc.fields:
            cached[field.name] = field
            cached[field.json_name] = field
        _FIELDS_BY_KEY[desc] = cached
    return cached


_FIELDS_BY_KEY: Dict[Any, Dict[str, Any]] = {}


def _is_map(field: Any) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _check_message(desc: Any, value: Any, path: str) -> None:
    if desc.full_name in _SPECIAL_JSON_TYPES:
        if desc.full_name == "google.protobuf.BytesValue":
            _check_bytes(value, path)
        return
    if not isinstance(value, dict):
        raise RequestFieldError(f"{path}: expected a JSON object")
    seen: Dict[Any, str] = {}
    oneof_member: Dict[str, str] = {}
    fields = _fields_by_key(desc)
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            raise RequestFieldError(f"{path}.{key}: unknown field")
        field_path = f"{path}.{field.name}"
        earlier = seen.get(field)
        if earlier is not None:
            raise RequestFieldError(f'{field_path}: given twice (as "{earlier}" and "{key}")')
        seen[field] = key
        if item is None:
            continue  # ProtoJSON: null is the field's default, i.e. not set
        oneof = field.containing_oneof
        if oneof is not None:
            other = oneof_member.get(oneof.name)
            if other is not None:
                raise RequestFieldError(f"{field_path}: oneof {oneof.name} already set by {other}")
            oneof_member[oneof.name] = field.name
        _check_field(field, item, field_path)


def _check_field(field: Any, value: Any, path: str) -> None:
    if _is_map(field):
        if not isinstance(value, dict):
            raise RequestFieldError(f"{path}: expected a JSON object")
        value_field = field.message_type.fields_by_name["value"]
        for key, item in value.items():
            item_path = f"{path}[{json.dumps(key, ensure_ascii=False)}]"
            if item is None:
                raise RequestFieldError(f"{item_path}: null is not allowed as a map value")
            _check_single(value_field, item, item_path)
    elif field.is_repeated:
        if not isinstance(value, list):
            raise RequestFieldError(f"{path}: expected a JSON array")
        for i, item in enumerate(value):
            item_path = f"{path}[{i}]"
            if item is None:
                raise RequestFieldError(f"{item_path}: null is not allowed in a list")
            _check_single(field, item, item_path)
    else:
        _check_single(field, value, path)


def _check_single(field: Any, value: Any, path: str) -> None:
    from google.protobuf.descriptor import FieldDescriptor

    if isinstance(value, bool) and field.type not in (FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_MESSAGE):
        raise RequestFieldError(f"{path}: true/false is only for a bool field")
    if field.type == FieldDescriptor.TYPE_BYTES:
        _check_bytes(value, path)
    elif field.type == FieldDescriptor.TYPE_ENUM:
        _check_enum(field.enum_type, value, path)
    elif field.message_type is not None:
        _check_message(field.message_type, value, path)


def _check_bytes(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise RequestFieldError(f"{path}: expected a base64 string")
    if not is_strict_base64(value):
        raise RequestFieldError(f"{path}: invalid base64 (standard or URL-safe alphabet, optional padding, nothing else)")


def _check_enum(desc: Any, value: Any, path: str) -> None:
    """An enum value by name, or by number (any number for an open enum, a declared one for a closed enum)."""
    if isinstance(value, str):
        known = value in desc.values_by_name
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        known = False
    else:
        known = not desc.is_closed or value in desc.values_by_number
    if not known:
        raise RequestFieldError(f"{path}: {json.dumps(value)} is not a value of enum {desc.full_name}")


def _map_key_text(key: Any) -> str:
    return json.dumps(str(key).lower() if isinstance(key, bool) else str(key), ensure_ascii=False)


def _set_messages(message: Any, field: Any, path: str) -> List[Tuple[Any, str]]:
    """The messages held by a message-typed ``field`` of ``message``, each with its path."""
    value = getattr(message, field.name)
    if _is_map(field):
        if field.message_type.fields_by_name["value"].message_type is None:
            return []
        return [(value[k], f"{path}[{_map_key_text(k)}]") for k in sorted(value, key=str)]
    if field.is_repeated:
        return [(item, f"{path}[{i}]") for i, item in enumerate(value)]
    return [(value, path)] if message.HasField(field.name) else []


def _has_unknown_fields(message: Any) -> bool:
    """Whether ``message`` or a message inside it kept unknown fields (compares sizes, all in C)."""
    probe = type(message)()
    probe.CopyFrom(message)
    probe.DiscardUnknownFields()
    if message.IsInitialized():
        return bool(probe.ByteSize() != message.ByteSize())
    return len(probe.SerializePartialToString()) != len(message.SerializePartialToString())  # ByteSize() would raise


def _check_wire_types(message: Any, path: str) -> None:
    """A known field number among the unknown fields means the field arrived with a wrong wire type."""
    from google.protobuf import unknown_fields
    from google.protobuf.descriptor import FieldDescriptor

    desc = message.DESCRIPTOR
    entries: Any = unknown_fields.UnknownFieldSet(message)  # iterable; types-protobuf's stub does not say so
    for unknown in entries:
        field = desc.fields_by_number.get(unknown.field_number)
        if field is None:
            continue
        # A closed enum keeps a value it does not declare as an unknown field (varint, or packed).
        if field.type == FieldDescriptor.TYPE_ENUM and unknown.wire_type in ((0, 2) if field.is_repeated else (0,)):
            continue
        raise RequestFieldError(f"{path}.{field.name}: wrong wire type {unknown.wire_type} for field {field.number}")
    for field in desc.fields:
        if field.message_type is not None:
            for item, item_path in _set_messages(message, field, f"{path}.{field.name}"):
                _check_wire_types(item, item_path)


def missing_required_field(message: Any, path: str) -> Optional[str]:
    """Path of the first proto2 ``required`` field not set (declaration order, map keys sorted, depth first), e.g. ``crawl.Req.items[2].url``."""
    for field in message.DESCRIPTOR.fields:
        field_path = f"{path}.{field.name}"
        if field.is_required and not message.HasField(field.name):
            return field_path
        if field.message_type is None:
            continue
        for item, item_path in _set_messages(message, field, field_path):
            missing = missing_required_field(item, item_path)
            if missing is not None:
                return missing
    return None


__all__ = [
    "MAX_JSON_DEPTH", "MAX_MESSAGE_DEPTH", "RequestFieldError", "is_strict_base64", "json_body_text", "missing_required_field",
    "parse_binary_request", "parse_json_request",
]
