// domain/accounts/transfers — POST /transfers: money moved between two accounts in one
// serializable transaction, at most once per Idempotency-Key.
#pragma once

#include <boost/json/object.hpp>
#include <pgcoro/options.hpp>
#include <pgcoro/result.hpp>
#include <string>
#include <vector>

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_transfers(net::router& r, services& svc);

// The columns transfer_json reads, in its order (shared with GET /accounts/{id}/transfers).
inline constexpr const char* transfer_columns = "id, from_account_id, to_account_id, amount, created_at";

// A transfer as API.md writes it, from `transfer_columns` starting at column `first`.
boost::json::object transfer_json(const pgcoro::row& r, int first = 0);

// The statements POST /transfers runs in its SERIALIZABLE transaction, and that
// transaction's options (its settings among them): for the test that checks their plans
// reach rows through indexes only ($1 from, $2 to, $3 amount, $4 key, $5 request hash,
// $6 transfer id).
const std::vector<std::string>& transfer_statements();
const pgcoro::transaction_options& transfer_tx_options();

}  // namespace domain
