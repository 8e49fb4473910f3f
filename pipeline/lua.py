"""Lua sources for the store's atomic writes, generated per workflow.

Each write is one script: the workflow's transition table is compiled into the script
body, so checking a transition costs a table lookup inside Redis and no extra argument;
the history kinds come from :class:`pipeline.history.HistoryKind` the same way.
Every script opens with its contract: what each ``KEYS[i]`` and ``ARGV[i]`` is, named in
locals, so a reader of the script alone knows what ``ARGV[6]`` means.
Every script returns one tab-separated string, ``OK version status attempt ms`` or
``ERR_* ...`` (a single bulk reply costs a client less to parse than an array).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.history import lua_constants
from pipeline.workflow import Workflow

__all__ = ["OPS", "script_source"]


def _lua_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _is_one_of(name: str, values: list[str]) -> str:
    """A Lua expression: ``name`` equals one of ``values`` (false for none)."""
    return " or ".join(f"{name} == {_lua_str(x)}" for x in values) or "false"


def _tables(wf: Workflow) -> str:
    """The workflow compiled into constant code: comparisons of interned strings instead
    of tables, which the script would rebuild on every call."""
    allowed = [
        f"  if from == {_lua_str(src)} then return {_is_one_of('to', sorted(dsts))} end\n"
        for src, dsts in sorted(wf.transitions.items())
    ]
    messages = [
        f"  if status == {_lua_str(s)} then return {_lua_str(m)} end\n"
        for s, m in sorted(wf.statuses.items())
    ]
    return (
        "-- The workflow, compiled in.\n"
        "local function allowed(from, to)\n" + "".join(allowed) + "  return false\nend\n"
        "local function default_message(status)\n" + "".join(messages) + "  return ''\nend\n"
        "local function terminal(status) return "
        + _is_one_of("status", sorted(wf.terminal))
        + " end\n"
        f"local INITIAL = {_lua_str(wf.initial)}\n"
        f"local ERROR = {_lua_str(wf.error)}\n"
        f"local WORKFLOW = {_lua_str(wf.name)}\n"
    )


@dataclass(frozen=True)
class _Op:
    """One write: ``contract`` names its own ARGV (from 4) in locals; ``body`` acts."""

    contract: str
    body: str


# The part of the contract every script shares; it comes first in every script.
_COMMON = r"""
-- KEYS[1] the job's state hash, KEYS[2] its history stream. Single-node mode adds the
-- cross-job indexes KEYS[3] all jobs, KEYS[4] running, KEYS[5] errored, KEYS[6] completed;
-- cluster mode leaves them out (they live in other slots: the client updates them after).
-- ARGV[1] change channel, ARGV[2] history maxlen, ARGV[3] retention seconds of a finished
-- job; each op's own arguments start at ARGV[4].
local S, H = KEYS[1], KEYS[2]
local INDEXED = #KEYS >= 6
local ALL_JOBS, RUNNING, ERRORED, COMPLETED
if INDEXED then ALL_JOBS, RUNNING, ERRORED, COMPLETED = KEYS[3], KEYS[4], KEYS[5], KEYS[6] end
local CHANNEL, MAXLEN, RETENTION = ARGV[1], ARGV[2], tonumber(ARGV[3])
"""

_PRELUDE = r"""
local unpack = unpack or table.unpack

-- Replies are one tab-separated string: parsed far faster by clients than an array.
-- A refusal or a skip (rare) may carry anything; ``ok`` is the hot path, one concatenation
-- (integral numbers below 1e14 concatenate as integers: versions, attempts, ms).
local function reply(...)
  local out = {...}
  for i = 1, #out do
    if type(out[i]) == 'number' then out[i] = string.format('%d', out[i]) end
  end
  return table.concat(out, '\t')
end

local function ok(version, status, attempt, ms)
  return 'OK\t' .. version .. '\t' .. status .. '\t' .. attempt .. '\t' .. ms
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

-- Same-status writes (progress, heartbeat): the job must still be running ``expected``.
local function guard_running(cur, attempt, expected, what)
  local bad = guard(cur, attempt)
  if bad then return bad end
  if terminal(cur.status) then
    return reply('ERR_TRANSITION', cur.status, cur.status, 'terminal')
  end
  if expected ~= '' and expected ~= cur.status then
    return reply('ERR_TRANSITION', cur.status, expected, what .. ' for another status')
  end
  return nil
