-- Quarry's side of the billing demo (sql/demo/billing.sql): an account mapped to billing_analyst, a
-- team, the Billing dataset with its glossary (billing_glossary.sql) and its semantic model. Through
-- the extension's SQL API, as a DBA would do it. The password is the demo account's (psql variable
-- demo_password).
\set ON_ERROR_STOP on
BEGIN;

SELECT quarry.create_account('billing@quarry.local', :'demo_password', 'Billing Analyst', 'billing_analyst') AS analyst \gset
SELECT quarry.create_team('Subscriptions', :analyst) AS team \gset
SELECT quarry.create_dataset(:team, 'Billing', ARRAY['billing'],
    'A software company''s plans, customer companies, subscriptions, invoices, refunds and support tickets.') AS billing \gset

SELECT quarry.set_glossary_term(:billing, 'MRR', 'Monthly recurring revenue: sum of subscriptions.mrr over active subscriptions (status active or past_due).',
    ARRAY['monthly recurring revenue', 'recurring revenue']);
SELECT quarry.set_glossary_term(:billing, 'ARR', 'Annual recurring revenue: MRR * 12.', ARRAY['annual recurring revenue', 'annual run rate']);
SELECT quarry.set_glossary_term(:billing, 'ARPA', 'Average revenue per account: MRR divided by the number of active customers.',
    ARRAY['average revenue per account', 'ARPU']);
SELECT quarry.set_glossary_term(:billing, 'active subscription', 'A subscription with status active or past_due.', ARRAY['paying subscription']);
SELECT quarry.set_glossary_term(:billing, 'churned customer', 'A customer whose subscription was cancelled (status cancelled); the churn date is its ended_on. Plan changes are not churn.',
    ARRAY['lost customer', 'churn']);
SELECT quarry.set_glossary_term(:billing, 'net revenue', 'Amounts of paid invoices minus the refunds on them, dated by when the invoice was paid.',
    ARRAY['revenue', 'collected revenue', 'cash collected']);
SELECT quarry.set_glossary_term(:billing, 'billings', 'Sum of invoices.amount over invoices that were sent (open, paid or uncollectible), dated by issued_on.',
    ARRAY['invoiced amount', 'amount billed']);
SELECT quarry.set_glossary_term(:billing, 'overdue invoice', 'An open invoice whose due_on is before today.', ARRAY['late invoice', 'past-due invoice']);
SELECT quarry.set_glossary_term(:billing, 'CSAT', 'Percentage of rated tickets rated 4 or 5.', ARRAY['customer satisfaction']);

-- The semantic model: derived from the catalog, refined with the definitions above.
SELECT quarry.remove_semantic_item(:billing, 'table', NULL, 'monthly_mrr');
SELECT quarry.set_semantic_table(:billing, 'customers', ARRAY['customer', 'account', 'accounts', 'client', 'clients', 'company',
    'companies', 'logo', 'logos', 'organisation', 'organization', '客户', '고객'], time_dimension => 'signed_up_on');
SELECT quarry.set_semantic_table(:billing, 'subscriptions', ARRAY['subscription', 'sub', 'subs', 'contract', 'contracts', '订阅', '구독'],
    time_dimension => 'started_on');
SELECT quarry.set_semantic_table(:billing, 'plans', ARRAY['plan', 'price plan', 'pricing plan', 'package', 'packages', '套餐', '요금제']);
SELECT quarry.set_semantic_table(:billing, 'invoices', ARRAY['invoice', 'bill', 'bills', '发票', '账单', '인보이스', '청구서'],
    time_dimension => 'issued_on');
SELECT quarry.set_semantic_table(:billing, 'refunds', ARRAY['refund', '退款', '환불']);
SELECT quarry.set_semantic_table(:billing, 'support_tickets', ARRAY['ticket', 'tickets', 'support ticket', 'support tickets',
    'case', 'cases', 'support requests', 'contacted support', 'reached out to support', 'contact support', 'support contacts',
    '工单', '티켓', '문의'], time_dimension => 'opened_at');
