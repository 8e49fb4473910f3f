"""Lua sources for the store's atomic writes, generated per workflow.

Each write is one script: the workflow's transition table is compiled into the script
body, so checking a transition costs a table lookup inside Redis and no extra argument.
Keys: 1 state hash, 2 history stream, then (single-node mode only) the cross-job indexes
3 all-jobs, 4 running, 5 errored, 6 completed. In cluster mode the indexes are omitted
from the script (they live in other slots) and the client applies them afterwards.
Every script returns one tab-separated string, ``OK version status attempt ms`` or
``ERR_* ...`` (a single bulk reply costs a client less to parse than an array).
"""

from __future__ import annotations

from pipeline.workflow import Workflow

__all__ = ["OPS", "script_source"]


def _lua_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Ops that move between statuses need the transition table and default messages; the
# others (progress, heartbeat, sweeps of finished jobs) skip building them on every call.
_NEEDS_TABLES = frozenset({"create", "transition", "retry", "mark_stale"})


def _tables(wf: Workflow, op: str) -> str:
    full = op in _NEEDS_TABLES
    rows = []
    for src, dsts in sorted(wf.transitions.items()):
        inner = ", ".join(f"[{_lua_str(d)}]=true" for d in sorted(dsts))
        rows.append(f"[{_lua_str(src)}]={{{inner}}}")
    msgs = ", ".join(f"[{_lua_str(s)}]={_lua_str(m)}" for s, m in sorted(wf.statuses.items()))
    term = ", ".join(f"[{_lua_str(s)}]=true" for s in sorted(wf.terminal))
    return (
        f"local ALLOWED = {{{', '.join(rows) if full else ''}}}\n"
        f"local MESSAGES = {{{msgs if full else ''}}}\n"
        f"local TERMINAL = {{{term}}}\n"
        f"local INITIAL = {_lua_str(wf.initial)}\n"
        f"local ERROR = {_lua_str(wf.error)}\n"
        f"local WORKFLOW = {_lua_str(wf.name)}\n"
    )


# ARGV[1] channel, ARGV[2] history maxlen, ARGV[3] retention seconds; op args from ARGV[4].
_PRELUDE = r"""
local CHANNEL, MAXLEN, RETENTION = ARGV[1], ARGV[2], tonumber(ARGV[3])
local S, H = KEYS[1], KEYS[2]
local INDEXED = #KEYS >= 6
local unpack = unpack or table.unpack

-- Replies are one tab-separated string: parsed far faster by clients than an array.
local function reply(...)
  local out = {...}
  for i = 1, #out do
    if type(out[i]) == 'number' then out[i] = string.format('%d', out[i]) end
  end
  return table.concat(out, '\t')
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function load()
  local v = redis.call('HMGET', S, 'status', 'attempt', 'version', 'job_id',
                       'updated_ms', 'heartbeat_ms', 'runs', 'entered_by')
  if not v[1] then return nil end
  return {status=v[1], attempt=tonumber(v[2]), version=tonumber(v[3]), job_id=v[4],
          updated_ms=tonumber(v[5]), heartbeat_ms=tonumber(v[6]), runs=tonumber(v[7] or '1'),
          entered_by=v[8] or ''}
end

-- A stage run that is not the job's current one (a newer delivery of its stage started, or
-- it handed off already) may not write: ``by_run`` is the writer's delivery number.
local function superseded(cur, by_status, by_run)
  if by_run > 0 and cur.status == by_status and cur.runs ~= by_run then
    return reply('ERR_TRANSITION', cur.status, cur.status,
                 'superseded: delivery ' .. cur.runs .. ' of ' .. by_status .. ' is running')
  end
  return nil
end

-- Fence and existence check shared by every worker-side write.
local function guard(cur, attempt)
  if not cur then return reply('ERR_NOTFOUND') end
  if attempt ~= 0 and attempt ~= cur.attempt then
    return reply('ERR_STALE', cur.attempt)
  end
  return nil
end

-- '~' lets Redis trim whole stream nodes: several times cheaper than exact trimming, at
-- the price of keeping up to one node (100 entries) more than MAXLEN.
-- Same-status writes (progress, heartbeat): the job must still be running ``expected``.
local function guard_running(cur, attempt, expected, what)
  local bad = guard(cur, attempt)
  if bad then return bad end
  if TERMINAL[cur.status] then
    return reply('ERR_TRANSITION', cur.status, cur.status, 'terminal')
  end
  if expected ~= '' and expected ~= cur.status then
    return reply('ERR_TRANSITION', cur.status, expected, what .. ' for another status')
  end
  return nil
end

local function history(cur_status, kind, status, version, attempt, ms, msg, err, task_id)
  redis.call('XADD', H, 'MAXLEN', '~', MAXLEN, '*', 'v', version, 'attempt', attempt,
             'kind', kind, 'from', cur_status, 'to', status, 'ms', ms,
             'message', msg, 'error', err, 'task_id', task_id)
end

-- Keep indexes and TTL in step with the status; a running job never expires.
local function settle(job_id, status, ms, was_terminal)
  if TERMINAL[status] then
    redis.call('EXPIRE', S, RETENTION)
    redis.call('EXPIRE', H, RETENTION)
  elseif was_terminal then
    redis.call('PERSIST', S)
    redis.call('PERSIST', H)
  end
  if not INDEXED then return end
  if TERMINAL[status] then
    redis.call('ZREM', KEYS[4], job_id)
    if status == ERROR then redis.call('ZADD', KEYS[5], ms, job_id)
    else redis.call('ZADD', KEYS[6], ms, job_id) end
  else
    redis.call('ZADD', KEYS[4], ms, job_id)
    if was_terminal then
      redis.call('ZREM', KEYS[5], job_id)
      redis.call('ZREM', KEYS[6], job_id)
    end
  end
end

local function notify(job_id, version, status)
  redis.call('PUBLISH', CHANNEL, job_id .. ' ' .. version .. ' ' .. status)
end

-- Move a running job to a new status (also used for errors and stale sweeps).
local function move(cur, kind, status, msg, err, task_id, progress, result, entered_by)
  local ms = now_ms()
  local version = cur.version + 1
  if msg == '' then msg = MESSAGES[status] end
  local fields = {'status', status, 'message', msg, 'error', err, 'version', version,
                  'updated_ms', ms, 'heartbeat_ms', ms, 'progress', progress, 'runs', 1,
                  'entered_by', entered_by or ''}
  if task_id ~= '' then table.insert(fields, 'task_id'); table.insert(fields, task_id) end
  if result ~= '' then table.insert(fields, 'result'); table.insert(fields, result) end
  redis.call('HSET', S, unpack(fields))
  history(cur.status, kind, status, version, cur.attempt, ms, msg, err, task_id)
  settle(cur.job_id, status, ms, false)
  notify(cur.job_id, version, status)
  return reply('OK', version, status, cur.attempt, ms)
end
"""

