-- A SaaS company's subscriptions and billing, for a second demo: plans, customer companies, three
-- years of subscriptions with their invoices and refunds, support tickets, a monthly MRR
-- materialized view, and two roles that show the security model:
--   billing_analyst      reads everything
--   billing_emea_viewer  reads only EMEA customers and their subscriptions, invoices, refunds and
--                        support tickets (row-level security), and not customers' billing e-mail
--                        addresses (column privileges)
-- Plain PostgreSQL: nothing here needs Quarry. Deterministic: pseudo-random numbers come from an md5
-- hash of each row's key (the same rows every time, whatever plan the executor picks), and dates are
-- counted back from the day it is loaded, so "last month" always has data. Business definitions
-- (MRR, churn, net revenue ...) are in billing_glossary.sql beside this file.
\set ON_ERROR_STOP on
BEGIN;

-- Roles belong to the cluster, not the database: create them only once.
DO $$
BEGIN
    IF to_regrole('billing_analyst') IS NULL THEN
        CREATE ROLE billing_analyst NOLOGIN;
    END IF;
    IF to_regrole('billing_emea_viewer') IS NULL THEN
        CREATE ROLE billing_emea_viewer NOLOGIN;
    END IF;
END $$;

CREATE SCHEMA billing;
COMMENT ON SCHEMA billing IS 'Subscriptions, invoices, refunds and support tickets of a B2B software-as-a-service company.';

CREATE TABLE billing.plans (
    id              smallint PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    tier            text NOT NULL CHECK (tier IN ('starter', 'pro', 'business', 'enterprise')),
    billing_period  text NOT NULL CHECK (billing_period IN ('monthly', 'annual')),
    monthly_price   numeric(8,2) NOT NULL CHECK (monthly_price > 0),
    active          boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE billing.plans IS 'Price plans. A plan is a tier sold with a billing period.';
COMMENT ON COLUMN billing.plans.name IS 'Plan name as shown on the pricing page, e.g. Pro Monthly.';
COMMENT ON COLUMN billing.plans.tier IS 'starter, pro, business or enterprise.';
COMMENT ON COLUMN billing.plans.billing_period IS 'monthly (invoiced every month) or annual (invoiced once a year, 12 months at once).';
COMMENT ON COLUMN billing.plans.monthly_price IS 'List price per seat per month in USD (annual plans: the monthly equivalent).';
COMMENT ON COLUMN billing.plans.active IS 'false for legacy plans that are no longer sold.';

CREATE TABLE billing.customers (
    id             integer PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    billing_email  text NOT NULL UNIQUE,
    country        text NOT NULL,
    region         text NOT NULL CHECK (region IN ('NA', 'EMEA', 'APAC', 'LATAM')),
    industry       text NOT NULL CHECK (industry IN ('software', 'finance', 'healthcare', 'retail',
                                                     'education', 'manufacturing', 'media')),
    segment        text NOT NULL CHECK (segment IN ('smb', 'mid-market', 'enterprise')),
    acquired_via   text NOT NULL CHECK (acquired_via IN ('self-serve', 'sales', 'partner')),
    signed_up_on   date NOT NULL
);
CREATE INDEX customers_signed_up_on_idx ON billing.customers (signed_up_on);
CREATE INDEX customers_region_idx ON billing.customers (region);
COMMENT ON TABLE billing.customers IS 'Customer companies (accounts). Every customer started with a 14-day trial on the day it signed up.';
COMMENT ON COLUMN billing.customers.name IS 'Company name.';
COMMENT ON COLUMN billing.customers.billing_email IS 'Where invoices are sent. Personal data: hidden from regional viewers.';
COMMENT ON COLUMN billing.customers.country IS 'Country of the company''s head office, in English.';
COMMENT ON COLUMN billing.customers.region IS 'Sales region: NA (North America), EMEA (Europe, Middle East and Africa), APAC (Asia Pacific) or LATAM (Latin America).';
COMMENT ON COLUMN billing.customers.industry IS 'software, finance, healthcare, retail, education, manufacturing or media.';
COMMENT ON COLUMN billing.customers.segment IS 'Company size: smb (small and medium business), mid-market or enterprise.';
COMMENT ON COLUMN billing.customers.acquired_via IS 'How the customer came: self-serve (signed up on the website), sales (our sales team) or partner (a reseller).';
COMMENT ON COLUMN billing.customers.signed_up_on IS 'Day the company signed up and its trial began.';

CREATE TABLE billing.subscriptions (
    id             integer PRIMARY KEY,
    customer_id    integer NOT NULL REFERENCES billing.customers,
    plan_id        smallint NOT NULL REFERENCES billing.plans,
    started_on     date NOT NULL,
    trial_ends_on  date,
    ended_on       date,
    status         text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'cancelled', 'changed')),
    cancel_reason  text CHECK (cancel_reason IN ('too expensive', 'missing features', 'switched to competitor',
                                                 'no longer needed', 'business closed', 'other')),
    seats          integer NOT NULL CHECK (seats > 0),
    discount       numeric(4,2) NOT NULL DEFAULT 0 CHECK (discount >= 0 AND discount < 1),
    mrr            numeric(10,2) NOT NULL CHECK (mrr >= 0),
    CHECK ((status IN ('cancelled', 'changed')) = (ended_on IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL))
);
CREATE INDEX subscriptions_customer_idx ON billing.subscriptions (customer_id);
CREATE INDEX subscriptions_plan_idx ON billing.subscriptions (plan_id);
CREATE INDEX subscriptions_started_on_idx ON billing.subscriptions (started_on);
CREATE INDEX subscriptions_ended_on_idx ON billing.subscriptions (ended_on);
COMMENT ON TABLE billing.subscriptions IS 'A customer''s subscription to a plan. A plan change (upgrade or downgrade) ends the subscription with status changed and starts a new one the same day; a customer has at most one subscription that is not ended.';
COMMENT ON COLUMN billing.subscriptions.started_on IS 'First day of the subscription (of its trial, for a customer''s first subscription).';
COMMENT ON COLUMN billing.subscriptions.trial_ends_on IS 'Day the free trial ends and billing starts; null when there was no trial (subscriptions that follow a plan change).';
COMMENT ON COLUMN billing.subscriptions.ended_on IS 'Day the subscription ended (cancelled or changed); null while it runs.';
COMMENT ON COLUMN billing.subscriptions.status IS 'trialing (in its free trial), active, past_due (an invoice is overdue), cancelled (the customer left) or changed (replaced by a subscription to another plan).';
COMMENT ON COLUMN billing.subscriptions.cancel_reason IS 'Why the customer cancelled; only for cancelled subscriptions.';
COMMENT ON COLUMN billing.subscriptions.seats IS 'Number of paid seats (user licences).';
COMMENT ON COLUMN billing.subscriptions.discount IS 'Negotiated fraction off the list price, 0 to 0.25.';
COMMENT ON COLUMN billing.subscriptions.mrr IS 'Monthly recurring revenue of the subscription in USD: seats * plan monthly_price * (1 - discount).';