end

-- '~' lets Redis trim whole stream nodes: several times cheaper than exact trimming, at
-- the price of keeping up to one node (100 entries) more than MAXLEN.
local function history(cur_status, kind, status, version, attempt, ms, msg, err, task_id)
  redis.call('XADD', H, 'MAXLEN', '~', MAXLEN, '*', 'v', version, 'attempt', attempt,
             'kind', kind, 'from', cur_status, 'to', status, 'ms', ms,
             'message', msg, 'error', err, 'task_id', task_id)
end

-- Keep indexes and TTL in step with the status; a running job never expires.
local function settle(job_id, status, ms, was_terminal)
  if terminal(status) then
    redis.call('EXPIRE', S, RETENTION)
    redis.call('EXPIRE', H, RETENTION)
  elseif was_terminal then
    redis.call('PERSIST', S)
    redis.call('PERSIST', H)
  end
  if not INDEXED then return end
  if terminal(status) then
    redis.call('ZREM', RUNNING, job_id)
    if status == ERROR then redis.call('ZADD', ERRORED, ms, job_id)
    else redis.call('ZADD', COMPLETED, ms, job_id) end
  else
    redis.call('ZADD', RUNNING, ms, job_id)
    if was_terminal then
      redis.call('ZREM', ERRORED, job_id)
      redis.call('ZREM', COMPLETED, job_id)
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
  if msg == '' then msg = default_message(status) end
  local fields = {'status', status, 'message', msg, 'error', err, 'version', version,
                  'updated_ms', ms, 'heartbeat_ms', ms, 'progress', progress, 'runs', 1,
                  'entered_by', entered_by or ''}
  if task_id ~= '' then table.insert(fields, 'task_id'); table.insert(fields, task_id) end
  if result ~= '' then table.insert(fields, 'result'); table.insert(fields, result) end
  redis.call('HSET', S, unpack(fields))
  history(cur.status, kind, status, version, cur.attempt, ms, msg, err, task_id)
  settle(cur.job_id, status, ms, false)
  notify(cur.job_id, version, status)
  return ok(version, status, cur.attempt, ms)
end
"""

_CREATE = _Op(
    r"""
-- create: a new job in INITIAL with its input; ERR_EXISTS when the id is taken.
-- ARGV[4] job id, ARGV[5] url, ARGV[6] space id, ARGV[7] task id, ARGV[8] message ('' for
-- the default), ARGV[9] the job's input (JSON).
local JOB_ID, URL, SPACE_ID, TASK_ID = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local MSG, INPUT = ARGV[8], ARGV[9]
""",
    r"""
if redis.call('EXISTS', S) == 1 then return reply('ERR_EXISTS') end
local ms = now_ms()
local msg = MSG
if msg == '' then msg = default_message(INITIAL) end
redis.call('DEL', H)
redis.call('HSET', S, 'job_id', JOB_ID, 'workflow', WORKFLOW, 'status', INITIAL,
           'message', msg, 'error', '', 'url', URL, 'space_id', SPACE_ID,
           'task_id', TASK_ID, 'version', 1, 'attempt', 1, 'created_ms', ms,
           'updated_ms', ms, 'heartbeat_ms', ms, 'progress', '', 'result', '', 'runs', 1,
           'input', INPUT)
history('', KIND_CREATE, INITIAL, 1, 1, ms, msg, '', TASK_ID)
if INDEXED then redis.call('ZADD', ALL_JOBS, ms, JOB_ID) end
settle(JOB_ID, INITIAL, ms, false)
notify(JOB_ID, 1, INITIAL)
return ok(1, INITIAL, 1, ms)
""",
)

_TRANSITION = _Op(
    r"""
