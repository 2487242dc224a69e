-- GET /1.1/date, counting answers by status.
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
require "counting"

function init(args)
  count_init()
end