CREATE TABLE billing.invoices (
    id               integer PRIMARY KEY,
    subscription_id  integer NOT NULL REFERENCES billing.subscriptions,
    customer_id      integer NOT NULL REFERENCES billing.customers,
    issued_on        date NOT NULL,
    due_on           date NOT NULL,
    amount           numeric(12,2) NOT NULL CHECK (amount >= 0),
    status           text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    paid_at          timestamptz,
    CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
    CHECK (due_on >= issued_on)
);
CREATE INDEX invoices_subscription_idx ON billing.invoices (subscription_id);
CREATE INDEX invoices_customer_idx ON billing.invoices (customer_id);
CREATE INDEX invoices_issued_on_idx ON billing.invoices (issued_on);
CREATE INDEX invoices_paid_at_idx ON billing.invoices (paid_at);
COMMENT ON TABLE billing.invoices IS 'Invoices: one per month for monthly plans, one per year for annual plans (12 months at once).';
COMMENT ON COLUMN billing.invoices.issued_on IS 'Invoice date (for drafts: the day it will be sent).';
COMMENT ON COLUMN billing.invoices.due_on IS 'Payment due date: 14 days after issue for monthly plans, 30 for annual plans.';
COMMENT ON COLUMN billing.invoices.amount IS 'Amount billed in USD.';
COMMENT ON COLUMN billing.invoices.status IS 'draft (not sent yet), open (sent, not paid), paid, void (cancelled by us) or uncollectible (written off).';
COMMENT ON COLUMN billing.invoices.paid_at IS 'When the payment arrived; only for paid invoices.';

CREATE TABLE billing.refunds (
    id           integer PRIMARY KEY,
    invoice_id   integer NOT NULL REFERENCES billing.invoices,
    refunded_on  date NOT NULL,
    amount       numeric(12,2) NOT NULL CHECK (amount > 0),
    reason       text NOT NULL CHECK (reason IN ('duplicate charge', 'service outage', 'billing error',
                                                 'goodwill', 'cancellation'))
);
CREATE INDEX refunds_invoice_idx ON billing.refunds (invoice_id);
CREATE INDEX refunds_refunded_on_idx ON billing.refunds (refunded_on);
COMMENT ON TABLE billing.refunds IS 'Money paid back on a paid invoice, in full or in part.';
COMMENT ON COLUMN billing.refunds.amount IS 'Amount refunded in USD.';
COMMENT ON COLUMN billing.refunds.reason IS 'duplicate charge, service outage, billing error, goodwill or cancellation.';

