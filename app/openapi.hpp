// app/openapi.hpp — GET /openapi.json: the API's OpenAPI 3.1 document (openapi.yaml at the
// top of the repository), converted to JSON at build time and served from memory.
#pragma once

#include <string_view>

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace app {

extern const std::string_view openapi_json;  // app/openapi_embed.py's output

void register_openapi(net::router& routes, domain::services& svc);

}  // namespace app
