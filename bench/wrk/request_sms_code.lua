-- POST /1.1/requestSmsCode, signed with X-LC-Sign, each request to a different +86186 number.
-- Arguments after "--": <number base> <app id> <X-LC-Sign value>. Thread t sends base + t*10^6 + i.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
require "counting"

function init(args)
  count_init()
  base = tonumber(args[1]) + (tid - 1) * 1000000
  n = 0
  headers = {
    ["Host"] = wrk.headers["Host"],
    ["Content-Type"] = "application/json",
    ["X-LC-Id"] = args[2],
    ["X-LC-Sign"] = args[3],
  }
end

function request()
  n = n + 1
  local body = string.format('{"mobilePhoneNumber":"+86186%08d"}', (base + n) % 100000000)
  return wrk.format("POST", "/1.1/requestSmsCode", headers, body)
end
