-- bus-take-2: takes the stanza envelopes addressed to some resources out of a node's inbox (a node
-- that died or stopped holding their streams), oldest first; each is deleted as it is taken, so it is
-- handled once. Envelopes with a state push are left for the sweep (they carry their own version).
-- A resource given with its session is first marked moved: from then on bus-send-2 refuses
-- stanzas for that session here, so nothing can land behind this scan.
-- KEYS[1]  <p>:v1:node:{<node>}:inbox   stream
-- KEYS[2]  <p>:v1:node:{<node>}:moved   hash    full JID → session taken over (expires MOVED_TTL after the last take)
-- ARGV      per resource: its full JID and the session the node held ('' = do not mark)
-- Returns  a flat list { version, envelope JSON, … }, in inbox order.
local MOVED_TTL_MS = 600000
local wanted = {}
local marks = 0
for i = 1, #ARGV - 1, 2 do
  wanted[ARGV[i]] = true
  if ARGV[i + 1] ~= '' then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    marks = marks + 1
  end
end
if marks > 0 then redis.call('PEXPIRE', KEYS[2], MOVED_TTL_MS) end
local taken = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local fields = entry[2]
  local version, data
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'v' then version = fields[i + 1] elseif fields[i] == 'e' then data = fields[i + 1] end
  end
  if version and data then
    -- Envelopes are written with "kind", "id", "to" first: the recipient is read without decoding
    -- the whole envelope; one written otherwise (or with an escaped JID) is decoded.
    local to = string.match(data, '^{"kind":"stanza","id":"[^"\\]*","to":"([^"\\]*)"')
    local envelope
    if to == nil or wanted[to] then
      local ok, decoded = pcall(cjson.decode, data)
      if ok and type(decoded) == 'table' then envelope = decoded end
    end
    if envelope and envelope.kind == 'stanza' and type(envelope.to) == 'string' and wanted[envelope.to] and envelope.push == nil then
      redis.call('XDEL', KEYS[1], entry[1])
      taken[#taken + 1] = version
      taken[#taken + 1] = data
    end
  end
end
return taken
