-- wrk script: POST /v1/verify with the same 640x480 image as reference and probe (multipart),
-- liveness reported only, as BM_ProofingCheckTwo640x480 does. Env: FACEPROOF_LOAD_IMAGE, FACEPROOF_LOAD_KEY.
local f = assert(io.open(os.getenv("FACEPROOF_LOAD_IMAGE"), "rb"))
local image = f:read("*all")
f:close()
local boundary = "faceprooflOadBoundary"
local function part(name, filename, body)
  local disposition = 'form-data; name="' .. name .. '"'
  if filename then disposition = disposition .. '; filename="' .. filename .. '"' end
  return "--" .. boundary .. "\r\nContent-Disposition: " .. disposition .. "\r\n" ..
         (filename and "Content-Type: image/jpeg\r\n" or "") .. "\r\n" .. body .. "\r\n"
end
wrk.method = "POST"
wrk.body = part("reference", "reference.jpg", image) .. part("probe", "probe.jpg", image) ..
           part("require_liveness", nil, "false") .. "--" .. boundary .. "--\r\n"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.headers["Authorization"] = "Bearer " .. os.getenv("FACEPROOF_LOAD_KEY")

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write(string.format("p50 %.1f ms, p99 %.1f ms, %.2f requests/s, errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
