"""The Lua source of the poll read: one round trip, and a small one when nothing changed.

A poller names the versions it already has. The script reads the job's version tag
(creation time, version and whether it is stale by Redis' clock) and answers with the tag
alone when the poller has it, else with the tag, Redis' time and the whole record.
"""

from __future__ import annotations

from pipeline.workflow import Workflow

__all__ = ["read_source"]


def _lua_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_READ = r"""
-- Contract. KEYS[1]: the job's state hash.
-- ARGV[1]: milliseconds of silence after which a running job is stale.
-- ARGV[2]: '*' when any version the poller holds will do, else ''.
-- ARGV[3..]: version tags the poller holds ('<created_ms>.<version>.<stale 0|1>').
-- Reply: nil for an unknown job; {tag} when the poller holds the tag;
--        {tag, now_ms, field, value, field, value, ...} otherwise.
local STATE = KEYS[1]
local STALE_MS = tonumber(ARGV[1])
local ANY = ARGV[2] == '*'

local v = redis.call('HMGET', STATE, 'created_ms', 'version', 'status', 'updated_ms',
                     'heartbeat_ms')
if not v[2] and not v[3] and redis.call('EXISTS', STATE) == 0 then return nil end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = math.max(tonumber(v[4] or '') or 0, tonumber(v[5] or '') or 0)
local stale = '0'
if v[3] and not TERMINAL[v[3]] and now - last > STALE_MS then stale = '1' end
local tag = (v[1] or '') .. '.' .. (v[2] or '') .. '.' .. stale
if ANY then return {tag} end
for i = 3, #ARGV do
  if ARGV[i] == tag then return {tag} end
end
local out = {tag, tostring(now)}
local fields = redis.call('HGETALL', STATE)
for i = 1, #fields do out[#out + 1] = fields[i] end
return out
"""


def read_source(workflow: Workflow) -> str:
    """The poll read script for ``workflow`` (its terminal statuses compiled in)."""
    terminal = ", ".join(f"[{_lua_str(s)}]=true" for s in sorted(workflow.terminal))
    return f"local TERMINAL = {{{terminal}}}\n{_READ}"
