"""Checks answers of the agent API against daemon/api/openapi.yaml.

`OpenApi` loads the description once and can
- list what is wrong with the description itself (`problems()`): every schema must pass
  Draft202012Validator.check_schema, every `$ref` must resolve, every operation needs a unique
  operationId, a summary and responses, path parameters must match their templates;
- check one answer (`check_response()`): the concrete path is matched to a path template (literal
  templates before ones with parameters), the method to an operation, the status code to one of
  its responses, the Content-Type to one of that response's media types, required headers are
  present, and a JSON body is validated against the media type's schema with `$ref`s resolved in
  the document. Anything undocumented (path, method, status, media type) is a failure;
- validate any instance against a named component schema (`validate()`, used for stream frames).

Failures raise `Mismatch`, an AssertionError, so unittest reports them as test failures.

Works with python3-jsonschema 4.10 (Debian 12) and later versions; needs python3-yaml.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

SOURCE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_DOCUMENT = SOURCE_DIR / "daemon" / "api" / "openapi.yaml"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


class Mismatch(AssertionError):
    """An answer the description does not allow, or a defect of the description."""


def media_type_of(content_type: str | None) -> str:
    """'application/json; charset=utf-8' -> 'application/json' ('' when absent)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media_type(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _pointer_get(document: Any, pointer: str) -> Any:
    """Resolves a local JSON pointer ('#/a/b~1c') in `document`; KeyError when it does not."""
    if not pointer.startswith("#"):
        raise KeyError(f"only local references are supported: {pointer!r}")
    node = document
    path = pointer[1:]
    if path in ("", "/"):
        return node
    if not path.startswith("/"):
        raise KeyError(f"not a JSON pointer: {pointer!r}")
    for raw in path[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"{pointer!r} does not resolve (no {part!r})")
    return node


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


class Operation:
    def __init__(self, template: str, method: str, spec: dict, path_item: dict):
        self.template = template
        self.method = method
        self.spec = spec
        self.path_item = path_item
        self.operation_id = spec.get("operationId", f"{method.upper()} {template}")


class OpenApi:
    def __init__(self, path: os.PathLike | str = DEFAULT_DOCUMENT, text: str | None = None):
        self.path = Path(path)
        self.text = text if text is not None else self.path.read_text(encoding="utf-8")
        self.document = yaml.safe_load(self.text)
        if not isinstance(self.document, dict):
            raise Mismatch(f"{self.path}: not a YAML mapping")
        servers = self.document.get("servers") or [{"url": "/"}]
        self.base_path = servers[0]["url"].rstrip("/")
        self.operations: dict[tuple[str, str], Operation] = {}
        self._templates: list[tuple[re.Pattern, str, int]] = []
        for template, item in (self.document.get("paths") or {}).items():
            for method in METHODS:
                if method in item:
                    self.operations[(template, method)] = Operation(template, method, item[method], item)
            names = re.findall(r"\{([^}/]+)\}", template)
            regex = "^" + re.sub(r"\\\{[^}/]+\\\}", "([^/]+)", re.escape(template)) + "$"
            self._templates.append((re.compile(regex), template, len(names)))
        # Concrete paths before templated ones (OpenAPI's matching rule), then longer literal text.
        self._templates.sort(key=lambda t: (t[2], -len(t[1])))
        self._local = threading.local()
        self.seen: collections.Counter = collections.Counter()
        self._seen_lock = threading.Lock()

    # --- references ---

    def resolve(self, node: Any, seen: Iterable[str] = ()) -> Any:
        """Follows `$ref` of a non-schema object (response, parameter, header...) to its target."""
        seen = list(seen)
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise Mismatch(f"reference cycle: {' -> '.join(seen + [ref])}")
            seen.append(ref)
            node = _pointer_get(self.document, ref)
        return node

    def _root_schema(self, schema: Any) -> dict:
        """A schema whose `#/components/...` references resolve in this document."""
        if isinstance(schema, bool):
            schema = {"allOf": [schema]}
        root = dict(schema)
        root.setdefault("$schema", DIALECT)
        root["components"] = self.document.get("components", {})
        return root

    def _validator(self, key: str, schema: Any) -> Draft202012Validator:
        # Validators keep resolution state (jsonschema 4.10's RefResolver scope stack): one per thread.
        cache = getattr(self._local, "validators", None)
        if cache is None:
            cache = self._local.validators = {}
        validator = cache.get(key)
        if validator is None:
            validator = cache[key] = Draft202012Validator(self._root_schema(schema))
        return validator

    def _validate(self, key: str, schema: Any, instance: Any, what: str) -> None:
        validator = self._validator(key, schema)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = []
            for e in errors[:8]:
                where = "/".join(str(p) for p in e.absolute_path) or "(root)"
                lines.append(f"  at {where}: {_short(e.message, 300)}")
            more = f"\n  ... and {len(errors) - 8} more" if len(errors) > 8 else ""
            raise Mismatch(f"{what} does not match its schema:\n" + "\n".join(lines) + more +
                           f"\n  body: {_short(instance)}")

    def validate(self, schema_name: str, instance: Any, what: str | None = None) -> None:
        """Validates `instance` against components/schemas/`schema_name`."""
        schemas = self.document.get("components", {}).get("schemas", {})
        if schema_name not in schemas:
            raise Mismatch(f"no schema {schema_name!r} in components/schemas")
        # A oneOf with a discriminator: the variant the instance names explains a failure far
        # better than "not valid under any of the given schemas".
        discriminator = schemas[schema_name].get("discriminator") if isinstance(schemas[schema_name], dict) else None
        if discriminator and isinstance(instance, dict):
            target = (discriminator.get("mapping") or {}).get(instance.get(discriminator["propertyName"]))
            if target:
                self._validate("component:" + target, {"$ref": target}, instance, what or target.rsplit("/", 1)[-1])
        ref = {"$ref": f"#/components/schemas/{schema_name}"}
        self._validate("component:" + schema_name, ref, instance, what or schema_name)

    # --- matching ---

    def match_path(self, path: str) -> tuple[str, dict[str, str]]:
        """The template of a concrete path (with or without the server's base path) and its parameters."""
        path = path.split("?", 1)[0]
        if self.base_path:
            if not (path == self.base_path or path.startswith(self.base_path + "/")):
                raise Mismatch(f"{path} is not under the API's base path {self.base_path}")
            path = path[len(self.base_path):] or "/"
        for regex, template, _ in self._templates:
            m = regex.match(path)
            if m:
                names = re.findall(r"\{([^}/]+)\}", template)
                return template, dict(zip(names, m.groups()))
        raise Mismatch(f"undocumented path {self.base_path}{path}")

    def operation(self, method: str, path: str) -> Operation:
        template, _ = self.match_path(path)
        op = self.operations.get((template, method.lower()))
        if op is None:
            documented = sorted(m.upper() for (t, m) in self.operations if t == template)
            raise Mismatch(f"undocumented method {method.upper()} for {template} (documented: {', '.join(documented)})")
        return op

    @staticmethod
    def _response_for(responses: Mapping[str, Any], status: int) -> Any:
        for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
            if key in responses:
                return responses[key]
        return None

    @staticmethod
    def _media_for(content: Mapping[str, Any], media_type: str) -> tuple[str, Any] | None:
        if media_type in content:
            return media_type, content[media_type]
        family = media_type.split("/", 1)[0] + "/*"
        if family in content:
            return family, content[family]
        if "*/*" in content and media_type:
            return "*/*", content["*/*"]
        return None

    def check_response(self, method: str, path: str, status: int, content_type: str | None, body: bytes,
                       headers: Mapping[str, str] | None = None) -> Operation:
        """Raises Mismatch unless the description allows this answer; returns the operation."""
        op = self.operation(method, path)
        what = f"{method.upper()} {path} -> {status} ({op.operation_id})"
        responses = op.spec.get("responses") or {}
        response = self._response_for(responses, status)
        if response is None:
            body_text = body[:400].decode("utf-8", "replace")
            raise Mismatch(f"undocumented status: {what} (documented: {', '.join(sorted(responses))}); body: {body_text}")
        response = self.resolve(response)
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        for name, header in (response.get("headers") or {}).items():
            header = self.resolve(header)
            value = lowered.get(name.lower())
            if value is None:
                if header.get("required"):
                    raise Mismatch(f"{what}: the required header {name} is missing")
                continue
            if "schema" in header:
                self._validate(f"header:{op.operation_id}:{status}:{name}", header["schema"], value, f"{what} header {name}")
        content = response.get("content")
        media_type = media_type_of(content_type)
        if not content:
            if body:
                raise Mismatch(f"{what}: documented without a body, got {media_type or 'no type'}: {_short(body.decode('utf-8', 'replace'))}")
        else:
            found = self._media_for(content, media_type)
            if found is None:
                raise Mismatch(f"{what}: undocumented media type {media_type or '(none)'} (documented: {', '.join(content)})")
            key, media = found
            schema = (media or {}).get("schema")
            if schema is not None and is_json_media_type(media_type):
                try:
                    instance = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as e:
                    raise Mismatch(f"{what}: the body is not JSON ({e}): {_short(body.decode('utf-8', 'replace'))}")
                self._validate(f"body:{op.operation_id}:{status}:{key}", schema, instance, what)
        with self._seen_lock:
            self.seen[(op.operation_id, status)] += 1
        return op

    # --- the description itself ---

    def _walk_refs(self, node: Any, where: str, out: list[str]) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    _pointer_get(self.document, ref)
                except (KeyError, IndexError, ValueError) as e:
                    out.append(f"{where}: {e}")
            for k, v in node.items():
                self._walk_refs(v, f"{where}/{k}", out)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._walk_refs(v, f"{where}/{i}", out)

    def schemas(self) -> list[tuple[str, Any]]:
        """Every schema of the description, named by where it is."""
        found: list[tuple[str, Any]] = []
        components = self.document.get("components", {})
        for name, schema in (components.get("schemas") or {}).items():
            found.append((f"components/schemas/{name}", schema))

        def from_parameter(where: str, p: Any) -> None:
            if isinstance(p, dict) and "schema" in p:
                found.append((where + "/schema", p["schema"]))

        def from_content(where: str, content: Any) -> None:
            for media, obj in (content or {}).items():
                if isinstance(obj, dict) and "schema" in obj:
                    found.append((f"{where}/content/{media}/schema", obj["schema"]))

        def from_response(where: str, r: Any) -> None:
            if not isinstance(r, dict) or "$ref" in r:
                return
            for h, header in (r.get("headers") or {}).items():
                from_parameter(f"{where}/headers/{h}", header)
            from_content(where, r.get("content"))

        for name, p in (components.get("parameters") or {}).items():
            from_parameter(f"components/parameters/{name}", p)
        for name, h in (components.get("headers") or {}).items():
            from_parameter(f"components/headers/{name}", h)
        for name, r in (components.get("responses") or {}).items():
            from_response(f"components/responses/{name}", r)
        for template, item in (self.document.get("paths") or {}).items():
            for i, p in enumerate(item.get("parameters") or []):
                from_parameter(f"paths/{template}/parameters/{i}", p)
            for method in METHODS:
                op = item.get(method)
                if not op:
                    continue
                base = f"paths/{template}/{method}"
                for i, p in enumerate(op.get("parameters") or []):
                    from_parameter(f"{base}/parameters/{i}", p)
                body = op.get("requestBody")
                if isinstance(body, dict):
                    from_content(f"{base}/requestBody", body.get("content"))
                for status, r in (op.get("responses") or {}).items():
                    from_response(f"{base}/responses/{status}", r)
        return found

    def problems(self) -> list[str]:
        """What is wrong with the description (empty when nothing)."""
        out: list[str] = []
        doc = self.document
        if not str(doc.get("openapi", "")).startswith("3.1."):
            out.append(f"openapi is {doc.get('openapi')!r}, expected 3.1.x")
        for key in ("info", "paths"):
            if key not in doc:
                out.append(f"missing top-level {key!r}")
        self._walk_refs(doc, "#", out)
        for where, schema in self.schemas():
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as e:
                out.append(f"{where}: invalid schema: {e.message}")
        schemes = (doc.get("components", {}).get("securitySchemes") or {})
        ids: dict[str, str] = {}
        for (template, method), op in self.operations.items():
            where = f"{method.upper()} {template}"
            spec = op.spec
            oid = spec.get("operationId")
            if not oid:
                out.append(f"{where}: no operationId")
            elif oid in ids:
                out.append(f"{where}: operationId {oid!r} also used by {ids[oid]}")
            else:
                ids[oid] = where
            if not spec.get("summary"):
                out.append(f"{where}: no summary")
            responses = spec.get("responses") or {}
            if not responses:
                out.append(f"{where}: no responses")
            for status, r in responses.items():
                if not re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", str(status)):
                    out.append(f"{where}: bad response key {status!r}")
                    continue
                try:
                    resolved = self.resolve(r)
                except (KeyError, Mismatch) as e:
                    out.append(f"{where} {status}: {e}")
                    continue
                if not resolved.get("description"):
                    out.append(f"{where} {status}: no description")
                if str(status)[0] in "45":
                    schema = ((resolved.get("content") or {}).get("application/json") or {}).get("schema")
                    if schema != {"$ref": "#/components/schemas/Error"}:
                        out.append(f"{where} {status}: an error answer must be application/json with the Error schema")
            for requirement in spec.get("security", doc.get("security", [])):
                for name in requirement:
                    if name not in schemes:
                        out.append(f"{where}: unknown security scheme {name!r}")
            # Path parameters: exactly the template's, each required.
            params = []
            for p in list(op.path_item.get("parameters") or []) + list(spec.get("parameters") or []):
                try:
                    params.append(self.resolve(p))
                except (KeyError, Mismatch) as e:
                    out.append(f"{where}: {e}")
            declared = {p.get("name") for p in params if p.get("in") == "path"}
            wanted = set(re.findall(r"\{([^}/]+)\}", template))
            if declared != wanted:
                out.append(f"{where}: path parameters {sorted(declared)} do not match the template's {sorted(wanted)}")
            for p in params:
                if p.get("in") == "path" and p.get("required") is not True:
                    out.append(f"{where}: path parameter {p.get('name')!r} must be required")
        return out

    def unseen(self) -> list[str]:
        """Documented (operation, status) pairs no checked answer has shown so far."""
        missing = []
        for op in self.operations.values():
            for status in op.spec.get("responses") or {}:
                if status.isdigit() and (op.operation_id, int(status)) not in self.seen:
                    missing.append(f"{op.operation_id} {status}")
        return sorted(missing)


_shared: OpenApi | None = None
_shared_lock = threading.Lock()


def shared() -> OpenApi:
    """The description of this source tree, loaded once per process."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = OpenApi()
            problems = _shared.problems()
            if problems:
                raise Mismatch(f"{_shared.path} has problems:\n  " + "\n  ".join(problems))
            atexit.register(_report_coverage)
        return _shared


def _report_coverage() -> None:
    if _shared is None or not _shared.seen:
        return
    missing = _shared.unseen()
    total = sum(len(op.spec.get("responses") or {}) for op in _shared.operations.values())
    print(f"\nopenapi_check: {total - len(missing)} of {total} documented answers were seen", file=sys.stderr)
    if missing and os.environ.get("SWITCHBOARD_API_COVERAGE"):
        print("  never seen: " + ", ".join(missing), file=sys.stderr)


def main(argv: list[str]) -> int:
    """python3 tests/api/openapi_check.py [FILE]: prints the description's problems."""
    api = OpenApi(argv[1]) if len(argv) > 1 else OpenApi()
    problems = api.problems()
    for p in problems:
        print(p)
    print(f"{api.path}: {len(api.operations)} operations, {len(api.schemas())} schemas, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