SELECT quarry.set_time_dimension(:billing, 'customers', 'signed_up_on', 'signed_up_on', ARRAY['signed up', 'sign up', 'signups',
    'sign-ups', 'joined', 'new customers', 'acquired', 'registered', '注册', '가입'], 'Day the company signed up.');
SELECT quarry.set_time_dimension(:billing, 'subscriptions', 'started_on', 'started_on', ARRAY['started', 'start', 'began',
    'subscribed', 'new subscriptions'], 'First day of the subscription.');
SELECT quarry.set_time_dimension(:billing, 'subscriptions', 'ended_on', 'ended_on', ARRAY['ended', 'end date', 'churned',
    'cancelled on', 'cancellation date'], 'Day the subscription ended.');
SELECT quarry.set_time_dimension(:billing, 'invoices', 'issued_on', 'issued_on', ARRAY['issued', 'invoiced', 'billed',
    'invoice date'], 'Invoice date.');
SELECT quarry.set_time_dimension(:billing, 'invoices', 'paid_at', 'paid_at', ARRAY['paid', 'payment date', 'collected'],
    'When the payment arrived.');
SELECT quarry.set_time_dimension(:billing, 'refunds', 'refunded_on', 'refunded_on', ARRAY['refunded', 'refund date'], 'Day of the refund.');
SELECT quarry.set_time_dimension(:billing, 'support_tickets', 'opened_at', 'opened_at', ARRAY['opened', 'created', 'raised',
    'submitted', 'filed', 'logged'], 'When the ticket was opened.');
SELECT quarry.set_time_dimension(:billing, 'support_tickets', 'resolved_at', 'resolved_at', ARRAY['resolved', 'closed',
    'solved'], 'When the ticket was resolved.');

SELECT quarry.set_measure(:billing, 'subscriptions', 'mrr', 'sum(subscriptions.mrr)',
    filter => $$subscriptions.status IN ('active', 'past_due')$$,
    synonyms => ARRAY['monthly recurring revenue', 'recurring revenue', 'MRR', 'monthly revenue', '月经常性收入', '월간 반복 매출', '월 반복 매출'],
    description => 'sum of mrr over active subscriptions (active or past_due)', unit => 'USD', format => 'currency',
    time_dimension => 'now');
SELECT quarry.set_measure(:billing, 'subscriptions', 'arr', '12 * sum(subscriptions.mrr)',
    filter => $$subscriptions.status IN ('active', 'past_due')$$,
    synonyms => ARRAY['annual recurring revenue', 'annual run rate', 'ARR', '年经常性收入', '연간 반복 매출'],
    description => 'MRR * 12', unit => 'USD', format => 'currency',
    time_dimension => 'now');
SELECT quarry.set_measure(:billing, 'subscriptions', 'arpa', 'sum(subscriptions.mrr) / nullif(count(DISTINCT subscriptions.customer_id), 0)',
    filter => $$subscriptions.status IN ('active', 'past_due')$$,
    synonyms => ARRAY['average revenue per account', 'ARPU', 'ARPA', 'average mrr per customer', 'average revenue per customer'],
    description => 'MRR divided by the number of active customers', unit => 'USD', format => 'currency',
    time_dimension => 'now');
SELECT quarry.set_measure(:billing, 'subscriptions', 'seats', 'sum(subscriptions.seats)',
    filter => $$subscriptions.status IN ('active', 'past_due')$$,
    synonyms => ARRAY['licences', 'licenses', 'paid seats', 'active seats', 'user licences', '席位', '좌석'],
    description => 'seats of active subscriptions', format => 'integer',
    time_dimension => 'now');
SELECT quarry.set_measure(:billing, 'subscriptions', 'active customers', 'count(DISTINCT subscriptions.customer_id)',
    filter => $$subscriptions.status IN ('active', 'past_due')$$,
    synonyms => ARRAY['paying customers', 'current customers', 'active accounts', '活跃客户', '付费客户', '활성 고객', '유료 고객'],
    description => 'customers with an active subscription', format => 'integer',
    time_dimension => 'now');