# ARGV: 4 job id, 5 url, 6 space id, 7 task id, 8 message, 9 the job's input (JSON)
_CREATE = r"""
local job_id, url, space_id, task_id, msg = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if redis.call('EXISTS', S) == 1 then return reply('ERR_EXISTS') end
local ms = now_ms()
if msg == '' then msg = MESSAGES[INITIAL] end
redis.call('DEL', H)
redis.call('HSET', S, 'job_id', job_id, 'workflow', WORKFLOW, 'status', INITIAL,
           'message', msg, 'error', '', 'url', url, 'space_id', space_id,
           'task_id', task_id, 'version', 1, 'attempt', 1, 'created_ms', ms,
           'updated_ms', ms, 'heartbeat_ms', ms, 'progress', '', 'result', '', 'runs', 1,
           'input', ARGV[9])
history('', 'create', INITIAL, 1, 1, ms, msg, '', task_id)
if INDEXED then redis.call('ZADD', KEYS[3], ms, job_id) end
settle(job_id, INITIAL, ms, false)
notify(job_id, 1, INITIAL)
return reply('OK', 1, INITIAL, 1, ms)
"""

# ARGV: 4 attempt, 5 status, 6 message, 7 error, 8 task_id, 9 progress, 10 result,
#       11 max runs when re-entering the same status (0: same status is illegal),
#       12 ``by`` status and 13 ``by`` delivery number: the stage run making the write (its
#       own stage for a result or an error; for a stage entry, the run that handed off)
_TRANSITION = r"""
local attempt, status = tonumber(ARGV[4]), ARGV[5]
local cur = load()
local bad = guard(cur, attempt)
if bad then return bad end
local max_runs = tonumber(ARGV[11])
local by_status, by_run = ARGV[12] or '', tonumber(ARGV[13] or '0')
local by = ''
if by_run > 0 then by = by_status .. ':' .. by_run end
if TERMINAL[cur.status] then
  return reply('ERR_TRANSITION', cur.status, status, 'terminal')
end

-- A delivery that must not run is refused, and the refusal is part of the job's story.
local function duplicate(why)
  local ms = now_ms()
  local version = cur.version + 1
  redis.call('HSET', S, 'version', version)
  history(cur.status, 'duplicate', cur.status, version, cur.attempt, ms,
          'delivery of ' .. status .. ' refused: ' .. why, '', ARGV[8])
  notify(cur.job_id, version, cur.status)
  return reply('ERR_TRANSITION', cur.status, status, why)
end

local late = superseded(cur, by_status, by_run)
if late then
  if max_runs > 0 or status == ERROR or TERMINAL[status] then
    return duplicate('superseded: delivery ' .. cur.runs .. ' of ' .. by_status .. ' runs')
  end
  return late
end
if status == cur.status and max_runs > 0 and by ~= '' and cur.entered_by ~= by then
  return duplicate('a second hand-off from ' .. by .. ' (entered from ' .. cur.entered_by .. ')')
end
if status == cur.status and max_runs > 0 then
  -- A redelivered stage: count the run, give up once it keeps coming back.
  local runs = cur.runs + 1
  if runs > max_runs then
    return move(cur, 'redelivery', ERROR, '',
                cur.status .. ': gave up after ' .. max_runs .. ' deliveries (worker lost?)',
                ARGV[8], '', '')
  end
  -- Recorded like any change: the history shows the stage ran again, and with which task.
  local ms = now_ms()
  local version = cur.version + 1
  local fields = {'runs', runs, 'heartbeat_ms', ms, 'updated_ms', ms, 'version', version}
  if ARGV[8] ~= '' then table.insert(fields, 'task_id'); table.insert(fields, ARGV[8]) end
  redis.call('HSET', S, unpack(fields))
  history(cur.status, 'redelivered', cur.status, version, cur.attempt, ms,
          'delivery ' .. runs .. ' of at most ' .. max_runs, '', ARGV[8])
  settle(cur.job_id, cur.status, ms, false)
  notify(cur.job_id, version, cur.status)
  return reply('OK', version, cur.status, cur.attempt, ms, 'rerun', runs)
end
if not (ALLOWED[cur.status] and ALLOWED[cur.status][status]) then
  if max_runs > 0 and cur.attempt == attempt then
    return duplicate('the job is already in ' .. cur.status)
  end
  return reply('ERR_TRANSITION', cur.status, status, 'not allowed')
end
local err = ARGV[7]
if status ~= ERROR then err = '' end
return move(cur, 'transition', status, ARGV[6], err, ARGV[8], ARGV[9], ARGV[10], by)
"""

