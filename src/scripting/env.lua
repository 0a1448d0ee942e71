-- Cairn's Lua environment for EVAL scripts, set up as Redis 7.0 sets its
-- own (src/scripting/mod.rs runs this chunk once per Lua state).
--
-- Called with `priv`, a table only Rust and this chunk see. It gets:
--   priv.run(f)   runs a script function under the error handler;
--                 returns true, result or false, error table.
--   priv.env      the environment every script function runs in.
--   priv.raw      redis.call's worker (Rust), for the running script:
--                 returns true, reply or false, error table.
--   priv.set_resp redis.setresp's store (Rust).
-- Invariants:
--   * Scripts cannot create or change globals, nor change the library
--     tables (Redis: "Attempt to modify a readonly table"); reading an
--     unset global is an error.
--   * Every error a script raises reaches Rust as a table with `err`
--     (the message, with an error code), and `source`/`line` of the frame
--     that raised it, when there is one.
local priv = ...
local getinfo = debug.getinfo
local error, type, tostring, setmetatable, rawset = error, type, tostring, setmetatable, rawset
local G = _G

local readonly = {}
local function ro_error() error("Attempt to modify a readonly table", 2) end
local function proxy(t)
  local p = setmetatable({}, { __index = t, __newindex = ro_error, __metatable = false })
  readonly[p] = true
  return p
end

-- The error handler: the frame that raised (skipping C functions and this
-- chunk's own wrappers) gives `source` and `line`.
local function handler(err)
  local level, i = 2, nil
  repeat
    i = getinfo(level, 'nSl')
    level = level + 1
  until i == nil or (i.what ~= 'C' and i.source ~= '=cairn')
  if type(err) ~= 'table' then
    local msg = tostring(err)
    -- A Rust callback's error (the watchdog's) prints with this prefix.
    if type(err) == 'userdata' then msg = msg:gsub('^runtime error: ', '') end
    err = { err = 'ERR ' .. msg }
  end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end

function priv.run(f)
  return xpcall(f, handler)
end

-- redis.call raises the error table; redis.pcall returns it.
local wrap, raw = priv.wrap, priv.raw
local redis = G.redis
redis.call = wrap(function(...)
  local ok, r = raw(...)
  if ok then return r end
  error(r, 0)
end)
function redis.pcall(...)
  local ok, r = raw(...)
  return r
end

local function raise(msg) error({ err = msg }, 0) end

local sha1, log = redis.__sha1, redis.__log
redis.__sha1, redis.__log = nil, nil
redis.sha1hex = wrap(function(...)
  if select('#', ...) ~= 1 then raise('ERR wrong number of arguments') end
  return sha1(tostring((...)))
end)
function redis.error_reply(msg)
  if type(msg) ~= 'string' then return { err = 'ERR wrong number or type of arguments' } end
  if msg:sub(1, 1) == '-' then msg = msg:sub(2) end
  if not msg:find(' ', 1, true) then msg = 'ERR ' .. msg end
  return { err = msg }
end
function redis.status_reply(msg)
  if type(msg) ~= 'string' then return { err = 'ERR wrong number or type of arguments' } end
  return { ok = msg }
