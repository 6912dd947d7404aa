//! The PostgreSQL schema `jeon index` writes (docs/indexer.md): tables `jeon_meta`,
//! `blocks`, `txs`, `events`, and the views of a merchant's insights, which compute the
//! figures of `GET /v1/merchants/{addr}/insights` (`jeon_node::insights`) with the same
//! definitions.

/// The schema's version, kept in `jeon_meta`. A database written by a newer `jeon`
/// (a higher number) is refused rather than written under rules this one does not know.
pub(super) const SCHEMA_VERSION: u32 = 1;

/// The key/value table every start reads first.
pub(super) const META: &str = "
CREATE TABLE IF NOT EXISTS jeon_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);";

/// Tables (created once, in the transaction that records the schema version).
pub(super) const TABLES: &str = "
CREATE TABLE blocks (
    height  bigint PRIMARY KEY,
    hash    text   NOT NULL,
    time_ms bigint NOT NULL,
    txs     integer NOT NULL
);
CREATE TABLE txs (
    height   bigint  NOT NULL REFERENCES blocks (height),
    tx_index integer NOT NULL,
    hash     text    NOT NULL,
    success  boolean NOT NULL,
    outcome  jsonb   NOT NULL,
    fee      numeric NOT NULL,
    PRIMARY KEY (height, tx_index)
);
CREATE INDEX txs_hash ON txs (hash);
CREATE TABLE events (
    height        bigint  NOT NULL REFERENCES blocks (height),
    tx_index      bigint  NOT NULL,
    event_index   integer NOT NULL,
    time_ms       bigint  NOT NULL,
    kind          text    NOT NULL,
    merchant      text,
    issuer        text,
    product       bigint,
    sale          text,
    entitlement   bigint,
    subscription  boolean,
    asset         bigint,
    amount        numeric,
    tax           numeric,
    units         numeric,
    expires_at_ms bigint,
    body          jsonb   NOT NULL,
    PRIMARY KEY (height, tx_index, event_index)
);
CREATE INDEX events_merchant ON events (merchant, kind) WHERE merchant IS NOT NULL;
CREATE INDEX events_issuer ON events (issuer, kind) WHERE issuer IS NOT NULL;
CREATE INDEX events_entitlement ON events (entitlement) WHERE entitlement IS NOT NULL;
";

/// Views, replaced on every start (so a fixed definition reaches an existing database).
pub(super) const VIEWS: &str = "
CREATE OR REPLACE VIEW event_periods AS
SELECT e.*, p.period_kind, p.period
FROM events e
CROSS JOIN LATERAL (VALUES
    ('day'::text, e.time_ms / 86400000),
    ('month'::text, to_char(to_timestamp(e.time_ms / 1000) AT TIME ZONE 'UTC', 'YYYYMM')::bigint)
) AS p (period_kind, period);

CREATE OR REPLACE VIEW insight_periods AS
WITH span AS (
    SELECT min(time_ms) / 86400000 AS first_day, max(time_ms) / 86400000 AS last_day FROM blocks
)
SELECT 'day'::text AS period_kind, d AS period, d * 86400000 AS start_ms, (d + 1) * 86400000 AS end_ms
FROM span, generate_series(span.first_day, span.last_day) AS d
UNION ALL
SELECT 'month'::text, to_char(m, 'YYYYMM')::bigint,
    (extract(epoch FROM m) * 1000)::bigint,
    (extract(epoch FROM m + interval '1 month') * 1000)::bigint
FROM span, generate_series(
    date_trunc('month', to_timestamp(span.first_day * 86400) AT TIME ZONE 'UTC'),
    to_timestamp(span.last_day * 86400) AT TIME ZONE 'UTC',
    interval '1 month') AS m;

CREATE OR REPLACE VIEW insights_sales AS
SELECT merchant, period_kind, period, product, asset,
    count(*) AS count, sum(amount) AS gross, sum(tax) AS tax
FROM event_periods
WHERE kind = 'Paid' AND product IS NOT NULL
GROUP BY merchant, period_kind, period, product, asset;