-- transition: move the job to STATUS, checked against the transition table and fenced.
-- ARGV[4] attempt (0: unfenced), ARGV[5] status, ARGV[6] message ('' for the default),
-- ARGV[7] error (kept only for the error status), ARGV[8] task id, ARGV[9] progress JSON,
-- ARGV[10] result JSON, ARGV[11] max runs when re-entering the same status (0: the same
-- status is illegal), ARGV[12] ``by`` status and ARGV[13] ``by`` delivery number: the
-- stage run making the write (its own stage for a result or an error; for a stage entry,
-- the run that handed off). Replies ``OK ... rerun <runs>`` for a counted redelivery.
local ATTEMPT, STATUS, MESSAGE, ERR = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local TASK_ID, PROGRESS, RESULT, MAX_RUNS = ARGV[8], ARGV[9], ARGV[10], tonumber(ARGV[11])
local BY_STATUS, BY_RUN = ARGV[12] or '', tonumber(ARGV[13] or '0')
""",
    r"""
local cur = load()
local bad = guard(cur, ATTEMPT)
if bad then return bad end
local by = ''
if BY_RUN > 0 then by = BY_STATUS .. ':' .. BY_RUN end
if terminal(cur.status) then
  return reply('ERR_TRANSITION', cur.status, STATUS, 'terminal')
end

-- A delivery that must not run is refused, and the refusal is part of the job's story.
local function duplicate(why)
  local ms = now_ms()
  local version = cur.version + 1
  redis.call('HSET', S, 'version', version)
  history(cur.status, KIND_DUPLICATE, cur.status, version, cur.attempt, ms,
          'delivery of ' .. STATUS .. ' refused: ' .. why, '', TASK_ID)
  notify(cur.job_id, version, cur.status)
  return reply('ERR_TRANSITION', cur.status, STATUS, why)
end

local late = superseded(cur, BY_STATUS, BY_RUN)
if late then
  if MAX_RUNS > 0 or STATUS == ERROR or terminal(STATUS) then
    return duplicate('superseded: delivery ' .. cur.runs .. ' of ' .. BY_STATUS .. ' runs')
  end
  return late
end
if STATUS == cur.status and MAX_RUNS > 0 and by ~= '' and cur.entered_by ~= by then
  return duplicate('a second hand-off from ' .. by .. ' (entered from ' .. cur.entered_by .. ')')
end
if STATUS == cur.status and MAX_RUNS > 0 then
  -- A redelivered stage: count the run, give up once it keeps coming back.
  local runs = cur.runs + 1
  if runs > MAX_RUNS then
    return move(cur, KIND_GAVE_UP, ERROR, '',
                cur.status .. ': gave up after ' .. MAX_RUNS .. ' deliveries (worker lost?)',
                TASK_ID, '', '')
  end
  -- Recorded like any change: the history shows the stage ran again, and with which task.
  local ms = now_ms()
  local version = cur.version + 1
  local fields = {'runs', runs, 'heartbeat_ms', ms, 'updated_ms', ms, 'version', version}
  if TASK_ID ~= '' then table.insert(fields, 'task_id'); table.insert(fields, TASK_ID) end
  redis.call('HSET', S, unpack(fields))
  history(cur.status, KIND_REDELIVERED, cur.status, version, cur.attempt, ms,
          'delivery ' .. runs .. ' of at most ' .. MAX_RUNS, '', TASK_ID)
  settle(cur.job_id, cur.status, ms, false)
  notify(cur.job_id, version, cur.status)
  return ok(version, cur.status, cur.attempt, ms) .. '\trerun\t' .. runs
end
if not allowed(cur.status, STATUS) then
  if MAX_RUNS > 0 and cur.attempt == ATTEMPT then
    return duplicate('the job is already in ' .. cur.status)
  end
  return reply('ERR_TRANSITION', cur.status, STATUS, 'not allowed')
end
local err = ERR
if STATUS ~= ERROR then err = '' end
return move(cur, KIND_TRANSITION, STATUS, MESSAGE, err, TASK_ID, PROGRESS, RESULT, by)
""",
)

_PROGRESS = _Op(
    r"""
-- progress: record progress within the current status (a history entry, a version bump).
-- ARGV[4] attempt (0: unfenced), ARGV[5] expected status ('' any), ARGV[6] progress JSON,
-- ARGV[7] message ('' keeps it), ARGV[8] the writer's delivery number of the expected
-- status (0: unfenced).
local ATTEMPT, EXPECTED, PROGRESS, MESSAGE = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local RUN = tonumber(ARGV[8] or '0')
""",
    r"""
