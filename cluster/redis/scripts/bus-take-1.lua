-- bus-take-1: takes the stanza envelopes addressed to some resources out of a node's inbox (a node
-- that died or stopped holding their streams), oldest first; each is deleted as it is taken, so it is
-- handled once. Envelopes with a state push are left for the sweep (they carry their own version).
-- KEYS[1]  <p>:v1:node:{<node>}:inbox   stream
-- ARGV      the resources' full JIDs (one or more: one scan of the inbox for all of them)
-- Returns  a flat list { version, envelope JSON, … }, in inbox order.
local wanted = {}
for _, jid in ipairs(ARGV) do wanted[jid] = true end
local taken = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local fields = entry[2]
  local version, data
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'v' then version = fields[i + 1] elseif fields[i] == 'e' then data = fields[i + 1] end
  end
  if version and data then
    local ok, envelope = pcall(cjson.decode, data)
    if ok and type(envelope) == 'table' and envelope.kind == 'stanza' and type(envelope.to) == 'string' and wanted[envelope.to] and envelope.push == nil then
      redis.call('XDEL', KEYS[1], entry[1])
      taken[#taken + 1] = version
      taken[#taken + 1] = data
    end
  end
end
return taken
