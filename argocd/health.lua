-- Argo CD health check for relay.getviewport.com/ViewportRelay.
-- Install under resource.customizations.health.relay.getviewport.com_ViewportRelay
-- in argocd-cm (see docs/install.md). Argo CD sets the global `obj` to the
-- resource and expects a table {status = ..., message = ...} back.
--
-- Order matters: a paused relay is Suspended whatever its conditions say; a
-- spec change the operator has not yet seen makes every condition stale, so it
-- is Progressing before conditions are read; Stalled (abnormal-true) beats Ready.

local PAUSED_ANNOTATION = "relay.getviewport.com/paused"

local function findCondition(status, conditionType)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, condition in ipairs(status.conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

-- describe renders a condition as "Reason: message" (either part may be absent).
local function describe(condition, fallback)
  if condition == nil then
    return fallback
  end
  local reason = condition.reason
  local message = condition.message
  if reason ~= nil and reason ~= "" and message ~= nil and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= nil and message ~= "" then
    return message
  end
  if reason ~= nil and reason ~= "" then
    return reason
  end
  return fallback
end

local function health(o)
  local metadata = o.metadata or {}
  local annotations = metadata.annotations or {}
  local status = o.status

  if annotations[PAUSED_ANNOTATION] == "true" then
    return { status = "Suspended", message = "Reconciliation is paused by the " .. PAUSED_ANNOTATION .. " annotation" }
  end

  if status == nil then
    return { status = "Progressing", message = "Waiting for the operator to report status" }
  end

  local generation = metadata.generation
  local observed = status.observedGeneration
  if generation ~= nil and (observed == nil or observed < generation) then
    return { status = "Progressing", message = "Waiting for the operator to observe generation " .. string.format("%d", generation) }
  end

  local stalled = findCondition(status, "Stalled")
  if stalled ~= nil and stalled.status == "True" then
    return { status = "Degraded", message = describe(stalled, "Stalled") }
  end

  local ready = findCondition(status, "Ready")
  if ready ~= nil and ready.status == "True" then
    return { status = "Healthy", message = describe(ready, "Ready") }
  end

  local reconciling = findCondition(status, "Reconciling")
  if reconciling ~= nil and reconciling.status == "True" then
    return { status = "Progressing", message = describe(reconciling, "Reconciling") }
  end
  return { status = "Progressing", message = describe(ready, "Waiting for the relay to become ready") }
end

return health(obj)