SELECT quarry.set_measure(:billing, 'subscriptions', 'churned customers', 'count(DISTINCT subscriptions.customer_id)',
    filter => $$subscriptions.status = 'cancelled'$$,
    synonyms => ARRAY['lost customers', 'churn', 'churned', 'customers lost', 'churned accounts', 'cancellations', 'lose', 'lost',
                      'left', '流失', '流失客户', '이탈', '이탈 고객', '해지 고객'],
    description => 'customers whose subscription was cancelled, by the day it ended', format => 'integer',
    time_dimension => 'subscriptions.ended_on');
SELECT quarry.set_measure(:billing, 'subscriptions', 'churned mrr', 'sum(subscriptions.mrr)',
    filter => $$subscriptions.status = 'cancelled'$$,
    synonyms => ARRAY['lost mrr', 'mrr churn'], description => 'mrr of subscriptions cancelled, by the day they ended',
    unit => 'USD', format => 'currency', time_dimension => 'subscriptions.ended_on');
SELECT quarry.set_measure(:billing, 'invoices', 'net revenue',
    'sum(invoices.amount - coalesce((SELECT sum(r.amount) FROM billing.refunds r WHERE r.invoice_id = invoices.id), 0))',
    filter => $$invoices.status = 'paid'$$,
    synonyms => ARRAY['revenue', 'collected revenue', 'cash collected', 'income', 'money collected', 'sales', '收入', '营收', '净收入', '매출', '순매출'],
    description => 'paid invoices minus the refunds on them, by when the invoice was paid', unit => 'USD', format => 'currency',
    time_dimension => 'invoices.paid_at');
SELECT quarry.set_measure(:billing, 'invoices', 'gross revenue', 'sum(invoices.amount)', filter => $$invoices.status = 'paid'$$,
    synonyms => ARRAY['gross collections', 'payments received', 'payments'], description => 'paid invoices before refunds, by when they were paid',
    unit => 'USD', format => 'currency', time_dimension => 'invoices.paid_at');
SELECT quarry.set_measure(:billing, 'invoices', 'billings', 'sum(invoices.amount)',
    filter => $$invoices.status IN ('open', 'paid', 'uncollectible')$$,
    synonyms => ARRAY['invoiced amount', 'amount billed', 'billed amount', 'bookings', 'amount invoiced', 'bill', '开票金额', '청구 금액'],
    description => 'amounts of invoices sent (open, paid or uncollectible), by issue date', unit => 'USD', format => 'currency',
    time_dimension => 'invoices.issued_on');
SELECT quarry.set_measure(:billing, 'invoices', 'outstanding balance', 'sum(invoices.amount)', filter => $$invoices.status = 'open'$$,
    synonyms => ARRAY['accounts receivable', 'receivables', 'amount owed', 'unpaid amount', 'outstanding', '应收账款', '미수금'],
    description => 'amounts of open invoices', unit => 'USD', format => 'currency',
    time_dimension => 'now');
SELECT quarry.set_measure(:billing, 'invoices', 'invoice amount', 'invoices.amount',
    synonyms => ARRAY['amount', 'invoice value', 'invoice total'], description => 'amount billed, in USD',
    unit => 'USD', format => 'currency');
SELECT quarry.remove_semantic_item(:billing, 'measure', 'invoices', 'amount');
SELECT quarry.set_measure(:billing, 'invoices', 'days to pay', 'avg(invoices.paid_at::date - invoices.issued_on)',
    filter => $$invoices.status = 'paid'$$, synonyms => ARRAY['DSO', 'payment delay', 'time to pay', 'average days to pay'],
    description => 'days from issue to payment, over paid invoices');
SELECT quarry.set_measure(:billing, 'refunds', 'refunded amount', 'refunds.amount',
    synonyms => ARRAY['refund amount', 'refunds amount', 'refunded', '退款金额', '환불 금액'], description => 'amount refunded in USD',
    unit => 'USD', format => 'currency');