CREATE TABLE billing.support_tickets (
    id            integer PRIMARY KEY,
    customer_id   integer NOT NULL REFERENCES billing.customers,
    opened_at     timestamptz NOT NULL,
    resolved_at   timestamptz,
    status        text NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
    priority      text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    channel       text NOT NULL CHECK (channel IN ('email', 'chat', 'phone')),
    category      text NOT NULL CHECK (category IN ('billing', 'bug', 'how-to', 'feature request', 'account')),
    satisfaction  smallint CHECK (satisfaction BETWEEN 1 AND 5),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK (resolved_at >= opened_at)
);
CREATE INDEX support_tickets_customer_idx ON billing.support_tickets (customer_id);
CREATE INDEX support_tickets_opened_at_idx ON billing.support_tickets (opened_at);
CREATE INDEX support_tickets_resolved_at_idx ON billing.support_tickets (resolved_at);
COMMENT ON TABLE billing.support_tickets IS 'Support requests from customers.';
COMMENT ON COLUMN billing.support_tickets.status IS 'open (we are working on it), pending (waiting for the customer) or resolved.';
COMMENT ON COLUMN billing.support_tickets.priority IS 'low, normal, high or urgent.';
COMMENT ON COLUMN billing.support_tickets.channel IS 'How the ticket came in: email, chat or phone.';
COMMENT ON COLUMN billing.support_tickets.category IS 'billing, bug, how-to, feature request or account.';
COMMENT ON COLUMN billing.support_tickets.satisfaction IS 'Customer''s rating of the resolution, 1 (bad) to 5 (great); null when not rated.';

-- The data ------------------------------------------------------------------------------------------
-- rnd(key, salt): a pseudo-random number in [0, 1) that depends only on its arguments.
CREATE FUNCTION pg_temp.rnd(k bigint, salt integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT ('x' || substr(md5(k::text || '/' || salt::text || '/billing'), 1, 12))::bit(48)::bigint
                 / 281474976710656.0 $$;

INSERT INTO billing.plans (id, name, tier, billing_period, monthly_price, active) VALUES
    (1, 'Starter Monthly', 'starter', 'monthly', 15, true),
    (2, 'Starter Annual', 'starter', 'annual', 12, true),
    (3, 'Pro Monthly', 'pro', 'monthly', 39, true),
    (4, 'Pro Annual', 'pro', 'annual', 32, true),
    (5, 'Business Monthly', 'business', 'monthly', 79, true),
    (6, 'Business Annual', 'business', 'annual', 66, true),
    (7, 'Enterprise Annual', 'enterprise', 'annual', 125, true),
    (8, 'Team (legacy)', 'pro', 'monthly', 29, false);

-- About 4,000 customers signed up over the last three years: more every year (growth), fewer in
-- December and August (seasonality). Ids follow the sign-up date.
CREATE TEMP TABLE signups ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY back DESC, g)::integer AS id, back
  FROM (SELECT g, least(1094, floor(1095 * (1 - sqrt(0.2 + 0.8 * pg_temp.rnd(g, 1))) / (1 - sqrt(0.2))))::integer AS back,
               pg_temp.rnd(g, 2) AS u_keep
          FROM generate_series(1, 4700) g) c
 WHERE u_keep < CASE extract(month FROM current_date - back)
                    WHEN 12 THEN 0.55 WHEN 8 THEN 0.7 WHEN 1 THEN 1.0 WHEN 3 THEN 1.0 WHEN 9 THEN 1.0 ELSE 0.85 END;