local cur = load()
local bad = guard_running(cur, ATTEMPT, EXPECTED, 'progress')
  or superseded(cur, EXPECTED, RUN)
if bad then return bad end
local ms = now_ms()
local version = cur.version + 1
local fields = {'version', version, 'progress', PROGRESS, 'updated_ms', ms, 'heartbeat_ms', ms}
if MESSAGE ~= '' then table.insert(fields, 'message'); table.insert(fields, MESSAGE) end
redis.call('HSET', S, unpack(fields))
history(cur.status, KIND_PROGRESS, cur.status, version, cur.attempt, ms, MESSAGE, '', '')
settle(cur.job_id, cur.status, ms, false)
notify(cur.job_id, version, cur.status)
return ok(version, cur.status, cur.attempt, ms)
""",
)

_HEARTBEAT = _Op(
    r"""
-- heartbeat: liveness only. No version bump and no history entry, so heartbeats never
-- evict real transitions from the capped history.
-- ARGV[4] attempt (0: unfenced), ARGV[5] expected status ('' any), ARGV[6] the writer's
-- delivery number (0: unfenced).
local ATTEMPT, EXPECTED, RUN = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6] or '0')
""",
    r"""
local cur = load()
local bad = guard_running(cur, ATTEMPT, EXPECTED, 'heartbeat')
  or superseded(cur, EXPECTED, RUN)
if bad then return bad end
local ms = now_ms()
redis.call('HSET', S, 'heartbeat_ms', ms)
settle(cur.job_id, cur.status, ms, false)
return ok(cur.version, cur.status, cur.attempt, ms)
""",
)

_RETRY = _Op(
    r"""
-- retry: a new attempt from ERROR back to INITIAL (only from there).
-- ARGV[4] expected attempt (0 any), ARGV[5] message ('' for the default).
local EXPECTED_ATTEMPT, MESSAGE = tonumber(ARGV[4]), ARGV[5]
""",
    r"""
local cur = load()
if not cur then return reply('ERR_NOTFOUND') end
if EXPECTED_ATTEMPT ~= 0 and EXPECTED_ATTEMPT ~= cur.attempt then
  return reply('ERR_STALE', cur.attempt)
end
if cur.status ~= ERROR then
  return reply('ERR_TRANSITION', cur.status, INITIAL, 'retry needs ' .. ERROR)
end
local ms = now_ms()
local version, attempt = cur.version + 1, cur.attempt + 1
local msg = MESSAGE
if msg == '' then msg = default_message(INITIAL) end
redis.call('HSET', S, 'status', INITIAL, 'message', msg, 'error', '', 'version', version,
           'attempt', attempt, 'updated_ms', ms, 'heartbeat_ms', ms, 'progress', '',
           'result', '', 'task_id', '', 'runs', 1, 'entered_by', '')
history(cur.status, KIND_RETRY, INITIAL, version, attempt, ms, msg, '', '')
settle(cur.job_id, INITIAL, ms, true)
notify(cur.job_id, version, INITIAL)
return ok(version, INITIAL, attempt, ms)
""",
)

_MARK_STALE = _Op(
    r"""
-- mark_stale: a running job silent for more than IDLE seconds (its last change or beat
-- older than IDLE by Redis' clock: strictly, as every reader's stale flag and the sweep's
-- index query judge it) moves to ERROR. Re-checks idleness inside Redis, so it is safe
-- while workers write. Replies SKIP when the job is not due.
-- ARGV[4] idle seconds, ARGV[5] error text, ARGV[6] job id (to drop a dangling index entry).
local IDLE, ERR, JOB_ID = tonumber(ARGV[4]), ARGV[5], ARGV[6]
""",
    r"""
local cur = load()
if not cur then
  if INDEXED then redis.call('ZREM', RUNNING, JOB_ID) end
  return reply('ERR_NOTFOUND')
end
if terminal(cur.status) then return reply('SKIP', cur.version, cur.status) end
local last = math.max(cur.updated_ms, cur.heartbeat_ms)
if now_ms() - last <= IDLE * 1000 then return reply('SKIP', cur.version, cur.status) end
return move(cur, KIND_STALE, ERROR, '', ERR .. ' while ' .. cur.status, '', '', '')
""",
)

_PURGE = _Op(
    r"""
