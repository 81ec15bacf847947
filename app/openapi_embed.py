#!/usr/bin/python3
# Usage: openapi_embed.py openapi.yaml out.cpp [swagger-ui-dist folder]
#
# Embeds the OpenAPI document in a C++ source, so the server answers from memory:
#   - app::openapi_json: the document as compact JSON (GET /openapi.json);
#   - app::docs_html: the page of GET /docs. With the swagger-ui-dist folder (the npm
#     package, pinned in tools/openapi), Swagger UI with its script, its styles and the
#     document inlined: the page loads nothing, not even /openapi.json. Without it (a
#     machine without Node.js), a plain page listing the operations.
# Run at build time by app/CMakeLists.txt, with Debian's python3 and python3-yaml.
import html
import json
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch")


def fallback_docs(document):
    """A page without scripts: each operation's method, path, summary and operationId."""
    rows = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                # The element ids Swagger UI gives operations: operations-<tag>-<operationId>.
                tag = op.get("tags", ["default"])[0]
                rows.append(
                    f'<tr id="operations-{html.escape(tag)}-{html.escape(op["operationId"])}">'
                    f"<td>{method.upper()}</td><td><code>{html.escape(path)}</code></td><td>{html.escape(op.get('summary', ''))}</td>"
                    f"<td>{html.escape(op['operationId'])}</td></tr>")
    title = html.escape(document["info"]["title"])
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title></head><body>"
            f"<h1>{title}</h1><p>This server was built without the documentation tools (Node.js); "
            'the whole description is <a href="/openapi.json">/openapi.json</a>.</p>'
            "<table><tr><th>method</th><th>path</th><th>summary</th><th>operationId</th></tr>"
            + "".join(rows) + "</table></body></html>\n")


def swagger_ui_docs(document, dist):
    """Swagger UI, everything inlined: one answer, no other request, nothing from elsewhere."""
    def read(name):
        with open(f"{dist}/{name}", encoding="utf-8") as f:
            text = f.read()
        if "</script" in text.lower() or "</style" in text.lower():
            sys.exit(f"openapi_embed: {name} cannot be inlined (it closes its own element)")
        return text
    spec = json.dumps(document, ensure_ascii=False).replace("</", "<\\/")
    title = html.escape(document["info"]["title"])
    # validatorUrl null: the page must not send the document to swagger.io's validator.
    # docExpansion "list": every operation is on the page, collapsed, from the start.
    # "Try it out" sends to the server the page came from, listed first.
    init = ("const spec = " + spec + ";\n"
            "spec.servers = [{url: window.location.origin, description: 'The server this page came from'}]"
            ".concat(spec.servers || []);\n"
            "window.ui = SwaggerUIBundle({spec: spec, dom_id: '#swagger-ui', deepLinking: true, "
            "validatorUrl: null, docExpansion: 'list', displayOperationId: true, "
            "presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'});")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title + "</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<style>" + read("swagger-ui.css") + "</style></head><body><div id=\"swagger-ui\"></div>"
            "<script>" + read("swagger-ui-bundle.js") + "</script><script>" + init + "</script></body></html>\n")


def raw_literal(name, text, delimiter):
    if ")" + delimiter + '"' in text:
        sys.exit(f"openapi_embed: {name} contains the raw string's delimiter")
    return f'const std::string_view {name} = R"{delimiter}({text}){delimiter}";\n'


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    if len(sys.argv) > 3:
        docs = swagger_ui_docs(document, sys.argv[3])
    else:
        docs = fallback_docs(document)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    out = (
        "// Generated from openapi.yaml by app/openapi_embed.py. Do not edit.\n"
        '#include "app/openapi.hpp"\n'
        "namespace app {\n"
        + raw_literal("openapi_json", text, "pgcoro_json")
        + raw_literal("docs_html", docs, "pgcoro_html")
        + "}  // namespace app\n"
    )
    try:
        with open(target, encoding="utf-8") as f:
            if f.read() == out:
                return
    except FileNotFoundError:
        pass
    with open(target, "w", encoding="utf-8") as f:
        f.write(out)


if __name__ == "__main__":
    main()