INSERT INTO billing.customers (id, name, billing_email, country, region, industry, segment, acquired_via, signed_up_on)
SELECT id, name,
       'billing.' || id || '@' || lower(replace(name, ' ', '')) || '.example.com',
       CASE region
           WHEN 'NA' THEN (ARRAY['United States', 'United States', 'United States', 'Canada'])[1 + floor(u_country * 4)::int]
           WHEN 'EMEA' THEN (ARRAY['United Kingdom', 'United Kingdom', 'Germany', 'Germany', 'France', 'Netherlands',
                                   'Spain', 'Sweden', 'Ireland', 'United Arab Emirates', 'South Africa'])[1 + floor(u_country * 11)::int]
           WHEN 'APAC' THEN (ARRAY['Australia', 'Australia', 'Japan', 'Singapore', 'India', 'South Korea'])[1 + floor(u_country * 6)::int]
           ELSE (ARRAY['Brazil', 'Brazil', 'Mexico', 'Argentina', 'Chile', 'Colombia'])[1 + floor(u_country * 6)::int]
       END,
       region,
       CASE WHEN u_industry < 0.24 THEN 'software' WHEN u_industry < 0.38 THEN 'finance'
            WHEN u_industry < 0.50 THEN 'healthcare' WHEN u_industry < 0.63 THEN 'retail'
            WHEN u_industry < 0.73 THEN 'education' WHEN u_industry < 0.88 THEN 'manufacturing' ELSE 'media' END,
       segment,
       CASE segment
           WHEN 'smb' THEN CASE WHEN u_via < 0.75 THEN 'self-serve' WHEN u_via < 0.85 THEN 'partner' ELSE 'sales' END
           WHEN 'mid-market' THEN CASE WHEN u_via < 0.35 THEN 'self-serve' WHEN u_via < 0.55 THEN 'partner' ELSE 'sales' END
           ELSE CASE WHEN u_via < 0.8 THEN 'sales' ELSE 'partner' END
       END,
       current_date - back
  FROM (SELECT s.id, s.back,
               -- (id * 4097) mod 7500 is one-to-one on 0..7499: every company gets its own name.
               (ARRAY['Blue', 'Bright', 'Silver', 'North', 'Summit', 'Clear', 'Swift', 'Green', 'Iron', 'Golden',
                      'Quiet', 'Bold', 'Red', 'Open', 'True', 'Prime', 'Urban', 'Cedar', 'Polar', 'Lunar',
                      'Solar', 'Rapid', 'Noble', 'Crystal', 'Amber'])[1 + (s.id * 4097 % 7500) % 25]
               || ' ' ||
               (ARRAY['Harbor', 'Peak', 'River', 'Field', 'Forge', 'Stone', 'Bridge', 'Leaf', 'Wave', 'Pine',
                      'Hawk', 'Oak', 'Lake', 'Ridge', 'Spark', 'Path', 'Grove', 'Cloud', 'Beacon', 'Anchor',
                      'Falcon', 'Meadow', 'Canyon', 'Orbit', 'Vale'])[1 + (s.id * 4097 % 7500) / 25 % 25]
               || ' ' ||
               (ARRAY['Labs', 'Systems', 'Analytics', 'Logistics', 'Health', 'Media', 'Foods', 'Capital',
                      'Studio', 'Works', 'Partners', 'Group'])[1 + (s.id * 4097 % 7500) / 625] AS name,
               CASE WHEN pg_temp.rnd(s.id, 10) < 0.42 THEN 'NA' WHEN pg_temp.rnd(s.id, 10) < 0.75 THEN 'EMEA'
                    WHEN pg_temp.rnd(s.id, 10) < 0.92 THEN 'APAC' ELSE 'LATAM' END AS region,
               CASE WHEN pg_temp.rnd(s.id, 11) < 0.62 THEN 'smb' WHEN pg_temp.rnd(s.id, 11) < 0.90 THEN 'mid-market'
                    ELSE 'enterprise' END AS segment,
               pg_temp.rnd(s.id, 12) AS u_country, pg_temp.rnd(s.id, 13) AS u_industry, pg_temp.rnd(s.id, 14) AS u_via
          FROM signups s) c
 ORDER BY id;