SELECT quarry.remove_semantic_item(:billing, 'measure', 'refunds', 'amount');
SELECT quarry.set_measure(:billing, 'support_tickets', 'resolution time',
    'avg(extract(epoch FROM support_tickets.resolved_at - support_tickets.opened_at) / 3600)',
    filter => $$support_tickets.status = 'resolved'$$,
    synonyms => ARRAY['time to resolve', 'time to resolution', 'resolution hours', 'hours to resolve', '解决时间', '해결 시간'],
    description => 'hours from opening to resolution, over resolved tickets');
SELECT quarry.set_measure(:billing, 'support_tickets', 'csat',
    'count(*) FILTER (WHERE support_tickets.satisfaction >= 4) * 100.0 / nullif(count(support_tickets.satisfaction), 0)',
    synonyms => ARRAY['CSAT', 'customer satisfaction', 'csat score', '满意率', '만족률'],
    description => 'percentage of rated tickets rated 4 or 5', unit => 'percent', format => 'percent');
SELECT quarry.set_measure(:billing, 'support_tickets', 'satisfaction', 'support_tickets.satisfaction',
    synonyms => ARRAY['rating', 'ratings', 'satisfaction rating', 'satisfaction score', 'score', '满意度', '评分', '만족도', '평점'],
    description => 'the rating a customer gave, 1 to 5');
SELECT quarry.set_measure(:billing, 'plans', 'monthly price', 'plans.monthly_price',
    synonyms => ARRAY['price', 'list price', 'price per seat', 'seat price'], description => 'list price per seat per month in USD',
    unit => 'USD', format => 'currency');
SELECT quarry.remove_semantic_item(:billing, 'measure', 'plans', 'monthly_price');

SELECT quarry.set_filter(:billing, 'subscriptions', 'active subscription', $$subscriptions.status IN ('active', 'past_due')$$,
    ARRAY['active', 'active subscriptions', 'paying', 'live', 'paying subscriptions'], 'status active or past_due');
SELECT quarry.set_filter(:billing, 'subscriptions', 'trial', $$subscriptions.status = 'trialing'$$,
    ARRAY['trials', 'trialing', 'in trial', 'free trial', 'on trial', '试用', '체험'], 'in the free trial');
SELECT quarry.set_filter(:billing, 'customers', 'active customer',
    $$EXISTS (SELECT 1 FROM billing.subscriptions s WHERE s.customer_id = customers.id AND s.status IN ('active', 'past_due'))$$,
    ARRAY['active', 'paying customer', 'paying', 'current customer'], 'a customer with an active subscription');
SELECT quarry.set_filter(:billing, 'customers', 'churned customer',
    $$EXISTS (SELECT 1 FROM billing.subscriptions s WHERE s.customer_id = customers.id AND s.status = 'cancelled')$$,
    ARRAY['lost', 'cancelled customers'], 'a customer whose subscription was cancelled');
SELECT quarry.set_filter(:billing, 'subscriptions', 'plan change', $$subscriptions.status = 'changed'$$,
    ARRAY['switched plans', 'changed plans', 'plan changes', 'switched plan', 'changed plan', 'upgraded or downgraded'],
    'a subscription that ended because the customer moved to another plan');
SELECT quarry.set_filter(:billing, 'invoices', 'overdue', $$invoices.status = 'open' AND invoices.due_on < current_date$$,
    ARRAY['overdue invoices', 'late', 'past due', 'past-due', '逾期', '연체'], 'open and past its due date');
SELECT quarry.set_filter(:billing, 'support_tickets', 'open ticket', $$support_tickets.status IN ('open', 'pending')$$,
    ARRAY['unresolved', 'open tickets', 'backlog', 'not resolved', '未解决', '미해결'], 'not resolved yet');