# ARGV: 4 attempt, 5 expected status ('' any), 6 progress json, 7 message ('' keep),
#       8 the writer's delivery number of the expected status (0: unfenced)
_PROGRESS = r"""
local cur = load()
local bad = guard_running(cur, tonumber(ARGV[4]), ARGV[5], 'progress')
  or superseded(cur, ARGV[5], tonumber(ARGV[8] or '0'))
if bad then return bad end
local ms = now_ms()
local version = cur.version + 1
local msg = ARGV[7]
local fields = {'version', version, 'progress', ARGV[6], 'updated_ms', ms, 'heartbeat_ms', ms}
if msg ~= '' then table.insert(fields, 'message'); table.insert(fields, msg) end
redis.call('HSET', S, unpack(fields))
history(cur.status, 'progress', cur.status, version, cur.attempt, ms, msg, '', '')
settle(cur.job_id, cur.status, ms, false)
notify(cur.job_id, version, cur.status)
return reply('OK', version, cur.status, cur.attempt, ms)
"""

# Liveness only: no version bump and no history entry, so heartbeats never evict
# real transitions from the capped history. ARGV: 4 attempt, 5 expected status,
# 6 the writer's delivery number (0: unfenced).
_HEARTBEAT = r"""
local cur = load()
local bad = guard_running(cur, tonumber(ARGV[4]), ARGV[5], 'heartbeat')
  or superseded(cur, ARGV[5], tonumber(ARGV[6] or '0'))
if bad then return bad end
local ms = now_ms()
redis.call('HSET', S, 'heartbeat_ms', ms)
settle(cur.job_id, cur.status, ms, false)
return reply('OK', cur.version, cur.status, cur.attempt, ms)
"""