-- Subscriptions. Each customer's first subscription starts with a 14-day trial on its sign-up day.
-- Tier, billing period, seats and discount depend on the segment. Monthly subscriptions churn each
-- month with a probability that falls with the tier; annual ones at renewal. About one customer in
-- five changes plan once (mostly upgrades).
CREATE TEMP TABLE subs ON COMMIT DROP AS
WITH base AS (
    SELECT c.id AS customer_id, c.segment, c.signed_up_on,
           c.signed_up_on + 14 AS paid_from,
           CASE c.segment
               WHEN 'smb' THEN CASE WHEN pg_temp.rnd(c.id, 20) < 0.55 THEN 'starter' WHEN pg_temp.rnd(c.id, 20) < 0.90 THEN 'pro' ELSE 'business' END
               WHEN 'mid-market' THEN CASE WHEN pg_temp.rnd(c.id, 20) < 0.10 THEN 'starter' WHEN pg_temp.rnd(c.id, 20) < 0.50 THEN 'pro'
                                           WHEN pg_temp.rnd(c.id, 20) < 0.93 THEN 'business' ELSE 'enterprise' END
               ELSE CASE WHEN pg_temp.rnd(c.id, 20) < 0.40 THEN 'business' ELSE 'enterprise' END
           END AS tier,
           pg_temp.rnd(c.id, 21) AS u_period,
           CASE c.segment
               WHEN 'smb' THEN 1 + floor(12 * pg_temp.rnd(c.id, 22) ^ 2)::int
               WHEN 'mid-market' THEN 10 + floor(50 * pg_temp.rnd(c.id, 22) ^ 1.5)::int
               ELSE 50 + floor(350 * pg_temp.rnd(c.id, 22) ^ 2)::int
           END AS seats,
           pg_temp.rnd(c.id, 23) AS u_discount, pg_temp.rnd(c.id, 24) AS u_life, pg_temp.rnd(c.id, 25) AS u_cancel_day,
           pg_temp.rnd(c.id, 26) AS u_change, pg_temp.rnd(c.id, 27) AS u_change_at, pg_temp.rnd(c.id, 28) AS u_up,
           pg_temp.rnd(c.id, 29) AS u_seats2, pg_temp.rnd(c.id, 30) AS u_reason, pg_temp.rnd(c.id, 31) AS u_legacy
      FROM billing.customers c
), planned AS (
    SELECT b.*,
           CASE WHEN b.tier = 'enterprise' OR b.u_period < CASE b.segment WHEN 'smb' THEN 0.25 WHEN 'mid-market' THEN 0.45 ELSE 0.7 END
                THEN 'annual' ELSE 'monthly' END AS period,
           CASE b.tier WHEN 'enterprise' THEN 0.10 + 0.15 * b.u_discount
                       ELSE CASE WHEN b.u_discount < 0.08 THEN 0.10 WHEN b.u_discount < 0.11 THEN 0.20 ELSE 0 END END AS discount
      FROM base b
), life AS (
    SELECT p.*,
           -- Paid periods before the customer leaves: geometric, by tier and billing period.
           CASE p.period
               WHEN 'monthly' THEN 1 + floor(ln(1 - p.u_life) / ln(1 - CASE p.tier WHEN 'starter' THEN 0.045 WHEN 'pro' THEN 0.03 ELSE 0.02 END))::int
               ELSE 1 + floor(ln(1 - p.u_life) / ln(1 - CASE p.tier WHEN 'starter' THEN 0.30 WHEN 'pro' THEN 0.22 WHEN 'business' THEN 0.15 ELSE 0.08 END))::int
           END AS periods
      FROM planned p
), ends AS (
    SELECT l.*,
           (l.paid_from + CASE l.period WHEN 'monthly' THEN make_interval(months => l.periods) ELSE make_interval(years => l.periods) END
               - make_interval(days => floor(l.u_cancel_day * 20)::int))::date AS leaves_on,
           (l.paid_from + make_interval(months => 1 + floor(l.u_change_at * 18)::int, days => floor(l.u_cancel_day * 10)::int))::date AS change_on
      FROM life l
)
SELECT e.*,
       CASE WHEN e.leaves_on <= current_date THEN e.leaves_on END AS churned_on,
       e.u_change < 0.2 AND e.change_on < least(e.leaves_on, current_date) AS changes,
       CASE WHEN e.u_up < 0.7 THEN CASE e.tier WHEN 'starter' THEN 'pro' WHEN 'pro' THEN 'business'
                                               WHEN 'business' THEN CASE WHEN e.segment = 'smb' THEN 'business' ELSE 'enterprise' END
                                               ELSE 'enterprise' END
            ELSE CASE e.tier WHEN 'enterprise' THEN 'business' WHEN 'business' THEN 'pro' ELSE e.tier END END AS tier2,
       CASE WHEN e.u_up < 0.7 THEN ceil(e.seats * (1.1 + 0.5 * e.u_seats2))::int
            ELSE greatest(1, floor(e.seats * (0.6 + 0.3 * e.u_seats2))::int) END AS seats2
  FROM ends e;

CREATE TEMP TABLE sub_rows ON COMMIT DROP AS
SELECT s.customer_id, 1 AS seq,
       CASE s.tier WHEN 'starter' THEN CASE s.period WHEN 'monthly' THEN 1 ELSE 2 END
                   WHEN 'pro' THEN CASE WHEN s.period = 'annual' THEN 4
                                        WHEN s.signed_up_on < current_date - 850 AND s.u_legacy < 0.6 THEN 8 ELSE 3 END
                   WHEN 'business' THEN CASE s.period WHEN 'monthly' THEN 5 ELSE 6 END
                   ELSE 7 END AS plan_id,
       s.signed_up_on AS started_on, s.paid_from AS trial_ends_on,
       CASE WHEN s.changes THEN s.change_on ELSE s.churned_on END AS ended_on,
       CASE WHEN s.changes THEN 'changed' WHEN s.churned_on IS NOT NULL THEN 'cancelled'
            WHEN s.paid_from > current_date THEN 'trialing' ELSE 'active' END AS status,
       s.seats, round(s.discount::numeric, 2) AS discount, s.u_reason
  FROM subs s
UNION ALL
SELECT s.customer_id, 2,
       CASE s.tier2 WHEN 'starter' THEN CASE s.period WHEN 'monthly' THEN 1 ELSE 2 END
                    WHEN 'pro' THEN CASE s.period WHEN 'monthly' THEN 3 ELSE 4 END
                    WHEN 'business' THEN CASE s.period WHEN 'monthly' THEN 5 ELSE 6 END
                    ELSE 7 END,
       s.change_on, NULL, s.churned_on,
       CASE WHEN s.churned_on IS NOT NULL THEN 'cancelled' ELSE 'active' END,
       s.seats2, CASE WHEN s.tier2 = 'enterprise' THEN greatest(round(s.discount::numeric, 2), 0.10) ELSE round(s.discount::numeric, 2) END,
       s.u_reason
  FROM subs s
 WHERE s.changes;

