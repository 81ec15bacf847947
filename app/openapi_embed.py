#!/usr/bin/python3
# Usage: openapi_embed.py openapi.yaml out.cpp
# Converts the OpenAPI document to compact JSON and embeds it in a C++ source, so the
# server answers GET /openapi.json from memory (run at build time by app/CMakeLists.txt,
# with Debian's python3 and python3-yaml).
import json
import sys

import yaml

source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as f:
    document = yaml.safe_load(f)
text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
if ")pgcoro_json\"" in text:
    sys.exit("openapi_embed: the document contains the raw string's delimiter")
out = (
    "// Generated from openapi.yaml by app/openapi_embed.py. Do not edit.\n"
    '#include "app/openapi.hpp"\n'
    "namespace app {\n"
    'const std::string_view openapi_json = R"pgcoro_json(' + text + ')pgcoro_json";\n'
    "}  // namespace app\n"
)
try:
    with open(target, encoding="utf-8") as f:
        if f.read() == out:
            sys.exit(0)
except FileNotFoundError:
    pass
with open(target, "w", encoding="utf-8") as f:
    f.write(out)
