-- archive-query-2: one page of an archive, from the archive itself or a contact's index.
-- KEYS[1]  <p>:v1:{<owner>}:mam          stream entries (w = with, x = XML)
-- KEYS[2]  <p>:v1:{<owner>}:mam:w:<with> stream the contact's archive ids (read when ARGV[1] = '1')
-- ARGV[1]  '1' to read through the index   ARGV[2] lower bound ('-', 'id' or '(id')
-- ARGV[3]  upper bound ('+', 'id' or '(id')  ARGV[4] '1' for the last entries of the range
-- ARGV[5]  how many entries at most   ARGV[6] '1' when the count is wanted (an unbounded query)
-- ARGV[7…] ids that must exist in the archive
-- Returns  {count or -1, id, with, XML, id, with, XML, …} in the order read (newest first when
--          ARGV[4] = '1'); -1 when an id of ARGV[7…] is not in the archive; -3 for a bad argument.
local limit = tonumber(ARGV[5])
if not limit then return -3 end
for i = 7, #ARGV do
  if #redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i], 'COUNT', 1) == 0 then return -1 end
end
local backward = ARGV[4] == '1'
local function read(key, count)
  if backward then return redis.call('XREVRANGE', key, ARGV[3], ARGV[2], 'COUNT', count) end
  return redis.call('XRANGE', key, ARGV[2], ARGV[3], 'COUNT', count)
end
local reply = {-1}
if ARGV[1] ~= '1' then
  if ARGV[6] == '1' then reply[1] = redis.call('XLEN', KEYS[1]) end
  for _, entry in ipairs(read(KEYS[1], limit)) do
    local fields = entry[2]
    local with, xml = '', ''
    for i = 1, #fields, 2 do
      if fields[i] == 'w' then with = fields[i + 1] elseif fields[i] == 'x' then xml = fields[i + 1] end
    end
    table.insert(reply, entry[1]); table.insert(reply, with); table.insert(reply, xml)
  end
  return reply
end
-- The index may still hold ids the archive trimmed (below its first entry): read from there.
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if not first then
  if ARGV[6] == '1' then reply[1] = 0 end
  return reply
end
local function parts(id)
  local ms, seq = string.match(id, '(%d+)-(%d+)')
  return tonumber(ms), tonumber(seq)
end
local function below(a, b)
  local ams, aseq = parts(a)
  local bms, bseq = parts(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
local firstIndexed = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
if ARGV[6] == '1' then
  if firstIndexed and below(firstIndexed[1], first[1]) then reply[1] = -1 else reply[1] = redis.call('XLEN', KEYS[2]) end
end
if ARGV[2] == '-' or below(ARGV[2], first[1]) then ARGV[2] = first[1] end
local taken = 0
for _, indexed in ipairs(read(KEYS[2], limit)) do
  local entry = redis.call('XRANGE', KEYS[1], indexed[1], indexed[1])[1]
  if entry then
    local fields = entry[2]
    local with, xml = '', ''
    for i = 1, #fields, 2 do
      if fields[i] == 'w' then with = fields[i + 1] elseif fields[i] == 'x' then xml = fields[i + 1] end
    end
    table.insert(reply, entry[1]); table.insert(reply, with); table.insert(reply, xml)
  end
end
return reply
