// app/openapi.hpp — GET /openapi.json: the API's OpenAPI 3.1 document (openapi.yaml at the
// top of the repository), converted to JSON at build time and served from memory; and
// GET /docs: a page for reading it in a browser (Redoc, built at build time, its scripts
// inlined), served from memory too.
#pragma once

#include <string_view>

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace app {

// app/openapi_embed.py's output.
extern const std::string_view openapi_json;
extern const std::string_view docs_html;

void register_openapi(net::router& routes, domain::services& svc);

}  // namespace app
