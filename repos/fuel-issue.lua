-- /etc/fuel-issue names the newest Fuel release installed on the master.
--
-- Releases install side by side: each fuel-release-X.Y.Z owns
-- /etc/fuel-issue.d/X.Y.Z, and every one of them owns /etc/fuel-issue as
-- %ghost. This scriptlet, the %posttrans and %postun of fuel-release-X.Y.Z,
-- copies the newest release's file to /etc/fuel-issue, so installing an older
-- release never moves it backwards and erasing the newest moves it to the
-- next newest. It runs in rpm's built-in Lua: an empty root without /bin/sh
-- installs the package too.
local dir = "/etc/fuel-issue.d"
local issue = "/etc/fuel-issue"

local newest = nil
for _, name in ipairs(posix.dir(dir) or {}) do
  if name:match("^%d+%.%d+%.%d+$") and (newest == nil or rpm.vercmp(name, newest) > 0) then
    newest = name
  end
end

if newest == nil then
  -- The last release is gone, and so is the file naming it.
  os.remove(issue)
  return
end

local source = assert(io.open(dir .. "/" .. newest, "r"))
local text = source:read("*a")
source:close()
-- Written aside and renamed: a reader sees the old or the new file, never half.
local partial = issue .. ".rpmtmp"
local out = assert(io.open(partial, "w"))
assert(out:write(text))
assert(out:close())
-- The mode rpm -V expects of the %ghost entry, whatever the umask.
posix.chmod(partial, "0644")
assert(os.rename(partial, issue))