SELECT quarry.set_dimension(:billing, 'customers', 'region', 'customers.region', ARRAY['regions', 'sales region', '地区', '지역'],
    'NA, EMEA, APAC or LATAM',
    value_synonyms => $${"NA": ["North America", "US and Canada", "北美", "북미"], "EMEA": ["Europe", "Europe, Middle East and Africa", "欧洲", "유럽"],
                        "APAC": ["Asia Pacific", "Asia", "亚太", "아시아 태평양", "아태"], "LATAM": ["Latin America", "South America", "拉美", "남미", "중남미"]}$$);
SELECT quarry.set_dimension(:billing, 'customers', 'segment', 'customers.segment', ARRAY['segments', 'company size', 'customer segment', '细分', '세그먼트'],
    'smb, mid-market or enterprise',
    value_synonyms => $${"smb": ["small business", "small businesses", "SMBs", "small and medium business", "小企业", "중소기업"],
                        "mid-market": ["mid market", "midmarket", "mid-sized", "中型企业", "중견기업"],
                        "enterprise": ["enterprises", "large companies", "enterprise customers", "大企业", "대기업"]}$$);
SELECT quarry.set_dimension(:billing, 'customers', 'industry', 'customers.industry', ARRAY['industries', 'vertical', 'sector', '行业', '산업', '업종']);
SELECT quarry.set_dimension(:billing, 'customers', 'acquired_via', 'customers.acquired_via', ARRAY['acquisition channel', 'channel', 'source', 'acquisition source'],
    'self-serve, sales or partner',
    value_synonyms => $${"self-serve": ["self serve", "self-service", "website", "online"], "partner": ["partners", "resellers", "reseller"],
                        "sales": ["sales team", "sales-led"]}$$);
SELECT quarry.set_dimension(:billing, 'customers', 'country', 'customers.country', ARRAY['countries', '国家', '국가'], 'head office country');
SELECT quarry.set_dimension(:billing, 'plans', 'tier', 'plans.tier', ARRAY['tiers', 'plan tier', 'plan level', 'edition', '档位', '등급'],
    'starter, pro, business or enterprise');
SELECT quarry.set_dimension(:billing, 'plans', 'billing_period', 'plans.billing_period', ARRAY['billing period', 'billing cycle', 'billing frequency'],
    'monthly or annual', value_synonyms => $${"annual": ["yearly", "annually"], "monthly": ["month to month"]}$$);
SELECT quarry.set_dimension(:billing, 'subscriptions', 'status', 'subscriptions.status', ARRAY['subscription status', 'state'],
    'trialing, active, past_due, cancelled or changed',
    value_synonyms => $${"past_due": ["past due", "late"], "cancelled": ["canceled"], "trialing": ["in trial", "trial"]}$$);
SELECT quarry.set_dimension(:billing, 'subscriptions', 'cancel_reason', 'subscriptions.cancel_reason', ARRAY['cancel reason',
    'cancellation reason', 'churn reason', 'reason for cancelling', 'why', '流失原因', '해지 사유']);
SELECT quarry.set_dimension(:billing, 'invoices', 'status', 'invoices.status', ARRAY['invoice status'],
    'draft, open, paid, void or uncollectible',
    value_synonyms => $${"uncollectible": ["written off", "write-off", "write-offs", "bad debt"], "open": ["unpaid", "outstanding"]}$$);
SELECT quarry.set_dimension(:billing, 'refunds', 'reason', 'refunds.reason', ARRAY['refund reason', 'reasons']);
SELECT quarry.set_dimension(:billing, 'support_tickets', 'priority', 'support_tickets.priority', ARRAY['priorities', 'urgency', '优先级', '우선순위']);
SELECT quarry.set_dimension(:billing, 'support_tickets', 'channel', 'support_tickets.channel', ARRAY['support channel', 'contact channel', '渠道', '채널']);
SELECT quarry.set_dimension(:billing, 'support_tickets', 'category', 'support_tickets.category', ARRAY['ticket category', 'topic',
    'type', 'ticket type', 'kind of ticket', '类别', '类型', '카테고리', '유형']);
SELECT quarry.set_dimension(:billing, 'support_tickets', 'status', 'support_tickets.status', ARRAY['ticket status']);

COMMIT;
