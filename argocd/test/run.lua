-- Runs health.lua on test cases the way Argo CD does: a fresh environment per
-- case with the global `obj` set to the resource. Usage:
--   lua5.4 argocd/test/run.lua argocd/health.lua CASES.lua
-- CASES.lua returns a list of {name = ..., object = ...}. Prints one line per
-- case: name, TAB, status, TAB, message. Exits 1 when the script errors or
-- returns something that is not a health table.
local scriptPath, casesPath = arg[1], arg[2]
if scriptPath == nil or casesPath == nil then
  io.stderr:write("usage: lua5.4 run.lua HEALTH.lua CASES.lua\n")
  os.exit(2)
end

local valid = { Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true, Unknown = true }
local cases = dofile(casesPath)
local failed = false
for _, case in ipairs(cases) do
  local env = setmetatable({ obj = case.object }, { __index = _G })
  local chunk, loadError = loadfile(scriptPath, "t", env)
  if chunk == nil then
    io.stderr:write(loadError .. "\n")
    os.exit(1)
  end
  local ok, result = pcall(chunk)
  if not ok then
    io.stdout:write(case.name .. "\tERROR\t" .. tostring(result) .. "\n")
    failed = true
  elseif type(result) ~= "table" or not valid[result.status] or type(result.message) ~= "string" then
    io.stdout:write(case.name .. "\tINVALID\t" .. tostring(result and result.status) .. "\n")
    failed = true
  else
    io.stdout:write(case.name .. "\t" .. result.status .. "\t" .. result.message:gsub("[\t\n]", " ") .. "\n")
  end
end
os.exit(failed and 1 or 0)