INSERT INTO billing.subscriptions (id, customer_id, plan_id, started_on, trial_ends_on, ended_on, status,
                                   cancel_reason, seats, discount, mrr)
SELECT row_number() OVER (ORDER BY r.started_on, r.customer_id, r.seq),
       r.customer_id, r.plan_id, r.started_on, r.trial_ends_on, r.ended_on, r.status,
       CASE WHEN r.status = 'cancelled' THEN
           CASE WHEN r.u_reason < 0.30 THEN 'too expensive' WHEN r.u_reason < 0.50 THEN 'missing features'
                WHEN r.u_reason < 0.68 THEN 'switched to competitor' WHEN r.u_reason < 0.85 THEN 'no longer needed'
                WHEN r.u_reason < 0.93 THEN 'business closed' ELSE 'other' END END,
       r.seats, r.discount, round(r.seats * p.monthly_price * (1 - r.discount), 2)
  FROM sub_rows r
  JOIN billing.plans p ON p.id = r.plan_id
 ORDER BY 1;

-- Invoices: monthly or yearly from the end of the trial (or the plan change) while the subscription
-- runs. Most small customers pay by card on the day; larger ones pay by bank transfer, some late,
-- a few never (written off as uncollectible after 60 days). Invoices dated today are still drafts.
INSERT INTO billing.invoices (id, subscription_id, customer_id, issued_on, due_on, amount, status, paid_at)
SELECT row_number() OVER (ORDER BY i.issued_on, i.subscription_id),
       i.subscription_id, i.customer_id, i.issued_on, i.due_on, i.amount,
       CASE WHEN i.issued_on = current_date THEN 'draft'
            WHEN i.u_void < 0.012 THEN 'void'
            WHEN i.pays_on IS NULL THEN CASE WHEN i.issued_on < current_date - 60 THEN 'uncollectible' ELSE 'open' END
            WHEN i.pays_on >= current_date THEN 'open'
            ELSE 'paid' END,
       CASE WHEN i.issued_on < current_date AND i.u_void >= 0.012 AND i.pays_on < current_date
            THEN i.pays_on + make_interval(secs => floor(28800 + 43200 * i.u_time)::int) END
  FROM (SELECT v.*,
               CASE WHEN v.by_card THEN
                        CASE WHEN v.u_pay < 0.008 THEN NULL
                             WHEN v.u_pay < 0.05 THEN v.issued_on + 3 + floor(17 * v.u_delay)::int
                             ELSE v.issued_on END
                    ELSE
                        CASE WHEN v.u_pay < 0.02 THEN NULL
                             WHEN v.u_pay < 0.22 THEN v.due_on + 1 + floor(30 * v.u_delay)::int
                             ELSE v.issued_on + 2 + floor((v.due_on - v.issued_on - 2) * v.u_delay)::int END
               END AS pays_on
          FROM (SELECT s.id AS subscription_id, s.customer_id, d.issued_on,
                       d.issued_on + CASE p.billing_period WHEN 'monthly' THEN 14 ELSE 30 END AS due_on,
                       s.mrr * CASE p.billing_period WHEN 'monthly' THEN 1 ELSE 12 END AS amount,
                       pg_temp.rnd(s.customer_id, 40) < CASE c.segment WHEN 'smb' THEN 0.9 WHEN 'mid-market' THEN 0.6 ELSE 0.2 END AS by_card,
                       pg_temp.rnd(s.id * 100 + k, 41) AS u_void, pg_temp.rnd(s.id * 100 + k, 42) AS u_pay,
                       pg_temp.rnd(s.id * 100 + k, 43) AS u_delay, pg_temp.rnd(s.id * 100 + k, 44) AS u_time
                  FROM billing.subscriptions s
                  JOIN billing.plans p ON p.id = s.plan_id
                  JOIN billing.customers c ON c.id = s.customer_id
                 CROSS JOIN LATERAL generate_series(0, CASE p.billing_period WHEN 'monthly' THEN 40 ELSE 4 END) k
                 CROSS JOIN LATERAL (
                     SELECT (coalesce(s.trial_ends_on, s.started_on)
                             + CASE p.billing_period WHEN 'monthly' THEN make_interval(months => k)
                                                     ELSE make_interval(years => k) END)::date AS issued_on) d
                 WHERE d.issued_on <= current_date
                   AND (s.ended_on IS NULL OR d.issued_on < s.ended_on)) v) i
 ORDER BY 1;

-- A running subscription with an overdue invoice is past due.
UPDATE billing.subscriptions s SET status = 'past_due'
 WHERE s.status = 'active'
   AND EXISTS (SELECT 1 FROM billing.invoices i
                WHERE i.subscription_id = s.id AND i.status = 'open' AND i.due_on < current_date);