end
redis.log = wrap(function(...)
  local n = select('#', ...)
  if n < 2 then raise('ERR redis.log() requires two arguments or more.') end
  local level = ...
  if type(level) ~= 'number' then raise('ERR First argument must be a number') end
  if level < 0 or level > 3 then raise('ERR Invalid debug level.') end
  local parts = {}
  for i = 2, n do
    local v = select(i, ...)
    if type(v) == 'string' or type(v) == 'number' then parts[#parts + 1] = tostring(v) end
  end
  log(level, table.concat(parts, ' '))
end)
redis.setresp = wrap(function(...)
  if select('#', ...) ~= 1 then raise('ERR redis.setresp() requires one argument.') end
  local v = ...
  if v ~= 2 and v ~= 3 then raise('ERR RESP version must be 2 or 3.') end
  priv.set_resp(v)
end)
redis.set_repl = wrap(function(...)
  if select('#', ...) ~= 1 then raise('ERR redis.set_repl() requires one argument.') end
  local v = ...
  if type(v) ~= 'number' or v < 0 or v > 3 then raise('ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.') end
end)
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end

-- lua-cjson raises its errors at the caller's line.
local cj = G.cjson
local encode, decode = cj.encode, cj.decode
cj.encode = wrap(function(...)
  if select('#', ...) ~= 1 then error('bad argument #1 to \'encode\' (expected 1 argument)', 3) end
  local ok, r = encode((...))
  if ok then return r end
  error(r, 3)
end)
cj.decode = wrap(function(s)
  if type(s) ~= 'string' then error('bad argument #1 to \'decode\' (string expected, got ' .. type(s) .. ')', 3) end
  local ok, r = decode(s)
  if ok then return r end
  error(r, 3)
end)

-- Redis 7.0's pcall hands back an error table's `err` string, not the
-- table (so `pcall(redis.call, ...)` gives the message).
local raw_pcall = pcall
local function unwrap(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then e = m end
  end
  return false, e
end
G.pcall = wrap(function(...) return unwrap(raw_pcall(...)) end)

-- What Redis 7.0 leaves out of a script's reach.
for _, name in ipairs({ 'dofile', 'loadfile', 'print', 'os', 'io', 'debug', 'setfenv',
  'getfenv', 'require', 'module', 'newproxy', 'package' }) do
  G[name] = nil
end

-- rawset cannot get around the protection either.
G.rawset = wrap(function(t, k, v)
  if readonly[t] or t == G then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end)

for _, name in ipairs({ 'string', 'table', 'math', 'coroutine', 'redis', 'bit', 'cjson' }) do
  if G[name] ~= nil then G[name] = proxy(G[name]) end
end

setmetatable(G, {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = function(_, k)
    error("Attempt to modify a readonly table", 2)
  end,
  __metatable = false,
})

-- Scripts see the globals through a read-only proxy, so that existing
-- names (KEYS, redis, ...) cannot be reassigned either.
local env = proxy(G)
rawset(G, '_G', env)
priv.env = env

-- Functions (FUNCTION LOAD, FCALL). A library's code is compiled with
-- `priv.fenv`, whose globals resolve, as Redis 7.0's do, to the load API
-- while the library's code runs (only `redis` with register_function,
-- log and the version and LOG_* constants), and to the script API
-- otherwise (without KEYS and ARGV: a function gets its keys and
-- arguments as parameters). Nothing can be assigned to it.
local function missing(k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
end
local load_redis = {}
for _, name in ipairs({ 'log', 'REDIS_VERSION', 'REDIS_VERSION_NUM', 'LOG_DEBUG', 'LOG_VERBOSE',
  'LOG_NOTICE', 'LOG_WARNING' }) do
  load_redis[name] = redis[name]
end
local flag_names = { ['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
  ['no-cluster'] = true, ['allow-cross-slot-keys'] = true }
local registering = nil  -- the registrations of the library being loaded
local function reg_error(msg) error({ err = 'ERR ' .. msg }, 0) end
local function as_string(v)
  local t = type(v)
  if t == 'string' or t == 'number' then return tostring(v) end
  return nil
end
load_redis.register_function = wrap(function(...)
  local n = select('#', ...)
  if n < 1 or n > 2 then reg_error('wrong number of arguments to redis.register_function') end
  local name, callback, flags, desc
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      reg_error('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for k, v in next, t do
      if type(k) ~= 'string' and type(k) ~= 'number' then
        reg_error('named argument key given to redis.register_function is not a string')
      end
      local key = string.lower(tostring(k))
      if key == 'function_name' then
        name = as_string(v)
        if not name then reg_error('function_name argument given to redis.register_function must be a string') end
      elseif key == 'description' then
        desc = as_string(v)
        if not desc then reg_error('description argument given to redis.register_function must be a string') end
      elseif key == 'callback' then
        if type(v) ~= 'function' then reg_error('callback argument given to redis.register_function must be a function') end
        callback = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then reg_error('flags argument to redis.register_function must be a table representing function flags') end
        flags = {}
        for _, f in next, v do
          if type(f) ~= 'string' or not flag_names[f] then reg_error('unknown flag given') end
          flags[f] = true
        end
      else
        reg_error('unknown argument given to redis.register_function')
      end
    end
    if not name then reg_error('redis.register_function must get a function name argument') end
    if not callback then reg_error('redis.register_function must get a callback argument') end
  else
    local a, b = ...
    name = as_string(a)
    if not name then reg_error('first argument to redis.register_function must be a string') end
    if type(b) ~= 'function' then reg_error('second argument to redis.register_function must be a function') end
    callback = b
  end
  if not registering then reg_error('redis.register_function can only be called on FUNCTION LOAD command') end
  if name == '' or name:find('[^%w_]') then
    reg_error('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
  end
  for _, r in ipairs(registering) do
    if r.name == name then reg_error('Function already exists in the library') end
  end
  registering[#registering + 1] = { name = name, callback = callback, flags = flags or {},
    description = desc }
end)
-- Like the globals, the load API's `redis` errors on a missing name.
local load_api = load_redis
load_redis = setmetatable({}, {
  __index = function(_, k)
    local v = load_api[k]
    if v == nil then missing(k) end
    return v
  end,
  __newindex = ro_error,
  __metatable = false,
})
readonly[load_redis] = true

local loading = false
priv.fenv = setmetatable({}, {
  __index = function(_, k)
    if loading then
      if k == 'redis' then return load_redis end
    elseif k ~= 'KEYS' and k ~= 'ARGV' then
      local v = rawget(G, k)
      if v ~= nil then return v end
    end
    missing(k)
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})

-- Run a library's compiled code in load mode: true and its registrations
-- (a list of {name, callback, flags (a set), description}), or false and
-- the error message.
function priv.load_library(chunk)
  registering, loading = {}, true
  local ok, err = xpcall(chunk, function(e)
    if type(e) == 'table' and type(e.err) == 'string' then return e.err end
    if type(e) == 'userdata' then return 'ERR ' .. tostring(e):gsub('^runtime error: ', '') end
    return 'ERR ' .. tostring(e)
  end)
  local regs = registering
  registering, loading = nil, false
  if ok then return true, regs end
  return false, err
end

-- Leave load mode. Rust calls it after every load: an error raised while
-- the handler above runs (the watchdog's) skips its own reset.
function priv.end_load()
  registering, loading = nil, false
end

-- Call a function's callback with its keys and arguments, as priv.run.
function priv.call_function(f, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end