-- purge: delete a job in WANTED status for more than AGE seconds; SKIP when it is not due.
-- ARGV[4] age seconds, ARGV[5] status wanted (ERROR for purge), ARGV[6] job id.
local AGE, WANTED, JOB_ID = tonumber(ARGV[4]), ARGV[5], ARGV[6]
""",
    r"""
local cur = load()
if not cur then
  if INDEXED then redis.call('ZREM', ERRORED, JOB_ID) end
  return reply('ERR_NOTFOUND')
end
if cur.status ~= WANTED then return reply('SKIP', cur.version, cur.status) end
if now_ms() - cur.updated_ms <= AGE * 1000 then
  return reply('SKIP', cur.version, cur.status)
end
redis.call('DEL', S, H)
if INDEXED then
  redis.call('ZREM', ALL_JOBS, JOB_ID); redis.call('ZREM', ERRORED, JOB_ID)
end
return ok(cur.version, cur.status, cur.attempt, 0)
""",
)

_ARCHIVE = _Op(
    r"""
-- archive: move a job completed more than AGE seconds ago to the archive keys; SKIP when
-- it is not due. Single-node mode: KEYS[7] archive hash, KEYS[8] archive history,
-- KEYS[9] archive index. Cluster mode: the archive keys follow the job's own two
-- (KEYS[3], KEYS[4]) and there is no archive index.
-- ARGV[4] age seconds, ARGV[5] archive ttl (0: keep), ARGV[6] job id.
local ARCHIVE, ARCHIVE_HISTORY, ARCHIVE_INDEX = KEYS[3], KEYS[4], nil
if INDEXED then ARCHIVE, ARCHIVE_HISTORY, ARCHIVE_INDEX = KEYS[7], KEYS[8], KEYS[9] end
local AGE, ARCHIVE_TTL, JOB_ID = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
""",
    r"""
local cur = load()
if not cur then
  if INDEXED then redis.call('ZREM', COMPLETED, JOB_ID) end
  return reply('ERR_NOTFOUND')
end
if not terminal(cur.status) or cur.status == ERROR then
  return reply('SKIP', cur.version, cur.status)
end
if now_ms() - cur.updated_ms <= AGE * 1000 then
  return reply('SKIP', cur.version, cur.status)
end
redis.call('RENAME', S, ARCHIVE)
if redis.call('EXISTS', H) == 1 then redis.call('RENAME', H, ARCHIVE_HISTORY) end
if ARCHIVE_TTL > 0 then
  redis.call('EXPIRE', ARCHIVE, ARCHIVE_TTL); redis.call('EXPIRE', ARCHIVE_HISTORY, ARCHIVE_TTL)
else
  redis.call('PERSIST', ARCHIVE); redis.call('PERSIST', ARCHIVE_HISTORY)
end
if INDEXED then
  redis.call('ZREM', ALL_JOBS, JOB_ID); redis.call('ZREM', COMPLETED, JOB_ID)
  redis.call('ZADD', ARCHIVE_INDEX, cur.updated_ms, JOB_ID)
end
return ok(cur.version, cur.status, cur.attempt, cur.updated_ms)
""",
)

_CLEAR = _Op(
    r"""
-- clear: delete the job and its history. Replies ``OK ... absent 1`` when there was none.
-- ARGV[4] job id.
local JOB_ID = ARGV[4]
""",
    r"""
local existed = redis.call('DEL', S, H)
if INDEXED then
  for _, index in ipairs({ALL_JOBS, RUNNING, ERRORED, COMPLETED}) do
    redis.call('ZREM', index, JOB_ID)
  end
end
if existed == 0 then return ok(0, '', 0, 0) .. '\tabsent\t1' end
redis.call('PUBLISH', CHANNEL, JOB_ID .. ' 0 CLEARED')
return ok(0, '', 0, 0)
""",
)

_SCRIPTS: dict[str, _Op] = {
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

OPS: tuple[str, ...] = tuple(_SCRIPTS)
"""The store's write operations, one Lua script each."""


def script_source(workflow: Workflow, op: str) -> str:
    """The full Lua source of ``op`` for ``workflow``: its contract first, then the tables."""
    script = _SCRIPTS[op]
    return _COMMON + script.contract + _tables(workflow) + lua_constants() + _PRELUDE + script.body