-- Refunds on about 2.5% of paid invoices, in full or in part, within three weeks of the payment.
INSERT INTO billing.refunds (id, invoice_id, refunded_on, amount, reason)
SELECT row_number() OVER (ORDER BY r.refunded_on, r.invoice_id), r.invoice_id, r.refunded_on, r.amount, r.reason
  FROM (SELECT i.id AS invoice_id,
               (i.paid_at::date + 1 + floor(20 * pg_temp.rnd(i.subscription_id * 100 + i.id, 51))::int) AS refunded_on,
               CASE WHEN pg_temp.rnd(i.id, 52) < 0.35 THEN i.amount
                    ELSE greatest(1, round(i.amount * (0.1 + 0.4 * pg_temp.rnd(i.id, 53))::numeric, 2)) END AS amount,
               CASE WHEN pg_temp.rnd(i.id, 54) < 0.25 THEN 'duplicate charge' WHEN pg_temp.rnd(i.id, 54) < 0.45 THEN 'service outage'
                    WHEN pg_temp.rnd(i.id, 54) < 0.65 THEN 'billing error' WHEN pg_temp.rnd(i.id, 54) < 0.85 THEN 'goodwill'
                    ELSE 'cancellation' END AS reason
          FROM billing.invoices i
         WHERE i.status = 'paid' AND i.amount > 0
           AND pg_temp.rnd(i.subscription_id * 100 + i.id, 50) < 0.025) r
 WHERE r.refunded_on <= current_date
 ORDER BY 1;

-- Support tickets: bigger customers write more; urgent tickets are solved fastest; slow answers
-- get worse ratings. Tickets of the last days may still be open.
INSERT INTO billing.support_tickets (id, customer_id, opened_at, resolved_at, status, priority, channel, category, satisfaction)
SELECT row_number() OVER (ORDER BY t.opened_at, t.customer_id, t.n),
       t.customer_id, t.opened_at,
       CASE WHEN t.resolved_at < now() AND t.u_stale >= 0.004 THEN t.resolved_at END,
       CASE WHEN t.resolved_at < now() AND t.u_stale >= 0.004 THEN 'resolved'
            WHEN t.u_pending < 0.4 THEN 'pending' ELSE 'open' END,
       t.priority, t.channel, t.category,
       CASE WHEN t.resolved_at < now() AND t.u_stale >= 0.004 AND t.u_rated < 0.45 THEN
           CASE WHEN t.u_score - least(0.35, t.hours / 400.0) < 0.06 THEN 1
                WHEN t.u_score - least(0.35, t.hours / 400.0) < 0.14 THEN 2
                WHEN t.u_score - least(0.35, t.hours / 400.0) < 0.27 THEN 3
                WHEN t.u_score - least(0.35, t.hours / 400.0) < 0.58 THEN 4 ELSE 5 END END
  FROM (SELECT x.*, x.opened_at + make_interval(secs => x.hours * 3600) AS resolved_at
          FROM (SELECT o.*,
                       CASE o.priority WHEN 'urgent' THEN 1 + 7 * o.u_hours ^ 2 WHEN 'high' THEN 2 + 30 * o.u_hours ^ 2
                                       WHEN 'normal' THEN 3 + 90 * o.u_hours ^ 2 ELSE 6 + 200 * o.u_hours ^ 2 END AS hours
                  FROM (SELECT a.customer_id, n.n,
                               (a.signed_up_on + floor(pg_temp.rnd(a.customer_id * 1000 + n.n, 60) * a.span)::int)
                                 + make_interval(secs => floor(pg_temp.rnd(a.customer_id * 1000 + n.n, 61) * 86400
                                       * CASE WHEN a.signed_up_on + floor(pg_temp.rnd(a.customer_id * 1000 + n.n, 60) * a.span)::int = current_date
                                              THEN extract(epoch FROM now() - current_date) / 86400 ELSE 1 END)::int) AS opened_at,
                               CASE WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 62) < 0.30 THEN 'low'
                                    WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 62) < 0.75 THEN 'normal'
                                    WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 62) < 0.93 THEN 'high' ELSE 'urgent' END AS priority,
                               CASE WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 63) < CASE a.segment WHEN 'enterprise' THEN 0.35 ELSE 0.52 END THEN 'email'
                                    WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 63) < CASE a.segment WHEN 'enterprise' THEN 0.60 ELSE 0.88 END THEN 'chat'
                                    ELSE 'phone' END AS channel,
                               CASE WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 64) < 0.21 THEN 'billing'
                                    WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 64) < 0.50 THEN 'bug'
                                    WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 64) < 0.80 THEN 'how-to'
                                    WHEN pg_temp.rnd(a.customer_id * 1000 + n.n, 64) < 0.92 THEN 'feature request' ELSE 'account' END AS category,
                               pg_temp.rnd(a.customer_id * 1000 + n.n, 65) AS u_hours,
                               pg_temp.rnd(a.customer_id * 1000 + n.n, 66) AS u_stale,
                               pg_temp.rnd(a.customer_id * 1000 + n.n, 67) AS u_pending,
                               pg_temp.rnd(a.customer_id * 1000 + n.n, 68) AS u_rated,
                               pg_temp.rnd(a.customer_id * 1000 + n.n, 69) AS u_score
                          FROM (SELECT c.id AS customer_id, c.segment, c.signed_up_on,
                                       coalesce(x.churned_on, current_date) - c.signed_up_on + 1 AS span,
                                       floor((coalesce(x.churned_on, current_date) - c.signed_up_on + 1) / 30.0
                                             * CASE c.segment WHEN 'smb' THEN 0.22 WHEN 'mid-market' THEN 0.5 ELSE 1.2 END
                                             + pg_temp.rnd(c.id, 59))::int AS tickets
                                  FROM billing.customers c
                                  LEFT JOIN (SELECT customer_id, ended_on AS churned_on FROM billing.subscriptions
                                              WHERE status = 'cancelled') x ON x.customer_id = c.id) a
                         CROSS JOIN LATERAL generate_series(1, a.tickets) n(n)) o) x) t
 ORDER BY 1;