CREATE OR REPLACE VIEW insights_metered AS
SELECT merchant, period_kind, period,
    count(*) AS claims, sum(units) AS units, sum(amount) AS amount
FROM event_periods
WHERE kind = 'MeterClaimed'
GROUP BY merchant, period_kind, period;

CREATE OR REPLACE VIEW entitlements AS
SELECT i.entitlement, i.merchant, i.subscription, i.time_ms AS issued_ms,
    (SELECT min(r.time_ms) FROM events r
     WHERE r.kind = 'EntitlementRevoked' AND r.entitlement = i.entitlement) AS revoked_ms
FROM events i
WHERE i.kind = 'EntitlementIssued' AND i.expires_at_ms IS NOT NULL;

CREATE OR REPLACE VIEW entitlement_instants AS
SELECT e.merchant, e.entitlement, e.subscription, p.period_kind, p.period, w.at_end, w.t,
    coalesce(e.issued_ms <= w.t
        AND (e.revoked_ms IS NULL OR e.revoked_ms > w.t)
        AND (SELECT x.expires_at_ms FROM events x
             WHERE x.entitlement = e.entitlement
               AND x.kind IN ('EntitlementIssued', 'SubscriptionRenewed')
               AND x.time_ms <= w.t
             ORDER BY x.height DESC, x.tx_index DESC, x.event_index DESC
             LIMIT 1) > w.t, false) AS active
FROM entitlements e
CROSS JOIN insight_periods p
CROSS JOIN LATERAL (VALUES (true, p.end_ms - 1), (false, p.start_ms - 1)) AS w (at_end, t);

CREATE OR REPLACE VIEW insights_active AS
SELECT merchant, period_kind, period,
    count(*) FILTER (WHERE at_end AND active AND NOT subscription) AS active_passes,
    count(*) FILTER (WHERE at_end AND active AND subscription) AS active_subscriptions,
    count(*) FILTER (WHERE NOT at_end AND active AND subscription) AS subscriptions_at_start
FROM entitlement_instants
GROUP BY merchant, period_kind, period;

CREATE OR REPLACE VIEW churn_flows AS
SELECT ep.merchant, ep.period_kind, ep.period,
    count(*) FILTER (WHERE ep.kind = 'SubscriptionLapsed') AS lapsed,
    count(*) FILTER (WHERE ep.kind = 'EntitlementRevoked' AND EXISTS (
        SELECT 1 FROM events i
        WHERE i.kind = 'EntitlementIssued' AND i.entitlement = ep.entitlement
          AND i.subscription)) AS revoked
FROM event_periods ep
WHERE ep.kind IN ('SubscriptionLapsed', 'EntitlementRevoked')
GROUP BY ep.merchant, ep.period_kind, ep.period;

CREATE OR REPLACE VIEW insights_churn AS
SELECT merchant, period_kind, period,
    coalesce(f.lapsed, 0) AS lapsed,
    coalesce(f.revoked, 0) AS revoked,
    coalesce(a.subscriptions_at_start, 0) AS active_at_start
FROM churn_flows f
FULL JOIN insights_active a USING (merchant, period_kind, period);

CREATE OR REPLACE VIEW insights_cashback AS
SELECT f.issuer AS merchant, p.period_kind, p.period, f.asset,
    coalesce(sum(f.issued) FILTER (WHERE f.time_ms >= p.start_ms), 0) AS issued,
    coalesce(sum(f.redeemed) FILTER (WHERE f.time_ms >= p.start_ms), 0) AS redeemed,
    sum(f.issued) - sum(f.redeemed) AS outstanding
FROM (
    SELECT issuer, asset, time_ms,
        CASE WHEN kind = 'RewardGranted' THEN amount ELSE 0 END AS issued,
        CASE WHEN kind = 'RedemptionSettled' THEN amount ELSE 0 END AS redeemed
    FROM events
    WHERE kind IN ('RewardGranted', 'RedemptionSettled')
) f
JOIN insight_periods p ON f.time_ms < p.end_ms
GROUP BY f.issuer, p.period_kind, p.period, f.asset;
";