# ARGV: 4 expected attempt (0 any), 5 message
_RETRY = r"""
local expected = tonumber(ARGV[4])
local cur = load()
if not cur then return reply('ERR_NOTFOUND') end
if expected ~= 0 and expected ~= cur.attempt then return reply('ERR_STALE', cur.attempt) end
if cur.status ~= ERROR then
  return reply('ERR_TRANSITION', cur.status, INITIAL, 'retry needs ' .. ERROR)
end
local ms = now_ms()
local version, attempt = cur.version + 1, cur.attempt + 1
local msg = ARGV[5]
if msg == '' then msg = MESSAGES[INITIAL] end
redis.call('HSET', S, 'status', INITIAL, 'message', msg, 'error', '', 'version', version,
           'attempt', attempt, 'updated_ms', ms, 'heartbeat_ms', ms, 'progress', '',
           'result', '', 'task_id', '', 'runs', 1, 'entered_by', '')
history(cur.status, 'retry', INITIAL, version, attempt, ms, msg, '', '')
settle(cur.job_id, INITIAL, ms, true)
notify(cur.job_id, version, INITIAL)
return reply('OK', version, INITIAL, attempt, ms)
"""

# ARGV: 4 idle seconds, 5 message. Re-checks idleness inside Redis: safe while workers write.
_MARK_STALE = r"""
local cur = load()
if not cur then
  if INDEXED then redis.call('ZREM', KEYS[4], ARGV[6]) end
  return reply('ERR_NOTFOUND')
end
if TERMINAL[cur.status] then return reply('SKIP', cur.version, cur.status) end
local last = math.max(cur.updated_ms, cur.heartbeat_ms)
if now_ms() - last < tonumber(ARGV[4]) * 1000 then return reply('SKIP', cur.version, cur.status) end
return move(cur, 'stale', ERROR, '', ARGV[5] .. ' while ' .. cur.status, '', '', '')
"""

# ARGV: 4 age seconds, 5 status wanted (ERROR for purge), 6 job id
_PURGE = r"""
local cur = load()
if not cur then
  if INDEXED then redis.call('ZREM', KEYS[5], ARGV[6]) end
  return reply('ERR_NOTFOUND')
end
if cur.status ~= ARGV[5] then return reply('SKIP', cur.version, cur.status) end
if now_ms() - cur.updated_ms < tonumber(ARGV[4]) * 1000 then
  return reply('SKIP', cur.version, cur.status)
end
redis.call('DEL', S, H)
if INDEXED then
  redis.call('ZREM', KEYS[3], ARGV[6]); redis.call('ZREM', KEYS[5], ARGV[6])
end
return reply('OK', cur.version, cur.status, cur.attempt, 0)
"""

# KEYS 7 archive hash, 8 archive history, 9 archive index (single node); in cluster mode
# the archive keys follow the job's own two (KEYS 3 and 4) and there is no index.
# ARGV: 4 age seconds, 5 archive ttl (0: keep), 6 job id
_ARCHIVE = r"""
local cur = load()
local A, AH = KEYS[3], KEYS[4]
if INDEXED then A, AH = KEYS[7], KEYS[8] end
if not cur then
  if INDEXED then redis.call('ZREM', KEYS[6], ARGV[6]) end
  return reply('ERR_NOTFOUND')
end
if not TERMINAL[cur.status] or cur.status == ERROR then
  return reply('SKIP', cur.version, cur.status)
end
if now_ms() - cur.updated_ms < tonumber(ARGV[4]) * 1000 then
  return reply('SKIP', cur.version, cur.status)
end
redis.call('RENAME', S, A)
if redis.call('EXISTS', H) == 1 then redis.call('RENAME', H, AH) end
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  redis.call('EXPIRE', A, ttl); redis.call('EXPIRE', AH, ttl)
else
  redis.call('PERSIST', A); redis.call('PERSIST', AH)
end
if INDEXED then
  redis.call('ZREM', KEYS[3], ARGV[6]); redis.call('ZREM', KEYS[6], ARGV[6])
  redis.call('ZADD', KEYS[9], cur.updated_ms, ARGV[6])
end
return reply('OK', cur.version, cur.status, cur.attempt, cur.updated_ms)
"""

# ARGV: 4 job id
_CLEAR = r"""
local existed = redis.call('DEL', S, H)
if INDEXED then
  for i = 3, 6 do redis.call('ZREM', KEYS[i], ARGV[4]) end
end
if existed > 0 then redis.call('PUBLISH', CHANNEL, ARGV[4] .. ' 0 CLEARED') end
return reply('OK', existed, '', 0, 0)
"""

OPS: dict[str, str] = {
    "create": _CREATE,
    "transition": _TRANSITION,
    "progress": _PROGRESS,
    "heartbeat": _HEARTBEAT,
    "retry": _RETRY,
    "mark_stale": _MARK_STALE,
    "purge": _PURGE,
    "archive": _ARCHIVE,
    "clear": _CLEAR,
}


def script_source(workflow: Workflow, op: str) -> str:
    """The full Lua source of ``op`` for ``workflow``."""
    return _tables(workflow, op) + _PRELUDE + OPS[op]