-- MRR at the start of each month of the last three years, per plan tier, for finance.
CREATE MATERIALIZED VIEW billing.monthly_mrr AS
SELECT m.month::date AS month, p.tier,
       count(DISTINCT s.customer_id) AS paying_customers,
       sum(s.mrr) AS mrr
  FROM generate_series(date_trunc('month', current_date) - interval '35 months', date_trunc('month', current_date),
                       interval '1 month') AS m(month)
  JOIN billing.subscriptions s
    ON coalesce(s.trial_ends_on, s.started_on) <= m.month::date AND (s.ended_on IS NULL OR s.ended_on > m.month::date)
  JOIN billing.plans p ON p.id = s.plan_id
 GROUP BY 1, 2;
CREATE UNIQUE INDEX monthly_mrr_key ON billing.monthly_mrr (month, tier);
COMMENT ON MATERIALIZED VIEW billing.monthly_mrr IS 'MRR and paying customers per plan tier on the first day of each month (subscriptions past their trial and not ended that day).';
COMMENT ON COLUMN billing.monthly_mrr.month IS 'First day of the month; the figures are as of that day.';

-- Who sees what ---------------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA billing TO billing_analyst, billing_emea_viewer;
GRANT SELECT ON ALL TABLES IN SCHEMA billing TO billing_analyst;
GRANT SELECT ON billing.plans, billing.subscriptions, billing.invoices, billing.refunds, billing.support_tickets
    TO billing_emea_viewer;
-- The regional viewer may not read where invoices are sent.
GRANT SELECT (id, name, country, region, industry, segment, acquired_via, signed_up_on) ON billing.customers
    TO billing_emea_viewer;

ALTER TABLE billing.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing.subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing.invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing.refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing.support_tickets ENABLE ROW LEVEL SECURITY;

CREATE POLICY analysts_see_all ON billing.customers FOR SELECT TO billing_analyst USING (true);
CREATE POLICY analysts_see_all ON billing.subscriptions FOR SELECT TO billing_analyst USING (true);
CREATE POLICY analysts_see_all ON billing.invoices FOR SELECT TO billing_analyst USING (true);
CREATE POLICY analysts_see_all ON billing.refunds FOR SELECT TO billing_analyst USING (true);
CREATE POLICY analysts_see_all ON billing.support_tickets FOR SELECT TO billing_analyst USING (true);

CREATE POLICY emea_only ON billing.customers FOR SELECT TO billing_emea_viewer USING (region = 'EMEA');
-- The other tables follow the customers the viewer can see (their row-level security applies here too).
CREATE POLICY emea_only ON billing.subscriptions FOR SELECT TO billing_emea_viewer
    USING (EXISTS (SELECT 1 FROM billing.customers c WHERE c.id = customer_id));
CREATE POLICY emea_only ON billing.invoices FOR SELECT TO billing_emea_viewer
    USING (EXISTS (SELECT 1 FROM billing.customers c WHERE c.id = customer_id));
CREATE POLICY emea_only ON billing.refunds FOR SELECT TO billing_emea_viewer
    USING (EXISTS (SELECT 1 FROM billing.invoices i WHERE i.id = invoice_id));
CREATE POLICY emea_only ON billing.support_tickets FOR SELECT TO billing_emea_viewer
    USING (EXISTS (SELECT 1 FROM billing.customers c WHERE c.id = customer_id));

COMMIT;
ANALYZE billing.plans, billing.customers, billing.subscriptions, billing.invoices, billing.refunds,
        billing.support_tickets, billing.monthly_mrr;
