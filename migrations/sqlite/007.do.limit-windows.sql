-- Rate-limit windows that every process on this database shares (failed authentications per
-- address, redemption attempts per token and per address), so that N processes do not multiply
-- a brute-force budget. Fixed windows: a key counts from window_start until window_start + its
-- window; the next hit after that starts a new window. Expired windows are purged hourly.
CREATE TABLE limit_windows (
  key TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL
);
CREATE INDEX limit_windows_start ON limit_windows (window_start);
